"""An OpenAI-compatible summarizer and answerer (OpenAI, vLLM, Ollama, llama.cpp server, ...).

Structured output falls back from json_schema to json_object to prompted JSON, because
servers differ (and reject a response_format differently: 400, 422, or a 500 whose message
names it); the first mode that works is kept for the rest of the process. The model gets no
tools, its answer is validated and cleaned, and nothing it wrote (nor the API key) ever
reaches an exception or a log line.

Retries are ours, not the openai client's: connection errors, 408/409/429 and 5xx are tried
again `max_retries` times with a short backoff; a timeout is not, because a chat card waits
for it and must fall back within about `timeout_seconds`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import openai
from pydantic import BaseModel, ValidationError

from bot.clients.prompts import (
    ANSWER_JSON_SCHEMA,
    ANSWER_PROMPT_VERSION,
    PROMPT_VERSION,
    SUMMARY_JSON_SCHEMA,
    TITLE_MAX_CHARS,
    LLMAnswerBody,
    LLMSummary,
    build_answer_messages,
    build_messages,
    is_english,
)
from bot.core.card import paper_urls
from bot.core.errors import ConfigError, LLMUnavailable, SummarizerFailed
from bot.core.excerpt import Excerpt, Passage, approx_tokens
from bot.core.models import LLMOutput, Paper, Summary
from bot.core.questions import LLMAnswer, Turn
from bot.core.sanitize import looks_like_injection

log = logging.getLogger(__name__)

# Structured-output modes, strictest first.
JSON_SCHEMA, JSON_OBJECT, PROMPTED = 0, 1, 2
_MODE_NAMES = ("json_schema", "json_object", "prompted JSON")
MAX_ATTEMPTS = 2  # per paper, for invalid or degenerate answers
TEMPERATURE = 0.2
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 4.0  # also caps a server's Retry-After: a chat card is waiting
_CHECK_URL = "Check llm.base_url"
_CHECK_MODEL = "Check llm.model and llm.base_url"
_CHECK_SERVER = "Check the LLM server and llm.base_url"
# How an error message names the structured-output request it refused (llama-cpp-python answers
# json_schema with a 500 whose message is a validation error on body.response_format.type).
_NAMES_RESPONSE_FORMAT = re.compile(r"response_format|json_schema|json_object", re.IGNORECASE)
# What an answer's prompt spends that estimate_tokens cannot see (tokens): the language's name, and each paper's
# number, id and title (at most prompts.TITLE_MAX_CHARS, a few characters of it escaped).
_LANGUAGE_ALLOWANCE = 20
_PAPER_ALLOWANCE = approx_tokens('<paper number="10" id="2505.22653" title="">') + TITLE_MAX_CHARS // 3

_Parsed = TypeVar("_Parsed")
_Model = TypeVar("_Model", bound=BaseModel)


class _InvalidAnswer(Exception):
    """The model answered, but not with a usable summary or answer; str() never contains its text."""


class _TimedOut(Exception):
    """No answer within timeout_seconds."""


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


class _OpenAIModel:
    """What the summarizer and the answerer share: one OpenAI-compatible chat completions endpoint, our retries,
    a deadline per call, the structured-output mode that works (remembered), and the attempts at a usable answer."""

    prompt_version: str  # part of the cache key
    default_max_output_tokens: int
    # What a person is told happens instead when the LLM fails.
    _fallback = "summaries fall back to extractive"

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
        max_output_tokens: int | None = None,  # None: the kind's default_max_output_tokens
    ) -> None:
        self.model = model
        self.max_output_tokens = max_output_tokens or self.default_max_output_tokens
        self._timeout = timeout_seconds
        self._max_retries = max_retries
        self._mode = JSON_SCHEMA
        if not api_key and not base_url:
            raise ConfigError("OPENAI_API_KEY is not set (needed for OpenAI; local servers need llm.base_url)")
        # max_retries=0: the openai client would retry a timeout twice behind our back (3 x timeout_seconds
        # for one chat card); _complete decides what is retried.
        # Local servers (Ollama, vLLM, llama.cpp) take any key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "no-key", timeout=timeout_seconds, max_retries=0
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

    async def aclose(self) -> None:
        await self._client.close()

    async def _ask(
        self,
        built: tuple[str, str],
        *,
        schema: dict[str, Any],
        parse: Callable[[str | None], _Parsed],
        attempt_estimate: int,
        what: str,
        subject: str,
    ) -> tuple[_Parsed, int]:
        """Up to MAX_ATTEMPTS completions of the (system, user) messages until one parses: (parsed, tokens).

        `what` names the answer in errors ("summary of 2505.22653"); `subject` the input in logs ("paper
        2505.22653"). A call that reports no usage costs `attempt_estimate`."""
        system, user = built
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        tokens, problem = 0, ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                content, finish_reason, used = await self._complete(messages, schema)
            except _TimedOut:
                raise self._timed_out(tokens) from None
            except SummarizerFailed as exc:
                exc.tokens = tokens  # what the earlier attempts cost
                raise
            tokens += used or attempt_estimate
            if finish_reason == "length":
                raise SummarizerFailed(
                    f"the LLM's {what} was cut off at {self.max_output_tokens} output tokens; {self._fallback}",
                    tokens=tokens,
                )
            try:
                parsed = parse(content)
            except _InvalidAnswer as exc:
                problem = str(exc)
                log.warning("%s: unusable LLM answer (%s), attempt %d", subject, problem, attempt)
                continue
            if looks_like_injection(content or ""):
                log.warning("%s: the LLM answer looks prompt-injected; cleaned", subject)
            return parsed, tokens
        raise SummarizerFailed(
            f"the LLM gave no usable {what} in {MAX_ATTEMPTS} attempts ({problem}); {self._fallback}",
            tokens=tokens,
        )

    async def _complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> tuple[str | None, str | None, int]:
        """One chat completion: (content, finish_reason, total tokens or 0).

        A rejected response_format moves on to the next mode; connection errors, 408/409/429 and 5xx
        are retried with backoff; a timeout raises _TimedOut at once.
        """
        mode, retries = self._mode, 0
        while True:
            try:
                response = await self._create(messages, mode, schema)
            except openai.APITimeoutError:
                raise _TimedOut from None
            except openai.APIError as exc:
                if mode != PROMPTED and _rejects_response_format(exc):
                    log.info(
                        "LLM at %s rejected %s (HTTP %s); trying %s",
                        self.host,
                        _MODE_NAMES[mode],
                        getattr(exc, "status_code", "?"),
                        _MODE_NAMES[mode + 1],
                    )
                    mode += 1
                    continue
                failure, retryable = self._failure(exc)
                if not retryable or retries >= self._max_retries:
                    raise failure from None
                retries += 1
                delay = _backoff(exc, retries)
                log.info("LLM at %s failed; retry %d of %d in %.2f s", self.host, retries, self._max_retries, delay)
                await asyncio.sleep(delay)
                continue
            if mode > self._mode:
                log.info("LLM at %s: using %s from now on", self.host, _MODE_NAMES[mode])
                self._mode = mode
            if not response.choices:
                return None, None, 0
            choice = response.choices[0]
            used = response.usage.total_tokens if response.usage else 0
            return choice.message.content, choice.finish_reason, used or 0

    async def _create(self, messages: list[dict[str, str]], mode: int, schema: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        if mode == JSON_SCHEMA:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif mode == JSON_OBJECT:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            # A deadline for the whole call: httpx's timeout is per read, so a server that drips bytes
            # would never trip it.
            async with asyncio.timeout(self._timeout):
                return await self._completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=TEMPERATURE,
                    max_tokens=self.max_output_tokens,
                    **kwargs,
                )
        except TimeoutError:
            raise _TimedOut from None

    def _failure(self, exc: openai.APIError) -> tuple[SummarizerFailed, bool]:
        """The error to raise for exc, and whether trying again may help."""
        if isinstance(exc, openai.APIConnectionError):
            return self._failed("is unreachable (connection failed)", _CHECK_URL), True
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return self._failed(f"refused the API key (HTTP {exc.status_code})", "Check OPENAI_API_KEY"), False
        if isinstance(exc, openai.NotFoundError):
            return self._failed("does not know the model or path (HTTP 404)", _CHECK_MODEL), False
        if isinstance(exc, openai.RateLimitError):
            return self._failed("kept rate limiting (HTTP 429)", "Lower llm.max_concurrency"), True
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code >= 500 or exc.status_code in (408, 409):
                return self._failed(f"failed (HTTP {exc.status_code})", _CHECK_SERVER), True
            # Another 4xx is about this request (a paper too long for the context, say), not the service.
            problem = f"rejected the request (HTTP {exc.status_code})"
            return self._failed(problem, _CHECK_MODEL, kind=SummarizerFailed), False
        return self._failed("sent something that is not a chat completion", _CHECK_URL), False

    def _failed(self, problem: str, action: str, *, kind: type[SummarizerFailed] = LLMUnavailable) -> SummarizerFailed:
        return kind(f"the LLM at {self.host} {problem}; {self._fallback}. {action}")

    def _timed_out(self, tokens: int) -> LLMUnavailable:
        # `tokens` is what the earlier, answered attempts cost. A request with no answer reports no usage
        # and is not charged: a hung server tried again after every breaker cooldown would drain the budget.
        within = f"did not answer within {self._timeout:g} s"
        return LLMUnavailable(
            f"the LLM at {self.host} {within}; {self._fallback}. Raise llm.timeout_seconds if it is slow",
            tokens=tokens,
            note=f"the LLM {within}; if it is slow, raise llm.timeout_seconds",
        )


class OpenAISummarizer(_OpenAIModel):
    """Summarizer (bot.core.ports) backed by any OpenAI-compatible chat completions endpoint."""

    prompt_version = PROMPT_VERSION
    default_max_output_tokens = 2500  # seven takeaways with their quotes, and a translated abstract

    def estimate_tokens(self, paper: Paper, language: str, *, excerpt: Excerpt | None = None) -> int:
        """An upper bound: every attempt at its largest (about 3 characters a token, plus the output cap)."""
        return MAX_ATTEMPTS * self._attempt_estimate(build_messages(paper, language, excerpt=excerpt))

    def _attempt_estimate(self, messages: tuple[str, str]) -> int:
        system, user = messages
        return math.ceil((len(system) + len(user)) / 3) + self.max_output_tokens

    async def summarize(
        self, paper: Paper, language: str, *, excerpt: Excerpt | None = None, retry_note: str | None = None
    ) -> LLMOutput:
        shown = [p.text for p in excerpt.shown] if excerpt is not None else []
        if looks_like_injection("\n".join([paper.title, paper.abstract, paper.comment or "", *shown])):
            log.warning("paper %s: its text looks like a prompt injection; treated as data", paper.arxiv_id)
        built = build_messages(paper, language, excerpt=excerpt, retry_note=retry_note)
        keep_urls = paper_urls(paper)
        parsed, tokens = await self._ask(
            built,
            schema=SUMMARY_JSON_SCHEMA,
            parse=lambda content: _validated(LLMSummary, content, context={"keep_urls": keep_urls}),
            attempt_estimate=self._attempt_estimate(built),
            what=f"summary of {paper.arxiv_id}",
            subject=f"paper {paper.arxiv_id}",
        )
        summary = Summary(
            language=language,  # as asked: it is part of the cache key
            tldr=parsed.tldr,
            takeaways=tuple(takeaway.text for takeaway in parsed.takeaways),
            abstract_translation=None if is_english(language) else parsed.abstract_translation,
            generator="llm",
            model=self.model,
            prompt_version=PROMPT_VERSION,
            source=excerpt.kind if excerpt is not None else "abstract",
            lead_figure=parsed.lead_figure,
        )
        citations = tuple(takeaway.citation for takeaway in parsed.takeaways)
        return LLMOutput(summary=summary, tokens=tokens, citations=citations)


class OpenAIAnswerer(_OpenAIModel):
    """Answerer (bot.core.ports): a question answered from numbered passages, on the same kind of endpoint."""

    prompt_version = ANSWER_PROMPT_VERSION
    default_max_output_tokens = 1200  # a few sentences and up to four quotes
    _fallback = "answers fall back to the closest passages"

    def estimate_tokens(self, question: str, passages: Sequence[Passage], *, history: Sequence[Turn] = ()) -> int:
        """An upper bound: every attempt with the whole prompt (passages and history in it) and the output cap."""
        built = build_answer_messages(question, passages, papers=(), language="en", history=history)
        papers = len({p.id.partition(":")[0] for p in passages if ":" in p.id}) or 1  # paper N's ids are "N:..."
        return MAX_ATTEMPTS * (self._attempt_estimate(built) + _LANGUAGE_ALLOWANCE + papers * _PAPER_ALLOWANCE)

    def _attempt_estimate(self, messages: tuple[str, str]) -> int:
        return approx_tokens("".join(messages)) + self.max_output_tokens

    async def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        papers: Sequence[Paper],
        language: str,
        history: Sequence[Turn] = (),
        retry_note: str | None = None,
    ) -> LLMAnswer:
        ids = ", ".join(paper.arxiv_id for paper in papers) or "no paper"
        if looks_like_injection("\n".join(p.text for p in passages)):
            log.warning("papers %s: their text looks like a prompt injection; treated as data", ids)
        built = build_answer_messages(
            question, passages, papers=papers, language=language, history=history, retry_note=retry_note
        )
        parsed, tokens = await self._ask(
            built,
            schema=ANSWER_JSON_SCHEMA,
            parse=lambda content: _validated(LLMAnswerBody, content),
            attempt_estimate=self._attempt_estimate(built),
            what=f"answer about {ids}",
            subject=f"question about {ids}",
        )
        return parsed.as_answer(tokens)


def _validated(model: type[_Model], content: str | None, *, context: dict[str, Any] | None = None) -> _Model:
    """The first JSON object in `content`, validated as `model`; _InvalidAnswer naming only the fields at fault."""
    if not content:
        raise _InvalidAnswer("empty answer")
    try:
        return model.model_validate(extract_json_object(content), context=context)
    except ValidationError as exc:
        # Field names only: the input values are the model's words.
        fields = sorted({str(e["loc"][0]) if e["loc"] else "root" for e in exc.errors()})
        raise _InvalidAnswer(f"schema mismatch in {', '.join(fields)}") from None


def _rejects_response_format(exc: openai.APIError) -> bool:
    """Whether the server refused the response_format we sent, whatever status it chose for that."""
    if not isinstance(exc, openai.APIStatusError):
        return False
    if exc.status_code in (400, 422):
        return True
    # Only the server's own message: the rest of an error body may echo the request (the paper's text).
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else body
    return isinstance(message, str) and bool(_NAMES_RESPONSE_FORMAT.search(message))


def _backoff(exc: openai.APIError, retry: int) -> float:
    """The server's Retry-After when it sends one, else 0.5 s, 1 s, 2 s, ...; capped either way."""
    if isinstance(exc, openai.APIStatusError):
        for header, seconds_per_unit in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            try:
                return min(MAX_BACKOFF_SECONDS, max(0.0, float(exc.response.headers[header]) * seconds_per_unit))
            except (KeyError, ValueError):
                continue  # absent, or an HTTP date: use our own
    return min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (retry - 1))
