"""Clients that start a request and never finish it: they must not hold the places other clients need, and the
read deadline (`read_timeout`) ends them."""

from __future__ import annotations

import asyncio

import grpc
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.receivers.otlp.otlp_helpers import good_span, in_thread, sdk_spans, sink_routes, trace_request
from tests.reliability.sdk import export_once_each
from tests.support.abusive_clients import StalledGrpcCalls, StalledHttpBodies, wait_until

#: Fewer places than the default 128, so that a few stalled clients fill them.
PLACES = 8


def _both(**extra) -> dict:
    return {"grpc": {"endpoint": "127.0.0.1:0", **extra}, "http": {"endpoint": "127.0.0.1:0", **extra}}


def _export_with_sdks(receiver) -> list[SpanExportResult]:
    """One export over each transport with the real SDK exporters, as an innocent app sends them."""
    return export_once_each(receiver.grpc_port, receiver.http_port, sdk_spans(), timeout=5)


def _seen(receiver) -> int:
    """Requests the receiver has started on: being read, or taken."""
    return receiver.handler.in_flight + getattr(receiver.handler, "reading", 0)


async def test_clients_that_never_send_their_body_do_not_lock_out_the_others(start_receiver, sink):
    """As many stalled clients as there are places, on each transport: HTTP headers that announce a 500-byte body
    and send none, gRPC calls without a deadline whose message never comes. The SDK exporters still get through."""
    receiver = await start_receiver(_both(), sink_routes(sink), max_in_flight_requests=PLACES)
    async with StalledGrpcCalls(receiver.grpc_port, PLACES) as calls:
        with StalledHttpBodies(receiver.http_port, PLACES) as bodies:
            # every stalled client has reached the receiver: being read, holding a place, or refused
            assert await wait_until(lambda: _seen(receiver) + calls.ended() + bodies.ended() == 2 * PLACES,
                                    timeout=20), _seen(receiver)
            results = await in_thread(_export_with_sdks, receiver)
            assert results == [SpanExportResult.SUCCESS] * 2
            assert receiver.handler.in_flight == 0  # the stalled ones hold no place
    assert sink.item_count == 2 * len(sdk_spans())


async def test_the_read_deadline_ends_a_request_whose_body_stops_coming(start_receiver, sink):
    """read_timeout: HTTP answers 408 and closes the connection, gRPC ends the call with DEADLINE_EXCEEDED, both
    naming the setting; a body that stalled half-way is refused the same way."""
    receiver = await start_receiver(_both(read_timeout="1s"), sink_routes(sink))
    async with StalledGrpcCalls(receiver.grpc_port, 3) as calls:
        with StalledHttpBodies(receiver.http_port, 2) as empty, \
                StalledHttpBodies(receiver.http_port, 2, sent=200) as half:
            assert await wait_until(lambda: calls.ended() + empty.ended() + half.ended() == 7, timeout=30)
            assert empty.statuses() + half.statuses() == [408] * 4
            assert b"read_timeout" in half.sockets[0].recv(65536)
        assert await calls.codes() == [grpc.StatusCode.DEADLINE_EXCEEDED] * 3
        assert "read_timeout" in await calls.calls[0].details()
    assert receiver.handler.in_flight == 0 and receiver.handler.reading == 0
    assert sink.item_count == 0
    assert await in_thread(_export_with_sdks, receiver) == [SpanExportResult.SUCCESS] * 2


async def test_a_slow_body_that_arrives_within_the_read_deadline_is_taken(start_receiver, sink):
    receiver = await start_receiver(_both(read_timeout="10s"), sink_routes(sink))
    body = trace_request(good_span(1)).SerializeToString()
    head = (f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", receiver.http_port)
    writer.write(head)
    for part in (body[:10], body[10:20], body[20:]):
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.write(part)
    answer = await asyncio.wait_for(reader.read(), 20)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert sink.item_count == 1


async def test_grpc_checks_the_token_before_waiting_for_the_message(start_receiver, sink):
    """With auth on, calls without the token are refused at once, whether or not their message ever comes: they
    are never waited for, as HTTP checks the token before it reads a body."""
    receiver = await start_receiver(_both(auth={"bearer_token": "s3cret"}), sink_routes(sink),
                                    max_in_flight_requests=PLACES)
    async with StalledGrpcCalls(receiver.grpc_port, 2 * PLACES) as calls:
        with StalledHttpBodies(receiver.http_port, 2 * PLACES) as bodies:
            assert await wait_until(lambda: calls.ended() == 2 * PLACES and bodies.ended() == 2 * PLACES,
                                    timeout=20), (calls.ended(), bodies.ended())
            assert bodies.statuses() == [401] * 2 * PLACES
        assert await calls.codes() == [grpc.StatusCode.UNAUTHENTICATED] * 2 * PLACES
    assert _seen(receiver) == 0

