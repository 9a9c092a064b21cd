"""The processing tier of the scale-out tests: config, input traffic with retries split across requests, and
reading the stream records back."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from processor.config.validate import validate
from processor.service.service import Service
from tests.receivers.kafka.helpers import loadgen_traces


def processing_service(bootstrap: str, topic: str, group: str, out: Path, *, wait: str = "1s") -> Service:
    """kafka -> the stream processor -> a file of stream records; otlp-free, no self-telemetry port."""
    return Service(validate({
        "receivers": {"kafka": {"brokers": [bootstrap], "topic": topic, "group_id": group,
                                "session_timeout": "6s", "heartbeat_interval": "500ms"}},
        "processors": {"stream": {"wait": wait, "cadence": {}, "retries": {}, "truncation": {}, "cost": False,
                                  "content_check": False}},
        "exporters": {"file": {"path": str(out), "kind": "streams"}},
        "service": {"telemetry": {"metrics": {"level": "none"}},
                    "pipelines": {"traces": {"receivers": ["kafka"], "processors": ["stream"],
                                             "exporters": ["file"]}}}}))


def receiver_of(service: Service):
    return service.graph.receivers[0].component


def _part(request: ExportTraceServiceRequest, span_ids: set[bytes], *, inside: bool) -> ExportTraceServiceRequest:
    """The request with only the spans in `span_ids` (inside) or only the others."""
    part = ExportTraceServiceRequest()
    part.CopyFrom(request)
    for rs in part.resource_spans:
        for ss in rs.scope_spans:
            spans = [s for s in ss.spans if (s.span_id in span_ids) == inside]
            del ss.spans[:]
            ss.spans.extend(spans)
    return part


def messages(count: int, seed: int) -> tuple[list[tuple[bytes, bytes, list]], set[str], int]:
    """Loadgen "retries" traffic keyed by trace id. A retried call's failed attempt goes in one request and the
    retry (with the rest of its trace) in a later one, so retry detection must join across requests.
    Returns (messages, the LLM span ids, how many retries)."""
    out, llm_spans, retries = [], set(), 0
    for trace_id, request in loadgen_traces(count, profile="retries", seed=seed):
        key = trace_id.hex().encode()
        failed = {s.span_id for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
                  if s.status.code == Status.STATUS_CODE_ERROR}
        llm_spans |= {s.span_id.hex() for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
                      if s.parent_span_id}
        if failed:
            retries += 1
            parts = [_part(request, failed, inside=True), _part(request, failed, inside=False)]
        else:
            parts = [request]
        out += [(key, part.SerializeToString(), []) for part in parts]
    return out, llm_spans, retries


def stream_records(*paths: Path) -> list[dict]:
    return [json.loads(line) for path in paths if path.exists() for line in path.read_text().splitlines()]


def canonical(records: list[dict]) -> set[str]:
    return {json.dumps(record, sort_keys=True) for record in records}
