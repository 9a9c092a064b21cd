"""Reference captures of real instrumentations (copied from ../shared/fixtures/realclients; see its README).

`load_capture("tl", "normal")` gives the raw OTLP export requests of one library and scenario, decoded, with the
app's and the server's ground-truth events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).parent
#: folder -> library, as in the fixtures' README.
LIBRARIES = ("tl", "tl_events", "v2", "v2_latest", "oi", "openlit", "lc_oi", "lc_tl")
#: Captures of the real-instrumentation harness (`python -m tests.support.capture_library LIB`): folder -> the
#: harness library name (`openlit` is taken by the reference capture), one subfolder per scenario of
#: tests.support.harness_scenarios.
HARNESS_LIBRARIES = {"traceai": "traceai", "traceai_register": "traceai_register", "mlflow": "mlflow",
                     "langfuse": "langfuse", "logfire": "logfire", "openlit_harness": "openlit", "vercel6": "vercel6",
                     "vercel7": "vercel7", "vercel7_legacy": "vercel7_legacy"}


@dataclass
class Capture:
    lib: str
    scenario: str
    traces: list[ExportTraceServiceRequest] = field(default_factory=list)
    logs: list[ExportLogsServiceRequest] = field(default_factory=list)
    client_events: list[dict[str, Any]] = field(default_factory=list)
    server_events: list[dict[str, Any]] = field(default_factory=list)

    def spans(self) -> list[tuple[Any, Any, Any]]:
        """(span, resource, scope) of every span in every traces request."""
        return [(span, rs.resource, ss.scope) for request in self.traces for rs in request.resource_spans
                for ss in rs.scope_spans for span in ss.spans]

    def log_records(self) -> list[Any]:
        return [log for request in self.logs for rl in request.resource_logs for sl in rl.scope_logs
                for log in sl.log_records]

    def client(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.client_events if e["event"] == event]

    def server(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.server_events if e["event"] == event]


def scenarios(lib: str) -> list[str]:
    return sorted(p.name for p in (ROOT / lib).iterdir() if p.is_dir())


def load_capture(lib: str, scenario: str) -> Capture:
    folder = ROOT / lib / scenario
    if not folder.is_dir():
        raise FileNotFoundError(f"no capture {lib}/{scenario} under {ROOT}")
    return Capture(
        lib, scenario,
        traces=[ExportTraceServiceRequest.FromString(p.read_bytes()) for p in sorted(folder.glob("traces-*.pb"))],
        logs=[ExportLogsServiceRequest.FromString(p.read_bytes()) for p in sorted(folder.glob("logs-*.pb"))],
        client_events=_jsonl(folder / "client-events.jsonl"),
        server_events=_jsonl(folder / "server-events.jsonl"),
    )


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
