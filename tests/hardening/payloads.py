"""Hypothesis strategies for OTLP payloads: valid requests, and the malformed shapes made from them."""

from __future__ import annotations

from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

# Ids of the right length most of the time; otherwise empty, short, long or all zero (partial success).
_ids = st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=20), st.just(bytes(16)))
_span_ids = st.one_of(st.binary(min_size=8, max_size=8), st.binary(max_size=10), st.just(bytes(8)))
_scalars = st.one_of(st.text(max_size=20), st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(),
                     st.binary(max_size=20))


def _any_value(value, av: AnyValue) -> None:
    if isinstance(value, bool):
        av.bool_value = value
    elif isinstance(value, int):
        av.int_value = value
    elif isinstance(value, float):
        av.double_value = value
    elif isinstance(value, str):
        av.string_value = value
    elif isinstance(value, bytes):
        av.bytes_value = value
    elif isinstance(value, list):
        av.array_value.SetInParent()
        for item in value:
            _any_value(item, av.array_value.values.add())
    else:
        av.kvlist_value.SetInParent()
        for key, item in value.items():
            kv = av.kvlist_value.values.add(key=key)
            _any_value(item, kv.value)


_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                                              inner, max_size=3),
                       max_leaves=8)
_attributes = st.dictionaries(st.text(max_size=16), _values, max_size=4)
_spans = st.fixed_dictionaries({"trace_id": _ids, "span_id": _span_ids, "name": st.text(max_size=20),
                                "attributes": _attributes, "kind": st.integers(0, 5),
                                "start": st.integers(0, 2**64 - 1), "events": st.lists(_attributes, max_size=2)})


@st.composite
def trace_requests(draw) -> ExportTraceServiceRequest:
    """A well-formed ExportTraceServiceRequest (ids may be invalid: that is a partial success, not an error)."""
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        resource_spans = request.resource_spans.add()
        for key, value in draw(_attributes).items():
            _any_value(value, resource_spans.resource.attributes.add(key=key).value)
        scope = resource_spans.scope_spans.add()
        for fields in draw(st.lists(_spans, min_size=1, max_size=3)):
            span = scope.spans.add(trace_id=fields["trace_id"], span_id=fields["span_id"], name=fields["name"],
                                   kind=fields["kind"], start_time_unix_nano=fields["start"])
            for key, value in fields["attributes"].items():
                _any_value(value, span.attributes.add(key=key).value)
            for event_attributes in fields["events"]:
                event = span.events.add(name="e")
                for key, value in event_attributes.items():
                    _any_value(value, event.attributes.add(key=key).value)
    return request


encoded_requests = trace_requests().map(lambda request: request.SerializeToString())


@st.composite
def truncated(draw, encoded=encoded_requests) -> bytes:
    data = draw(encoded)
    return data[:draw(st.integers(0, max(len(data) - 1, 0)))]


@st.composite
def mutated(draw, encoded=encoded_requests) -> bytes:
    """Bytes of a valid request with 1-4 edits; flipping a tag's low 3 bits gives its field another wire type."""
    data = bytearray(draw(encoded))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        edit = draw(st.sampled_from(["wire_type", "byte", "insert", "delete"]))
        if edit == "wire_type" and data:
            data[at] = (data[at] & ~0x07) | draw(st.integers(0, 7))
        elif edit == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at:at + draw(st.integers(1, 8))]
    return bytes(data)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_any_value_request(kinds: list[str]) -> bytes:
    """One span whose attribute is an AnyValue nested len(kinds) deep ("array" or "kvlist" at each level).

    Written on the wire by hand: protobuf's own encoder would refuse to build it past its depth limit.
    """
    value = AnyValue(string_value="leaf").SerializeToString()
    for kind in kinds:
        if kind == "array":  # AnyValue.array_value(5) -> ArrayValue.values(1)
            value = _field(5, _field(1, value))
        else:  # AnyValue.kvlist_value(6) -> KeyValueList.values(1) -> KeyValue{key(1), value(2)}
            value = _field(6, _field(1, _field(1, b"k") + _field(2, value)))
    span = _field(1, bytes(range(1, 17))) + _field(2, bytes(range(1, 9))) + _field(9, _field(1, b"deep") +
                                                                                 _field(2, value))
    return _field(1, _field(2, _field(2, span)))  # ResourceSpans(1) -> ScopeSpans(2) -> Span(2)


nesting = st.lists(st.sampled_from(["array", "kvlist"]), min_size=1, max_size=8).flatmap(
    lambda pattern: st.integers(1, 3000).map(lambda depth: (pattern * (depth // len(pattern) + 1))[:depth]))
