"""Routing a batch to several consumers, and to the pipelines of its signal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from processor.component import Consumer, Reservation
from processor.errors import PermanentError, RejectedSpans, RetryableError
from processor.model.batch import Batch, Signal
from processor.wire.claims import NO_MEMBERS, ClaimsSet


class Fanout:
    """Hands one batch to every consumer, copying it only for those that mutate it.

    Read-only consumers share the original. When every consumer mutates, the last one gets the
    original and the others get copies, so the common single-consumer case never copies.
    """

    mutates_data = False

    def __init__(self, consumers: Sequence[Consumer]) -> None:
        self.consumers = list(consumers)
        self._mutating = [c for c in self.consumers if c.mutates_data]
        self._readonly = [c for c in self.consumers if not c.mutates_data]

    def refusal(self) -> RetryableError | None:
        """Why one of the consumers would refuse data now; refusing up front spares the others a duplicate."""
        return first_refusal(self.consumers)

    def reserve(self, decoded_bytes: int) -> Reservation | None:
        return reserve_all(self.consumers, decoded_bytes)

    async def consume(self, batch: Batch) -> None:
        if len(self.consumers) == 1:
            return await self.consumers[0].consume(batch)
        calls = [c.consume(batch) for c in self._readonly]
        owner = None if self._readonly else self._mutating[-1]
        calls += [c.consume(batch if c is owner else batch.copy()) for c in self._mutating]
        results = await asyncio.gather(*calls, return_exceptions=True)
        raise_combined([r for r in results if isinstance(r, BaseException)])


def refusal_of(consumer: Consumer) -> RetryableError | None:
    """Why `consumer` would refuse data now, if it is `Refusing`. getattr, not isinstance: an isinstance check
    against a Protocol inspects its members each time, and this is asked for every request (it showed in the
    overload's profile)."""
    refusal: Callable[[], RetryableError | None] | None = getattr(consumer, "refusal", None)
    return refusal() if refusal is not None else None


def first_refusal(consumers: Sequence[Consumer]) -> RetryableError | None:
    for consumer in consumers:
        if (error := refusal_of(consumer)) is not None:
            return error
    return None


def reservation_of(consumer: Consumer, decoded_bytes: int) -> Reservation | None:
    """`consumer`'s reservation of memory for a request about to be decoded, if it is `Refusing`; raises as
    `Refusing.reserve` does."""
    reserve: Callable[[int], Reservation | None] | None = getattr(consumer, "reserve", None)
    return reserve(decoded_bytes) if reserve is not None else None


def reserve_all(consumers: Sequence[Consumer], decoded_bytes: int) -> Reservation | None:
    """Every consumer's reservation for one request; when one refuses, those already taken are released."""
    taken: list[Reservation] = []
    try:
        for consumer in consumers:
            if (reservation := reservation_of(consumer, decoded_bytes)) is not None:
                taken.append(reservation)
    except BaseException:
        Reservations(taken).release()
        raise
    return Reservations(taken) if len(taken) > 1 else (taken[0] if taken else None)


class Reservations:
    def __init__(self, parts: list[Reservation]) -> None:
        self.parts = parts

    def release(self) -> None:
        for part in self.parts:
            part.release()


def raise_combined(errors: list[BaseException]) -> None:
    """One error for several: retryable if any consumer may succeed on a retry; spans refused by several consumers
    (or in several parts) are refused together, still named one by one."""
    if not errors:
        return
    if len(errors) == 1:
        raise errors[0]
    retryable = [e for e in errors if isinstance(e, RetryableError)]
    message = "; ".join(dict.fromkeys(str(e) for e in errors))
    if retryable:
        raise RetryableError(message, retry_after=max(e.retry_after or 0 for e in retryable) or None)
    if all(isinstance(e, RejectedSpans) for e in errors):
        raise RejectedSpans(message, frozenset().union(*(e.spans for e in errors)))
    if all(isinstance(e, PermanentError) for e in errors):
        raise PermanentError(message)
    raise RetryableError(message)


class UnsupportedSignal(Exception):
    """No pipeline takes this signal from this receiver: gRPC UNIMPLEMENTED, HTTP 404."""


class SignalRouter:
    """A receiver's next consumer: sends each batch to the pipelines of its signal. `span_claims`: what the
    processors of its traces pipelines read spans with (component.Claiming), for the receiver to scan with."""

    mutates_data = False

    def __init__(self, routes: dict[Signal, Consumer], span_claims: ClaimsSet = NO_MEMBERS) -> None:
        self.routes = routes
        self.span_claims = span_claims

    @property
    def signals(self) -> frozenset[Signal]:
        return frozenset(self.routes)

    def accepts(self, signal: Signal) -> bool:
        return signal in self.routes

    def refusal(self, signal: Signal) -> RetryableError | None:
        """Why the pipelines of `signal` would refuse a request now, asked before it is read."""
        return refusal_of(self.routes[signal]) if signal in self.routes else None

    def reserve(self, signal: Signal, decoded_bytes: int) -> Reservation | None:
        """Memory for a request of `signal` about to be decoded (Refusing.reserve), asked once its body is read."""
        return reservation_of(self.routes[signal], decoded_bytes) if signal in self.routes else None

    async def consume(self, batch: Batch) -> None:
        consumer = self.routes.get(batch.signal)
        if consumer is None:
            raise UnsupportedSignal(f"no pipeline takes {batch.signal.value} from this receiver")
        await consumer.consume(batch)
