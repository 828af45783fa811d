"""Values for asking a paper: where a question was asked, the papers a thread is about, the conversation so far,
and the answer with the quotes it rests on. No I/O here.

A *thread* is where a conversation about papers happens: the Slack thread of a card or a digest, a Discord digest
thread, or the chain of Discord replies under a card. Platforms record every card they post under its thread, and
the chat every answer it gives (bot.core.ports.ThreadBook), so a later message there can be recognised as a question
about its papers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bot.core.models import SourceKind
from bot.core.models import ThreadPlace as ThreadPlace  # defined beside IncomingMessage, which carries it

AnswerGenerator = Literal["llm", "extractive"]
DOES_NOT_SAY = "The paper does not say."
PAPERS_DO_NOT_SAY = "These papers do not say."


@dataclass(frozen=True)
class ThreadPaper:
    """One paper posted in a thread: its number there ("#3"), and the message that carried its card."""

    position: int  # 1-based, in the order the cards were posted (a digest's order)
    arxiv_id: str
    version: int
    message_id: str
    title: str = ""  # for picking a paper by title words ("" when unknown)


@dataclass(frozen=True)
class PostedCard:
    """One paper of a message of ours, recorded under its thread: a platform records the cards and digest entries it
    posts, the chat (ChatBot._keep) the answers it gives, so a reply to an answer still reaches the papers."""

    place: ThreadPlace
    message_id: str
    position: int
    arxiv_id: str
    version: int
    title: str = ""


@dataclass(frozen=True)
class Turn:
    """One question and its answer in a thread, kept so a follow-up sees the earlier ones."""

    asked_at: dt.datetime
    person: str  # qualified: "slack:U0123"
    question: str
    answer: str  # the answer's text as shown (without the quotes)
    arxiv_ids: tuple[str, ...]  # the papers it was about


@dataclass(frozen=True)
class AnswerCitation:
    """A quote, verbatim from the paper (checked), and where it is."""

    quote: str
    anchor_url: str  # "https://arxiv.org/html/2505.22653v1#S4.p2": built by Paperboy from a validated paragraph id
    section: str  # "4 Experiments" ("" when unknown)
    arxiv_id: str  # which paper (an answer across a digest cites several)


@dataclass(frozen=True)
class Answer:
    """What `paperboy ask`, the console's /ask and a thread question get. `answered` is False when the paper does
    not say (then `text` says so plainly and `citations` are the closest passages, if any)."""

    arxiv_id: str  # the paper asked about; "" for a question across several papers
    version: int
    question: str
    text: str  # untrusted (the LLM wrote it): escaped by every surface
    answered: bool
    source_kind: SourceKind  # what it was answered from: html, pdf, abstract
    source_url: str
    citations: tuple[AnswerCitation, ...]
    generator: AnswerGenerator
    model: str | None  # None for extractive
    language: str
    cached: bool = False
    arxiv_ids: tuple[str, ...] = ()  # every paper it is about (one for a single-paper answer)
    note: str | None = None  # why it is extractive or not answered ("no LLM configured", "over budget")


@dataclass(frozen=True)
class LLMCitation:
    """A quote the LLM says supports its answer, and the passage id it names (unchecked)."""

    quote: str
    passage: str  # the id the passage was shown under: "S4.p2", or "2:S4.p2" across papers


@dataclass(frozen=True)
class LLMAnswer:
    """The LLM's answer before bot.core.faithfulness checks its quotes and numbers."""

    text: str
    answered: bool  # False: the LLM says the passages do not answer it
    citations: tuple[LLMCitation, ...]
    tokens: int
