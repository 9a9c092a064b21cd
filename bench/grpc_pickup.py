"""How fast refused gRPC calls are answered while the pipeline's event loop is busy.

    python -m bench.grpc_pickup [--seconds 4] [--busy-ms 0,1,5]

In an overload the receiver refuses most calls unread; that only helps if it sees them. A task on the event loop
burns `busy` ms of CPU per turn (the pipeline processing a batch), while a client in another process keeps 200
calls of 63 KB out and counts the answers. Two servers, each on the busy loop's process:

- `grpc.aio in the loop`: a bare grpc.aio server on the busy loop, refusing every call (what the receiver was);
- `otlp receiver`: tokenstream's otlp receiver (its gRPC server on a loop of its own), whose pipeline refuses every
  call as memory_limiter does over its limit.

Answers/s are given as a ratio to the bare server on an idle loop, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from collections import Counter

import grpc

from processor.component import Kind
from processor.errors import RetryableError
from processor.model.batch import Signal
from processor.receivers.otlp import factory
from processor.receivers.otlp.config import OtlpReceiverConfig
from processor.service.fanout import SignalRouter
from processor.service.host import Host
from processor.testing import create_settings
from processor.testing.process import free_port

_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
_EXPORT = f"/{_SERVICE}/Export"


class _Refusing:
    """A pipeline over its memory limit: refuses every request before it is read."""

    mutates_data = False

    def refusal(self) -> RetryableError:
        return RetryableError("over the limit", retry_after=1.0)

    async def consume(self, batch) -> None:
        raise self.refusal()


async def _bare_server(port: int) -> grpc.aio.Server:
    async def export(_messages, context):
        await context.abort(grpc.StatusCode.UNAVAILABLE, "over the limit")

    server = grpc.aio.server()
    handler = grpc.stream_unary_rpc_method_handler(export, response_serializer=bytes)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(_SERVICE, {"Export": handler})])
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


async def _receiver(port: int):
    config = OtlpReceiverConfig.model_validate({"protocols": {"grpc": {"endpoint": f"127.0.0.1:{port}"}}})
    settings = create_settings("otlp", Kind.RECEIVER)
    receiver = factory.create(settings, config, SignalRouter({Signal.TRACES: _Refusing()}))
    await receiver.start(Host(settings.telemetry))
    return receiver


async def _busy(ms: float) -> None:
    while True:
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            pass
        await asyncio.sleep(0)


def _serve(target: str, port: int, busy_ms: float, ready, done) -> None:
    async def main() -> None:
        server = await (_bare_server(port) if target == "bare" else _receiver(port))
        if busy_ms:
            asyncio.get_running_loop().create_task(_busy(busy_ms))
        ready.set()
        await asyncio.to_thread(done.wait)
        await (server.stop(None) if target == "bare" else server.shutdown())

    asyncio.run(main())


async def _client(port: int, seconds: float, concurrency: int = 200) -> Counter[str]:
    body = os.urandom(63_000)
    answers: Counter[str] = Counter()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary(_EXPORT)
        end = time.monotonic() + seconds

        async def caller() -> None:
            while time.monotonic() < end:
                try:
                    await export(body, timeout=20)
                    answers["OK"] += 1
                except grpc.aio.AioRpcError as error:
                    answers[error.code().name] += 1

        await asyncio.gather(*(caller() for _ in range(concurrency)))
    return answers


def measure(target: str, busy_ms: float, seconds: float) -> tuple[float, Counter[str]]:
    port = free_port()
    ready, done = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(target, port, busy_ms, ready, done))
    server.start()
    try:
        ready.wait(30)
        started = time.monotonic()
        answers = asyncio.run(_client(port, seconds))
        return sum(answers.values()) / (time.monotonic() - started), answers
    finally:
        done.set()
        server.join(10)
        server.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--busy-ms", default="0,1,5", help="CPU the loop's other task takes per turn, in ms")
    args = parser.parse_args(argv)
    idle = measure("bare", 0, args.seconds)
    ceiling = idle[0]
    print(f"{'server':<24}{'busy ms/turn':>13}{'answers/s':>11}{'ratio':>7}  answers")
    for busy in (float(b) for b in args.busy_ms.split(",")):
        for target, name in (("bare", "grpc.aio in the loop"), ("receiver", "otlp receiver")):
            rate, answers = idle if (target, busy) == ("bare", 0) else measure(target, busy, args.seconds)
            print(f"{name:<24}{busy:>13g}{rate:>11.0f}{rate / ceiling:>7.2f}  {dict(answers)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
