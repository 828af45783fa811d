"""What a person asks of the bot in chat, typed once at the edge.

Text platforms (console, Slack) hand `/digest ...` to `parse_command`; Discord builds the same
values from its typed slash-command options. ChatBot.handle_command takes only these values, so an
option never goes back into text to be parsed again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import ClassVar, Self

from bot.core.errors import InvalidReference, UsageError
from bot.core.models import ArxivRef, Language, parse_time_of_day, parse_weekdays, parse_whole_number
from bot.core.refs import parse_ref

HELP_HINT = "See /digest help."
SUBSCRIBE_USAGE = (
    "/digest subscribe NAME QUERY [--time 08:30] [--timezone Europe/Berlin] [--weekdays mon,wed,fri] [--max 10] "
    "[--language en]"
)
# A word, where quoted parts keep their spaces: abs:"large language models" is one word for arXiv.
_WORD = re.compile(r"""(?:"[^"]*"|'[^']*'|\S)+""")


@dataclasses.dataclass(frozen=True)
class AdhocDigest:
    """`/digest QUERY [--days N] [--max N] [--language L]`; None is the configured default."""

    query: str
    days: int | None = None
    max_papers: int | None = None
    language: Language | None = None

    @classmethod
    def from_options(
        cls, query: str, *, days: int | None = None, max_papers: int | None = None, language: str | None = None
    ) -> AdhocDigest:
        return cls(query.strip(), days, max_papers, None if language is None else Language.parse(language))


@dataclasses.dataclass(frozen=True)
class ChannelDigest:
    """`/digest`: today's digest of each of this channel's subscriptions."""


@dataclasses.dataclass(frozen=True)
class Subscribe:
    """`/digest subscribe NAME QUERY [options]`: this channel gets a standing digest. None is the default."""

    name: str
    query: str
    time: dt.time | None = None
    timezone: str | None = None
    weekdays: tuple[int, ...] | None = None
    max_papers: int | None = None
    language: Language | None = None

    @classmethod
    def from_options(
        cls,
        name: str,
        query: str,
        *,
        time: str | None = None,
        timezone: str | None = None,
        weekdays: str | None = None,
        max_papers: int | None = None,
        language: str | None = None,
    ) -> Subscribe:
        """From option values as a person typed them; `weekdays` is comma-separated (mon,wed,fri)."""
        return cls(
            name=name.strip(),
            query=query.strip(),
            time=None if time is None else parse_time_of_day(time),
            timezone=None if timezone is None else timezone.strip(),
            weekdays=None if weekdays is None else parse_weekdays(weekdays.split(",")),
            max_papers=max_papers,
            language=None if language is None else Language.parse(language),
        )


@dataclasses.dataclass(frozen=True)
class Unsubscribe:
    name: str


@dataclasses.dataclass(frozen=True)
class ListSubscriptions:
    pass


@dataclasses.dataclass(frozen=True)
class Help:
    pass


@dataclasses.dataclass(frozen=True)
class _Opinion:
    """A person's opinion of a paper for this channel's digests, as reactions give one."""

    ref: ArxivRef  # without a version: taste is about the paper
    name: ClassVar[str]

    @classmethod
    def from_options(cls, paper: str) -> Self:
        """From the paper as a person wrote it (a link, arXiv:ID, an id); UsageError when it is not one."""
        try:
            ref = parse_ref(paper.strip())
        except InvalidReference as exc:
            raise UsageError(f"/digest {cls.name}: {exc}") from None
        return cls(ArxivRef(ref.arxiv_id))


@dataclasses.dataclass(frozen=True)
class MoreLike(_Opinion):
    """`/digest more-like ID`: more papers like this one in this channel."""

    name = "more-like"


@dataclasses.dataclass(frozen=True)
class LessLike(_Opinion):
    """`/digest less-like ID`: fewer papers like this one in this channel."""

    name = "less-like"


@dataclasses.dataclass(frozen=True)
class ShowTaste:
    """`/digest taste`: what this channel's ranker has learned."""


@dataclasses.dataclass(frozen=True)
class Ask:
    """The console's `/ask REF QUESTION`: a question about one paper, outside any thread."""

    ref: ArxivRef
    question: str


Command = (
    AdhocDigest | ChannelDigest | Subscribe | Unsubscribe | ListSubscriptions | Help | MoreLike | LessLike | ShowTaste
)
ASK_USAGE = "Usage: /ask REF QUESTION, e.g. /ask 2505.22653 which datasets do they use?"
MAX_QUESTION_CHARS = 1000  # a question, not a document: the paper is what the LLM reads


def is_digest_command(text: str) -> bool:
    return _is_command(text, "/digest")


def is_ask_command(text: str) -> bool:
    return _is_command(text, "/ask")


def _is_command(text: str, name: str) -> bool:
    text = text.strip()
    return text == name or text.startswith((f"{name} ", f"{name}\t", f"{name}\n"))


def parse_ask(text: str) -> Ask:
    """`/ask REF QUESTION` as typed; UsageError naming what is missing or not a reference."""
    words = text.strip().removeprefix("/ask").split(None, 1)
    if len(words) < 2 or not words[1].strip():
        raise UsageError(ASK_USAGE)
    try:
        ref = parse_ref(words[0])
    except InvalidReference as exc:
        raise UsageError(str(exc)) from None
    return Ask(ref, check_question(words[1]))


def check_question(text: str) -> str:
    question = text.strip()
    if not question:
        raise UsageError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise UsageError(
            f"a question has at most {MAX_QUESTION_CHARS} characters, not {len(question)}; ask a shorter one"
        )
    return question


def usage_reply(error: UsageError) -> str:
    return f"{error}. {HELP_HINT}"


def parse_command(text: str) -> Command:
    """`/digest ...` as typed (with or without the leading /digest); UsageError for a malformed one."""
    text = text.strip()
    if is_digest_command(text):
        text = text.removeprefix("/digest").strip()
    word, rest = (*text.split(None, 1), "", "")[:2]
    match word.lower():
        case "":
            return ChannelDigest()
        case "help":
            return Help()
        case "list":
            return ListSubscriptions()
        case "taste":
            if rest.strip():
                raise UsageError("Usage: /digest taste (it takes nothing more)")
            return ShowTaste()
        case "more-like" | "less-like":
            paper = rest.strip()
            if not paper or len(paper.split()) > 1:
                raise UsageError(f"Usage: /digest {word.lower()} ID, e.g. /digest {word.lower()} 2505.22653")
            return MoreLike.from_options(paper) if word.lower() == "more-like" else LessLike.from_options(paper)
        case "unsubscribe":
            name = rest.strip()
            if not name or len(name.split()) > 1:
                raise UsageError("Usage: /digest unsubscribe NAME")
            return Unsubscribe(name)
        case "subscribe":
            words, options = _split_options(rest, ("--time", "--timezone", "--weekdays", "--max", "--language"))
            if len(words) < 2:
                raise UsageError(f"Usage: {SUBSCRIBE_USAGE}")
            return Subscribe.from_options(
                words[0],
                " ".join(words[1:]),
                time=options.get("--time"),
                timezone=options.get("--timezone"),
                weekdays=options.get("--weekdays"),
                max_papers=_number(options, "--max"),
                language=options.get("--language"),
            )
        case _:
            words, options = _split_options(text, ("--days", "--max", "--language"))
            return AdhocDigest.from_options(
                " ".join(words),
                days=_number(options, "--days"),
                max_papers=_number(options, "--max"),
                language=options.get("--language"),
            )


def _split_options(text: str, known: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """The words, and `--option value` pairs taken out of them (an option's value may be quoted)."""
    words, options = [], {}
    it = iter(_WORD.findall(text))
    for word in it:
        if not word.startswith("--"):
            words.append(word)
            continue
        if word not in known:
            raise UsageError(f"there is no option {word} here (options: {', '.join(known)})")
        value = next(it, None)
        if value is None:
            raise UsageError(f"{word} needs a value")
        options[word] = _unquote(value)
    return words, options


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


def _number(options: dict[str, str], option: str) -> int | None:
    if option not in options:
        return None
    try:
        return parse_whole_number(options[option])
    except UsageError:
        raise UsageError(f"{option} takes a whole number, not {options[option]!r}") from None
