"""FakeLLM: an OpenAI-compatible chat completions server on 127.0.0.1 (a random port).

By default it answers every request with a valid summary of the paper in the prompt (the
tl;dr names the title, so a test can tell which paper was summarized), each takeaway quoting a
passage of the prompt verbatim with its id (and the result takeaway a number its quote gives).
A question (the answer prompt, recognised by prompts.ANSWER_MARKER) gets a grounded answer: the
passage sharing the most words with the question, quoted verbatim (`answered(...)`).
Knobs reproduce what real servers do: slowness, a hung server, response_format rejected with 400
(vLLM, OpenAI) or with 500 and a validation message (llama-cpp-python), scripted failures.
`cited(...)` and `answered(...)` script the answers a faithfulness check must catch: a misquote, an
invented number.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

import pytest_asyncio
from aiohttp import web

from bot.clients.prompts import ANSWER_MARKER

_TITLE = re.compile(r"^Title: (.*)$", re.MULTILINE)
_ABSTRACT = re.compile(r"^Abstract:\n\[[^\]\n]*\] (.*)$", re.MULTILINE)
_LANGUAGE = re.compile(r"^Target language: .*\(([\w-]+)\)$", re.MULTILINE)
_PASSAGE = re.compile(r"^\[([^\]\n]+)\] (.+)$", re.MULTILINE)
# A word that is a plain quantity ("80", "$37.5\\%$", "(12.5%),"): not a name like GPT-4 or 5G.
_QUANTITY = re.compile(r"[$(]*(\d+(?:\.\d+)?)(?:\\?%)?[$),.;:]*")
_REFERENCE = re.compile(r"(?i)(fig(ure)?s?|tables?|sec(tion)?s?|eq(uation)?s?)\.?\(?")
QUOTE_WORDS = 14
INVENTED = "97.3%"  # a number no fixture paper gives

# A scripted answer: its content, a dict of knobs (below), or a function of the request body giving the content.
Scripted = str | dict[str, Any] | Callable[[dict[str, Any]], str]
MEASURED = -1  # tokens_per_call: count usage from the request and answer lengths


class FakeLLM:
    """Speaks POST /v1/chat/completions like OpenAI; records every request.

    script() queues answers consumed one per call (after any response_format rejection):
    a content string, {"status": 500}, {"content": ..., "finish_reason": "length"}, {"hang": True},
    optionally with "delay" (seconds) or "usage" (None for no usage block).

    hang=True accepts every request and never answers (until stop()). rejection_status is how
    a rejected response_format is answered: 400 as vLLM and OpenAI do, 500 as llama-cpp-python
    does (its request validation error is wrapped as an internal server error).
    """

    def __init__(
        self,
        *,
        delay: float = 0.0,
        reject_json_schema: bool = False,
        reject_json_object: bool = False,
        rejection_status: int = 400,
        hang: bool = False,
        tokens_per_call: int | None = 120,
        retry_after_ms: int | None = 5,
    ) -> None:
        self.delay = delay
        self.gate: asyncio.Event | None = None  # when set to an Event, every answer waits until it is set
        self.reject_json_schema = reject_json_schema
        self.reject_json_object = reject_json_object
        self.rejection_status = rejection_status
        self.hang = hang
        self.tokens_per_call = tokens_per_call
        # Sent with 5xx answers so the openai client's backoff stays short in tests.
        self.retry_after_ms = retry_after_ms
        self.calls: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Scripted] = deque()
        self._released = asyncio.Event()  # set by stop(): hung requests end so the server can shut down
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *responses: Scripted) -> None:
        self._script.extend(responses)

    def response_formats(self) -> list[str | None]:
        """The response_format type of each request, in order (None when absent)."""
        return [(call.get("response_format") or {}).get("type") for call in self.calls]

    async def start(self) -> FakeLLM:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        # Cancel handlers whose client hung up (timeouts), so stop() never waits on a delay.
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._released.set()
        if self.gate is not None:
            self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLM:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        self.authorizations.append(request.headers.get("Authorization"))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hang:
                return await self._never_answer()
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.gate is not None:
                await self.gate.wait()
            kind = (body.get("response_format") or {}).get("type")
            if (kind == "json_schema" and self.reject_json_schema) or (
                kind == "json_object" and self.reject_json_object
            ):
                return _format_rejected(kind, self.rejection_status)
            answer: Scripted = self._script.popleft() if self._script else {}
            if callable(answer):
                answer = answer(body)
            if isinstance(answer, str):
                answer = {"content": answer}
            if answer.get("hang"):
                return await self._never_answer()
            if answer.get("delay"):
                await asyncio.sleep(answer["delay"])
            if "status" in answer:
                headers = {"retry-after-ms": str(self.retry_after_ms)} if self.retry_after_ms else {}
                return _error(answer["status"], "scripted failure", headers)
            content = answer["content"] if "content" in answer else self._answer_for(body)
            return web.json_response(self._completion(body, content, answer))
        finally:
            self.in_flight -= 1

    async def _never_answer(self) -> web.Response:
        await self._released.wait()
        return _error(503, "shutting down")

    def _completion(self, body: dict[str, Any], content: str, answer: dict[str, Any]) -> dict[str, Any]:
        total = self.tokens_per_call
        if total == MEASURED:
            # About four characters a token, as OpenAI's tokenizers average on English text.
            prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
            usage = {"prompt_tokens": prompt, "completion_tokens": len(content) // 4}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        elif total is None:
            usage = None
        else:
            usage = {"prompt_tokens": total - total // 4, "completion_tokens": total // 4, "total_tokens": total}
        return {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": answer.get("finish_reason", "stop"),
                }
            ],
            "usage": answer.get("usage", usage),
        }

    @staticmethod
    def _answer_for(body: dict[str, Any]) -> str:
        """A grounded answer to a question; else a valid summary of the paper in the request, naming its title,
        each takeaway quoting it verbatim."""
        return answered()(body) if is_question(body) else cited()(body)


def prompt_of(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def passages_in(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (id, text) passages of the paper in a request, as the prompt gives them (figure captions left out:
    their line starts with the label, which is not the caption's text)."""
    user = next((str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user"), "")
    inside = user.split("\n<paper>\n", 1)[-1].split("\n</paper>\n", 1)[0].split("\nFigure captions:\n", 1)[0]
    return _PASSAGE.findall(inside)


def _quantity_at(text: str) -> int | None:
    """The position of the first word of `text` that is a plain quantity, not a reference's number."""
    words = text.split()
    for at, word in enumerate(words):
        if _QUANTITY.fullmatch(word) and not (at and _REFERENCE.fullmatch(words[at - 1])):
            return at
    return None


def cited(
    *, misquote: Collection[int] = (), invent: Collection[int] = (), lead_figure: str | None = None
) -> Callable[[dict[str, Any]], str]:
    """An answer (for script()) with four takeaways quoting the paper in the request: each quote a run of its words
    with that passage's id, the result takeaway (the third) giving a number its quote contains when the paper has
    one. Takeaways at the 0-based positions in `misquote` quote words the paper does not have in that order;
    those in `invent` give a number their quote does not (INVENTED)."""

    def answer(body: dict[str, Any]) -> str:
        prompt = prompt_of(body)
        title = m.group(1).strip() if (m := _TITLE.search(prompt)) else "an untitled paper"
        abstract = m.group(1).strip() if (m := _ABSTRACT.search(prompt)) else ""
        language = m.group(1) if (m := _LANGUAGE.search(prompt)) else "en"
        passages = passages_in(body) or [("abstract", abstract or title)]
        with_number = next(((pid, text, at) for pid, text in passages if (at := _quantity_at(text)) is not None), None)
        takeaways = []
        for position, point in enumerate(
            ["Problem: what the paper sets out to do.", "Method: the approach the paper describes.", "",
             "Limitation: what the paper leaves open."]
        ):  # fmt: skip
            pid, text = passages[position % len(passages)]
            words = text.split()
            start = (position // len(passages)) * QUOTE_WORDS % max(1, len(words))
            if not point and with_number is not None:  # the result: a number, and the passage that gives it
                pid, text, at = with_number
                words = text.split()
                number = _QUANTITY.fullmatch(words[at]).group(1)
                start = max(0, at - QUOTE_WORDS // 2)
                point = f"Result: {number} is the headline figure, as the paper gives it."
            point = point or "Result: the headline finding, as the paper gives it."
            quote = " ".join(words[start : start + QUOTE_WORDS])
            if position in misquote:
                quote = " ".join(reversed(quote.split())) + " indeed"
            if position in invent:
                point = point.rstrip(".") + f", up {INVENTED}."
            takeaways.append({"text": point, "quote": quote, "paragraph": pid})
        return json.dumps(
            {
                "tldr": f"Summary of {title}: it states a problem and a result.",
                "takeaways": takeaways,
                "lead_figure": lead_figure,
                "abstract_translation": None if language.split("-")[0] == "en" else f"[{language}] {abstract}",
            },
            ensure_ascii=False,
        )

    return answer


# ---- questions (the answer prompt)

_PASSAGE_ELEMENT = re.compile(r'<passage id="([^"]*)"[^>]*>(.*?)</passage>')
_QUESTION_ELEMENT = re.compile(r"<question>(.*?)</question>")
_TURN = re.compile(r"<turn[^>]*><question>(.*?)</question><answer>(.*?)</answer></turn>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CONTENT_WORD = re.compile(r"\w+")
_STOP_WORDS = frozenset(
    "a an the of on in for to and or is are was were be been it its this that these those with by from as at "
    "what which who whom how why when where does do did done can could would should will there their they them "
    "paper papers say says said about much many any some than then so if not no yes we our us you your i me my "
    "also into out up over per via".split()
)


def is_question(body: dict[str, Any]) -> bool:
    """Whether a request is the answer prompt (not a summary)."""
    system = next((str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system"), "")
    return system.startswith(ANSWER_MARKER)


def _user_message(body: dict[str, Any]) -> str:
    return next((str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user"), "")


def question_passages_in(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (id, text) passages of an answer prompt, their text unescaped back to the paper's."""
    return [(html.unescape(pid), html.unescape(text)) for pid, text in _PASSAGE_ELEMENT.findall(_user_message(body))]


def question_in(body: dict[str, Any]) -> str:
    """The question asked (the last <question>: earlier ones are the conversation's turns)."""
    questions = _QUESTION_ELEMENT.findall(_user_message(body))
    return html.unescape(questions[-1]) if questions else ""


def history_in(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The earlier (question, answer) turns an answer prompt carries, oldest first."""
    return [(html.unescape(q), html.unescape(a)) for q, a in _TURN.findall(_user_message(body))]


def content_words(text: str) -> set[str]:
    """The words that carry meaning, casefolded, a plural's "s" dropped ("datasets" is "dataset")."""
    words = (w.casefold() for w in _CONTENT_WORD.findall(text))
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOP_WORDS}


def answered(*, misquote: bool = False, invent: bool = False) -> Callable[[dict[str, Any]], str]:
    """An answer (for script()) to the question in the request: the passage sharing the most content words with
    the question (ties: with the earlier turns' questions, then the first), its sentence sharing the most quoted
    verbatim, and an answer text giving no number the quote lacks. No passage sharing a word: answered=false.
    `misquote` quotes words the passage does not have in that order; `invent` adds a number (INVENTED) to the
    answer text that its quote does not give."""

    def answer(body: dict[str, Any]) -> str:
        asked = content_words(question_in(body))
        earlier = content_words(" ".join(q for q, _ in history_in(body)))
        language = m.group(1) if (m := _LANGUAGE.search(prompt_of(body))) else "en"

        def overlap(text: str) -> tuple[int, int]:
            words = content_words(text)
            return len(asked & words), len(earlier & words)

        scored = [(overlap(text), -at, pid, text) for at, (pid, text) in enumerate(question_passages_in(body))]
        best = max(scored, default=None)
        if best is None or best[0][0] == 0:
            return json.dumps({"answer": "The paper does not say.", "answered": False, "citations": []})
        _, _, pid, text = best
        sentences = _SENTENCE_END.split(text)
        quote = max(sentences, key=lambda sentence: (overlap(sentence), -sentences.index(sentence))).strip()
        if misquote:
            quote = " ".join(reversed(quote.split())) + " indeed"
        reply = f"According to the paper: {quote}"
        if invent:
            reply += f" The gain is {INVENTED}."
        if language.split("-")[0] != "en":
            reply = f"[{language}] {reply}"
        citations = [{"passage": pid, "quote": quote}]
        return json.dumps({"answer": reply, "answered": True, "citations": citations}, ensure_ascii=False)

    return answer


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    # The shape vLLM and OpenAI both use closely enough for the openai client.
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"object": "error", "error": {"message": message, "type": kind, "code": status}}
    return web.json_response(body, status=status, headers=headers)


def _format_rejected(kind: str, status: int) -> web.Response:
    if status < 500:
        return _error(status, f"response_format type {kind} is not supported")
    # llama-cpp-python: FastAPI's validation error for its Literal["text", "json_object"], caught by
    # the server's catch-all route handler and sent as an internal server error.
    detail = {
        "type": "literal_error",
        "loc": ("body", "response_format", "type"),
        "msg": "Input should be 'text' or 'json_object'",
        "input": kind,
        "ctx": {"expected": "'text' or 'json_object'"},
    }
    body = {"error": {"message": f"1 validation error:\n  {detail}\n", "type": "internal_server_error",
                      "param": None, "code": None}}  # fmt: skip
    return web.json_response(body, status=status)


@pytest_asyncio.fixture
async def fake_llm():
    """A started FakeLLM, stopped after the test."""
    async with FakeLLM() as fake:
        yield fake
