"""Server-side scenario knobs for the scripted stream server, parsed from JSON (X-Scenario header, default, queue)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

DISCONNECT_MODES = ("abort", "eof", "rst")


@dataclasses.dataclass(frozen=True)
class ServerScenario:
    """What the server does for one request. Times are seconds.

    `stalls` is a list of (after_content_chunks, seconds) pairs; `stall_after`/`stall_seconds` add one more.
    `attempts` is a list of partial overrides applied to the n-th request with the same `key` (the last one repeats),
    so an app can send byte-identical requests and still see a cut-off first attempt and a clean retry.
    """

    first_delay: float = 0.3
    chunk_gap: float = 0.05
    content_chunks: int = 12
    stall_after: int | None = None
    stall_seconds: float = 0.0
    stalls: tuple[tuple[int, float], ...] = ()
    disconnect_after: int | None = None
    disconnect_mode: str = "abort"
    finish_reason: str | None = None
    tool_call: bool = False
    http_status: int | None = None
    fail_first_n: int = 0
    retry_after_ms: int = 100
    key: str | None = None
    attempts: tuple[dict[str, Any], ...] = ()
    obfuscation: bool = True

    def __post_init__(self) -> None:
        if self.disconnect_mode not in DISCONNECT_MODES:
            raise ValueError(f"disconnect_mode must be one of {DISCONNECT_MODES}, got {self.disconnect_mode!r}")
        if self.content_chunks < 0:
            raise ValueError("content_chunks must be >= 0")

    def stall_schedule(self) -> dict[int, float]:
        """Content-chunk count -> seconds to stall after that many content chunks were sent (summed if repeated)."""
        schedule: dict[int, float] = {}
        pairs = list(self.stalls)
        if self.stall_after is not None and self.stall_seconds > 0:
            pairs.append((self.stall_after, self.stall_seconds))
        for after, seconds in pairs:
            schedule[int(after)] = schedule.get(int(after), 0.0) + float(seconds)
        return schedule

    def merged(self, overrides: dict[str, Any]) -> ServerScenario:
        return from_dict({**self.as_dict(), **overrides})

    def for_attempt(self, attempt: int) -> ServerScenario:
        """The scenario for the attempt-th (1-based) request with this key."""
        if not self.attempts:
            return self
        override = self.attempts[min(attempt, len(self.attempts)) - 1]
        return self.merged({**override, "attempts": []})

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stalls"] = [list(pair) for pair in self.stalls]
        data["attempts"] = [dict(item) for item in self.attempts]
        return data


_FIELDS = {field.name for field in dataclasses.fields(ServerScenario)}


def from_dict(data: dict[str, Any]) -> ServerScenario:
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValueError(f"unknown scenario keys: {sorted(unknown)}")
    values = dict(data)
    if "stalls" in values:
        values["stalls"] = tuple((int(after), float(seconds)) for after, seconds in values["stalls"])
    if "attempts" in values:
        values["attempts"] = tuple(dict(item) for item in values["attempts"])
    return ServerScenario(**values)


def from_json(text: str) -> ServerScenario:
    return from_dict(json.loads(text))
