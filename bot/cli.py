"""The command line: argument parsing, exit codes (0 done, 1 some input not served, 2 usage/config), output formats."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from bot.core.errors import ConfigError, InvalidReference, PaperboyError, UsageError
from bot.logs import RedactingFormatter, setup_logging

# Parsing the arguments needs only the standard library: `paperboy --help` stays instant. Each command
# imports what it uses when it runs (pydantic, SQLAlchemy, aiohttp, openai and the chat SDKs take seconds).
if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.config import Config
    from bot.core.fulltext import Figure, FullText
    from bot.core.models import ArxivRef, DigestRequest, InputError, Paper
    from bot.wiring import OnDemandReader, Services

log = logging.getLogger("paperboy")

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
# Commands that end when their job is done.
ONE_SHOT = frozenset({"summarize", "digest", "figures", "ask", "taste", "db", "post"})


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Descriptions and examples keep their line breaks.
        super().__init__(*args, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block.
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def package_version() -> str:
    """The installed package's version; from a checkout that was never installed, pyproject.toml's."""
    import importlib.metadata

    try:
        return importlib.metadata.version("paperboy")
    except importlib.metadata.PackageNotFoundError:
        pass
    import tomllib

    try:
        project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))
        return f"{project['project']['version']} (not installed)"
    except (OSError, ValueError, KeyError):
        return "unknown (not installed)"


class _Version(argparse.Action):
    """--version, looked up only when asked: importlib.metadata would cost `paperboy --help` 0.1 s."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(f"{parser.prog} {package_version()}")
        parser.exit()


def _date(text: str) -> dt.date:
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-05-30") from None
    if date.year < 1991:
        raise argparse.ArgumentTypeError(f"{text}: arXiv has no papers from before 1991")
    return date


def _usage(check: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from a core check: its UsageError is argparse's one-line error (exit 2)."""

    def parse(text: str) -> object:
        try:
            return check(text)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


@_usage
def _days(text: str) -> int:
    from bot.core.models import check_days, parse_whole_number

    return check_days(parse_whole_number(text))


@_usage
def _max_papers(text: str) -> int:
    from bot.core.models import check_max_papers, parse_whole_number

    return check_max_papers(parse_whole_number(text))


@_usage
def _language(text: str) -> str:
    from bot.core.models import Language

    return Language.parse(text)


@_usage
def _question(text: str) -> str:
    from bot.core.commands import check_question

    return check_question(text)


@_usage
def _channel(text: str) -> str:
    from bot.core.models import check_channels

    return check_channels([text.strip()])[0]


DESCRIPTION = """\
arXiv papers summarized for your team's chat: paste a link, get a card; a digest of new papers
every morning. In a terminal, summarize and digest print what the bot would post."""
EPILOG = """\
examples:
  paperboy summarize https://arxiv.org/abs/2505.22653
  paperboy ask 2505.22653 'which datasets do they use?'
  paperboy digest --query 'cat:cs.CL AND abs:reasoning' --format html --out digest.html
  paperboy run

`paperboy COMMAND --help` describes each command. Exit status: 0 done, 1 some input not served
(the rest was printed), 2 usage or configuration error. Errors and progress go to standard error."""

# Each command's (description, examples) for its --help.
HELP = {
    "summarize": (
        "Summarize arXiv papers and print a card for each: title, authors, a tl;dr, key takeaways, the\n"
        "abstract translated when --language differs, links. Nothing is posted. A REF is anything a\n"
        "person pastes: an arXiv, alphaxiv, ar5iv or huggingface.co/papers link, arXiv:ID, a bare or\n"
        "old-style id, or an arXiv DOI. A reference that cannot be served is one line on standard\n"
        "error (exit 1); the others are still printed. Summaries are written from the paper itself\n"
        "(arXiv's HTML rendering, else its PDF, else the abstract when neither can be read), each\n"
        "takeaway checked against the passage it quotes; --source abstract reads the abstract only.",
        "  paperboy summarize https://arxiv.org/abs/2505.22653\n"
        "  paperboy summarize 2505.22653 hep-th/9901001 --language zh\n"
        "  paperboy summarize 2505.22653 --source abstract\n"
        "  paperboy summarize arXiv:2505.22653 --format json > cards.json",
    ),
    "digest": (
        "Build a digest of the papers matching a [[subscriptions]] entry or an arXiv search query,\n"
        "ranked and summarized, and print it or write it to a file. Nothing is posted anywhere.\n"
        "It covers arXiv's latest announcement (20:00 US Eastern, Sunday to Thursday: what was\n"
        "submitted since the previous one closed at 14:00 Eastern). --date or --days ask for whole\n"
        "UTC days instead: papers first submitted on those days, whether announced yet or not.",
        "  paperboy digest --query 'cat:cs.CL AND abs:reasoning'\n"
        "  paperboy digest --subscription nlp-daily --format html --out digest.html\n"
        "  paperboy digest --query cat:cs.CV --date 2025-05-28 --days 3 --max 10 --format markdown\n"
        "  paperboy digest --subscription nlp-daily --channel slack:C0123ABCD   ranked by that channel's taste",
    ),
    "figures": (
        "List a paper's figures: label, caption, and the address of its image (arXiv's HTML rendering),\n"
        "or where it is in the PDF for a paper arXiv has only as a PDF. With --out, save the images in\n"
        "that folder (created if missing): fetched from arxiv.org one at a time, reader.min_interval_seconds\n"
        "apart (arXiv asks for 15 s), or cropped from the PDF.",
        "  paperboy figures 2508.08468v6\n  paperboy figures https://arxiv.org/abs/2505.22653 --out figures/",
    ),
    "ask": (
        "Answer a question about one paper from its full text (arXiv's HTML rendering, else its PDF, else\n"
        "the abstract), quoting the passages the answer rests on, each with a link to its paragraph. Every\n"
        "quote is checked verbatim against the paper and every number in the answer against the quotes;\n"
        "when the paper does not say, the answer says so (exit 0) with the closest passages. Asking the\n"
        "same question again is answered from the cache. Exit 1 when the paper cannot be found.",
        "  paperboy ask 2401.10725 'which datasets do they evaluate on?'\n"
        "  paperboy ask https://arxiv.org/abs/2505.22653 'how much compute did training take?' --format json\n"
        "  paperboy ask 2505.22653 'what is the main result?' --language zh",
    ),
    "taste": (
        "What a channel's digests have learned from its reactions, pasted papers and /digest more-like or\n"
        "less-like: the signals counted, the top terms and the papers the ranking is anchored on. Below\n"
        "ranking.min_signals signals the channel's digests rank by keywords alone.",
        "  paperboy taste slack:C0123ABCD\n  paperboy taste console --format json",
    ),
    "chat": (
        "The console platform: each line typed (or piped in) is a chat message, answered on standard\n"
        "output as the bot would answer in Slack or Discord. Ctrl-D (end of input) quits.",
        "  paperboy chat                       then paste a link, or type /digest help\n"
        "  paperboy chat < links.txt           answers every line, exits 0",
    ),
    "post": (
        "Post a subscription's digest to its channels now, through the same once-only claim as the\n"
        "schedule: running it twice, or while `paperboy run` posts it, posts it once.",
        "  paperboy post nlp-daily\n  paperboy post nlp-daily --date 2025-05-30",
    ),
    "run": (
        "Run the bot: the chat platforms enabled in the configuration, the digest schedule and\n"
        "/healthz, until SIGINT or SIGTERM (a digest being posted finishes its current message).",
        "  paperboy run\n"
        "  paperboy run --config /etc/paperboy/config.toml\n"
        "  PAPERBOY_SLACK__ENABLED=true paperboy run",
    ),
    "db": (
        "Database maintenance. `upgrade` creates or migrates the schema of storage.url (`run` does it\n"
        "too at every start; several processes starting at once is safe).",
        "  paperboy db upgrade\n  PAPERBOY_STORAGE__URL=postgresql+asyncpg://paperboy@db/paperboy paperboy db upgrade",
    ),
}


def build_parser() -> Parser:
    # The common options work before or after the command; SUPPRESS keeps a subcommand's parser from
    # overwriting what was given before it with its default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="TOML configuration (default: $PAPERBOY_CONFIG, else ./config.toml)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging, tracebacks on errors"
    )
    parser = Parser(prog="paperboy", description=DESCRIPTION, epilog=EPILOG, parents=[common])
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    # Not required: `paperboy` alone prints this help (main), not argparse's one-line complaint.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, summary: str, description: str, examples: str) -> Parser:
        parser: Parser = commands.add_parser(
            name, parents=[common], help=summary, description=description, epilog=f"examples:\n{examples}"
        )
        return parser

    summarize = command("summarize", "summarize papers by link or id", *HELP["summarize"])
    summarize.add_argument("refs", nargs="+", metavar="REF", help="arXiv URL, arXiv:ID, 2505.22653, hep-th/9901001")
    summarize.add_argument("--language", type=_language, help="language of the summary (default: summary.language)")
    summarize.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    summarize.add_argument(
        "--source",
        choices=["full", "abstract"],
        help="full: read the paper itself (its HTML, else its PDF); abstract: the abstract only "
        "(default: summary.source)",
    )

    digest = command("digest", "build a digest and print it (posts nothing)", *HELP["digest"])
    source = digest.add_mutually_exclusive_group(required=True)
    source.add_argument("--subscription", metavar="NAME", help="a [[subscriptions]] entry of the configuration")
    source.add_argument("--query", metavar="Q", help="arXiv search syntax, e.g. 'cat:cs.CL AND abs:reasoning'")
    digest.add_argument(
        "--date", type=_date, help="whole UTC days ending on DATE (default: arXiv's latest announcement)"
    )
    digest.add_argument(
        "--days", type=_days, help="that many UTC days, 1-31, ending on --date or today (default: digest.days)"
    )
    digest.add_argument("--max", type=_max_papers, help="papers in the digest, 1-200 (default: digest.max_papers)")
    digest.add_argument("--language", type=_language, help="language of the summaries")
    digest.add_argument("--format", choices=["text", "markdown", "json", "html"], default="text")
    digest.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    digest.add_argument(
        "--channel",
        type=_channel,
        help="rank with this channel's learned taste (slack:C0123, discord:123, console); default: keywords alone",
    )

    figures = command("figures", "list a paper's figures, or save their images", *HELP["figures"])
    figures.add_argument("ref", metavar="REF", help="arXiv URL, arXiv:ID, 2505.22653, hep-th/9901001")
    figures.add_argument("--out", metavar="DIR", help="save the figures' images in DIR as PNG files")

    ask = command("ask", "answer a question about a paper, quoting it", *HELP["ask"])
    ask.add_argument("ref", metavar="REF", help="arXiv URL, arXiv:ID, 2505.22653, hep-th/9901001")
    ask.add_argument("question", metavar="QUESTION", type=_question, help="the question, quoted as one argument")
    ask.add_argument("--language", type=_language, help="language of the answer (default: summary.language)")
    ask.add_argument("--format", choices=["text", "json"], default="text")

    taste = command("taste", "what a channel's digests learned from its reactions", *HELP["taste"])
    taste.add_argument("channel", metavar="CHANNEL", type=_channel, help="slack:C0123, discord:123 or console")
    taste.add_argument("--format", choices=["text", "json"], default="text")

    command("chat", "the console platform: chat with the bot in a terminal", *HELP["chat"])
    post = command("post", "post a subscription's digest now, at most once", *HELP["post"])
    post.add_argument("name", metavar="NAME", help="the subscription")
    post.add_argument("--date", type=_date, help="its local date (default: today in its timezone)")
    command("run", "the bot, until SIGINT/SIGTERM", *HELP["run"])
    db = command("db", "database maintenance", *HELP["db"])
    db.add_argument("action", choices=["upgrade"], help="upgrade: create or migrate the schema")
    return parser


class ProgressLine:
    """Progress notes for a person: on a terminal one line rewritten in place (carriage return, then
    clear to the end of the line); in a file, a pipe or CI, or with -v among the debug logs, one plain
    line per note. done() ends an in-place line, so what follows starts on a line of its own."""

    def __init__(self, stream: TextIO, *, plain: bool = False) -> None:
        self._stream = stream
        self._in_place = not plain and _is_terminal(stream)
        self._showing = False

    async def __call__(self, message: str) -> None:
        self.show(message)

    def show(self, message: str) -> None:
        note = f"… {message}"
        if not self._in_place:
            print(note, file=self._stream, flush=True)
            return
        from bot.core.textwidth import truncate_to_width

        # A note wider than the terminal would wrap, and \r returns only to the start of its last row.
        self._stream.write(f"\r{truncate_to_width(note, _columns(self._stream) - 1)}\x1b[K")
        self._stream.flush()
        self._showing = True

    def done(self) -> None:
        if self._showing:
            self._stream.write("\n")
            self._stream.flush()
            self._showing = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _columns(stream: TextIO) -> int:
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _written(path: str, papers: int, size: int) -> str:
    """`wrote digest.html (12 papers, 48 KB)`: what --out left, for the person who asked."""
    count = f"{papers} paper" if papers == 1 else f"{papers} papers"
    return f"wrote {path} ({count}, {_amount(size)})"


def _amount(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    return f"{size / 1024:.0f} KB" if size < 1024**2 else f"{size / 1024**2:.1f} MB"


def _report(errors: list[InputError], llm_errors: list[str]) -> int:
    from bot.core.render import error_line

    for error in errors:
        print(f"paperboy: {error_line(error)}", file=sys.stderr)
    for message in llm_errors:
        print(f"paperboy: {message}", file=sys.stderr)
    return EXIT_PARTIAL if errors or llm_errors else EXIT_OK


async def cmd_summarize(args: argparse.Namespace, config: Config) -> int:
    import dataclasses

    from bot.core.card import hide_figures
    from bot.core.models import InputError, SummaryBatch
    from bot.core.refs import parse_ref
    from bot.pages import render_batch
    from bot.wiring import open_services

    refs, errors = [], []
    for text in args.refs:
        try:
            refs.append(parse_ref(text))
        except InvalidReference as exc:
            errors.append(InputError(text, str(exc)))
    language = args.language or config.settings.summary.language
    batch = SummaryBatch(papers=())
    llm_errors: list[str] = []
    if refs:
        progress = ProgressLine(sys.stderr, plain=args.verbose)
        try:
            async with open_services(config) as services:
                batch = await services.summaries.summarize_refs(
                    refs, language=language, source=args.source, progress=progress
                )
                llm_errors = services.summaries.llm_errors
        finally:
            progress.done()
    batch = dataclasses.replace(batch, errors=(*errors, *batch.errors))
    batch = hide_figures(batch, not config.settings.reader.figures)
    print(render_batch(batch, args.format))
    return _report(list(batch.errors), llm_errors)


def _digest_request(args: argparse.Namespace, config: Config, now: dt.datetime) -> DigestRequest:
    """Whole UTC days when --date or --days is given, else arXiv's latest announcement at `now`."""
    import dataclasses

    from bot.core.digest import latest_announcement_request
    from bot.core.models import DigestRequest

    settings = config.settings
    date = args.date or now.astimezone(dt.UTC).date()
    days = args.days or settings.digest.days
    if args.subscription:
        subs = {sub.name: sub for sub in settings.subscription_models()}
        if args.subscription not in subs:
            known = ", ".join(subs) or "none"
            raise ConfigError(f"no subscription named {args.subscription!r} in {config.source} (known: {known})")
        request = subs[args.subscription].request_for(date, days=days)
    else:
        request = DigestRequest(
            query=args.query,
            date=date,
            days=days,
            max_papers=settings.digest.max_papers,
            language=settings.summary.language,
        )
    request = dataclasses.replace(
        request,
        max_papers=args.max or request.max_papers,
        language=args.language or request.language,
        channel=args.channel,
    )
    return request if args.date or args.days else latest_announcement_request(request, now)


async def cmd_digest(args: argparse.Namespace, config: Config) -> int:
    import asyncio
    import os

    from bot.core.card import hide_figures
    from bot.pages import render_digest
    from bot.wiring import make_clock, open_services

    now = make_clock(os.environ)  # PAPERBOY_CLOCK_START: which announcement is the latest, for tests and demos
    request = _digest_request(args, config, now())
    progress = ProgressLine(sys.stderr, plain=args.verbose)
    try:
        async with open_services(config, now=now) as services:
            digest = await services.digests.build(request, progress=progress)
            llm_errors = services.summaries.llm_errors
    finally:
        progress.done()
    output = render_digest(hide_figures(digest, not config.settings.reader.figures), args.format)
    if args.out:
        data = (output + "\n").encode("utf-8")
        await asyncio.to_thread(Path(args.out).write_bytes, data)
        print(_written(args.out, len(digest.papers), len(data)), file=sys.stderr)
    else:
        print(output)
    return _report([], llm_errors)


def _ref_or_report(text: str) -> ArxivRef | None:
    """The reference, or None after one line on standard error saying why it is not one."""
    from bot.core.models import InputError
    from bot.core.refs import parse_ref
    from bot.core.render import error_line

    try:
        return parse_ref(text)
    except InvalidReference as exc:
        print(f"paperboy: {error_line(InputError(text, str(exc)))}", file=sys.stderr)
        return None


async def _paper_or_report(services: Services, ref: ArxivRef, text: str) -> Paper | None:
    """The paper (from the cache, else arXiv), or None after one line on standard error (unknown, arXiv down)."""
    from bot.core.models import InputError

    papers, errors = await services.summaries.fetch_papers([ref])
    if errors or ref not in papers:
        _report(errors or [InputError(text, f"arXiv has no paper {ref}")], [])
        return None
    return papers[ref]


async def cmd_figures(args: argparse.Namespace, config: Config) -> int:
    from bot.wiring import open_services

    if (ref := _ref_or_report(args.ref)) is None:
        return EXIT_PARTIAL
    progress = ProgressLine(sys.stderr, plain=args.verbose)
    failed: list[str] = []
    try:
        async with open_services(config) as services:
            if (paper := await _paper_or_report(services, ref, args.ref)) is None:
                return EXIT_PARTIAL
            await progress(f"reading arXiv:{paper.arxiv_id}v{paper.version}")
            text = await services.reader.read(paper)
            progress.done()
            if text.kind == "abstract":
                print(f"paperboy: arXiv:{paper.arxiv_id}v{paper.version}: {text.note or 'the paper could not be read'}",
                      file=sys.stderr)  # fmt: skip
                return EXIT_PARTIAL
            print(figures_listing(text))
            if args.out:
                failed = await _save_figures(services.reader, paper, text, Path(args.out), progress)
    finally:
        progress.done()
    for line in failed:
        print(f"paperboy: {line}", file=sys.stderr)
    return EXIT_PARTIAL if failed else EXIT_OK


def figures_listing(text: FullText) -> str:
    """Each figure (and sub-figure): its label and caption, then its image's address, or where it is."""
    from bot.core.sanitize import one_line

    source = {"html": "arXiv's HTML rendering", "pdf": "the PDF"}.get(text.kind, text.kind)
    licence = f", {one_line(text.license)}" if text.license else ""
    count = f"{len(text.figures)} figure{'' if len(text.figures) == 1 else 's'}" if text.figures else "no figures"
    lines = [f"arXiv:{text.arxiv_id}v{text.version}: {count} (from {source}, {text.url}{licence})"]

    def describe(figure: Figure, indent: str) -> None:
        caption = one_line(figure.caption)
        lines.append(f"{indent}{one_line(figure.label) or 'Figure'}" + (f": {caption}" if caption else ""))
        if figure.image_url:
            where = figure.image_url
        elif text.kind == "pdf":
            where = f"{text.anchor_url(figure.anchor)} (cropped from the PDF with --out)"
        else:
            where = "(drawn in the page: no image file of its own)"
        lines.append(f"{indent}  {where}")

    for figure in text.figures:
        lines.append("")
        describe(figure, "")
        for panel in figure.panels:
            describe(panel, "  ")
    return "\n".join(lines)


def figure_images(figures: Sequence[Figure]) -> list[tuple[str, str]]:
    """(label, image address) of each image of these figures, each address once: a figure's own image, then
    its sub-figures' (a figure made of sub-figures has its first one's address: that one is the sub-figure's)."""
    seen: set[str] = set()
    images: list[tuple[str, str]] = []
    for figure in figures:
        panels = [(p.label, p.image_url) for p in figure.panels if p.image_url]
        own = [(figure.label, figure.image_url)] if figure.image_url not in {url for _, url in panels} else []
        for label, url in own + panels:
            if url and url not in seen:
                seen.add(url)
                images.append((label, url))
    return images


async def _save_figures(
    reader: OnDemandReader, paper: Paper, text: FullText, out: Path, progress: ProgressLine
) -> list[str]:
    """The figures' images in `out`, fetched (an HTML rendering's) or cropped from the PDF; what failed, a line each."""
    import asyncio

    from bot.core.card import file_stem

    saved: list[tuple[str, bytes]] = []
    failed: list[str] = []
    if text.kind == "pdf":
        await progress(f"cropping {len(text.figures)} figures from the PDF")
        crops = await reader.figure_pngs(paper, text.figures)
        for figure, png in zip(text.figures, crops, strict=True):
            if png is None:
                failed.append(f"{figure.label}: could not be cropped from the PDF (not found on its page, or blank)")
            else:
                saved.append((f"{file_stem(figure.label)}.png", png))
    else:
        images = figure_images(text.figures)
        for number, (label, url) in enumerate(images, 1):
            await progress(f"fetching {label} ({number} of {len(images)})")
            data = await reader.image(url)
            if data is None:
                failed.append(f"{label}: its image could not be fetched ({url})")
            else:
                saved.append((f"{file_stem(label)}.{_image_extension(data)}", data))
    progress.done()

    def write() -> int:
        out.mkdir(exist_ok=True)
        for name, data in saved:
            (out / name).write_bytes(data)
        return sum(len(data) for _, data in saved)

    size = await asyncio.to_thread(write)
    if saved:
        print(f"wrote {len(saved)} image{'' if len(saved) == 1 else 's'} to {out} ({_amount(size)})", file=sys.stderr)
    return failed


def _image_extension(data: bytes) -> str:
    """png, jpg or gif: an image file is saved as what it is (arXiv's renderings are PNG, a few are JPEG)."""
    return "jpg" if data.startswith(b"\xff\xd8") else "gif" if data.startswith(b"GIF8") else "png"


async def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    from bot.core.render import render_answer
    from bot.core.summaries import NO_LLM, OVER_BUDGET
    from bot.wiring import open_services

    if (ref := _ref_or_report(args.ref)) is None:
        return EXIT_PARTIAL
    progress = ProgressLine(sys.stderr, plain=args.verbose)
    try:
        async with open_services(config) as services:
            if (paper := await _paper_or_report(services, ref, args.ref)) is None:
                return EXIT_PARTIAL
            language = args.language or config.settings.summary.language
            answer = await services.answers.ask(paper, args.question, language=language, progress=progress)
    finally:
        progress.done()
    print(render_answer(answer, args.format))
    if answer.generator == "extractive" and answer.note not in (NO_LLM, OVER_BUDGET):
        # The LLM failed after its retries (as summarize reports it): the closest passages were printed instead.
        print(f"paperboy: arXiv:{answer.arxiv_id}v{answer.version}: no answer written: {answer.note}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


async def cmd_taste(args: argparse.Namespace, config: Config) -> int:
    from bot.core.render import render_taste
    from bot.wiring import open_services

    async with open_services(config) as services:
        report = await services.taste.report(args.channel)
    print(render_taste(report, args.format))
    return EXIT_OK


async def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    import os

    from bot.wiring import make_clock, open_services
    from handlers.console import run_console

    async with open_services(config, now=make_clock(os.environ)) as services:
        return await run_console(services.chat, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)


async def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from bot.runner import run_bot

    return await run_bot(config)


async def cmd_post(args: argparse.Namespace, config: Config) -> int:
    from bot.runner import post_now

    runs = await post_now(config, args.name, args.date)
    for run in runs:
        detail = f" ({run.error})" if run.error and run.state != "sent" else ""
        print(f"{run.subscription} {run.channel} {run.local_date}: {run.state}{detail}")
    return EXIT_OK if all(run.state in {"sent", "empty", "skipped"} for run in runs) else EXIT_PARTIAL


async def cmd_db(args: argparse.Namespace, config: Config) -> int:
    from bot.wiring import open_services

    async with open_services(config) as services:
        version = services.schema_version
    print(f"database schema is at version {version} ({config.settings.storage.url.split('://')[0]})")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], Awaitable[int]]] = {
    "summarize": cmd_summarize,
    "digest": cmd_digest,
    "figures": cmd_figures,
    "ask": cmd_ask,
    "taste": cmd_taste,
    "chat": cmd_chat,
    "run": cmd_run,
    "post": cmd_post,
    "db": cmd_db,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv, argparse.Namespace(config=None, verbose=False))
    if args.command is None:
        # `paperboy` alone: the help a person needs, as the usage error it is (argparse's exit 2).
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "out", None) and not Path(args.out).resolve().parent.is_dir():
        # Checked before the digest is built (and the LLM paid), not after.
        print(f"paperboy: --out {args.out}: that folder does not exist", file=sys.stderr)
        return EXIT_USAGE
    import asyncio
    import gc

    if args.command in ONE_SHOT:
        # For the rest of this process: these commands exit when their one job is done and leave little
        # garbage, so the cyclic collector would mostly walk the modules they import, again and again (~5%
        # of their start-up). `run` and `chat` can last for days and keep it.
        gc.disable()
    from bot.config import load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"paperboy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # `run` chats on the console when no chat platform is enabled: with a person, when it is a terminal.
    chat_platform = config.settings.slack.enabled or config.settings.discord.enabled
    log_file = setup_logging(
        verbose=args.verbose,
        secrets=config.secrets.values(),
        quiet=args.command in ONE_SHOT,
        console=args.command == "chat" or (args.command == "run" and not chat_platform and _is_terminal(sys.stdin)),
    )
    if log_file is not None:
        print(f"paperboy: the debug log goes to {log_file}", file=sys.stderr)
    redact = RedactingFormatter("%(message)s", config.secrets.values()).redact
    try:
        return asyncio.run(COMMANDS[args.command](args, config))
    except (ConfigError, UsageError) as exc:
        print(f"paperboy: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except PaperboyError as exc:
        print(f"paperboy: {redact(str(exc))}", file=sys.stderr)
        return EXIT_PARTIAL
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        detail = "" if args.verbose else " (run with -v for details)"
        print(f"paperboy: unexpected error: {redact(f'{type(exc).__name__}: {exc}')}{detail}", file=sys.stderr)
        return EXIT_PARTIAL
