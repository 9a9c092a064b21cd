"""One fuzz family's run: send a payload, check the answer against the expectation, then a good request."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.hardening import expect
from tests.hardening.clients import GrpcClient, http_post, raw_http
from tests.hardening.figures import Family, rss_bytes
from tests.hardening.receiver_thread import ReceiverThread


def _good_request() -> bytes:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="ok")
    return request.SerializeToString()


GOOD = _good_request()


class FuzzRun:
    def __init__(self, receiver: ReceiverThread, grpc_client: GrpcClient, family: Family, limit: int) -> None:
        self.receiver = receiver
        self.grpc_client = grpc_client
        self.family = family
        self.limit = limit

    def http(self, body: bytes, expected: int | set[int], *, content_type: str = "application/x-protobuf",
             headers: dict | None = None) -> None:
        answer = http_post(self.receiver.http_port, body, content_type=content_type, headers=headers)
        self.family.count(answer.status)
        assert answer.status in (expected if isinstance(expected, set) else {expected}), (answer.status,
                                                                                           answer.body[:300])
        expect.check_http_body(answer.status, answer.body, json=content_type == "application/json")
        self._after_payload()

    def grpc(self, body: bytes, expected_http: int) -> None:
        answer = self.grpc_client.export(body)
        self.family.count(answer.status)
        assert answer.status == expect.GRPC_CODE[expected_http], (answer.status, answer.body[:300])
        if answer.status == "OK":
            ExportTraceServiceResponse.FromString(answer.body)
        self._after_payload()

    def raw(self, data: bytes, *, half_close: bool) -> list[int]:
        statuses = raw_http(self.receiver.http_port, data, half_close=half_close)
        self.family.count("/".join(map(str, statuses)) or "closed")
        self._after_payload()
        return statuses

    def _after_payload(self) -> None:
        """The receiver is still up and takes a good request on both transports; its data is then dropped."""
        self.good_requests()
        self.family.rss_peak = max(self.family.rss_peak, rss_bytes(collect=False))

    def good_requests(self) -> None:
        assert self.receiver.alive()
        http_answer = http_post(self.receiver.http_port, GOOD)
        assert http_answer.status == 200, http_answer
        assert not ExportTraceServiceResponse.FromString(http_answer.body).HasField("partial_success")
        grpc_answer = self.grpc_client.export(GOOD)
        assert grpc_answer.status == "OK", grpc_answer
        assert self.receiver.clear_sink() >= 2
