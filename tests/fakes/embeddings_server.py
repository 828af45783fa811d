"""A fake OpenAI-compatible embeddings endpoint on 127.0.0.1 (POST /v1/embeddings), in a thread of its own: the
taste ranker calls it synchronously from a worker thread.

Each text's vector counts its words hashed into DIMENSIONS buckets, so papers sharing words get similar vectors.
`fail = True` answers 500 with OpenAI's error shape.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSIONS = 32
_WORD = re.compile(r"[a-z]{3,}")


def vector(text: str) -> list[float]:
    counts = [0.0] * DIMENSIONS
    for word in _WORD.findall(text.lower()):
        counts[int.from_bytes(hashlib.blake2b(word.encode(), digest_size=2).digest(), "big") % DIMENSIONS] += 1.0
    return counts


class FakeEmbeddings:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # the JSON bodies, with "authorization" added
        self.fail = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({**body, "authorization": self.headers.get("Authorization", "")})
                if self.path != "/v1/embeddings":
                    return self._answer(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                if fake.fail:
                    return self._answer(500, {"error": {"message": "the server is down", "type": "server_error"}})
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [{"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(texts)]
                tokens = sum(len(t.split()) for t in texts)
                self._answer(200, {"object": "list", "data": data, "model": body["model"],
                                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})  # fmt: skip

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeEmbeddings:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
