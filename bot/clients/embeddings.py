"""Embeddings of papers from an OpenAI-compatible endpoint (`/v1/embeddings`, `ranking.embedding_model`), for the
taste ranker (bot.clients.ranker.EmbeddingRanker). Synchronous: the ranker runs in a worker thread.

A paper's text is embedded once per process (an in-memory cache, keyed by a digest of the text): a subscription's
channels rank the same candidates, and a channel's liked papers come back at every retraining.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from urllib.parse import urlsplit

BATCH = 64  # texts per request
CACHED = 8192  # vectors kept (a few MB at 256 dimensions; an embedding model's 1536 make it ~50 MB at most)


class EmbeddingsFailed(Exception):
    """The endpoint failed or answered something unusable; the ranker goes on with TF-IDF alone."""


class OpenAIEmbeddings:
    def __init__(
        self, *, base_url: str | None, api_key: str, model: str, timeout_seconds: float = 60, max_retries: int = 2
    ) -> None:
        import openai  # already loaded when the LLM is configured; else only when a channel first learns

        self.model = model
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "no-key", timeout=timeout_seconds, max_retries=max_retries
        )
        parts = urlsplit(base_url or "https://api.openai.com/v1")  # host and port only: never credentials
        self._host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order. Raises EmbeddingsFailed."""
        keys = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        with self._lock:
            known = {key: self._cache[key] for key in keys if key in self._cache}
        missing = list(dict.fromkeys((key, text) for key, text in zip(keys, texts, strict=True) if key not in known))
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            vectors = self._embed([text for _, text in batch])
            known.update((key, vector) for (key, _), vector in zip(batch, vectors, strict=True))
        with self._lock:
            for key in keys:
                self._cache[key] = known[key]
                self._cache.move_to_end(key)
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return [known[key] for key in keys]

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import openai

        try:
            response = self._client.embeddings.create(model=self.model, input=texts, encoding_format="float")
        except openai.OpenAIError as exc:
            # Its kind and status only: a server's own message may quote the API key it refused.
            status = getattr(exc, "status_code", None)
            reason = f"{type(exc).__name__} (HTTP {status})" if status else type(exc).__name__
            raise EmbeddingsFailed(f"embeddings from {self._host} ({self.model}) failed: {reason}") from None
        data = sorted(response.data, key=lambda d: d.index)
        vectors = [list(d.embedding) for d in data]
        if len(vectors) != len(texts) or len({len(v) for v in vectors}) > 1 or not vectors or not vectors[0]:
            raise EmbeddingsFailed(f"embeddings from {self._host} ({self.model}): not one vector per text")
        return vectors

    def close(self) -> None:
        self._client.close()
