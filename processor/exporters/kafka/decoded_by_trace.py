"""One encoded ExportTraceServiceRequest per trace id, built from the wire bytes of each span of a decoded request.

A batch of bytes is regrouped by the wire core (`processor.wire.by_trace`); this is for a batch held decoded: on the
pure-Python path (where the receivers decode with upb, as the reference index would cost more than the decode) and
after a component asked for the decoded request.

`split.by_trace` builds a request message per trace and copies every span into it (CopyFrom of spans with
hundreds of chunk events), then serializes that copy. Protobuf messages are concatenations of fields, so the
same bytes come out of: serialize each span once, and wrap the spans of a trace in the (pre-serialized)
resource and scope fields they came from. Fields are written in field-number order, as upb writes them.
"""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

# Field tags (field number << 3 | length-delimited): ExportTraceServiceRequest.resource_spans = 1;
# ResourceSpans.resource = 1, .scope_spans = 2, .schema_url = 3; ScopeSpans.scope = 1, .spans = 2, .schema_url = 3.
_FIELD_1, _FIELD_2, _FIELD_3 = b"\x0a", b"\x12", b"\x1a"


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


def _optional_string(tag: bytes, text: str) -> bytes:
    return _field(tag, text.encode()) if text else b""


def encode_by_trace(request: ExportTraceServiceRequest) -> dict[bytes, tuple[bytes, int]]:
    """trace id -> (its spans as an encoded ExportTraceServiceRequest, span count), in order of first appearance.

    Each trace keeps its spans under copies of their own resource and scope, as `split.by_trace` does (the
    bytes are the same as serializing its parts).
    """
    # trace id -> [(resource head, resource tail, [(scope head, scope tail, [span bytes])])]
    traces: dict[bytes, list] = {}
    counts: dict[bytes, int] = {}
    for rs in request.resource_spans:
        resource_head = _field(_FIELD_1, rs.resource.SerializeToString())  # always, as CopyFrom into a part does
        resource_tail = _optional_string(_FIELD_3, rs.schema_url)
        resource_of: dict[bytes, list] = {}
        for ss in rs.scope_spans:
            scope_head = _field(_FIELD_1, ss.scope.SerializeToString())
            scope_tail = _optional_string(_FIELD_3, ss.schema_url)
            scope_of: dict[bytes, list] = {}
            for span in ss.spans:
                trace_id = span.trace_id
                spans = scope_of.get(trace_id)
                if spans is None:
                    scopes = resource_of.get(trace_id)
                    if scopes is None:
                        scopes = resource_of[trace_id] = []
                        traces.setdefault(trace_id, []).append((resource_head, resource_tail, scopes))
                    spans = scope_of[trace_id] = []
                    scopes.append((scope_head, scope_tail, spans))
                spans.append(span.SerializeToString())
                counts[trace_id] = counts.get(trace_id, 0) + 1
    if len(traces) == 1:  # the request is that trace: sent as it came, as split.by_trace does
        trace_id = next(iter(traces))
        return {trace_id: (request.SerializeToString(), counts[trace_id])}
    return {trace_id: (_request(resources), counts[trace_id]) for trace_id, resources in traces.items()}


def _request(resources: list) -> bytes:
    out = []
    for resource_head, resource_tail, scopes in resources:
        body = [resource_head]
        for scope_head, scope_tail, spans in scopes:
            scope = scope_head + b"".join(_field(_FIELD_2, span) for span in spans) + scope_tail
            body.append(_field(_FIELD_2, scope))
        body.append(resource_tail)
        out.append(_field(_FIELD_1, b"".join(body)))
    return b"".join(out)
