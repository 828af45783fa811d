"""The paperboy command end to end: a real subprocess against fake arXiv and LLM servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import socket
import sys

import pytest

from tests.interface import PAPER_KEYS, SUMMARY_KEYS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_KEY = "sk-test-0123456789abcdefghijklmnop"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(tmp_path, fake_arxiv, fake_llm, fake_arxiv_site):
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_") and k != "OPENAI_API_KEY"}
    return {
        **base,
        "PYTHONPATH": REPO,  # the checkout, installed or not
        "PAPERBOY_STORAGE__URL": f"sqlite+aiosqlite:///{tmp_path}/paperboy.db",
        "PAPERBOY_ARXIV__API_URL": fake_arxiv.api_url,
        "PAPERBOY_ARXIV__MIN_INTERVAL_SECONDS": "0.01",
        "PAPERBOY_ARXIV__MAX_TRIES": "2",
        "PAPERBOY_ARXIV__TIMEOUT_SECONDS": "5",
        # The paper itself from the fake arxiv.org: the corpus's papers have no page there (404: the abstract).
        "PAPERBOY_READER__HTML_URL": fake_arxiv_site.html_url,
        "PAPERBOY_READER__PDF_URL": fake_arxiv_site.pdf_url,
        "PAPERBOY_READER__MIN_INTERVAL_SECONDS": "0",
        "PAPERBOY_LLM__BASE_URL": fake_llm.base_url,
        "PAPERBOY_LLM__MAX_RETRIES": "0",
        "PAPERBOY_LLM__TIMEOUT_SECONDS": "5",
        "OPENAI_API_KEY": API_KEY,
    }


async def paperboy(*args: str, env: dict[str, str], cwd, stdin: str | None = None) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` without blocking the loop that serves the fakes."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=cwd,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate((stdin or "").encode()), timeout=90)
    return proc.returncode, out.decode(), err.decode()


async def test_summarize_json_then_cached_with_zero_calls(env, tmp_path, fake_arxiv, fake_llm):
    """JSON has the INTERFACE keys; the second run is all cache: no LLM call, no arXiv request."""
    code, out, err = await paperboy("summarize", "https://arxiv.org/abs/2505.22653", "--language", "zh",
                                    "--format", "json", env=env, cwd=tmp_path)  # fmt: skip
    assert (code, err.count("Traceback")) == (0, 0), err
    result = json.loads(out)
    (paper,) = result["papers"]
    assert set(paper) >= PAPER_KEYS and set(paper["summary"]) >= SUMMARY_KEYS and result["errors"] == []
    assert (paper["arxiv_id"], paper["version"], paper["published"]) == ("2505.22653", 1, "2025-05-28T17:00:00Z")
    assert paper["links"]["abs"] == "https://arxiv.org/abs/2505.22653v1"
    assert paper["links"]["pdf"] == "https://arxiv.org/pdf/2505.22653v1"
    # The corpus's abstract names its code on GitHub: the card's code link, in JSON too.
    assert paper["code_links"][0]["url"].startswith("https://github.com/")
    summary = paper["summary"]
    assert (summary["generator"], summary["language"], summary["cached"]) == ("llm", "zh", False)
    assert summary["abstract_translation"] and 3 <= len(summary["takeaways"]) <= 7
    llm_calls, arxiv_requests = len(fake_llm.calls), len(fake_arxiv.requests)

    code, out, _ = await paperboy("summarize", "2505.22653", "--language", "zh", "--format", "json",
                                  env=env, cwd=tmp_path)  # fmt: skip
    assert code == 0 and json.loads(out)["papers"][0]["summary"]["cached"] is True
    assert (len(fake_llm.calls), len(fake_arxiv.requests)) == (llm_calls, arxiv_requests) == (1, 1)


async def test_unknown_and_malformed_references_exit_1_with_one_line_each(env, tmp_path):
    """The good paper is printed; each bad input is one stderr line; exit status 1."""
    code, out, err = await paperboy("summarize", "2505.22653", "2512.99999", "arxiv.org.evil.com/abs/2301.00001",
                                    "--format", "json", env=env, cwd=tmp_path)  # fmt: skip
    assert code == 1
    result = json.loads(out)
    assert [p["arxiv_id"] for p in result["papers"]] == ["2505.22653"]
    assert [e["input"] for e in result["errors"]] == ["arxiv.org.evil.com/abs/2301.00001", "2512.99999"]
    lines = err.strip().splitlines()
    assert any("not an arXiv reference" in line and "evil.com" in line for line in lines)
    assert any("arXiv has no paper 2512.99999" in line for line in lines)
    assert "Traceback" not in err


async def test_unreachable_arxiv_is_one_line_and_exit_1(env, tmp_path):
    """arXiv refusing connections: a one-line 'unavailable' error naming the input."""
    env["PAPERBOY_ARXIV__API_URL"] = f"http://127.0.0.1:{closed_port()}/api/query"
    code, out, err = await paperboy("summarize", "2505.22653", env=env, cwd=tmp_path)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert "2505.22653" in line and "arXiv" in line and "try again" in line


async def test_unreachable_llm_falls_back_to_extractive_and_says_so(env, tmp_path):
    """LLM down: the card is extractive and labelled, stderr says what failed, the key never shows."""
    env["PAPERBOY_LLM__BASE_URL"] = f"http://127.0.0.1:{closed_port()}/v1"
    code, out, err = await paperboy("summarize", "2505.22653", "-v", env=env, cwd=tmp_path)
    assert code == 1
    assert "Extractive summary" in out and "The Climb Carves Wisdom" in out
    assert any("LLM" in line and "unreachable" in line for line in err.splitlines())
    assert API_KEY not in err and API_KEY not in out


async def test_without_an_llm_the_summary_is_extractive_and_exit_0(env, tmp_path):
    """No base_url and no key: extractive, labelled, exit 0."""
    del env["PAPERBOY_LLM__BASE_URL"], env["OPENAI_API_KEY"]
    code, out, err = await paperboy("summarize", "arXiv:2505.22653", "--format", "markdown", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "xtractive" in out and "The Climb Carves Wisdom" in out


async def test_bad_configuration_exits_2_with_one_line(env, tmp_path):
    """A bad value names its key in one line; exit status 2."""
    env["PAPERBOY_LLM__MAX_CONCURRENCY"] = "zero"
    code, out, err = await paperboy("summarize", "2505.22653", env=env, cwd=tmp_path)
    assert (code, out) == (2, "")
    (line,) = err.strip().splitlines()
    assert "llm.max_concurrency" in line


@pytest.mark.parametrize(
    "args",
    [
        ["digest"],
        ["summarize"],
        ["digest", "--query", "x", "--date", "May 30"],
        ["summarize", "2505.22653", "--language", "Chinese"],
        ["digest", "--query", "x", "--days", "99999999"],  # was an OverflowError
        ["digest", "--query", "x", "--max", "201"],
        ["digest", "--query", "x", "--date", "0001-01-01", "--days", "2"],
        ["digest", "--query", "x", "--out", "/nonexistent-folder/digest.md"],
        ["--config", "/", "db", "upgrade"],
        ["db", "upgrade", "--config", "/nonexistent.toml"],
    ],
)
async def test_usage_errors_exit_2_with_one_line(env, tmp_path, args):
    """Missing or malformed arguments: one line, exit 2."""
    code, _, err = await paperboy(*args, env=env, cwd=tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1


async def test_digest_formats(env, tmp_path, fake_llm):
    """digest prints JSON with the INTERFACE keys, and writes Markdown and HTML files with --out."""
    args = ["digest", "--query", "cat:cs.CL", "--date", "2025-05-28", "--max", "3"]
    code, out, err = await paperboy(*args, "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    digest = json.loads(out)
    assert set(digest) >= {"title", "date", "query", "papers", "omitted"}
    assert (digest["date"], digest["query"], len(digest["papers"])) == ("2025-05-28", "cat:cs.CL", 3)
    assert digest["omitted"] > 0 and "Summarized 3/3" in err
    for fmt in ("markdown", "html"):
        target = tmp_path / f"digest.{fmt}"
        code, out, err = await paperboy(*args, "--format", fmt, "--out", str(target), env=env, cwd=tmp_path)
        assert code == 0 and out == "", err
        text = target.read_text(encoding="utf-8")
        assert digest["papers"][0]["title"].split(":")[0] in text
    assert len(fake_llm.calls) == 3  # the Markdown and HTML runs came from the cache


async def test_digest_of_a_subscription_from_the_config_file(env, tmp_path):
    """--subscription NAME uses the [[subscriptions]] entry; an unknown name is a usage error."""
    (tmp_path / "config.toml").write_text(
        '[[subscriptions]]\nname = "vision"\nquery = "cat:cs.CV"\nmax_papers = 2\nchannels = ["console"]\n'
    )
    code, out, err = await paperboy("digest", "--subscription", "vision", "--date", "2025-05-28", "--format", "json",
                                    env=env, cwd=tmp_path)  # fmt: skip
    assert code == 0, err
    assert (json.loads(out)["title"], len(json.loads(out)["papers"])) == ("vision", 2)
    code, _, err = await paperboy("digest", "--subscription", "nope", env=env, cwd=tmp_path)
    assert code == 2 and "no subscription named 'nope'" in err


async def test_chat_answers_every_line_and_exits_0_at_end_of_input(env, tmp_path):
    """Piped input: a link gets a card, /digest help gets help, chatter gets nothing; exit 0."""
    lines = "hello there\nplease read https://arxiv.org/pdf/2505.22653v1.pdf\n/digest help\n"
    code, out, err = await paperboy("chat", env=env, cwd=tmp_path, stdin=lines)
    assert code == 0, err
    assert "The Climb Carves Wisdom" in out and "/digest QUERY" in out
    assert "Reading 1 paper" in err  # progress goes to stderr


async def test_db_upgrade_creates_the_schema(env, tmp_path):
    """db upgrade reports the schema version and is idempotent."""
    for _ in range(2):
        code, out, err = await paperboy("db", "upgrade", env=env, cwd=tmp_path)
        assert code == 0 and "schema is at version" in out, err


async def test_unreachable_database_is_one_line(env, tmp_path):
    """A PostgreSQL URL nobody listens on: one line naming the database (no password), exit 1."""
    env["PAPERBOY_STORAGE__URL"] = f"postgresql+asyncpg://bot:hunter2@127.0.0.1:{closed_port()}/paperboy"
    code, _, err = await paperboy("db", "upgrade", env=env, cwd=tmp_path)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert "cannot open the database" in line and "hunter2" not in line


HOSTILE = {
    "id": "2505.99999",
    "title": "<!channel> *Pwn* ```x``` <script>alert(1)</script> ||spoiler|| @everyone",
    "authors": ["<@U123> Mallory", "Eve @here"],
    "abstract": "We show <https://evil.example|arxiv> is safe. Click [here](javascript:alert(1)). <!subteam^S1>",
    "comment": "<img src=x onerror=alert(1)>",
    "categories": ["cs.CL"],
    "published": "2025-05-28T12:00:00Z",
}


async def test_hostile_paper_text_is_escaped_in_every_format(env, tmp_path, fake_arxiv):
    """A title and abstract full of mentions, HTML and Markdown come out inert in Markdown, HTML and JSON."""
    fake_arxiv.add_papers([HOSTILE])
    del env["PAPERBOY_LLM__BASE_URL"], env["OPENAI_API_KEY"]  # extractive: the abstract is quoted as is
    code, markdown, err = await paperboy("summarize", "2505.99999", "--format", "markdown", env=env, cwd=tmp_path)
    assert code == 0, err
    assert not re.search(r"(?<!\\)<(script|img|!channel|@U123|https://evil)", markdown)  # every < escaped
    assert "\\*Pwn\\*" in markdown and "\\`\\`\\`" in markdown and "\\[here\\](javascript:" in markdown
    target = tmp_path / "d.html"
    args = [
        "digest",
        "--query",
        "cat:cs.CL AND ti:Pwn",
        "--date",
        "2025-05-28",
        "--format",
        "html",
        "--out",
        str(target),
    ]
    code, _, err = await paperboy(*args, env=env, cwd=tmp_path)
    html = target.read_text(encoding="utf-8")
    assert code == 0 and "&lt;script&gt;" in html and "<script" not in html and "<img" not in html, err
    code, out, _ = await paperboy("summarize", "2505.99999", "--format", "json", env=env, cwd=tmp_path)
    assert json.loads(out)["papers"][0]["title"].startswith("<!channel>")  # JSON carries data; its reader escapes


async def test_invalid_references_never_reach_arxiv(env, tmp_path, fake_arxiv):
    """Look-alike hosts, v0, path tricks and a 10k-digit id: exit 1 and not one arXiv request."""
    bad = ["arxiv.org.evil.com/abs/2301.00001", "2301.00001v0", "https://arxiv.org/abs/../../etc/passwd",
           "javascript:alert(1)", "https://arxiv.org/abs/2301%2F00001", "1" * 10_000]  # fmt: skip
    code, out, err = await paperboy("summarize", *bad, env=env, cwd=tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == len(bad)
    assert fake_arxiv.requests == []


async def test_options_before_the_command_are_honoured(env, tmp_path):
    """`paperboy --config FILE db upgrade` uses FILE (its storage.url), like `db upgrade --config FILE`."""
    del env["PAPERBOY_STORAGE__URL"]
    config = tmp_path / "team.toml"
    config.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path}/team.db"\n')
    code, _, err = await paperboy("--config", str(config), "db", "upgrade", env=env, cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "team.db").exists() and not (tmp_path / "paperboy.db").exists()


async def test_an_arxiv_doi_summarizes_the_paper(env, tmp_path):
    """`summarize 10.48550/arXiv.ID`, as a citation manager pastes it, is that paper."""
    code, out, err = await paperboy("summarize", "10.48550/arXiv.2505.22653", "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    assert [p["arxiv_id"] for p in json.loads(out)["papers"]] == ["2505.22653"]


async def test_ids_that_cannot_exist_never_reach_arxiv(env, tmp_path, fake_arxiv):
    """Month 13, new style before 0704, four digits after 1412, a versioned DOI: one line each, no request."""
    impossible = ["2513.00001", "0612.1234", "2505.2265", "hep-th/0704001", "10.48550/arXiv.2505.22653v2"]
    code, _, err = await paperboy("summarize", *impossible, env=env, cwd=tmp_path)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == len(impossible)
    assert all("not an arXiv reference" in line for line in lines)
    assert fake_arxiv.requests == []


# The command line a person expects (issue 12 item 5) ------------------------------------------


@pytest.fixture
def bare_env(tmp_path):
    """No fakes needed: the command stops before any service."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_")}
    return {**base, "PYTHONPATH": REPO, "PAPERBOY_STORAGE__URL": f"sqlite+aiosqlite:///{tmp_path}/paperboy.db"}


async def test_paperboy_alone_prints_the_help(bare_env, tmp_path):
    """No command: the whole help (commands, examples), not argparse's one-line complaint; exit 2."""
    code, out, err = await paperboy(env=bare_env, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.startswith("usage: paperboy") and "required" not in err
    assert all(name in err for name in ("summarize", "digest", "chat", "post", "run", "db", "examples:"))


async def test_version_comes_from_the_package_metadata(bare_env, tmp_path):
    from bot.cli import package_version

    code, out, err = await paperboy("--version", env=bare_env, cwd=tmp_path)
    assert (code, err) == (0, "") and out == f"paperboy {package_version()}\n"
    assert re.fullmatch(r"paperboy \d+\.\d+\.\d+\S*( \(not installed\))?\n", out)


def test_version_of_a_checkout_never_installed(monkeypatch):
    """Without package metadata (a checkout on PYTHONPATH), pyproject.toml's version, marked as such."""
    import importlib.metadata
    import tomllib

    from bot.cli import package_version

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert package_version() == f"{version} (not installed)"


@pytest.mark.parametrize("command", ["summarize", "digest", "figures", "ask", "taste", "chat", "post", "run", "db"])
def test_every_command_has_a_description_and_examples(command, capsys):
    from bot.cli import build_parser

    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([command, "--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0
    description, examples = out.split("\n\n", 2)[1], out.split("examples:\n", 1)[1]
    assert len(description) > 60 and not description.startswith(("positional", "options"))
    assert examples.startswith(f"  paperboy {command}") or examples.startswith("  PAPERBOY_")


async def test_out_says_what_it_wrote(env, tmp_path):
    """--out FILE: one stderr line naming the file, the papers in it and its size; nothing on stdout."""
    target = tmp_path / "digest.html"
    args = ["digest", "--query", "cat:cs.CL", "--date", "2025-05-28", "--max", "2", "--format", "html"]
    code, out, err = await paperboy(*args, "--out", str(target), env=env, cwd=tmp_path)
    assert (code, out) == (0, ""), err
    size = target.stat().st_size
    assert size > 1024  # a page is kilobytes: the line says KB
    assert err.splitlines()[-1] == f"wrote {target} (2 papers, {size / 1024:.0f} KB)"


def test_written_counts_papers_and_sizes():
    from bot.cli import _written

    assert _written("d.md", 1, 812) == "wrote d.md (1 paper, 812 bytes)"
    assert _written("digest.html", 12, 48 * 1024 + 100) == "wrote digest.html (12 papers, 48 KB)"
    assert _written("big.html", 200, 3 * 1024**2) == "wrote big.html (200 papers, 3.0 MB)"


@pytest.mark.parametrize("how", ["PAPERBOY_CONFIG", "--config", "./config.toml"])
async def test_a_config_path_that_is_a_directory_says_so(bare_env, tmp_path, how):
    """What Docker leaves when config.toml was missing at `docker compose up`: a directory. One clear line,
    exit 2, even for ./config.toml (a directory there is not "no configuration file")."""
    (tmp_path / "config.toml").mkdir()
    args = ["db", "upgrade"]
    if how == "PAPERBOY_CONFIG":
        bare_env["PAPERBOY_CONFIG"] = str(tmp_path / "config.toml")
    elif how == "--config":
        args += ["--config", str(tmp_path / "config.toml")]
    code, out, err = await paperboy(*args, env=bare_env, cwd=tmp_path)
    assert (code, out) == (2, "")
    (line,) = err.strip().splitlines()
    assert "config.toml is a directory" in line and "Docker" in line
    assert "create config.toml beside docker-compose.yml" in line


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_progress_on_a_terminal_is_one_line_updated_in_place():
    from bot.cli import ProgressLine

    stream = FakeTerminal()
    progress = ProgressLine(stream)
    await progress("Reading 3 papers")
    await progress("Summarized 3/3 papers")
    assert stream.getvalue() == "\r… Reading 3 papers\x1b[K\r… Summarized 3/3 papers\x1b[K"
    progress.done()
    progress.done()  # once: what follows starts on its own line, with no blank line
    assert stream.getvalue().endswith("papers\x1b[K\n") and stream.getvalue().count("\n") == 1


async def test_progress_elsewhere_is_plain_lines():
    """A pipe or file (not a terminal), or -v with its log lines: one line per note, nothing to end."""
    from bot.cli import ProgressLine

    for stream, plain in ((io.StringIO(), False), (FakeTerminal(), True)):
        progress = ProgressLine(stream, plain=plain)
        await progress("Reading 3 papers")
        await progress("Summarized 3/3 papers")
        progress.done()
        assert stream.getvalue() == "… Reading 3 papers\n… Summarized 3/3 papers\n"


async def test_progress_wider_than_the_terminal_is_cut_to_its_width():
    """A note that wrapped would leave its first rows behind: \\r goes back only to the start of the last."""
    from bot.cli import ProgressLine
    from bot.core.textwidth import display_width

    stream = FakeTerminal()  # no real terminal behind it: 80 columns
    await ProgressLine(stream)("正在总结论文 " * 20)
    shown = stream.getvalue().removeprefix("\r").removesuffix("\x1b[K")
    assert display_width(shown) <= 79 and shown.endswith("…")


async def test_an_llm_that_times_out_says_to_raise_the_timeout(env, tmp_path, fake_llm):
    """The card falls back to extractive and stderr says what to do: raise llm.timeout_seconds."""
    fake_llm.hang = True
    env["PAPERBOY_LLM__TIMEOUT_SECONDS"] = "0.5"
    code, out, err = await paperboy("summarize", "2505.22653", env=env, cwd=tmp_path)
    assert code == 1 and "Extractive summary" in out
    (line,) = [line for line in err.splitlines() if "LLM" in line]
    assert "did not answer within 0.5 s" in line and "Raise llm.timeout_seconds" in line


# ---- written from the paper itself (issue 9): the fake arxiv.org serves the real pages and PDFs by id

READ_PAPERS = [  # arXiv's records of the papers tests/data/papers/ has, as the fake export API serves them
    {"id": "2508.08468", "version": 6, "title": "Cloud-Edge Audio-Visual Speech Enhancement over 5G",
     "authors": ["A. Author"], "abstract": "We present a cloud-edge AVSE system over a public 5G edge network.",
     "categories": ["cs.SD"], "published": "2025-08-12T00:00:00Z"},
    {"id": "2008.10010", "version": 1, "title": "A Lip Sync Expert Is All You Need", "authors": ["K R Prajwal"],
     "abstract": "We study lip-syncing talking face videos to match a target speech segment.",
     "categories": ["cs.CV"], "published": "2020-08-23T00:00:00Z"},
]  # fmt: skip


def page_paragraphs(html_url: str) -> dict[str, str]:
    """2508.08468v6's paragraphs as the reader parses the page, normalised as quotes are compared."""
    from pathlib import Path

    from bot.clients.reader_html import parse_html
    from bot.core.faithfulness import normalized

    page = (Path(REPO) / "tests" / "data" / "papers" / "2508.08468v6.html").read_bytes()
    text = parse_html(page, url=f"{html_url}/2508.08468v6", arxiv_id="2508.08468", version=6)
    return {p.anchor: normalized(p.text) for p in text.paragraphs}


async def test_summarize_json_reports_the_html_source_its_licence_and_verbatim_evidence(
    env, tmp_path, fake_arxiv, fake_arxiv_site, fake_llm
):
    fake_arxiv.add_papers(READ_PAPERS)
    code, out, err = await paperboy("summarize", "2508.08468v6", "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    (paper,) = json.loads(out)["papers"]
    html = f"{fake_arxiv_site.html_url}/2508.08468v6"
    assert paper["source"] == {"kind": "html", "url": html, "license": "CC BY 4.0"}
    summary = paper["summary"]
    assert summary["generator"] == "llm" and len(summary["evidence"]) == len(summary["takeaways"]) == 4
    paragraphs = page_paragraphs(fake_arxiv_site.html_url)
    for evidence in summary["evidence"]:
        url, anchor = evidence["anchor_url"].split("#")
        assert url == html and evidence["quote"] in paragraphs[anchor]
    code, out, _ = await paperboy("summarize", "2508.08468v6", env=env, cwd=tmp_path)
    assert code == 0 and "Summary by gpt-4o-mini from the full text (HTML)" in out


async def test_a_number_the_llm_invents_is_not_in_the_json(env, tmp_path, fake_arxiv, fake_llm):
    """The LLM invents a number in one takeaway, and again when asked once more: the JSON has the other three."""
    from tests.fakes.llm_server import INVENTED, cited

    fake_arxiv.add_papers(READ_PAPERS)
    fake_llm.script(cited(invent={2}), cited(invent={2}))
    code, out, err = await paperboy("summarize", "2508.08468v6", "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    summary = json.loads(out)["papers"][0]["summary"]
    assert len(fake_llm.calls) == 2 and len(summary["takeaways"]) == len(summary["evidence"]) == 3
    assert INVENTED.rstrip("%") not in out


async def test_a_pdf_only_paper_is_summarized_from_its_pdf(env, tmp_path, fake_arxiv, fake_arxiv_site):
    fake_arxiv.add_papers(READ_PAPERS)
    code, out, err = await paperboy("summarize", "2008.10010v1", "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    paper = json.loads(out)["papers"][0]
    assert paper["source"]["kind"] == "pdf" and paper["source"]["url"] == f"{fake_arxiv_site.pdf_url}/2008.10010v1"
    assert all(e is None or "#page=" in e["anchor_url"] for e in paper["summary"]["evidence"])
    assert fake_arxiv_site.paths == ["/html/2008.10010v1", "/pdf/2008.10010v1", "/abs/2008.10010v1"]  # + the licence


async def test_with_arxiv_org_unreachable_the_card_still_comes_from_the_abstract(env, tmp_path, fake_arxiv):
    fake_arxiv.add_papers(READ_PAPERS)
    port = closed_port()
    env |= {"PAPERBOY_READER__HTML_URL": f"http://127.0.0.1:{port}/html",
            "PAPERBOY_READER__PDF_URL": f"http://127.0.0.1:{port}/pdf"}  # fmt: skip
    code, out, err = await paperboy("summarize", "2508.08468v6", "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    paper = json.loads(out)["papers"][0]
    assert paper["source"] == {"kind": "abstract", "url": "https://arxiv.org/abs/2508.08468v6", "license": None}
    assert paper["summary"]["generator"] == "llm" and paper["summary"]["takeaways"]


async def test_source_abstract_reads_only_the_abstract(env, tmp_path, fake_arxiv, fake_arxiv_site, fake_llm):
    fake_arxiv.add_papers(READ_PAPERS)
    args = ("summarize", "2508.08468v6", "--source", "abstract", "--format", "json")
    code, out, err = await paperboy(*args, env=env, cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["papers"][0]["source"]["kind"] == "abstract"
    assert fake_arxiv_site.paths == [] and "[S1.p1]" not in json.dumps(fake_llm.calls)
