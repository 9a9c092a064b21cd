"""The on-disk queue: records survive a reopen, acknowledged ones are deleted, a torn tail is ignored."""

from __future__ import annotations

import logging

import pytest

from processor.exporters.exporterhelper.disklog import DiskLog, DiskLogError
from processor.exporters.kafka.record import OutgoingRecord

LOG = logging.getLogger("test.disklog")


def _records(n: int, prefix: str = "r") -> list[OutgoingRecord]:
    return [OutgoingRecord("streams", "llm.streams", f"{i:032x}".encode(), f"{prefix}{i}".encode() * 10,
                           (("content-type", b"application/x-protobuf"), ("schema", b"x")), items=i + 1)
            for i in range(n)]


def test_record_round_trips_through_bytes():
    record = _records(3)[2]
    copy = OutgoingRecord.from_bytes(record.to_bytes())
    assert (copy.kind, copy.topic, copy.key, copy.value, copy.headers, copy.items) == \
        (record.kind, record.topic, record.key, record.value, record.headers, record.items)
    keyless = OutgoingRecord("spans", "t", None, b"v", ())
    assert OutgoingRecord.from_bytes(keyless.to_bytes()).key is None


async def test_unacknowledged_records_come_back_after_reopen(tmp_path):
    disk = DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord)
    assert disk.open() == []
    records = _records(5)
    await disk.append(records)
    disk.release(records[0].segment)  # one acknowledged; the segment holds the others still
    disk.close()

    again = DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord)
    recovered = again.open()
    assert [r.value for r in recovered] == [r.value for r in records]  # at-least-once: the acked one too
    for record in recovered:
        again.release(record.segment)
    assert not [p for p in tmp_path.glob("*.seg") if p.stat().st_size]
    again.close()
    assert list(tmp_path.glob("*.seg")) == []


async def test_acknowledged_segments_are_deleted_and_the_active_one_reused(tmp_path):
    disk = DiskLog(tmp_path, log=LOG, segment_bytes=200, record_type=OutgoingRecord)
    disk.open()
    first = _records(3, "a")
    await disk.append(first)
    second = _records(3, "b")
    await disk.append(second)  # the first segment is over 200 bytes: a new one
    assert first[0].segment != second[0].segment
    for record in first:
        disk.release(record.segment)
    assert len(list(tmp_path.glob("*.seg"))) == 1
    for record in second:
        disk.release(record.segment)
    third = _records(1, "c")
    await disk.append(third)  # nothing left to send in the active segment: it starts over
    assert sum(p.stat().st_size for p in tmp_path.glob("*.seg")) < 200
    disk.close()
    assert [r.value for r in DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord).open()] == [r.value for r in third]


@pytest.mark.parametrize("damage", ["torn", "corrupt"])
async def test_a_torn_or_corrupt_last_frame_is_ignored(tmp_path, damage):
    disk = DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord)
    disk.open()
    await disk.append(_records(4))
    disk.close()
    segment = next(tmp_path.glob("*.seg"))
    data = segment.read_bytes()
    if damage == "torn":
        segment.write_bytes(data[:-7])  # killed in the middle of writing the last frame
    else:
        segment.write_bytes(data[:-3] + b"xyz")
    recovered = DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord).open()
    assert [r.value for r in recovered] == [r.value for r in _records(4)[:3]]


def test_a_directory_in_use_is_refused(tmp_path):
    first = DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord)
    first.open()
    with pytest.raises(DiskLogError, match="in use"):
        DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord).open()
    first.close()
    second = DiskLog(tmp_path, log=LOG, record_type=OutgoingRecord)
    second.open()
    second.close()
