"""Pre-encoded OTLP requests for each workload, made once and sent unchanged to every target."""

from __future__ import annotations

import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.loadgen.profiles import draw
from processor.loadgen.spans import TraceBuilder, _attr

#: spans per request for each workload
WORKLOADS = ("llm", "mixed", "plain")


def _llm_request(rng: random.Random, streams: int = 50, chunks: int = 100) -> ExportTraceServiceRequest:
    """`streams` streamed LLM spans with `chunks` content-chunk events each (OpenLLMetry), and no parents."""
    builder = TraceBuilder(rng)
    for _ in range(streams):
        plan = draw("normal", rng)
        plan.content_chunks = chunks - 3  # + role, finish and usage chunks = `chunks` events
        builder.add(plan)
    for rs in builder.request.resource_spans:  # keep only the LLM spans: 50 per request as the workload says
        server = rs.scope_spans[0]
        del server.spans[:]
    return builder.request


def _plain_request(rng: random.Random, spans: int = 50) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(_attr("service.name", "checkout"))
    ss = rs.scope_spans.add()
    ss.scope.name = "opentelemetry.instrumentation.django"
    for index in range(spans):
        span = ss.spans.add(trace_id=rng.randbytes(16), span_id=rng.randbytes(8), name=f"GET /items/{index % 7}",
                            kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=1_700_000_000_000_000_000 + index,
                            end_time_unix_nano=1_700_000_000_050_000_000 + index)
        span.attributes.extend([_attr("http.request.method", "GET"), _attr("http.route", "/items/{id}"),
                                _attr("http.response.status_code", 200), _attr("db.system", "postgresql")])
    return request


def _mixed_request(rng: random.Random, traces: int = 5) -> ExportTraceServiceRequest:
    """Traces of 1 LLM span and 9 plain HTTP/DB spans."""
    builder = TraceBuilder(rng)
    for _ in range(traces):
        builder.add(draw("normal", rng))
    request = builder.request
    plain = _plain_request(rng, spans=8 * traces)
    server_spans = request.resource_spans[0].scope_spans[0].spans
    for index, span in enumerate(plain.resource_spans[0].scope_spans[0].spans):
        root = server_spans[index % traces]
        span.trace_id, span.parent_span_id = root.trace_id, root.span_id
    request.resource_spans[0].scope_spans.append(plain.resource_spans[0].scope_spans[0])
    return request


def build(workload: str, *, variants: int = 8, seed: int = 1) -> list[bytes]:
    """A few different requests of the workload, encoded, so that no target sees one payload only."""
    rng = random.Random(seed)
    make = {"llm": _llm_request, "mixed": _mixed_request, "plain": _plain_request}[workload]
    return [make(rng).SerializeToString() for _ in range(variants)]


def counts(payload: bytes) -> tuple[int, int]:
    """(spans, span events) in one encoded request."""
    request = ExportTraceServiceRequest.FromString(payload)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    return len(spans), sum(len(s.events) for s in spans)


def llm_spans(payload: bytes) -> int:
    """Spans that carry LLM attributes (GenAI or OpenLLMetry): each makes one stream record."""
    request = ExportTraceServiceRequest.FromString(payload)
    return sum(any(a.key.startswith(("gen_ai.", "llm.")) for a in s.attributes)
               for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans)


class Fresh:
    """Each send gets trace ids of its own, as real traffic would: resending the same traces would fold
    them into one stream record each (and look like retries). The last 4 bytes of every trace id in an
    encoded request are overwritten with a send counter, in place in a copy of the bytes: no re-encoding."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.offsets = [_trace_id_offsets(body) for body in bodies]

    def body(self, index: int, serial: int) -> bytes:
        data = bytearray(self.bodies[index])
        stamp = (serial & 0xFFFFFFFF).to_bytes(4, "big")
        for offset in self.offsets[index]:
            data[offset + 12:offset + 16] = stamp
        return bytes(data)


def _trace_id_offsets(body: bytes) -> list[int]:
    request = ExportTraceServiceRequest.FromString(body)
    trace_ids = {s.trace_id for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans}
    offsets = []
    for trace_id in trace_ids:
        start = body.find(trace_id)
        while start != -1:
            offsets.append(start)
            start = body.find(trace_id, start + 1)
    return offsets
