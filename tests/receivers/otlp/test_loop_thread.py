"""on_loop: a coroutine run on another thread's loop, awaited here, as the gRPC receiver hands requests over."""

from __future__ import annotations

import asyncio
import threading

import pytest

from processor.receivers.otlp.loop_thread import LoopThread, on_loop


@pytest.fixture
def other():
    thread = LoopThread("test-other").start()
    yield thread
    thread.stop()


async def test_results_and_errors_come_back_from_the_other_loop(other):
    async def work(n: int) -> tuple[int, str]:
        await asyncio.sleep(0)
        if n == 13:
            raise ValueError("thirteen")
        return n * 2, threading.current_thread().name

    results = await asyncio.gather(*(on_loop(other.loop, work(n)) for n in range(100)), return_exceptions=True)
    assert isinstance(results[13], ValueError) and str(results[13]) == "thirteen"
    assert [r for n, r in enumerate(results) if n != 13] == [(n * 2, "test-other") for n in range(100) if n != 13]


async def test_cancelling_the_wait_cancels_the_coroutine_there(other):
    started, cancelled = threading.Event(), threading.Event()

    async def held() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiting = asyncio.create_task(on_loop(other.loop, held()))
    await asyncio.to_thread(started.wait, 5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await asyncio.to_thread(cancelled.wait, 5)


async def test_a_wait_cancelled_before_the_coroutine_started_never_runs_it(other):
    ran = threading.Event()
    gate = threading.Event()
    other.loop.call_soon_threadsafe(gate.wait, 5)  # the other loop is busy: nothing posted there runs yet

    async def never() -> None:
        ran.set()

    waiting = asyncio.create_task(on_loop(other.loop, never()))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.set()
    assert await on_loop(other.loop, asyncio.sleep(0, "after")) == "after"
    assert not ran.is_set()


async def test_the_other_loop_can_await_this_one(other):
    here = asyncio.get_running_loop()

    async def there() -> str:
        return await on_loop(here, asyncio.sleep(0, "back here"))

    assert await on_loop(other.loop, there()) == "back here"
