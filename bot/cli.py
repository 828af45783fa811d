"""The command line: argument parsing, exit codes (0 done, 1 some input not served, 2 usage/config), output formats."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.core.errors import ConfigError, InvalidReference, PaperboyError, UsageError
from bot.logs import RedactingFormatter, setup_logging

# Parsing the arguments needs only the standard library: `paperboy --help` stays instant. Each command
# imports what it uses when it runs (pydantic, SQLAlchemy, aiohttp, openai and the chat SDKs take seconds).
if TYPE_CHECKING:
    from bot.config import Config
    from bot.core.models import DigestRequest, InputError

log = logging.getLogger("paperboy")

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block.
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


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
    parser = Parser(prog="paperboy", description="arXiv papers summarized for your team's chat.", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    summarize = commands.add_parser("summarize", parents=[common], help="summarize papers by link or id")
    summarize.add_argument("refs", nargs="+", metavar="REF", help="arXiv URL, arXiv:ID, 2505.22653, hep-th/9901001")
    summarize.add_argument("--language", type=_language, help="language of the summary (default: summary.language)")
    summarize.add_argument("--format", choices=["text", "markdown", "json"], default="text")

    digest = commands.add_parser("digest", parents=[common], help="build a digest and print it (posts nothing)")
    source = digest.add_mutually_exclusive_group(required=True)
    source.add_argument("--subscription", metavar="NAME", help="a [[subscriptions]] entry of the configuration")
    source.add_argument("--query", metavar="Q", help="arXiv search syntax, e.g. 'cat:cs.CL AND abs:reasoning'")
    digest.add_argument("--date", type=_date, help="last UTC day of the window (default: today)")
    digest.add_argument("--days", type=_days, help="days in the window, 1-31 (default: digest.days)")
    digest.add_argument("--max", type=_max_papers, help="papers in the digest, 1-200 (default: digest.max_papers)")
    digest.add_argument("--language", type=_language, help="language of the summaries")
    digest.add_argument("--format", choices=["text", "markdown", "json", "html"], default="text")
    digest.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")

    commands.add_parser("chat", parents=[common], help="the console platform: chat with the bot in a terminal")
    post = commands.add_parser("post", parents=[common], help="post a subscription's digest now, at most once")
    post.add_argument("name", metavar="NAME", help="the subscription")
    post.add_argument("--date", type=_date, help="its local date (default: today in its timezone)")
    commands.add_parser("run", parents=[common], help="the bot, until SIGINT/SIGTERM")
    db = commands.add_parser("db", parents=[common], help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: create or migrate the schema")
    return parser


def _progress_to_stderr() -> Callable[[str], Awaitable[None]]:
    async def progress(message: str) -> None:
        print(f"… {message}", file=sys.stderr, flush=True)

    return progress


def _report(errors: list[InputError], llm_errors: list[str]) -> int:
    from bot.core.render import error_line

    for error in errors:
        print(f"paperboy: {error_line(error)}", file=sys.stderr)
    for message in llm_errors:
        print(f"paperboy: {message}", file=sys.stderr)
    return EXIT_PARTIAL if errors or llm_errors else EXIT_OK


async def cmd_summarize(args: argparse.Namespace, config: Config) -> int:
    import dataclasses

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
        async with open_services(config) as services:
            batch = await services.summaries.summarize_refs(refs, language=language, progress=_progress_to_stderr())
            llm_errors = services.summaries.llm_errors
    batch = dataclasses.replace(batch, errors=(*errors, *batch.errors))
    print(render_batch(batch, args.format))
    return _report(list(batch.errors), llm_errors)


def _digest_request(args: argparse.Namespace, config: Config) -> DigestRequest:
    import dataclasses

    from bot.core.models import DigestRequest

    settings = config.settings
    date = args.date or dt.datetime.now(dt.UTC).date()
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
    return dataclasses.replace(
        request, max_papers=args.max or request.max_papers, language=args.language or request.language
    )


async def cmd_digest(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.pages import render_digest
    from bot.wiring import open_services

    request = _digest_request(args, config)
    async with open_services(config) as services:
        digest = await services.digests.build(request, progress=_progress_to_stderr())
        llm_errors = services.summaries.llm_errors
    output = render_digest(digest, args.format)
    if args.out:
        await asyncio.to_thread(Path(args.out).write_text, output + "\n", encoding="utf-8")
    else:
        print(output)
    return _report([], llm_errors)


async def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    from bot.wiring import open_services
    from handlers.console import run_console

    async with open_services(config) as services:
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
    "chat": cmd_chat,
    "run": cmd_run,
    "post": cmd_post,
    "db": cmd_db,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv, argparse.Namespace(config=None, verbose=False))
    if getattr(args, "out", None) and not Path(args.out).resolve().parent.is_dir():
        # Checked before the digest is built (and the LLM paid), not after.
        print(f"paperboy: --out {args.out}: that folder does not exist", file=sys.stderr)
        return EXIT_USAGE
    import asyncio

    from bot.config import load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"paperboy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(
        verbose=args.verbose,
        secrets=config.secrets.values(),
        quiet=args.command in {"summarize", "digest", "db", "post"},
    )
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
