"""The scenarios every library runs in the real-instrumentation harness (tests/e2e/test_real_instrumentations.py)
and in its captures (tests/data/realclients, `python -m tests.support.capture_library`): flat dicts of client keys
and server knobs (tests/support/README.md), over the server default `SCHEDULE`."""

from __future__ import annotations

SCHEDULE = {"first_delay": 0.3, "chunk_gap": 0.03, "content_chunks": 8}

SCENARIOS: dict[str, dict] = {
    "normal": {},
    "stall": {"stall_after": 3, "stall_seconds": 1.4},
    "cutoff": {"disconnect_after": 4, "disconnect_mode": "abort"},  # FIN mid-body: the app gets an exception
    "eof": {"disconnect_after": 4, "disconnect_mode": "eof"},  # clean end, no finish chunk, no [DONE]
    "length": {"max_tokens": 5},
    "cancel": {"close_after": 4},  # the app closes the stream after 4 chunks
    "sdk_retry": {"fail_first_n": 1, "retry_after_ms": 250},  # 429, the SDK backs off and retries
    "tool_call": {"tool_call": True},
    "retry": {"app_retries": 1, "attempts": [{"disconnect_after": 3, "disconnect_mode": "abort"}, {}]},
    "slow_first": {"first_delay": 1.6},
}
