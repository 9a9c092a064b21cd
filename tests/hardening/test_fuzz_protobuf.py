"""Malformed OTLP protobuf on both transports: garbage, truncated, wrong wire types, deep AnyValue, huge strings.

Each payload's expected answer comes from decoding it locally (tests/hardening/expect.py): 200 (maybe with a
partial success), 400/INVALID_ARGUMENT, or 413/RESOURCE_EXHAUSTED. After every payload the receiver must take a
good request on both transports; after each family, RSS must come back near where it started.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.hardening import expect
from tests.hardening.conftest import LIMIT_BYTES, examples
from tests.hardening.payloads import mutated, nested_any_value_request, nesting, truncated

TRANSPORTS = ["http", "grpc"]


def send(fuzz, transport: str, body: bytes) -> int:
    expected = expect.protobuf(body, LIMIT_BYTES)
    if transport == "http":
        fuzz.http(body, expected)
    else:
        fuzz.grpc(body, expected)
    return expected


@pytest.mark.parametrize("transport", TRANSPORTS)
@examples(fast=100, full=1500)
@given(body=st.binary(max_size=4096))
def test_garbage_protobuf(fuzz, transport, body):
    send(fuzz, transport, body)


@pytest.mark.parametrize("transport", TRANSPORTS)
@examples(fast=60, full=800)
@given(body=truncated())
def test_truncated_protobuf(fuzz, transport, body):
    send(fuzz, transport, body)


@pytest.mark.parametrize("transport", TRANSPORTS)
@examples(fast=100, full=1500)
@given(body=mutated())
def test_wrong_wire_types(fuzz, transport, body):
    send(fuzz, transport, body)


@pytest.mark.parametrize("transport", TRANSPORTS)
@examples(fast=25, full=300)
@given(kinds=nesting)
def test_deeply_nested_any_value(fuzz, transport, kinds):
    expected = send(fuzz, transport, nested_any_value_request(kinds))
    if len(kinds) >= 100:  # past protobuf's recursion limit: refused as invalid, not a crash and not accepted
        assert expected == 400


@pytest.mark.parametrize("transport", TRANSPORTS)
@examples(fast=3, full=40)
@given(under=st.integers(9_000_000, LIMIT_BYTES - 1000), over=st.integers(LIMIT_BYTES + 1, 14_000_000),
       char=st.characters(codec="utf-8"))
def test_huge_attribute_strings(fuzz, transport, under, over, char):
    """About 10 MB fits under the 12 MiB limit and is taken whole; past the limit it is 413/RESOURCE_EXHAUSTED."""
    for length, expected in ((under, 200), (over, 413)):
        request = ExportTraceServiceRequest()
        span = request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x03" * 16, span_id=b"\x04" * 8)
        span.attributes.add(key="gen_ai.prompt").value.string_value = char * (length // len(char.encode()))
        body = request.SerializeToString()
        assert send(fuzz, transport, body) == (200 if len(body) <= LIMIT_BYTES else 413)
        assert (len(body) <= LIMIT_BYTES) == (expected == 200)
