"""A scripted OpenAI-compatible chat completions server (stdlib, 127.0.0.1, port 0) for tests.

POST /v1/chat/completions streams real `chat.completion.chunk` SSE over HTTP/1.1 chunked encoding, or returns a
`chat.completion`. The scenario of a request is the server default (or the next scripted one, see `script()`) with
the JSON in the `X-Scenario` header merged over it. GET /v1/_records?key=K returns the server-side ground truth.
"""

from __future__ import annotations

import collections
import json
import threading
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.scenario import ServerScenario, from_dict
from tests.support.stream_handler import StreamHandler
from tests.support.stream_records import Recorder, RequestRecord


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: StreamServer


class StreamServer:
    """Start with `start()` (or as a context manager); every network wait in handlers ends when `stop()` is called."""

    def __init__(self, default: ServerScenario | dict[str, Any] | None = None) -> None:
        self.default = default if isinstance(default, ServerScenario) else from_dict(default or {})
        self.recorder = Recorder()
        self.stopping = threading.Event()
        self._queue: collections.deque[ServerScenario] = collections.deque()
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> StreamServer:
        self._httpd = _HTTPServer(("127.0.0.1", 0), StreamHandler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="stream-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The value for `openai.OpenAI(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *scenarios: ServerScenario | dict[str, Any]) -> None:
        """Queue scenarios: each new request takes the next one instead of the default."""
        with self._lock:
            self._queue.extend(s if isinstance(s, ServerScenario) else from_dict(s) for s in scenarios)

    def records(self, key: str | None = None) -> list[RequestRecord]:
        return self.recorder.records(key)

    def wait_finished(self, count: int, *, key: str | None = None, timeout: float = 10.0) -> list[RequestRecord]:
        return self.recorder.wait_finished(count, key=key, timeout=timeout)

    def resolve(self, header: str | None, body: dict[str, Any]) -> tuple[ServerScenario, str, int]:
        """The scenario for one request, its attempt key and the 1-based attempt number under that key."""
        with self._lock:
            base = self._queue.popleft() if self._queue else self.default
        overrides = json.loads(header) if header else {}
        scenario = base.merged(overrides) if overrides else base
        key = scenario.key or header or "default"
        attempt = self.recorder.next_attempt(key)
        return scenario.for_attempt(attempt), key, attempt

    def records_response(self, path: str) -> bytes:
        query = parse_qs(urlparse(path).query)
        key = query.get("key", [None])[0]
        return json.dumps([record.as_dict() for record in self.records(key)]).encode()
