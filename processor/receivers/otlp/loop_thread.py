"""An event loop of its own, in a thread, for the gRPC server.

gRPC's asyncio server takes one waiting call per few turns of its event loop, and a turn lasts as long as
everything else ready to run. On the pipeline's loop, where a turn that processes a batch takes milliseconds, an
overload's calls waited in gRPC's queue past their deadline, unseen and so unrefused. `python -m bench.grpc_pickup`
(bench/results/grpc_pickup.txt): beside a task busy 5 ms per turn, a grpc.aio server on that loop answers 32 calls/s,
the receiver on its own loop 1002/s (2313/s for the bare server on an idle loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> LoopThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs `coroutine` on this thread's loop; awaited from another loop."""
        return await on_loop(self.loop, coroutine)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class Mailbox:
    """Calls posted by one loop (`poster`) to run on another (`target`), in the order posted. The target is woken (a
    write to its self-pipe, which lets go of the GIL) once per turn of the posting loop, not per call: a batch
    delivered at once answers dozens of requests, and `call_soon_threadsafe` per answer was ~10% of the receive path
    on ordinary spans (py-spy). One mailbox per pair of loops: a poster busy with a long turn delays only its own
    calls, never another's."""

    def __init__(self, target: asyncio.AbstractEventLoop, poster: asyncio.AbstractEventLoop) -> None:
        # Weak: the mailboxes are kept per pair of loops, for as long as both live.
        self._target, self._poster = weakref.ref(target), weakref.ref(poster)
        self._calls: list[tuple[Callable[..., Any], tuple]] = []
        self._waking = False
        self._lock = threading.Lock()

    def post(self, call: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self._calls.append((call, args))
            wake, self._waking = not self._waking, True
        if not wake:
            return
        poster = self._poster()
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is not None and here is poster:
            here.call_soon(self._wake)  # once the callbacks of this turn have posted theirs
        else:  # posted from elsewhere: wake the target now
            self._wake()

    def _wake(self) -> None:
        target = self._target()
        with contextlib.suppress(RuntimeError, AttributeError):  # the loop is closed or gone: nobody takes the calls
            target.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        with self._lock:
            calls, self._calls, self._waking = self._calls, [], False
        for done, (call, args) in enumerate(calls, 1):
            try:
                call(*args)
            except Exception as exc:  # as the loop does for a callback: reported, and the calls after it still run
                target = self._target()
                if target is not None:
                    target.call_exception_handler({"message": f"exception in {call!r} posted to a mailbox",
                                                   "exception": exc})
            except BaseException:  # the loop is being stopped: the calls after it run on its next turn
                with self._lock:
                    self._calls[:0] = calls[done:]
                    wake, self._waking = bool(self._calls) and not self._waking, self._waking or bool(self._calls)
                if wake:
                    self._wake()
                raise


_mailboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakKeyDictionary] = \
    weakref.WeakKeyDictionary()
_mailboxes_lock = threading.Lock()


def mailbox(target: asyncio.AbstractEventLoop, poster: asyncio.AbstractEventLoop) -> Mailbox:
    """The mailbox from `poster` to `target`."""
    with _mailboxes_lock:
        by_poster = _mailboxes.get(target)
        if by_poster is None:
            by_poster = _mailboxes[target] = weakref.WeakKeyDictionary()
        found = by_poster.get(poster)
        if found is None:
            found = by_poster[poster] = Mailbox(target, poster)
    return found


async def on_loop(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs `coroutine` on `loop` (another thread's) and waits for it here; cancelling the wait cancels it there
    (before it started: it never runs). What run_coroutine_threadsafe + wrap_future do, without the
    concurrent.futures.Future (a Condition each), and with the wake-ups of both loops shared (Mailbox)."""
    if loop.is_closed():  # as run_coroutine_threadsafe: nothing would ever take it
        coroutine.close()
        raise RuntimeError("Event loop is closed")
    here = asyncio.get_running_loop()
    answer: asyncio.Future[T] = here.create_future()
    back, there = mailbox(here, loop), mailbox(loop, here)
    context = contextvars.copy_context()  # the task's own, as run_coroutine_threadsafe gives it
    started: list[asyncio.Task] = []

    def settle(task: asyncio.Task) -> None:  # here
        if answer.done():
            return
        if task.cancelled():
            answer.cancel()
        elif (error := task.exception()) is not None:
            answer.set_exception(error)
        else:
            answer.set_result(task.result())

    def start() -> None:  # there
        task = loop.create_task(coroutine, context=context)
        started.append(task)
        task.add_done_callback(lambda task: back.post(settle, task))

    def cancel() -> None:  # there, always after start (one mailbox runs its calls in order): a task cancelled
        started[0].cancel()  # before its first step never runs its coroutine

    there.post(start)
    try:
        return await answer
    except asyncio.CancelledError:
        there.post(cancel)
        raise
