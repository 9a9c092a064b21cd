"""Spans a downstream refuses by name (too large for a Kafka record) while it takes the rest: the client is told how
many, as an OTLP partial success, over both transports; INVALID_ARGUMENT/400 when it was all of them."""

from __future__ import annotations

import json

import grpc

from processor.errors import RejectedSpans
from processor.model import otlp_json
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer
from tests.receivers.otlp.otlp_helpers import good_span, grpc_export, grpc_status_of, post, sink_routes, trace_request

GRPC_ONLY = {"grpc": {"endpoint": "127.0.0.1:0"}}
HTTP_ONLY = {"http": {"endpoint": "127.0.0.1:0"}}


class RefusingSome(SinkConsumer):
    """Takes every batch, and refuses by name the spans whose span id is in `refused`."""

    def __init__(self, *refused: tuple[bytes, bytes]) -> None:
        super().__init__()
        self.refused = set(refused)

    async def consume(self, batch):
        await super().consume(batch)
        mine = {(s.trace_id, s.span_id) for s in self.spans()} & self.refused
        if mine:
            raise RejectedSpans(f"kafka: {len(mine)} spans larger than the Kafka record limit", mine)


def _count(telemetry: SelfTelemetry, name: str, transport: str) -> float:
    return telemetry.registry.get_sample_value(f"tokenstream_{name}_total",
                                               {"receiver": "otlp", "transport": transport}) or 0


async def test_grpc_answers_a_partial_success_naming_how_many_spans_were_refused(start_receiver):
    sink, telemetry = RefusingSome(good_span(2)), SelfTelemetry()
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink), telemetry)
    response = await grpc_export(receiver.grpc_port, trace_request(good_span(1), good_span(2), good_span(3)))
    assert response.partial_success.rejected_spans == 1
    assert "larger than the Kafka record limit" in response.partial_success.error_message
    assert (_count(telemetry, "receiver_accepted_spans", "grpc"), _count(telemetry, "receiver_refused_spans", "grpc")) \
        == (2, 1)


async def test_grpc_answers_invalid_argument_when_every_span_was_refused(start_receiver):
    receiver = await start_receiver(GRPC_ONLY, sink_routes(RefusingSome(good_span(1))))
    code, status = await grpc_status_of(receiver.grpc_port, trace_request(good_span(1)))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "Kafka record limit" in status.message


async def test_http_json_partial_success_adds_the_refused_spans_to_those_with_invalid_ids(start_receiver):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(RefusingSome(good_span(2))))
    request = trace_request(good_span(1), good_span(2), (b"\x01" * 15, b"\x02" * 8))  # the last one: a bad trace id
    status, _, body = await post(receiver.http_port, "/v1/traces", otlp_json.encode(request),
                                 content_type="application/json")
    assert status == 200
    partial = json.loads(body)["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "trace_id must be 16 bytes" in partial["errorMessage"] and "Kafka record limit" in partial["errorMessage"]
