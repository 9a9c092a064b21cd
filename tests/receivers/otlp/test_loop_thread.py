"""on_loop: a coroutine run on another thread's loop, awaited here, as the gRPC receiver hands requests over."""

from __future__ import annotations

import asyncio
import threading

import pytest

from processor.receivers.otlp.loop_thread import LoopThread, mailbox, on_loop


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


async def test_a_posted_call_that_raises_is_reported_and_the_calls_after_it_still_run(other):
    reported: list[BaseException] = []
    other.loop.set_exception_handler(lambda loop, context: reported.append(context["exception"]))
    gate = threading.Event()
    other.loop.call_soon_threadsafe(gate.wait, 5)  # held: the calls below are taken by one turn of the mailbox
    box, ran = mailbox(other.loop, asyncio.get_running_loop()), []

    def fails() -> None:
        raise RuntimeError("posted")

    box.post(fails)
    box.post(ran.append, "after")
    gate.set()
    assert await on_loop(other.loop, asyncio.sleep(0, "done")) == "done"
    assert ran == ["after"] and [str(e) for e in reported] == ["posted"]


async def test_a_busy_posting_loop_delays_only_its_own_calls(other):
    """Two loops hand work to `other` (two gRPC servers on one pipeline loop): while one of them is in a long turn
    right after posting, what the other posts still runs."""
    busy = LoopThread("test-busy").start()
    try:
        release = threading.Event()

        async def post_then_stay_busy() -> None:
            waiting = asyncio.ensure_future(on_loop(other.loop, asyncio.sleep(0, "from busy")))
            release.wait(10)  # noqa: ASYNC210 - the long turn this test is about: the post's wake-up waits for it
            assert await waiting == "from busy"

        busy_done = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(post_then_stay_busy(), busy.loop))
        await asyncio.sleep(0.05)
        assert await asyncio.wait_for(on_loop(other.loop, asyncio.sleep(0, "from here")), 5) == "from here"
        release.set()
        await busy_done
    finally:
        release.set()
        busy.stop()


async def test_a_closed_loop_is_refused_at_once(other):
    closed = asyncio.new_event_loop()
    closed.close()

    async def never() -> None:
        raise AssertionError("ran on a closed loop")

    with pytest.raises(RuntimeError, match="closed"):
        await asyncio.wait_for(on_loop(closed, never()), 5)
