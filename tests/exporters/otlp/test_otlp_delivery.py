"""The otlp and otlphttp exporters against a scripted backend: what arrives, and each answer handled as the OTLP
specification asks of a client (partial success, permanent errors, retry delays, size limits, a full queue)."""

from __future__ import annotations

import asyncio
import logging
import time

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from processor import wire
from processor.errors import PermanentError, RetryableError
from processor.exporters.otlp.body import request_bytes
from processor.model.batch import Batch, Signal
from tests.exporters.kafka.conftest import make_batch, make_request, span_keys
from tests.support.otlp_backend import Answer, ScriptedBackend

SENT = "tokenstream_exporter_sent_records_total"
FAILED = "tokenstream_exporter_send_failed_records_total"
DROPPED = "tokenstream_exporter_dropped_records_total"
RESENT = "tokenstream_exporter_redelivered_records_total"


def _id(transport: str) -> str:
    return "otlp" if transport == "grpc" else "otlphttp"


async def test_the_request_arrives_as_the_pipeline_holds_it(harness, backend, transport):
    exporter = await harness.start(transport, headers={"Authorization": "Bearer s3cret", "X-Tenant": "a"})
    batch = make_batch(make_request(traces=4, spans_per_trace=3))
    await asyncio.wait_for(exporter.consume(batch), 10)
    (received,) = backend.received
    assert received.transport == transport and received.signal is Signal.TRACES
    assert received.body == request_bytes(batch)  # the same bytes, gzip'd on the wire and not re-encoded
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["authorization"] == "Bearer s3cret" and headers["x-tenant"] == "a"
    if transport == "http":  # gRPC keeps its grpc-encoding header to itself
        assert headers["content-encoding"] == "gzip"
    assert harness.value(SENT, exporter=_id(transport), kind="spans") == 12
    assert "s3cret" not in repr(exporter.config)  # header values are secrets: never printed


async def test_spans_held_as_bytes_leave_as_those_bytes_with_the_enrichment_written_in(harness, backend, transport):
    """Zero-copy on the wire core: the body is the batch's bytes as the writers left them, never decoded and
    encoded again through upb."""
    exporter = await harness.start(transport)
    received_bytes = make_request(traces=3, spans_per_trace=2).SerializeToString()
    batch = Batch.of_bytes(received_bytes)
    index = batch.index()
    batch.add_span_attributes(index.trace_id(1), index.span_id(1), {"tokenstream.stall_count": 2})
    enriched = wire.add_attributes(index, {1: {"tokenstream.stall_count": 2}})
    await asyncio.wait_for(exporter.consume(batch), 10)
    (received,) = backend.received
    assert received.body == enriched != received_bytes
    assert not batch.decoded


async def test_logs_go_to_the_logs_service(harness, backend, transport):
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    scope.log_records.extend(LogRecord(body={"string_value": f"line {i}"}, span_id=bytes([i]) * 8) for i in range(3))
    exporter = await harness.start(transport)
    await asyncio.wait_for(exporter.consume(Batch(Signal.LOGS, request)), 10)
    (received,) = backend.received
    assert received.signal is Signal.LOGS and received.request() == request
    assert harness.value(SENT, exporter=_id(transport), kind="log_records") == 3


async def test_a_partial_success_is_not_sent_again(harness, backend, transport, caplog):
    backend.script.append(Answer.partial(2, "2 spans had no name"))
    exporter = await harness.start(transport)
    await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=2, spans_per_trace=3))), 10)
    await asyncio.sleep(0.3)  # a retry, if there were one, would come at once (50 ms backoff)
    assert len(backend.received) == 1
    assert harness.value(SENT, exporter=_id(transport), kind="spans") == 4
    assert harness.value(FAILED, exporter=_id(transport), kind="spans") == 2
    assert harness.value(RESENT, exporter=_id(transport), kind="spans") == 0
    assert [r.message for r in caplog.records if "partial success" in r.message][0].endswith("2 spans had no name")


async def test_a_permanent_error_drops_the_batch_and_the_next_one_goes_through(harness, backend, transport):
    backend.script.append(Answer.status(grpc.StatusCode.INVALID_ARGUMENT, 400, "span id is 3 bytes"))
    exporter = await harness.start(transport)
    with pytest.raises(PermanentError, match="span id is 3 bytes"):
        await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=1, spans_per_trace=5, seed=1))), 10)
    good = make_batch(make_request(traces=1, spans_per_trace=2, seed=2))
    await asyncio.wait_for(exporter.consume(good), 10)
    assert len(backend.received) == 2 and backend.received[1].body == request_bytes(good)
    assert harness.value(FAILED, exporter=_id(transport), kind="spans") == 5
    assert harness.value(SENT, exporter=_id(transport), kind="spans") == 2


async def test_the_servers_retry_delay_is_waited(harness, backend, transport):
    # gRPC: UNAVAILABLE with a RetryInfo of 1.5 s; HTTP: 503 with Retry-After: 2 (whole seconds).
    delay = 1.5 if transport == "grpc" else 2.0
    backend.script.append(Answer.unavailable(retry_after=delay))
    exporter = await harness.start(transport)
    await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=1, spans_per_trace=2))), 20)
    first, second = backend.received
    assert second.at - first.at >= delay - 0.05, "retried before the server's delay"
    assert second.at - first.at < delay + 1.5  # the delay, not the exponential backoff on top of it
    assert first.body == second.body
    assert harness.value(RESENT, exporter=_id(transport), kind="spans") == 2


async def test_resource_exhausted_without_retry_info_is_not_retried(harness, backend):
    backend.script.append(Answer.status(grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "quota used up"))
    exporter = await harness.start("grpc")
    with pytest.raises(PermanentError):
        await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=1, spans_per_trace=1))), 10)
    assert len(backend.received) == 1


async def test_without_a_backend_consume_fails_retryably_after_the_deadline(harness, backend, transport):
    await backend.down()
    exporter = await harness.start(transport, retry_on_failure={"initial_interval": "50ms",
                                                                "max_elapsed_time": "500ms"})
    started = time.monotonic()
    with pytest.raises(RetryableError):
        await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=1, spans_per_trace=3))), 20)
    assert time.monotonic() - started >= 0.5
    assert harness.value(FAILED, exporter=_id(transport), kind="spans") == 3


async def test_a_request_over_the_limit_is_cut_before_it_is_sent(harness, backend, transport):
    exporter = await harness.start(transport, max_request_size="64KiB")
    batch = make_batch(make_request(traces=20, spans_per_trace=4, payload_bytes=4000))
    assert len(request_bytes(batch)) > 4 * 64 * 1024
    await asyncio.wait_for(exporter.consume(batch), 20)
    assert len(backend.received) >= 5
    assert all(len(r.body) <= 64 * 1024 for r in backend.received)
    arrived = set().union(*(span_keys(r.request()) for r in backend.received))
    assert arrived == span_keys(batch.request)
    assert harness.value(SENT, exporter=_id(transport), kind="spans") == 80


async def test_a_request_the_backend_finds_too_large_is_cut_and_sent_again():
    # A real gRPC server limit (RESOURCE_EXHAUSTED "larger than max"), not a scripted answer.
    from tests.exporters.otlp.conftest import Harness

    backend = await ScriptedBackend(grpc_max_receive=100 * 1024).start()
    harness = Harness(backend)
    try:
        exporter = await harness.start("grpc", compression="none")
        batch = make_batch(make_request(traces=10, spans_per_trace=5, payload_bytes=3000))
        assert len(request_bytes(batch)) > 100 * 1024
        await asyncio.wait_for(exporter.consume(batch), 20)
        arrived = set().union(*(span_keys(r.request()) for r in backend.received))
        assert arrived == span_keys(batch.request)
        assert exporter.limit <= 100 * 1024  # learnt: the next request is cut before it is sent
        assert harness.value(SENT, exporter="otlp", kind="spans") == 50
        assert harness.value(FAILED, exporter="otlp", kind="spans") == 0
    finally:
        for exporter in harness.started:
            await exporter.shutdown()
        await backend.stop()


async def test_413_cuts_the_request(harness, backend):
    backend.script.append(Answer.status(grpc.StatusCode.RESOURCE_EXHAUSTED, 413, "body over 1 MiB"))
    exporter = await harness.start("http")
    batch = make_batch(make_request(traces=6, spans_per_trace=2, payload_bytes=2000))
    await asyncio.wait_for(exporter.consume(batch), 20)
    whole, *pieces = backend.received
    assert whole.answer.http_status == 413 and len(pieces) >= 2
    assert set().union(*(span_keys(r.request()) for r in pieces)) == span_keys(batch.request)


async def test_a_full_queue_drops_the_newest_when_told_to(harness, backend, transport):
    await backend.down()
    exporter = await harness.start(transport, sending_queue={"queue_size": 1, "when_full": "drop_newest"})
    first = asyncio.create_task(exporter.consume(make_batch(make_request(traces=1, spans_per_trace=2, seed=1))))
    await asyncio.sleep(0.2)
    await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=1, spans_per_trace=3, seed=2))), 5)
    assert harness.value(DROPPED, exporter=_id(transport), kind="spans") == 3
    assert harness.value("tokenstream_queue_size", component=_id(transport)) == 1
    await backend.up()
    await asyncio.wait_for(first, 20)
    assert harness.value(SENT, exporter=_id(transport), kind="spans") == 2


async def test_an_empty_endpoint_turns_the_exporter_off(harness, caplog):
    caplog.set_level(logging.INFO)
    exporter = await harness.start("grpc", endpoint="")
    await exporter.consume(make_batch(make_request()))
    assert not harness.backend.received
    assert any("endpoint is empty" in r.message for r in caplog.records)
