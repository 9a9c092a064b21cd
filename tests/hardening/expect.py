"""What the receiver must answer, worked out from the payload independently of the server's code path."""

from __future__ import annotations

import gzip
import zlib

from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from processor.model import otlp_json

#: HTTP status -> the gRPC code the OTLP spec pairs with it.
GRPC_CODE = {200: "OK", 400: "INVALID_ARGUMENT", 413: "RESOURCE_EXHAUSTED"}


def protobuf(body: bytes, limit: int) -> int:
    if len(body) > limit:
        return 413
    try:
        ExportTraceServiceRequest.FromString(body)
    except DecodeError:
        return 400
    return 200


def json_body(body: bytes, limit: int) -> set[int]:
    """The statuses a JSON body may get. Nesting near Python's recursion limit may be read or refused, depending
    on how deep the reading thread's stack already is: both are right answers, a crash or a 500 is not."""
    if len(body) > limit:
        return {413}
    try:
        otlp_json.decode("traces", body)
    except otlp_json.OtlpJsonError as error:  # anything else escaping the decoder is a bug, and fails the test here
        return {200, 400} if "recursion" in str(error) else {400}
    return {200}


def gzipped(body: bytes, limit: int) -> int:
    try:
        inflated = gzip.decompress(body)
    except (OSError, EOFError, zlib.error):  # BadGzipFile is an OSError
        return 400
    return protobuf(inflated, limit)


def check_http_body(status: int, body: bytes, *, json: bool = False) -> None:
    """A 200 carries an ExportTraceServiceResponse; an error carries a google.rpc.Status with the paired code."""
    if status == 200:
        response = (otlp_json.parse(body, ExportTraceServiceResponse()) if json
                    else ExportTraceServiceResponse.FromString(body))
        assert response.partial_success.rejected_spans >= 0
        return
    if status == 415:  # the body's encoding is what the server cannot read, so this answer is plain text
        assert b"application/x-protobuf" in body
        return
    error = otlp_json.parse(body, status_pb2.Status()) if json else status_pb2.Status.FromString(body)
    assert error.message, "an error answer must say what was wrong"
    assert error.code == {400: 3, 413: 8}[status]
