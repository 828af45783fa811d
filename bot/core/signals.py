"""Values for a channel's taste: what people there showed interest or disinterest in, and what the ranker made of
it. No I/O here.

A signal is stored per (channel, paper, person, kind): a person's 👍 and ⭐ on one paper are two rows but one
person's opinion (bot.core.taste sums them per person), and removing a reaction removes its row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

# Where a signal came from: a reaction (its emoji name, as the platform names it: "+1", "star", "👍"),
# a paper pasted in the channel, or `/digest more-like|less-like ID`.
SignalSource = Literal["reaction", "pasted", "command"]

INTEREST = 1
DISINTEREST = -1


@dataclass(frozen=True)
class Signal:
    channel: str  # qualified, as in the configuration: "slack:C0123", "discord:123", "console"
    arxiv_id: str  # without version: taste is about the paper, not a revision
    person: str  # qualified: "slack:U0123"
    source: SignalSource
    kind: str  # the emoji name for a reaction; "pasted"; "more-like" / "less-like"
    value: int  # INTEREST or DISINTEREST
    at: dt.datetime


@dataclass(frozen=True)
class StoredTaste:
    """A channel's trained ranker as the database keeps it: opaque JSON the ranker wrote, and what it was
    trained on (a digest retrains only when the signals changed since)."""

    channel: str
    signals_key: str  # a digest of the signals it was trained on
    signal_count: int
    trained_at: dt.datetime
    model_json: str


@dataclass(frozen=True)
class RankedPaper:
    """A candidate's place in a channel's digest: its score and one short line saying why (None: nothing to say)."""

    arxiv_id: str
    score: float
    why: str | None
