"""Why a request was refused, in the terms of both transports, and the google.rpc.Status that says so."""

from __future__ import annotations

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2


class Failure(Exception):
    """A refusal the receiver answers with: a gRPC status code and the HTTP status the OTLP spec pairs with it."""

    def __init__(self, code: grpc.StatusCode, http_status: int, message: str, *,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.message = message
        self.retry_after = retry_after

    @classmethod
    def unavailable(cls, message: str, retry_after: float | None) -> Failure:
        return cls(grpc.StatusCode.UNAVAILABLE, 503, message, retry_after=retry_after)

    @classmethod
    def invalid(cls, message: str) -> Failure:
        return cls(grpc.StatusCode.INVALID_ARGUMENT, 400, message)

    @classmethod
    def unimplemented(cls, message: str) -> Failure:
        return cls(grpc.StatusCode.UNIMPLEMENTED, 404, message)

    @classmethod
    def too_large(cls, message: str) -> Failure:
        return cls(grpc.StatusCode.RESOURCE_EXHAUSTED, 413, message)

    @classmethod
    def read_timeout(cls, message: str) -> Failure:
        """The body or message did not arrive within read_timeout: 408 Request Timeout."""
        return cls(grpc.StatusCode.DEADLINE_EXCEEDED, 408, message)

    @classmethod
    def unauthenticated(cls, message: str) -> Failure:
        return cls(grpc.StatusCode.UNAUTHENTICATED, 401, message)

    def status(self) -> status_pb2.Status:
        """The google.rpc.Status body (HTTP) or grpc-status-details-bin trailer (gRPC), RetryInfo included."""
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        if self.retry_after is not None:
            retry = error_details_pb2.RetryInfo(retry_delay=_duration(self.retry_after))
            status.details.add().Pack(retry)
        return status


def _duration(seconds: float) -> duration_pb2.Duration:
    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=int(round((seconds - whole) * 1e9)))
