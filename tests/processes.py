"""Starting several worker processes at once: each says "ready", then all are told "go" together."""

from __future__ import annotations

import asyncio


async def release_together(workers: list[asyncio.subprocess.Process], *, timeout: float) -> list[tuple[bytes, bytes]]:
    """Wait until every worker printed "ready", send them all "go", and return each one's (stdout, stderr).
    A worker still running at the end (a timeout, a failure) is killed."""
    try:
        async with asyncio.timeout(timeout):
            for worker in workers:
                assert worker.stdout is not None
                line = await worker.stdout.readline()
                assert line == b"ready\n", (line, await worker.stderr.read())  # type: ignore[union-attr]
            return list(await asyncio.gather(*(worker.communicate(b"go\n") for worker in workers)))
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
