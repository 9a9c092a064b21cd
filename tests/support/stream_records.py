"""Server-side ground truth: one record per request, with the unix-ns time of every step the server took."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any


@dataclasses.dataclass
class RequestRecord:
    """What the server did for one request. `events` use the reference harness's server-events.jsonl names:
    request_received, headers_sent, chunk_sent (index, kind), stall_begin / stall_end, disconnect (mode),
    done_sent, http_error (status), response_sent (non-stream), client_gone."""

    request_id: str
    key: str
    attempt: int
    stream: bool
    model: str
    scenario: dict[str, Any]
    plan: list[dict[str, Any]]
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    finished: bool = False

    def add(self, event: str, *, at: int | None = None, **fields: Any) -> dict[str, Any]:
        """Record `event` now, or at `at` (unix ns) when the step began earlier than it could be recorded."""
        entry = {"t_unix_nano": at or time.time_ns(), "request_id": self.request_id, "event": event, **fields}
        self.events.append(entry)
        return entry

    def named(self, event: str) -> list[dict[str, Any]]:
        return [entry for entry in self.events if entry["event"] == event]

    def chunk_times(self, kind: str | None = None) -> list[int]:
        """Unix-ns times the chunks sent began to be written (no client can have read one before), optionally
        only one kind (role, content, finish, usage)."""
        return [e["t_unix_nano"] for e in self.named("chunk_sent") if kind is None or e["kind"] == kind]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        return cls(**data)


class Recorder:
    """Thread-safe list of records, with a way to wait until requests have completed."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._attempts: dict[str, int] = {}
        self._cond = threading.Condition()

    def next_attempt(self, key: str) -> int:
        with self._cond:
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key]

    def add(self, record: RequestRecord) -> None:
        with self._cond:
            self._records.append(record)

    def finish(self, record: RequestRecord) -> None:
        with self._cond:
            record.finished = True
            self._cond.notify_all()

    def records(self, key: str | None = None) -> list[RequestRecord]:
        with self._cond:
            return [r for r in self._records if key is None or r.key == key]

    def wait_finished(self, count: int, *, key: str | None = None, timeout: float = 10.0) -> list[RequestRecord]:
        """Wait until at least `count` requests (with `key`) are finished server-side; raise TimeoutError if not."""
        def done() -> bool:
            return sum(r.finished for r in self._records if key is None or r.key == key) >= count

        with self._cond:
            if not self._cond.wait_for(done, timeout=timeout):
                raise TimeoutError(f"{count} finished request(s) with key={key!r} not seen within {timeout}s")
            return [r for r in self._records if key is None or r.key == key]
