"""Start-up: `paperboy` from exec to exit when everything is cached; prints figures (not a test).

    python -m benchmarks.startup [--runs 7]

Each command is its own process, started as a person types it (the console script), against a
temporary SQLite database filled once: the 20 papers of tests/data/arxiv_corpus.json, served by a
fake arXiv on 127.0.0.1, summarized by a fake LLM. The LLM stays configured, so a cached command
shows it does not load the LLM client. A cached digest still asks arXiv for its list of papers:
the fake arXiv stays up while it is timed, with no interval between requests. Figures are wall
and CPU seconds, min and median over the runs, after one warm-up run (which also fills the OS file
cache).

Python's compiled bytecode is cached (in the temporary directory, PYTHONPYCACHEPREFIX), as it is for
an installed paperboy: pip compiles a package when it installs it, and a checkout's __pycache__ is
written on the first run. Without it (PYTHONDONTWRITEBYTECODE=1, as some sandboxes set) every run
compiles paperboy's own modules again; one row shows that case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.digest_benchmark import bench_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import FakeLLM

DIGEST = ["digest", "--query", "cat:cs.* OR cat:eess.*", "--date", "2025-05-28", "--days", "1", "--max", "20"]
SUMMARIZE = ["summarize", "2505.22653"]
# Packages a command should import only when it needs them; which ones each command loaded is printed.
WATCHED = (
    "openai", "slack_bolt", "slack_sdk", "discord", "apscheduler", "arxiv", "requests", "aiohttp", "sqlalchemy",
    "sqlalchemy.orm", "sqlalchemy.dialects.postgresql",
)  # fmt: skip
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", re.M)


def paperboy() -> list[str]:
    script = Path(sys.executable).with_name("paperboy")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


async def run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, str, str]:
    """(wall seconds, CPU seconds, stdout, stderr) of one run; a failing command stops the benchmark."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {err.decode()[-2000:]}")
    return wall, _children_cpu() - cpu_before, out.decode(), err.decode()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def imported(argv: list[str], env: dict[str, str], cwd: str) -> str:
    """Which of the watched packages one run of the command imports (python -X importtime)."""
    *_, err = await run(argv, env | {"PYTHONPROFILEIMPORTTIME": "1"}, cwd)
    loaded = set(_IMPORTED.findall(err))
    found = [p for p in WATCHED if any(name == p or name.startswith(p + ".") for name in loaded)]
    return ", ".join(found) or "none of them"


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeArxiv(recorded=False) as arxiv, FakeLLM() as llm:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_")} | bench_env(tmp, arxiv, llm)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
            # arXiv's 3 s between requests holds across processes (the database keeps the lane): digests run
            # back to back would wait for it, and this measures start-up, not politeness.
            env["PAPERBOY_ARXIV__MIN_INTERVAL_SECONDS"] = "0"
            cmd = paperboy()
            json_digest = [*cmd, *DIGEST, "--format", "json"]
            # Fill the cache: these two runs ask arXiv and the LLM.
            await run([*cmd, *SUMMARIZE], env, tmp)
            await run(json_digest, env, tmp)
            calls = len(llm.calls)
            # Installed packages' own __pycache__ is read again (a prefix hides it); ours is never written.
            uncached = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"} | {"PYTHONDONTWRITEBYTECODE": "1"}
            cases = [
                ("paperboy --help", [*cmd, "--help"], 0.3, env),
                ("python -m bot --help", [sys.executable, "-m", "bot", "--help"], 0.3, env),
                ("summarize, cached", [*cmd, *SUMMARIZE], 0.6, env),
                ("20-paper digest --format json, cached", json_digest, 1.0, env),
                ("summarize, cached, bytecode not cached", [*cmd, *SUMMARIZE], 0.6, uncached),
            ]
            header = f"{'seconds':40} {'wall min':>8} {'median':>7} {'target':>7}       {'CPU min':>7} {'median':>6}"
            print(f"{header}   imports (of: {', '.join(WATCHED)})")
            for name, argv, target, case_env in cases:
                timed = [(await run(argv, case_env, tmp))[:2] for _ in range(runs + 1)][1:]
                walls, cpus = [wall for wall, _ in timed], [cpu for _, cpu in timed]
                median = statistics.median(walls)
                verdict = "ok" if median < target else "OVER"
                print(
                    f"{name:40} {min(walls):8.3f} {median:7.3f} {'< ' + format(target, 'g'):>7} {verdict:4}"
                    f"  {min(cpus):7.2f} {statistics.median(cpus):6.2f}   {await imported(argv, case_env, tmp)}"
                )
            papers = len(json.loads((await run(json_digest, env, tmp))[2])["papers"])
            print(f"papers in the cached digest: {papers}; LLM calls while timing: {len(llm.calls) - calls}")
            print(f"runs per command: {runs} after 1 warm-up; CPU: user + system time")
            loads = " ".join(f"{load:.1f}" for load in os.getloadavg())
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average (1, 5, 15 min) {loads}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    asyncio.run(main(parser.parse_args().runs))
