"""A real trace backend: the real openai SDK under OpenLLMetry streams from the scripted SSE server, exports into
`tokenstream run`, whose otlp (gRPC) or otlphttp exporter forwards the enriched spans to Arize Phoenix. Read back
through Phoenix's REST API: every span tokenstream passed on is there with its parent, and the LLM span carries
what tokenstream derived (time to first chunk, stall count, outcome).

Phoenix starts in its own virtualenv (tests/support/phoenix_backend.py) in about a minute, so this is marked slow
and runs in `.ci/run` after `make test`.
"""

from __future__ import annotations

import asyncio

import pytest

from processor.model.batch import Signal
from processor.testing.process import TokenstreamProcess, free_port
from tests.e2e.test_run import read_jsonl
from tests.support.instrumented import run_instrumented_async
from tests.support.phoenix_backend import Phoenix
from tests.support.stream_server import StreamServer

pytestmark = pytest.mark.slow

SCHEDULE = {"first_delay": 0.3, "chunk_gap": 0.03, "content_chunks": 8}
STALL = {"stall_after": 3, "stall_seconds": 1.4}


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory):
    with Phoenix(tmp_path_factory.mktemp("phoenix")).start() as backend:
        yield backend


def _config(tmp_path, exporter: str, phoenix: Phoenix, grpc: int, health: int) -> dict:
    if exporter == "otlp":
        forward = {"endpoint": phoenix.grpc_endpoint, "tls": {"insecure": True}}
    else:
        forward = {"endpoint": phoenix.http_endpoint}
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc}"}}}},
        "processors": {"stream": {"conventions": ["auto"], "wait": "1s", "cadence": {"stall_gap": "1s"}, "retries": {},
                                  "truncation": {}, "cost": False, "content_check": False},
                       "redaction": {}, "batch": {"timeout": "20ms"}},
        "exporters": {exporter: forward, "file/spans": {"path": str(tmp_path / "spans.jsonl")}},
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{health}"}},
        "service": {"extensions": ["health_check"],
                    "telemetry": {"metrics": {"address": f"127.0.0.1:{free_port()}"}},
                    "pipelines": {"traces": {"receivers": ["otlp"],
                                             "processors": ["stream", "redaction", "batch"],
                                             "exporters": [exporter, "file/spans"]}}},
    }


@pytest.mark.parametrize("exporter", ["otlp", "otlphttp"])
def test_enriched_spans_arrive_in_phoenix_whole(phoenix, tmp_path, exporter):
    grpc, health = free_port(), free_port()
    tokenstream = TokenstreamProcess(_config(tmp_path, exporter, phoenix, grpc, health), tmp_path,
                                     health_port=health).start()
    try:
        with StreamServer(SCHEDULE) as server:
            run = asyncio.run(run_instrumented_async("traceloop", STALL, f"127.0.0.1:{grpc}", server=server))
        assert run.flushed
        assert tokenstream.stop() == 0, tokenstream.logs()[-3000:]
    finally:
        tokenstream.kill()
    passed_on = [s for r in read_jsonl(tmp_path / "spans.jsonl", Signal.TRACES) for rs in r.resource_spans
                 for ss in rs.scope_spans for s in ss.spans]
    assert len(passed_on) >= 2  # the app's scenario span and the LLM span under it
    expected = {(s.trace_id.hex(), s.span_id.hex()): (s.parent_span_id.hex() or None, s.name) for s in passed_on}

    stored = [s for s in phoenix.wait_for_spans(len(expected), timeout=60)
              if s["context"]["trace_id"] == run.trace_id]
    got = {(s["context"]["trace_id"], s["context"]["span_id"]): (s["parent_id"], s["name"]) for s in stored}
    assert got == expected, phoenix.logs()[-2000:]

    (llm,) = [s for s in stored if "tokenstream.stall_count" in s["attributes"]]
    assert llm["parent_id"] == run.parent_span_id
    derived = next({a.key: _value(a.value) for a in s.attributes} for s in passed_on if s.span_id.hex() ==
                   llm["context"]["span_id"])
    shown = {key: value for key, value in llm["attributes"].items() if key in derived}
    for key in ("gen_ai.response.time_to_first_chunk", "tokenstream.stall_count", "tokenstream.outcome"):
        assert shown[key] == derived[key], key
    assert shown["tokenstream.outcome"] == "completed"
    assert 0.3 <= shown["gen_ai.response.time_to_first_chunk"] < 10  # the server waits 0.3 s before the first chunk
    arrivals = run.chunk_arrivals()
    app_gaps = [(b - a) / 1e9 for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # The app's clock: the 1.4 s stall is a stall (gap over 1 s) unless load on the machine bunched the chunks.
    assert shown["tokenstream.stall_count"] == sum(1 for gap in app_gaps if gap > 1.0) or \
        any(0.9 < gap < 1.1 for gap in app_gaps), (shown, app_gaps)


def _value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind in ("string_value", "int_value", "double_value", "bool_value") else None
