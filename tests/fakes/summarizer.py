"""A summarizer for core tests: records calls, answers from a queue, else a summary naming the paper."""

from __future__ import annotations

import asyncio
from collections import deque

from bot.core.excerpt import Excerpt
from bot.core.models import LLMOutput, Paper, Summary


class RecordingSummarizer:
    model = "fake-model"
    prompt_version = "fake-v1"

    def __init__(self, *, delay: float = 0.0, tokens: int = 1000, estimate: int = 1500) -> None:
        self.delay, self.tokens, self.estimate = delay, tokens, estimate
        self.calls: list[tuple[str, str]] = []
        self.excerpts: list[Excerpt | None] = []  # what each call was given
        self.retry_notes: list[str | None] = []
        # Answers in order: a Summary, an LLMOutput (to give citations), or an exception to raise.
        self.queue: deque[Exception | Summary | LLMOutput] = deque()
        self.in_flight = self.max_in_flight = 0

    def estimate_tokens(self, paper: Paper, language: str, *, excerpt: Excerpt | None = None) -> int:
        return self.estimate

    async def summarize(
        self, paper: Paper, language: str, *, excerpt: Excerpt | None = None, retry_note: str | None = None
    ) -> LLMOutput:
        self.calls.append((paper.arxiv_id, language))
        self.excerpts.append(excerpt)
        self.retry_notes.append(retry_note)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        answer = self.queue.popleft() if self.queue else None
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, LLMOutput):
            return answer
        summary = answer or Summary(
            language=language,
            tldr=f"tl;dr of {paper.title}",
            takeaways=("first", "second", "third"),
            abstract_translation=None if language == "en" else f"[{language}] {paper.abstract[:40]}",
            generator="llm",
            model=self.model,
            prompt_version=self.prompt_version,
            source=excerpt.kind if excerpt is not None else "abstract",
        )
        return LLMOutput(summary=summary, tokens=self.tokens)
