"""Writes the fixtures beside it: the database each earlier schema version left behind, with a few rows.

For each version N and each backend, the storage package of REVS[N] (a commit whose latest schema version
was N, or later for versions 1..3: the last commit whose migration steps ran metadata.create_all on the
then-current tables) builds an empty database up to step N and writes the rows below into the tables of that
version; the database is then dumped by its backend's own tool: sqlite3's iterdump (v{N}.sqlite.sql) and
pg_dump --inserts (v{N}.postgresql.sql).

    python tests/data/schemas/generate.py            # from the repository root; needs git and PostgreSQL 15
    python tests/data/schemas/generate.py 4          # only the versions named

Without arguments it writes only the versions that have no files yet. These files are history: never
regenerate an existing version from a newer commit. When a new step is added, add the version it leaves
behind (the version before it) to REVS with the commit before the step, and its rows to ROWS.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

# The storage package that built each version.
REVS = {
    1: "ffb2897",  # the last commit before the steps' DDL was frozen
    2: "ffb2897",
    3: "ffb2897",
    4: "bbd1829",  # the last commit before step 5 (full_texts)
    5: "a431664",  # a commit before step 6 (summaries: source in the key, evidence, lead_figure)
    6: "d65d3c1",  # the last commit before step 7 (thread_cards, thread_turns, answers, taste_signals, channel_tastes)
}
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
UTC = dt.UTC
T = dt.datetime(2025, 5, 30, 7, 15, 0, 250000, tzinfo=UTC)

# Rows by the version whose step created their table (or, for 6, gave it a new key). A row may name columns a later
# step added: the tables of an earlier version leave them out (see build), a later one takes them.
ROWS: dict[int, dict[str, list[dict[str, Any]]]] = {
    1: {
        "papers": [
            {
                "arxiv_id": "2505.22653",
                "version": 2,
                "title": "Reasoning in the Small: a Study",
                "authors": ["Ada Lovelace", "Émile Borel"],
                "abstract": "We study reasoning.",
                "comment": "12 pages",
                "journal_ref": None,
                "primary_category": "cs.CL",
                "categories": ["cs.CL", "cs.AI"],
                "published": dt.datetime(2025, 5, 28, 17, 0, tzinfo=UTC),
                "updated": dt.datetime(2025, 5, 29, 9, 30, 0, 123456, tzinfo=UTC),
                "fetched_at": T,
            },
            {
                "arxiv_id": "hep-th/9901001",
                "version": 1,
                "title": "An Old-Style Identifier",
                "authors": ["J. Doe"],
                "abstract": "Strings.",
                "comment": None,
                "journal_ref": "Phys. Lett. B 1 (1999)",
                "primary_category": "hep-th",
                "categories": ["hep-th"],
                "published": dt.datetime(1999, 1, 4, 12, 0, tzinfo=UTC),
                "updated": dt.datetime(1999, 1, 4, 12, 0, tzinfo=UTC),
                "fetched_at": T,
            },
        ],
        "summaries": [
            {
                "arxiv_id": "2505.22653",
                "version": 2,
                "model": "gpt-4o-mini",
                "prompt_version": "p1",
                "language": "en",
                "tldr": "Small models reason, a little.",
                "takeaways": ["one", "two"],
                "abstract_translation": None,
                "generator": "llm",
                "created_at": T,
                "source": "abstract",  # from step 6 on (what step 6 gives the rows it finds)
            }
        ],
        "token_usage": [{"day": dt.date(2025, 5, 30), "tokens": 1234}],
    },
    2: {
        "chat_events": [{"key": "slack:Ev0123", "claimed_at": T}],
        "subscriptions": [
            {
                "name": "nlp-daily",
                "query": "cat:cs.CL AND abs:reasoning",
                "channels": ["slack:C0123", "console"],
                "time": "08:30",
                "timezone": "Europe/Paris",
                "weekdays": [0, 1, 2, 3, 4],
                "max_papers": 7,
                "include": ["reasoning"],
                "exclude": [],
                "language": "fr",
                "post_when_empty": False,
                "updated_at": T,
            }
        ],
    },
    3: {
        "digest_runs": [
            {
                "subscription": "nlp-daily",
                "channel": "slack:C0123",
                "local_date": dt.date(2025, 5, 30),
                "state": "sent",
                "late": False,
                "owner": "5f0c6b5e-0d7a-4b8e-9a51-3c2f1d0e9b77",
                "lease_until": T + dt.timedelta(minutes=10),
                "window_end": dt.datetime(2025, 5, 30, 0, 0, tzinfo=UTC),
                "message_ids": ["1717.1", "1717.2"],
                "error": None,
                "updated_at": T,
            }
        ],
        "posted_papers": [
            {"channel": "slack:C0123", "arxiv_id": "2505.22653", "posted_at": T},
            {"channel": "slack:C0123", "arxiv_id": "hep-th/9901001", "posted_at": T},
        ],
    },
    4: {
        "request_lanes": [{"name": "export.arxiv.org", "next_at": 1748589300.25}],
    },
    5: {
        "full_texts": [
            {
                "arxiv_id": "2505.22653",
                "version": 2,
                "kind": "html",
                "url": "https://arxiv.org/html/2505.22653v2",
                "license": "CC BY 4.0",
                "content": {
                    "format": 1,
                    "paragraphs": [
                        ["abstract1", "Abstract", "We study reasoning."],
                        ["S4.p2", "4 Results", "Accuracy rises by $12.5\\%$ on GSM8K."],
                    ],
                    "figures": [
                        {
                            "label": "Figure 1",
                            "caption": "Overview.",
                            "anchor": "S1.F1",
                            "image_url": "https://arxiv.org/html/2505.22653v2/x1.png",
                            "kind": "raster",
                            "panels": [],
                        }
                    ],
                    "table_captions": ["TABLE I: Results"],
                    "note": None,
                },
                "fetched_at": T,
            }
        ],
    },
    6: {
        "summaries": [
            {
                "arxiv_id": "2505.22653",
                "version": 2,
                "model": "gpt-4o-mini",
                "prompt_version": "p1",
                "language": "en",
                "tldr": "Small models reason, a little, says the paper itself.",
                "takeaways": ["Accuracy rises by 12.5% on GSM8K.", "No code."],
                "abstract_translation": None,
                "generator": "llm",
                "created_at": T,
                "source": "html",
                "evidence": [
                    {
                        "quote": "Accuracy rises by $12.5\\%$ on GSM8K.",
                        "anchor_url": "https://arxiv.org/html/2505.22653v2#S4.p2",
                    },
                    None,
                ],
                "lead_figure": "Figure 1",
            }
        ],
    },
}


def main(argv: list[str]) -> None:
    versions = [int(v) for v in argv] or [v for v in REVS if not (HERE / f"v{v}.sqlite.sql").exists()]
    revs = {REVS[v] for v in versions}
    if len(revs) > 1:  # one storage package per process: one process per commit
        for rev in sorted(revs):
            named = [str(v) for v in versions if REVS[v] == rev]
            subprocess.run([sys.executable, __file__, *named], check=True)
        return
    if versions:
        generate(revs.pop(), versions)


def generate(rev: str, versions: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="paperboy-schemas-") as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(["git", "archive", rev, "storage"], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(old, filter="data")
        # The old `storage` package shadows today's; bot and tests still come from the working tree.
        sys.path[:0] = [str(old), str(ROOT)]
        from tests.db import _Cluster

        cluster = _Cluster()
        try:
            server = cluster.start()
            for version in versions:
                sqlite_file = Path(tmp) / f"v{version}.db"
                asyncio.run(build(f"sqlite+aiosqlite:///{sqlite_file}", version))
                write(f"v{version}.sqlite.sql", dump_sqlite(sqlite_file))
                database = f"v{version}"
                server.execute(f"CREATE DATABASE {database}")
                asyncio.run(build(server.url(database), version))
                write(f"v{version}.postgresql.sql", dump_postgres(server.host, server.port, database))
        finally:
            cluster.stop()


async def build(url: str, version: int) -> None:
    from sqlalchemy import insert

    from storage import migrations, tables
    from storage.engine import make_engine

    assert len(migrations.STEPS) >= version, f"{migrations.__file__} is not storage code of version {version}"
    all_steps = vars(migrations).setdefault("ALL_STEPS", migrations.STEPS)
    migrations.STEPS = all_steps[:version]  # read at call time by upgrade()
    migrations.LATEST = version
    engine = make_engine(url)
    try:
        assert await migrations.upgrade(engine) == version
        async with engine.begin() as conn:
            for step in range(1, version + 1):
                for name, rows in ROWS.get(step, {}).items():
                    table = getattr(tables, name)
                    columns = [{key: value for key, value in row.items() if key in table.c} for row in rows]
                    await conn.execute(insert(table), columns)
    finally:
        await engine.dispose()


def dump_sqlite(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump()) + "\n"
    finally:
        conn.close()


def dump_postgres(host: str, port: int, database: str) -> str:
    argv = ["pg_dump", "--inserts", "--no-owner", "--no-privileges", "-h", host, "-p", str(port), "-U", "postgres"]
    text = subprocess.run([*argv, database], capture_output=True, text=True, check=True).stdout
    # psql meta-commands (\restrict with a random key) are for psql only; the rest is plain SQL.
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("\\"))


def write(name: str, text: str) -> None:
    (HERE / name).write_text(text, "utf-8")
    print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main(sys.argv[1:])
