"""`paperboy digest` and the console's /digest cover arXiv's latest announcement by default: a real
subprocess on the clock PAPERBOY_CLOCK_START gives, against a fake arXiv where papers appear only when
arXiv announces them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.test_cli import env, paperboy  # noqa: F401 (env is a fixture)

NOW = dt.datetime(2025, 12, 9, 14, 0, tzinfo=dt.UTC)  # Tuesday 9 December, 09:00 US Eastern
HEADER = "Announced Mon 8 Dec 20:00 ET: submitted Fri 5 Dec 14:00 – Mon 8 Dec 14:00 ET"
PAPERS = [  # (id, submitted): Monday's announcement carries Friday 14:00 to Monday 14:00 ET
    ("2512.07001", "2025-12-08T15:00:00Z"),  # Monday 10:00 ET
    ("2512.07002", "2025-12-06T15:00:00Z"),  # Saturday
    ("2512.07003", "2025-12-05T15:00:00Z"),  # Friday 10:00 ET: Sunday's announcement
    ("2512.07004", "2025-12-09T13:00:00Z"),  # Tuesday 08:00 ET: not announced until this evening
]


@pytest.fixture
def announced(env, fake_arxiv):  # noqa: F811
    fake_arxiv.clock = lambda: NOW
    fake_arxiv.add_papers(
        {"id": i, "title": f"Paper {i}", "abstract": "Words.", "categories": ["cs.CL"], "published": at}
        for i, at in PAPERS
    )
    return {**env, "PAPERBOY_CLOCK_START": NOW.isoformat()}


async def test_digest_without_a_date_lists_the_latest_announcement(announced, tmp_path):
    """No --date: Monday evening's announcement (Friday 14:00 to Monday 14:00 ET), not "today, UTC", which
    arXiv has not announced; the header says which; --date asks for whole UTC days, as before."""
    code, out, err = await paperboy("digest", "--query", "cat:cs.CL", "--format", "json", env=announced, cwd=tmp_path)
    assert code == 0, err
    digest = json.loads(out)
    assert sorted(p["arxiv_id"] for p in digest["papers"]) == ["2512.07001", "2512.07002"]
    assert digest["date"] == "2025-12-08"

    for fmt in ("text", "html"):  # the page, laid out in bot.pages, says it too
        code, out, err = await paperboy("digest", "--query", "cat:cs.CL", "--format", fmt, env=announced, cwd=tmp_path)
        assert code == 0 and HEADER in out and "Paper 2512.07001" in out, err

    code, out, _ = await paperboy("digest", "--query", "cat:cs.CL", "--date", "2025-12-05", "--format", "json",
                                  env=announced, cwd=tmp_path)  # fmt: skip
    assert [p["arxiv_id"] for p in json.loads(out)["papers"]] == ["2512.07003"]


async def test_an_empty_digest_says_why(announced, tmp_path):
    """Today (--days 1): not announced yet, and when it will be. cat:zz.XX: not an arXiv category."""
    code, out, _ = await paperboy("digest", "--query", "cat:cs.CL", "--days", "1", env=announced, cwd=tmp_path)
    text = " ".join(out.split())
    assert code == 0 and "Papers first submitted on 2025-12-09 (UTC)" in text
    assert "its next announcement is Tue 9 Dec 20:00 ET" in text
    code, out, _ = await paperboy("digest", "--query", "cat:zz.XX", env=announced, cwd=tmp_path)
    assert code == 0 and "cat:zz.XX is not an arXiv category" in " ".join(out.split()) and HEADER in out


async def test_console_digest_uses_the_clock_too(announced, tmp_path):
    """`paperboy chat`: /digest cat:cs.CL lists Monday evening's announcement on PAPERBOY_CLOCK_START's clock."""
    code, out, err = await paperboy("chat", env=announced, cwd=tmp_path, stdin="/digest cat:cs.CL\n")
    assert code == 0 and HEADER in out, err
    assert "Paper 2512.07001" in out and "Paper 2512.07002" in out and "Paper 2512.07004" not in out
