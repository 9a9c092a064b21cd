"""Hypothesis strategies for OTLP requests as raw wire bytes, written field by field from the messages' descriptors.

Unlike upb's serializer, these bytes have what real senders (and attackers) produce: unknown fields of every wire
type (groups too), fields in any order, singular fields repeated (the last wins, messages merge), a known field
with another wire type (an unknown field to upb), non-minimal varints, empty messages, large and negative
varints, every AnyValue kind, nested arrays and kvlists. Strings and keys come from small pools so that claims
(LLM prefixes, HTTP attempts, chunk events, gen_ai logs) and repeated keys are hit often.
"""

from __future__ import annotations

import random
import struct

from google.protobuf.descriptor import FieldDescriptor as F
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.wire import Claims, ClaimsSet

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

#: CLAIMS's rules split as components split theirs (stream: LLM keys, HTTP attempts and chunk text; feedback: an
#: event name), with overlaps, so that a span is claimed by several members with different bits.
LLM_CLAIMS = Claims(key_prefixes=("gen_ai.", "llm."), http_client=True, text_event_names=CLAIMS.text_event_names,
             text_keys=CLAIMS.text_keys)
FEEDBACK_CLAIMS = Claims(event_names=("feedback",))
SCOPE_CLAIMS = Claims(scope_names=("langchain.chat",), scope_prefixes=("opentelemetry.",), keys=("secret.key",))
KEY_CLAIMS = Claims(key_prefixes=("ai.", "openinference.", "gen_ai."), event_names=("feedback", "exception"))
CLAIMS_SET = ClaimsSet((LLM_CLAIMS, FEEDBACK_CLAIMS, SCOPE_CLAIMS, KEY_CLAIMS))

_UNKNOWN_NUMBERS = (17, 18, 50, 99, 1000, 536870911)
_VARINT_TYPES = {F.TYPE_INT32, F.TYPE_INT64, F.TYPE_UINT32, F.TYPE_UINT64, F.TYPE_BOOL, F.TYPE_ENUM}
_WIRE = {F.TYPE_DOUBLE: 1, F.TYPE_FIXED64: 1, F.TYPE_FIXED32: 5, F.TYPE_STRING: 2, F.TYPE_BYTES: 2,
         F.TYPE_MESSAGE: 2, **dict.fromkeys(_VARINT_TYPES, 0)}


def varint(value: int, pad: int = 0) -> bytes:
    """`value` (negative: two's complement, 10 bytes) as a varint, with up to `pad` extra continuation bytes (never
    past 10 bytes: a longer varint is malformed)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    for _ in range(min(pad, 10 - len(out))):
        out[-1] |= 0x80
        out.append(0)
    return bytes(out)


def tag(number: int, wire_type: int, pad: int = 0) -> bytes:
    return varint(number << 3 | wire_type, min(pad, 5 - len(varint(number << 3 | wire_type))))


def field(number: int, wire_type: int, payload: bytes, pad: int = 0) -> bytes:
    """One field; `payload` is the value's encoding (a varint, 8 or 4 bytes, or a length-delimited payload)."""
    if wire_type == 2:
        return tag(number, 2, pad) + varint(len(payload), pad) + payload
    return tag(number, wire_type, pad) + payload


# Children per message type, kept small so that examples stay fast; the request levels get a few more.
_REPEAT = {"resource_spans": 3, "resource_logs": 3, "scope_spans": 3, "scope_logs": 3, "spans": 4,
           "log_records": 4, "events": 4, "attributes": 4, "values": 3, "links": 2, "entity_refs": 1,
           "id_keys": 2, "description_keys": 1}


class _Builder:
    """One request, drawn from a seeded random.Random: hypothesis picks (and replays, and reports) the seed; the
    builder makes thousands of choices per request, far faster than one hypothesis draw each."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chance(self, one_in: int) -> bool:
        return self.rng.randrange(one_in) == 0

    def text(self, fd) -> bytes:
        rng = self.rng
        pool = KEYS if fd.name == "key" else NAMES if fd.name in ("name", "event_name") else TEXTS
        if self.chance(6):
            return "".join(chr(rng.choice((rng.randrange(32, 127), rng.randrange(0xA0, 0xD7FF),
                                           rng.randrange(0xE000, 0x10FFFF)))) for _ in range(rng.randrange(6))
                           ).encode()
        return rng.choice(pool).encode()

    def scalar(self, fd) -> tuple[int, bytes]:
        rng, kind = self.rng, fd.type
        if kind == F.TYPE_STRING:
            return 2, self.text(fd)
        if kind == F.TYPE_BYTES:
            if fd.name.endswith("_id"):
                width = 16 if fd.name == "trace_id" else 8
                return 2, rng.choice((rng.randbytes(width), rng.randbytes(width), bytes(width),
                                      rng.randbytes(rng.randrange(20))))
            return 2, rng.randbytes(rng.randrange(12))
        if kind == F.TYPE_DOUBLE:
            return 1, struct.pack("<d", rng.choice((0.0, -1.5, 1e300, float("nan"), float("inf"), rng.random())))
        if kind == F.TYPE_FIXED64:
            return 1, struct.pack("<Q", rng.choice((0, 1, rng.getrandbits(64))))
        if kind == F.TYPE_FIXED32:
            return 5, struct.pack("<I", rng.getrandbits(32))
        if fd.name == "kind":
            value = rng.choice((0, 1, 2, 3, 3, 3, 4, 5, -1, 1 << 33 | 3))
        elif fd.name == "code":
            value = rng.choice((0, 1, 2, 2, 7, -5))
        else:
            value = rng.choice((0, 1, 2, 300, -1, -(1 << 63), (1 << 64) - 1, rng.getrandbits(64)))
        return 0, varint(value, rng.choice((0, 0, 0, 1, 3)))

    def unknown(self, depth: int) -> bytes:
        rng = self.rng
        number, wire_type = rng.choice(_UNKNOWN_NUMBERS), rng.choice((0, 1, 2, 5, 3))
        if wire_type == 0:
            return field(number, 0, varint(rng.getrandbits(64)))
        if wire_type in (1, 5):
            return field(number, wire_type, rng.randbytes(8 if wire_type == 1 else 4))
        if wire_type == 2:
            return field(number, 2, rng.randbytes(rng.randrange(10)))
        inner = b"".join(self.unknown(depth + 1) for _ in range(rng.randrange(3))) if depth < 3 else b""
        return tag(number, 3) + inner + tag(number, 4)

    def message(self, descriptor, depth: int = 0) -> bytes:
        """One message of `descriptor`, odd in all the ways the module docstring lists."""
        rng, fields = self.rng, []
        oneof_members = []
        for fd in descriptor.fields:
            if fd.containing_oneof is not None:
                oneof_members.append(fd)
                continue
            if fd.is_repeated:
                count = rng.randrange(1 + (_REPEAT.get(fd.name, 2) if depth < 5 else 1))
            else:
                count = rng.choice((0, 1, 1, 1, 2))  # 2: a repeated singular field (the last wins; messages merge)
            fields += [self.field_of(fd, depth) for _ in range(count)]
        if oneof_members:  # AnyValue: mostly one member; sometimes none or several (the last wins)
            count = rng.choice((0, 1, 1, 1, 1, 2, 3))
            fields += [self.field_of(rng.choice(oneof_members), depth) for _ in range(count)]
        if depth < 5 and self.chance(4):
            fields.append(self.unknown(depth))
        if self.chance(2):
            rng.shuffle(fields)
        return b"".join(fields)

    def field_of(self, fd, depth: int) -> bytes:
        rng = self.rng
        pad = 1 if self.chance(6) else 0
        if fd.type == F.TYPE_MESSAGE:
            payload = self.message(fd.message_type, depth + 1) if depth < 8 else b""
            return field(fd.number, 2, payload, pad)
        if self.chance(30):  # a known field number with another wire type: unknown to upb
            wrong = rng.choice([w for w in (0, 1, 2, 5) if w != _WIRE[fd.type]])
            payload = {0: varint(7), 1: bytes(8), 2: b"\x01\x02", 5: bytes(4)}[wrong]
            return field(fd.number, wrong, payload, pad)
        wire_type, payload = self.scalar(fd)
        return field(fd.number, wire_type, payload, pad)


_SEEDS = st.integers(0, 2**64 - 1)


def build(descriptor, seed: int) -> bytes:
    return _Builder(seed).message(descriptor)


def traces() -> st.SearchStrategy[bytes]:
    return _SEEDS.map(lambda seed: build(ExportTraceServiceRequest.DESCRIPTOR, seed))


def logs() -> st.SearchStrategy[bytes]:
    return _SEEDS.map(lambda seed: build(ExportLogsServiceRequest.DESCRIPTOR, seed))


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
