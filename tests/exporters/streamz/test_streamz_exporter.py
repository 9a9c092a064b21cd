"""The streamz exporter: what it hands the extension (each record with its chunks) and how it fails to start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from processor.component import Kind
from processor.exporters.streamz import factory as exporter_factory
from processor.extensions.streamz import factory as extension_factory
from processor.model.batch import Batch, Signal
from processor.model.chunks import Stall, StreamChunks
from processor.model.records import StreamRecord, anomaly_for
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings

S = 1_000_000_000
T0 = 1_700_000_000 * S


def record(n: int, **fields) -> StreamRecord:
    return StreamRecord(trace_id=bytes([n]) * 16, span_id=bytes([n]) * 8, route="/chat", outcome="completed",
                        start_time_unix_nano=T0, **fields)


async def started(extension_id: str = "streamz", host: Host | None = None):
    host = host or Host(SelfTelemetry())
    extension = extension_factory.create(create_settings(extension_id, Kind.EXTENSION, telemetry=host.telemetry),
                                         extension_factory.config_model.model_validate({"endpoint": "127.0.0.1:0"}),
                                         None)
    host.components[f"extension/{extension_id}"] = extension
    exporter = exporter_factory.create(create_settings("streamz", Kind.EXPORTER, telemetry=host.telemetry),
                                       exporter_factory.config_model.model_validate({"extension": extension_id}),
                                       None)
    await exporter.start(host)
    return extension, exporter, host


def kept(extension) -> dict[str, dict]:
    return {e["record"]["span_id"]: e for e in extension.buffer.query()["streams"]}


async def test_each_record_is_drawn_with_its_chunks_and_the_processors_stalls():
    extension, exporter, _ = await started()
    batch = Batch.empty(Signal.TRACES)  # a background flush: records, no spans
    batch.streams.extend([record(1), record(2)])
    # the processor found no stall in record 1's 2 s gap (its stall_gap was higher) and one of 0.5 s in record 2's
    batch.chunks.append(StreamChunks(bytes([1]) * 8, (T0 + S, T0 + 3 * S), ()))
    batch.chunks.append(StreamChunks(bytes([2]) * 8, (T0 + S, T0 + S + S // 10, T0 + 2 * S - S // 10),
                                     (Stall(T0 + S + S // 10, 0.5),)))
    batch.chunks.append(StreamChunks(bytes([9]) * 8, (T0,), ()))  # no record in this batch: not drawn
    await exporter.consume(batch)
    first, second = kept(extension)[(bytes([1]) * 8).hex()], kept(extension)[(bytes([2]) * 8).hex()]
    assert first["timeline"]["chunks"] == [1.0, 3.0] and first["timeline"]["stalls"] == []
    assert second["timeline"]["chunks"] == [1.0, 1.1, 1.9]
    assert second["timeline"]["stalls"] == [{"from_s": 1.1, "to_s": 1.6, "gap_s": 0.5}]
    assert len(kept(extension)) == 2


async def test_a_record_without_chunks_is_kept_with_its_own_times_only():
    extension, exporter, host = await started()
    batch = Batch.empty(Signal.TRACES)
    batch.streams.append(record(3, first_chunk_time_unix_nano=T0 + S, end_time_unix_nano=T0 + 2 * S, ttft_s=1.0))
    batch.anomalies.append(anomaly_for(batch.streams[0], "slow_first_token", severity="warning",
                                       time_unix_nano=T0, detail="p95 1.0s over 0.5s"))
    await exporter.consume(batch)
    entry = kept(extension)[(bytes([3]) * 8).hex()]
    assert entry["record"]["ttft_s"] == 1.0 and entry["record"]["route"] == "/chat"
    assert entry["timeline"]["source"] == "summary" and entry["timeline"]["first_token_s"] == 1.0
    assert [a["detail"] for a in entry["anomalies"]] == ["p95 1.0s over 0.5s"]
    sent = host.telemetry.exporter_sent
    assert sent.labels("streamz", "streams")._value.get() == 1
    assert sent.labels("streamz", "anomalies")._value.get() == 1


async def test_a_batch_without_records_changes_nothing():
    extension, exporter, _ = await started()
    batch = Batch.empty(Signal.TRACES)
    batch.request.resource_spans.add().scope_spans.add().spans.add(span_id=b"\x01" * 8)
    await exporter.consume(batch)
    assert extension.buffer.recorded == 0


async def test_it_feeds_the_named_extension():
    extension, exporter, _ = await started("streamz/ops")
    assert exporter.buffer is extension.buffer


async def test_start_fails_and_says_what_to_configure_without_its_extension():
    exporter = exporter_factory.create(create_settings("streamz", Kind.EXPORTER),
                                       exporter_factory.config_model.model_validate({}), None)
    with pytest.raises(RuntimeError, match=r"extensions::streamz and add it to service::extensions"):
        await exporter.start(Host(SelfTelemetry()))


@pytest.mark.parametrize("value", ["health_check", "Streamz", "streamz/"])
def test_the_extension_must_be_a_streamz_id(value):
    with pytest.raises(ValidationError, match="is not a"):
        exporter_factory.config_model.model_validate({"extension": value})
