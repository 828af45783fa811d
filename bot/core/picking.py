"""Which of a thread's papers a question is about: "#3", "paper 3", an arXiv id, title words, "these papers" (all
of them), the card it replies to, the only paper; else the person is asked which. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.questions import ThreadPaper
from bot.core.refs import find_refs
from bot.core.sanitize import one_line, truncate

MAX_LISTED = 20  # papers listed when asking which one
TITLE_CHARS = 100

# "#3", "paper 3", "no. 3", "number 3", "nr 3": a paper's position in the thread ("no 2-stage training?" is not one).
_NUMBER = re.compile(r"(?:#\s?|\b(?:paper|no\.|nr\.?|number)\s*#?\s*)(\d{1,3})\b", re.IGNORECASE)
# A question about every paper of the thread, said plainly.
_ALL = re.compile(
    r"\b(?:these|those|today'?s|today’s|all(?: (?:of )?the)?|both|each of the|the other|every) papers?\b"
    r"|\b(?:each|every|all) of (?:them|these|those)\b|\bacross (?:the |these |all )?papers\b",
    re.IGNORECASE,
)
# A question that reads as about several papers, weaker: a title named in it wins over these.
_SEVERAL = re.compile(
    r"\bwhich\b.*\b(?:use|uses|used|using|one|ones|of them|papers?)\b|\bcompare[sd]?\b|\bcomparison\b",
    re.IGNORECASE | re.DOTALL,
)
_TITLE_WORD = re.compile(r"\w[\w\-]*\w|\w")
# Words too common in questions and titles to say which paper is meant.
_COMMON = frozenset(
    """a about above across after again against all also an and any are as at be because been before being between
    both but by can could did do does doing done each few for from had has have how i if in into is it its itself
    just more most my no nor not now of off on once only or other our out over own same should so some such than
    that the their them then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your paper papers model models method methods approach
    results result data dataset datasets study work use uses used using via based new towards toward one two three
    show shows tell say says said does mean means it's what's they're authors author propose proposed""".split()
)


# How a question (or a request: "explain the loss") starts; "thanks!" or "nice paper" in a thread is not one.
_QUESTION_START = frozenset(
    """what which who whom whose how why when where whether is are was were do does did can could should would will
    has have had may might any anything tell explain describe summarize summarise compare list give show define
    clarify elaborate quote according in on for and but so also what's how's where's who's""".split()
)
_CHATTER_WORDS = 4  # a message this short that is not a question is chatter ("thanks, great paper")


def looks_like_question(text: str) -> bool:
    """A question mark, a paper's number, a question word first, or more than a few words."""
    text = text.strip()
    words = text.casefold().split()
    if not words:
        return False
    first = words[0].strip(",.:;!")
    return (
        "?" in text
        or "？" in text
        or text.endswith(("吗", "呢", "么"))
        or bool(_NUMBER.search(text))
        or first in _QUESTION_START
        or len(words) > _CHATTER_WORDS
    )


# A question put to the bot beside a paper's reference starts with one of these (or has a question mark).
_ASKING = frozenset(
    """what which who whom whose how why when where whether is are was were do does did can could should would will
    may might what's how's where's who's tell explain describe compare list give show define clarify quote""".split()
)
# "summarize this", "tl;dr please", "can you explain it?", "what is this about?": the card answers these.
_SUMMARY_REQUEST = re.compile(
    r"(?:(?:can|could|would|will) you\s+)?(?:please\s+)?"
    r"(?:summari[sz]e|summary|tl;?dr|explain|describe|read|review|tell me (?:more )?about"
    r"|what(?:'s| is)?(?=\s|$|[.!?？]))"
    r"(?:\s+(?:of|for|on|me|this|that|the|it|paper|papers|article|one|about|please|pls|quickly|briefly))*"
    r"\s*[.!?？]*",
    re.IGNORECASE,
)


def asks_about_papers(text: str) -> bool:
    """Whether what a message says besides its arXiv references is a question about them ("what dataset does it
    use?", "uses RL?"), not a remark ("nice paper") nor a request for the summary ("summarize this, please"), which
    the card is. Stricter than looks_like_question: a wrong guess here replaces the card."""
    text = text.strip()
    words = text.casefold().split()
    if not words or _SUMMARY_REQUEST.fullmatch(text):
        return False
    return "?" in text or "？" in text or text.endswith(("吗", "呢", "么")) or words[0].strip(",.:;!") in _ASKING


@dataclass(frozen=True)
class Pick:
    """The papers a question is about (several: answered across them), or `ask`: what to reply instead."""

    papers: tuple[ThreadPaper, ...] = ()
    ask: str | None = None
    # The question without the numbers that picked its papers ("#2 which dataset?": "which dataset?").
    question: str = ""


def pick_papers(question: str, papers: Sequence[ThreadPaper], *, replied: Sequence[ThreadPaper] = ()) -> Pick:
    """`papers`: the thread's, by position; `replied`: those of the message the question replies to, if any."""
    papers = sorted(papers, key=lambda p: p.position)
    if not papers:
        return Pick(ask="I do not know which papers this thread is about.")
    numbers = list(dict.fromkeys(int(m[1]) for m in _NUMBER.finditer(question)))
    if numbers:
        by_position = {p.position: p for p in papers}
        unknown = [n for n in numbers if n not in by_position]
        if unknown:
            return Pick(ask=f"This thread has no paper #{unknown[0]}. {which_paper(papers)}")
        picked = tuple(by_position[n] for n in numbers)
        return Pick(picked, question=_without_numbers(question) if len(picked) == 1 else _named(question, by_position))
    ids = {ref.arxiv_id for ref in find_refs(question)}
    if named := tuple(p for p in papers if p.arxiv_id in ids):
        return Pick(named, question=question)
    if _ALL.search(question):
        return Pick(tuple(papers), question=question)
    if (titled := _by_title(question, papers)) is not None:
        return Pick((titled,), question=question)
    if _SEVERAL.search(question) and len(papers) > 1 and len(replied) != 1:
        return Pick(tuple(papers), question=question)
    if replied:
        return Pick(tuple(sorted(replied, key=lambda p: p.position)), question=question)
    if len(papers) == 1:
        return Pick((papers[0],), question=question)
    return Pick(ask=which_paper(papers))


def which_paper(papers: Sequence[ThreadPaper]) -> str:
    """Asking which paper: a line per paper, "#1 Title", so a reply can start with its number."""
    lines = [f"#{p.position} {truncate(one_line(p.title), TITLE_CHARS) or f'arXiv:{p.arxiv_id}'}" for p in papers]
    more = [f"… and {len(lines) - MAX_LISTED} more"] if len(lines) > MAX_LISTED else []
    return "\n".join(
        [
            "Which paper do you mean? Ask again with its number (#2), words of its title, or "
            "“these papers” for all of them:",
            *lines[:MAX_LISTED],
            *more,
        ]
    )


def _by_title(question: str, papers: Sequence[ThreadPaper]) -> ThreadPaper | None:
    """The one paper whose title shares the most words with the question: at least two, or one written with a
    capital inside the sentence (a name: "the Climb paper"); a tie is no pick."""
    asked = _words(question)
    named = {w.casefold() for i, w in enumerate(_TITLE_WORD.findall(question)) if i > 0 and w[:1].isupper()}
    scores = []
    for paper in papers:
        shared = asked & _words(paper.title)
        scores.append((len(shared) + len(shared & named), paper))
    scores.sort(key=lambda s: s[0], reverse=True)
    best = scores[0][0]
    if best < 2 or (len(scores) > 1 and scores[1][0] == best):
        return None
    return scores[0][1]


def _without_numbers(question: str) -> str:
    """ "#2: which dataset?" is "which dataset?"."""
    rest = " ".join(_NUMBER.sub(" ", question).split()).lstrip(" .:,;-–—").strip()
    return rest or question


def _named(question: str, by_position: dict[int, ThreadPaper]) -> str:
    """ "compare #1 and #3": each number as its paper's title (across papers the LLM numbers them its own way)."""

    def title(match: re.Match[str]) -> str:
        paper = by_position[int(match[1])]
        return f"“{one_line(paper.title)}”" if one_line(paper.title) else f"arXiv:{paper.arxiv_id}"

    return _NUMBER.sub(title, question)


def _words(text: str) -> set[str]:
    return {w for w in (w.casefold() for w in _TITLE_WORD.findall(text)) if len(w) > 2 and w not in _COMMON}
