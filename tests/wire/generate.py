"""Hypothesis strategies for OTLP requests as raw wire bytes, written field by field from the messages' descriptors.

Unlike upb's serializer, these bytes have what real senders (and attackers) produce: unknown fields of every wire
type (groups too), fields in any order, singular fields repeated (the last wins, messages merge), a known field
with another wire type (an unknown field to upb), non-minimal varints, empty messages, large and negative
varints, every AnyValue kind, nested arrays and kvlists. Strings and keys come from small pools so that claims
(LLM prefixes, HTTP attempts, chunk events, gen_ai logs) and repeated keys are hit often.
"""

from __future__ import annotations

import struct

from google.protobuf.descriptor import FieldDescriptor as F
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.wire import Claims

KEYS = ("gen_ai.system", "gen_ai.request.model", "llm.usage.total_tokens", "ai.model.id", "openinference.span.kind",
        "http.response.status_code", "http.status_code", "db.system", "service.name", "event.name", "",
        "gen_ai.completion.0.content", "input.value", "gen_ai.chunk.text", "token", "redaction.redacted.keys",
        "redaction.redacted.count", "secret.key", "k")
NAMES = ("GET /items", "POST", "POST /v1/chat/completions", "chat gpt-4o", "SELECT", "", "GET",
         "gen_ai.content.completion.chunk", "llm.content.completion.chunk", "exception", "First Token Stream Event",
         "feedback", "gen_ai.choice", "gen_ai.user.message", "gen_ai.chunk", "langchain.chat", "opentelemetry.x",
         "ai.stream.firstChunk", "événement ✓")
TEXTS = ("", "hello", "x" * 40, "naïve café", "🙂", "content", "message", "arguments")

#: Claims that exercise every rule on the generated data.
CLAIMS = Claims(key_prefixes=("gen_ai.", "llm.", "ai.", "openinference."), keys=("secret.key",),
                scope_names=("langchain.chat",), scope_prefixes=("opentelemetry.",), http_client=True,
                event_names=("feedback",), text_event_names=("gen_ai.content.completion.chunk", "gen_ai.chunk"),
                text_keys=("gen_ai.chunk.text", "token", "k"), log_event_prefixes=("gen_ai.",),
                log_event_names=("feedback",))

_UNKNOWN_NUMBERS = (17, 18, 50, 99, 1000, 536870911)
_VARINT_TYPES = {F.TYPE_INT32, F.TYPE_INT64, F.TYPE_UINT32, F.TYPE_UINT64, F.TYPE_BOOL, F.TYPE_ENUM}
_WIRE = {F.TYPE_DOUBLE: 1, F.TYPE_FIXED64: 1, F.TYPE_FIXED32: 5, F.TYPE_STRING: 2, F.TYPE_BYTES: 2,
         F.TYPE_MESSAGE: 2, **dict.fromkeys(_VARINT_TYPES, 0)}


def varint(value: int, pad: int = 0) -> bytes:
    """`value` (negative: two's complement, 10 bytes) as a varint, with `pad` extra continuation bytes."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    for _ in range(pad):
        out[-1] |= 0x80
        out.append(0)
    return bytes(out[:10]) if len(out) > 10 else bytes(out)


def tag(number: int, wire_type: int, pad: int = 0) -> bytes:
    return varint(number << 3 | wire_type, min(pad, 5 - len(varint(number << 3 | wire_type))))


def field(number: int, wire_type: int, payload: bytes, pad: int = 0) -> bytes:
    """One field; `payload` is the value's encoding (a varint, 8 or 4 bytes, or a length-delimited payload)."""
    if wire_type == 2:
        return tag(number, 2, pad) + varint(len(payload), pad) + payload
    return tag(number, wire_type, pad) + payload


def _id_bytes(name: str) -> st.SearchStrategy[bytes]:
    width = 16 if name == "trace_id" else 8
    return st.one_of(st.binary(min_size=width, max_size=width), st.just(bytes(width)), st.binary(max_size=20))


@st.composite
def _scalar(draw, fd) -> tuple[int, bytes]:
    """(wire type, encoding) of a value of the scalar field `fd`."""
    kind = fd.type
    if kind == F.TYPE_STRING:
        pool = KEYS if fd.name == "key" else NAMES if fd.name in ("name", "event_name") else TEXTS
        return 2, draw(st.sampled_from(pool) | st.text(max_size=8)).encode()
    if kind == F.TYPE_BYTES:
        return 2, draw(_id_bytes(fd.name) if fd.name.endswith("_id") else st.binary(max_size=12))
    if kind in (F.TYPE_DOUBLE, F.TYPE_FIXED64):
        if kind == F.TYPE_DOUBLE:
            return 1, struct.pack("<d", draw(st.floats(allow_nan=True, allow_infinity=True)))
        return 1, struct.pack("<Q", draw(st.integers(0, (1 << 64) - 1)))
    if kind == F.TYPE_FIXED32:
        return 5, struct.pack("<I", draw(st.integers(0, (1 << 32) - 1)))
    if fd.name == "kind":
        value = draw(st.sampled_from((0, 1, 2, 3, 3, 3, 4, 5, -1, 1 << 33 | 3)))
    elif fd.name == "code":
        value = draw(st.sampled_from((0, 1, 2, 2, 7, -5)))
    else:
        value = draw(st.integers(-(1 << 63), (1 << 64) - 1) | st.integers(-3, 300))
    return 0, varint(value, draw(st.sampled_from((0, 0, 0, 1, 3))))


@st.composite
def _unknown(draw, depth: int) -> bytes:
    number = draw(st.sampled_from(_UNKNOWN_NUMBERS))
    wire_type = draw(st.sampled_from((0, 1, 2, 5, 3)))
    if wire_type == 0:
        return field(number, 0, varint(draw(st.integers(-(1 << 63), (1 << 64) - 1))))
    if wire_type == 1:
        return field(number, 1, draw(st.binary(min_size=8, max_size=8)))
    if wire_type == 5:
        return field(number, 5, draw(st.binary(min_size=4, max_size=4)))
    if wire_type == 2:
        return field(number, 2, draw(st.binary(max_size=10)))
    inner = b"".join(draw(st.lists(_unknown(depth + 1), max_size=2))) if depth < 3 else b""
    return tag(number, 3) + inner + tag(number, 4)


# Children per message type, kept small so that examples stay fast; the request levels get a few more.
_REPEAT = {"resource_spans": 3, "resource_logs": 3, "scope_spans": 3, "scope_logs": 3, "spans": 4,
           "log_records": 4, "events": 4, "attributes": 4, "values": 3, "links": 2, "entity_refs": 1,
           "id_keys": 2, "description_keys": 1}


@st.composite
def message(draw, descriptor, depth: int = 0) -> bytes:
    """The encoding of one message of `descriptor`, odd in all the ways the module docstring lists."""
    fields: list[bytes] = []
    oneof_members = [fd for fd in descriptor.fields if fd.containing_oneof is not None]
    for fd in descriptor.fields:
        if fd.containing_oneof is not None:
            continue
        if fd.is_repeated:
            count = draw(st.integers(0, _REPEAT.get(fd.name, 2)))
        else:
            count = draw(st.sampled_from((0, 1, 1, 1, 2)))  # 2: a repeated singular field
        for _ in range(count):
            fields.append(draw(_field_of(fd, depth)))
    if oneof_members:  # AnyValue: mostly one member; sometimes none, sometimes several (the last wins)
        for fd in draw(st.lists(st.sampled_from(oneof_members), min_size=0, max_size=3)):
            fields.append(draw(_field_of(fd, depth)))
    fields += draw(st.lists(_unknown(depth), max_size=1 if depth < 4 else 0))
    if draw(st.booleans()):
        fields = draw(st.permutations(fields))
    return b"".join(fields)


@st.composite
def _field_of(draw, fd, depth: int) -> bytes:
    pad = draw(st.sampled_from((0, 0, 0, 0, 0, 1)))
    if fd.type == F.TYPE_MESSAGE:
        nested = fd.message_type.name in ("AnyValue", "ArrayValue", "KeyValueList", "KeyValue")
        limit = 9 if nested else 6
        payload = draw(message(fd.message_type, depth + 1)) if depth < limit else b""
        return field(fd.number, 2, payload, pad)
    if draw(st.integers(0, 30)) == 0:  # a known field number with another wire type: unknown to upb
        wrong = draw(st.sampled_from([w for w in (0, 1, 2, 5) if w != _WIRE[fd.type]]))
        payload = {0: varint(7), 1: bytes(8), 2: b"\x01\x02", 5: bytes(4)}[wrong]
        return field(fd.number, wrong, payload, pad)
    wire_type, payload = draw(_scalar(fd))
    return field(fd.number, wire_type, payload, pad)


def traces() -> st.SearchStrategy[bytes]:
    return message(ExportTraceServiceRequest.DESCRIPTOR)


def logs() -> st.SearchStrategy[bytes]:
    return message(ExportLogsServiceRequest.DESCRIPTOR)


@st.composite
def damaged(draw, strategy) -> bytes:
    """A generated request truncated, with bytes overwritten, or with bytes inserted."""
    data = bytearray(draw(strategy))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(("cut", "set", "insert")))
        position = draw(st.integers(0, len(data)))
        if action == "cut":
            del data[position:]
        elif action == "set" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=3))
    return bytes(data)
