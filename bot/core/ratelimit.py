"""A sliding-window rate limit per key (a person, a channel). Pure: the clock is passed in.

In-process on purpose: each bot process counts on its own, so with N replicas one person may get up
to N times the limit. That is enough to stop one person flooding a channel (RELIABILITY rows 29, 46);
the daily LLM token budget, kept in the database, is the hard cap on spending.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

_SWEEP_AT_KEYS = 1024  # forget idle keys once this many are tracked


class SlidingWindow:
    """At most `limit` units per key in any `window_seconds`."""

    def __init__(
        self, limit: int, *, window_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1:
            raise ValueError("a rate limit allows at least 1 unit per window")
        self.limit, self.window_seconds = limit, window_seconds
        self._clock = clock
        self._taken: dict[str, collections.deque[tuple[float, int]]] = {}

    def wait_seconds(self, key: str, amount: int = 1) -> float:
        """How long until `amount` more units fit for `key`: 0.0 when they fit now. A request bigger than
        the whole limit fits once nothing else is in the window."""
        now = self._clock()
        taken = self._current(key, now)
        excess = sum(units for _, units in taken) + min(amount, self.limit) - self.limit
        if excess <= 0:
            return 0.0
        for at, units in taken:  # oldest first: wait until enough of them have left the window
            excess -= units
            if excess <= 0:
                return at + self.window_seconds - now
        raise AssertionError("an empty window fits any request")  # pragma: no cover

    def take(self, key: str, amount: int = 1) -> None:
        """Count `amount` units for `key` now (whether or not they fit: the caller asked wait_seconds)."""
        now = self._clock()
        if len(self._taken) >= _SWEEP_AT_KEYS:
            for idle in [k for k in self._taken if not self._current(k, now)]:
                del self._taken[idle]
        self._taken.setdefault(key, collections.deque()).append((now, amount))

    def try_take(self, key: str, amount: int = 1) -> float:
        """Take `amount` if it fits now and return 0.0; else take nothing and return the seconds to wait."""
        wait = self.wait_seconds(key, amount)
        if wait == 0.0:
            self.take(key, amount)
        return wait

    def _current(self, key: str, now: float) -> collections.deque[tuple[float, int]]:
        taken = self._taken.get(key)
        if taken is None:
            return collections.deque()
        while taken and taken[0][0] <= now - self.window_seconds:
            taken.popleft()
        return taken
