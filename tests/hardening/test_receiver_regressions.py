"""Bugs the fuzzers found in the otlp receiver, each pinned by a test that failed before its fix."""

from __future__ import annotations

import gzip
import logging
import zlib

import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.hardening.clients import http_post, raw_http
from tests.hardening.fuzzing import GOOD
from tests.hardening.payloads import nested_any_value_request

TWO_SPANS = ExportTraceServiceRequest()
for n in (5, 6):
    TWO_SPANS.resource_spans.add().scope_spans.add().spans.add(trace_id=bytes([n]) * 16, span_id=bytes([n]) * 8)


@pytest.mark.parametrize("body", [b"\xff\xff\xff", b"\x0a\x05abc", nested_any_value_request(["kvlist"] * 500)])
def test_grpc_answers_a_corrupt_message_with_invalid_argument_not_unknown(grpc_client, body):
    answer = grpc_client.export(body)
    assert answer.status == "INVALID_ARGUMENT", answer
    assert b"not a valid protobuf ExportTraceServiceRequest" in answer.body


def test_truncated_gzip_is_refused_not_taken_as_a_shorter_request(receiver):
    whole = gzip.compress(TWO_SPANS.SerializeToString())
    for cut in (len(whole) - 1, len(whole) - 8, 12):  # inside the trailer, at its start, inside the data
        answer = http_post(receiver.http_port, whole[:cut], headers={"Content-Encoding": "gzip"})
        assert answer.status == 400, (cut, answer)
        assert "compressed stream" in status_pb2.Status.FromString(answer.body).message
    assert receiver.clear_sink() == 0


@pytest.mark.parametrize("body, encoding, spans", [
    (gzip.compress(GOOD) + gzip.compress(TWO_SPANS.SerializeToString()), "gzip", 3),  # two members
    (gzip.compress(GOOD) + bytes(7), "gzip", 1),  # zero padding, as gzip(1) allows
    (zlib.compress(GOOD), "deflate", 1),
    (zlib.compress(GOOD)[2:-4], "deflate", 1),  # raw deflate, which aiohttp also accepted
])
def test_well_formed_compressed_bodies_still_arrive_whole(receiver, body, encoding, spans):
    answer = http_post(receiver.http_port, body, headers={"Content-Encoding": encoding})
    assert answer.status == 200, answer
    assert not ExportTraceServiceResponse.FromString(answer.body).HasField("partial_success")
    assert receiver.clear_sink() == spans


@pytest.mark.parametrize("body, encoding", [(gzip.compress(GOOD) + b"junk", "gzip"),
                                            (zlib.compress(GOOD) + b"junk", "deflate")])
def test_bytes_after_the_compressed_stream_are_refused(receiver, body, encoding):
    assert http_post(receiver.http_port, body, headers={"Content-Encoding": encoding}).status == 400
    assert receiver.clear_sink() == 0


def test_a_client_that_closes_mid_body_is_not_logged_as_a_server_error(receiver, caplog):
    head = (b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 1000\r\n\r\n")
    with caplog.at_level(logging.DEBUG):
        assert raw_http(receiver.http_port, head + GOOD, half_close=True) in ([], [400])
        assert http_post(receiver.http_port, GOOD).status == 200  # and, by then, the first one was handled
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    receiver.clear_sink()
