"""An event loop of its own, in a thread, for the gRPC server.

gRPC's asyncio server takes one waiting call per few turns of its event loop, and a turn lasts as long as
everything else ready to run. On the pipeline's loop, where a turn that processes a batch takes milliseconds, an
overload's calls waited in gRPC's queue past their deadline, unseen and so unrefused. `python -m bench.grpc_pickup`
(bench/results/grpc_pickup.txt): beside a task busy 5 ms per turn, a grpc.aio server on that loop answers 32 calls/s,
the receiver on its own loop 1002/s (2313/s for the bare server on an idle loop).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
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


async def on_loop(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs `coroutine` on `loop` (another thread's) and waits for it here; cancelling the wait cancels it there."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))
