"""The bounded sending queue: a full queue holds `reserve` until room is freed (not merely until something changes),
closing it refuses the waiting reservations, and the sender's `take` wakes for records put or due for a retry."""

from __future__ import annotations

import asyncio

import pytest

from processor.errors import RetryableError
from processor.exporters.exporterhelper.queue import SendQueue
from processor.exporters.kafka.record import OutgoingRecord


def _records(count: int) -> list[OutgoingRecord]:
    return [OutgoingRecord("spans", "spans", b"k", b"v", ()) for _ in range(count)]


async def test_a_full_queue_holds_reserve_until_room_is_freed():
    queue = SendQueue(10, block=True, name="test exporter")
    assert await queue.reserve(8)
    queue.put(_records(8))
    waiting = asyncio.create_task(queue.reserve(5))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await queue.take(100)  # taken (in flight) is still in the queue: no room yet
    queue.retry(_records(1)[0], 0.0)
    await asyncio.sleep(0.01)
    assert not waiting.done()
    queue.finish(2)  # 6 + 5 > 10: still no room
    await asyncio.sleep(0.01)
    assert not waiting.done()
    queue.finish(1)
    assert await asyncio.wait_for(waiting, 5) is True
    assert queue.size == 10


async def test_closing_refuses_waiting_reservations_and_wait_empty_returns_once_empty():
    queue = SendQueue(2, block=True, name="test exporter")
    assert await queue.reserve(2)
    waiting = asyncio.create_task(queue.reserve(1))
    emptied = asyncio.create_task(queue.wait_empty(30))
    await asyncio.sleep(0.01)
    queue.close()
    with pytest.raises(RetryableError):
        await asyncio.wait_for(waiting, 5)
    assert not emptied.done()
    queue.finish(2)
    assert await asyncio.wait_for(emptied, 5) is True


async def test_take_wakes_for_records_put_and_for_a_retry_coming_due():
    queue = SendQueue(10, block=True, name="test exporter")
    taking = asyncio.create_task(queue.take(10))
    await asyncio.sleep(0.01)
    assert not taking.done()
    first = _records(2)
    queue.put(first)
    assert await asyncio.wait_for(taking, 5) == first
    retried = _records(1)[0]
    queue.retry(retried, 0.05)
    assert await asyncio.wait_for(queue.take(10), 5) == [retried]
