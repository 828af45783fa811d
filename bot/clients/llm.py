"""An OpenAI-compatible summarizer (OpenAI, vLLM, Ollama, llama.cpp server, ...).

Structured output falls back from json_schema to json_object to prompted JSON, because
servers differ; the first mode that works is kept for the rest of the process. The model
gets no tools, its answer is validated and cleaned, and nothing it wrote (nor the API key)
ever reaches an exception or a log line.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any
from urllib.parse import urlsplit

import openai
from pydantic import ValidationError

from bot.clients.prompts import (
    PROMPT_VERSION,
    SUMMARY_JSON_SCHEMA,
    LLMSummary,
    build_messages,
    is_english,
)
from bot.core.errors import ConfigError, SummarizerFailed
from bot.core.models import LLMOutput, Paper, Summary
from bot.core.sanitize import looks_like_injection

log = logging.getLogger(__name__)

# Structured-output modes, strictest first.
JSON_SCHEMA, JSON_OBJECT, PROMPTED = 0, 1, 2
_MODE_NAMES = ("json_schema", "json_object", "prompted JSON")
MAX_ATTEMPTS = 2  # per paper, for invalid or degenerate answers
TEMPERATURE = 0.2
_CHECK_URL = "Check llm.base_url"
_CHECK_MODEL = "Check llm.model and llm.base_url"


class _InvalidAnswer(Exception):
    """The model answered, but not with a usable summary; str() never contains its text."""


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in text, tolerating prose around it and ```json fences."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(50):  # bounded: a hostile answer may hold thousands of braces
        if start < 0:
            break
        try:
            value, _end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(value, dict):
                return value
        start = text.find("{", start + 1)
    raise _InvalidAnswer("no JSON object in the answer")


class OpenAISummarizer:
    """Summarizer (bot.core.ports) backed by any OpenAI-compatible chat completions endpoint."""

    def __init__(
        self,
        *,
        # where and who
        base_url: str | None,
        api_key: str,
        model: str,
        # limits
        timeout_seconds: float = 60,
        max_retries: int = 2,
        max_output_tokens: int = 1500,
    ) -> None:
        self.model = model
        self.prompt_version = PROMPT_VERSION
        self.max_output_tokens = max_output_tokens
        self._timeout = timeout_seconds
        self._mode = JSON_SCHEMA
        if not api_key and not base_url:
            raise ConfigError("OPENAI_API_KEY is not set (needed for OpenAI; local servers need llm.base_url)")
        # The openai client retries connection errors, 408/409/429 and 5xx with backoff itself.
        # Local servers (Ollama, vLLM, llama.cpp) take any key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "no-key", timeout=timeout_seconds, max_retries=max_retries
        )
        # `client.chat` imports its module on first use (~0.1 s): do it here at start-up, not on the event loop
        # in the middle of the first summary.
        self._completions = self._client.chat.completions
        # Host and port only: a URL may carry credentials in its userinfo.
        parts = urlsplit(base_url or "https://api.openai.com/v1")
        self.host = parts.hostname or "?"
        if parts.port:
            self.host += f":{parts.port}"

    @property
    def mode(self) -> str:
        """The structured-output mode currently in use (for logs and health checks)."""
        return _MODE_NAMES[self._mode]

    def estimate_tokens(self, paper: Paper, language: str) -> int:
        """An upper bound: every attempt at its largest (about 3 characters a token, plus the output cap)."""
        return MAX_ATTEMPTS * self._attempt_estimate(paper, language)

    def _attempt_estimate(self, paper: Paper, language: str) -> int:
        system, user = build_messages(paper, language)
        return math.ceil((len(system) + len(user)) / 3) + self.max_output_tokens

    async def aclose(self) -> None:
        await self._client.close()

    async def summarize(self, paper: Paper, language: str) -> LLMOutput:
        if looks_like_injection(f"{paper.title}\n{paper.abstract}\n{paper.comment or ''}"):
            log.warning("paper %s: its text looks like a prompt injection; treated as data", paper.arxiv_id)
        system, user = build_messages(paper, language)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        tokens, problem = 0, ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                content, finish_reason, used = await self._complete(messages)
            except SummarizerFailed as exc:
                exc.tokens = tokens  # what the earlier attempts cost
                raise
            tokens += used or self._attempt_estimate(paper, language)
            if finish_reason == "length":
                raise SummarizerFailed(
                    f"the LLM's summary of {paper.arxiv_id} was cut off at {self.max_output_tokens} "
                    "output tokens; summaries fall back to extractive",
                    tokens=tokens,
                )
            try:
                parsed = self._parse(content)
            except _InvalidAnswer as exc:
                problem = str(exc)
                log.warning("paper %s: unusable LLM answer (%s), attempt %d", paper.arxiv_id, problem, attempt)
                continue
            if looks_like_injection(content or ""):
                log.warning("paper %s: the LLM answer looks prompt-injected; cleaned", paper.arxiv_id)
            summary = Summary(
                language=language,  # as asked: it is part of the cache key
                tldr=parsed.tldr,
                takeaways=tuple(parsed.takeaways),
                abstract_translation=None if is_english(language) else parsed.abstract_translation,
                generator="llm",
                model=self.model,
                prompt_version=PROMPT_VERSION,
            )
            return LLMOutput(summary=summary, tokens=tokens)
        raise SummarizerFailed(
            f"the LLM gave no usable summary of {paper.arxiv_id} in {MAX_ATTEMPTS} attempts ({problem}); "
            "summaries fall back to extractive",
            tokens=tokens,
        )

    @staticmethod
    def _parse(content: str | None) -> LLMSummary:
        if not content:
            raise _InvalidAnswer("empty answer")
        try:
            return LLMSummary.model_validate(extract_json_object(content))
        except ValidationError as exc:
            # Field names only: the input values are the model's words.
            fields = sorted({str(e["loc"][0]) if e["loc"] else "root" for e in exc.errors()})
            raise _InvalidAnswer(f"schema mismatch in {', '.join(fields)}") from None

    async def _complete(self, messages: list[dict[str, str]]) -> tuple[str | None, str | None, int]:
        """One chat completion: (content, finish_reason, total tokens or 0), falling back on 400/422."""
        mode = self._mode
        while True:
            kwargs: dict[str, Any] = {}
            if mode == JSON_SCHEMA:
                kwargs["response_format"] = {"type": "json_schema", "json_schema": SUMMARY_JSON_SCHEMA}
            elif mode == JSON_OBJECT:
                kwargs["response_format"] = {"type": "json_object"}
            try:
                response = await self._completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=TEMPERATURE,
                    max_tokens=self.max_output_tokens,
                    **kwargs,
                )
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if mode == PROMPTED:
                    raise self._failed(f"rejected the request (HTTP {exc.status_code})", _CHECK_MODEL) from None
                log.info(
                    "LLM at %s rejected %s (HTTP %d); trying %s",
                    self.host,
                    _MODE_NAMES[mode],
                    exc.status_code,
                    _MODE_NAMES[mode + 1],
                )
                mode += 1
                continue
            except openai.APITimeoutError:
                raise self._failed(f"is unreachable (no answer within {self._timeout:g}s)", _CHECK_URL) from None
            except openai.APIConnectionError:
                raise self._failed("is unreachable (connection failed)", _CHECK_URL) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise self._failed(f"refused the API key (HTTP {exc.status_code})", "Check OPENAI_API_KEY") from None
            except openai.NotFoundError:
                raise self._failed("does not know the model or path (HTTP 404)", _CHECK_MODEL) from None
            except openai.RateLimitError:
                raise self._failed("kept rate limiting (HTTP 429)", "Lower llm.max_concurrency") from None
            except openai.APIStatusError as exc:
                raise self._failed(f"is unreachable (HTTP {exc.status_code})", _CHECK_URL) from None
            except openai.APIError:
                raise self._failed("sent something that is not a chat completion", _CHECK_URL) from None
            if mode > self._mode:
                log.info("LLM at %s: using %s from now on", self.host, _MODE_NAMES[mode])
                self._mode = mode
            if not response.choices:
                return None, None, 0
            choice = response.choices[0]
            used = response.usage.total_tokens if response.usage else 0
            return choice.message.content, choice.finish_reason, used or 0

    def _failed(self, problem: str, action: str) -> SummarizerFailed:
        return SummarizerFailed(f"the LLM at {self.host} {problem}; summaries fall back to extractive. {action}")
