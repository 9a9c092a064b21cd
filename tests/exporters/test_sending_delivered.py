"""A batch the peer acknowledged settles its records at once (SendingQueue.delivered_all): each `send` returns
only when all of its records are settled, however the batches mixed them, and each record is counted once."""

from __future__ import annotations

import asyncio
import logging

from processor.exporters.exporterhelper.sending import SendingQueue
from processor.exporters.kafka.record import OutgoingRecord
from processor.service.telemetry import SelfTelemetry


def _records(kind: str, count: int, items: int = 1) -> list[OutgoingRecord]:
    return [OutgoingRecord(kind, kind, b"k%d" % n, b"v", (), items) for n in range(count)]


async def test_each_send_returns_once_every_record_of_it_is_in_an_acknowledged_batch():
    telemetry = SelfTelemetry()
    sending = SendingQueue("kafka", telemetry, name="kafka", peer="the broker", noun="records", capacity=100,
                           block=True, storage=None, record_type=OutgoingRecord, log=logging.getLogger("test"))
    await sending.open()
    first, second = _records("spans", 4, items=3), _records("streams", 3) + _records("spans", 2, items=5)
    sends = [asyncio.create_task(sending.send(first)), asyncio.create_task(sending.send(second))]
    taken = await sending.queue.take(100)
    assert [id(r) for r in taken] == [id(r) for r in first + second]

    # Two batches, each holding records of both sends, runs of a kind and of a send side by side.
    sending.delivered_all([first[0], second[0], second[1], first[1], second[3]])
    await asyncio.sleep(0)
    assert not any(send.done() for send in sends)
    assert sending.queue.size == 4
    sending.delivered_all([first[2], first[3], second[2], second[4]])
    await asyncio.wait_for(asyncio.gather(*sends), 5)
    assert sending.queue.size == 0

    def sent(kind: str) -> float:
        return telemetry.registry.get_sample_value("tokenstream_exporter_sent_records_total",
                                                   {"exporter": "kafka", "kind": kind})
    assert sent("spans") == 4 * 3 + 2 * 5
    assert sent("streams") == 3
    latency = telemetry.registry.get_sample_value("tokenstream_exporter_delivery_latency_seconds_count",
                                                  {"exporter": "kafka"})
    assert latency == 9  # one observation per record
