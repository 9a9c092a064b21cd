"""The callers whose data a pending batch holds, each answered for its own data: merged requests of many clients
must not fail together when downstream refuses only some spans by name (`RejectedSpans`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from processor.errors import RejectedSpans, SpanKey
from processor.model.batch import Signal


class Caller:
    """A `consume` call whose data is in a pending batch, and which spans are its own (`keys`, asked only when a
    downstream refused some by name: `RejectedSpans`), so that refused spans are answered to the callers that sent
    them and to no one else."""

    __slots__ = ("future", "signal", "keys", "rejected")

    def __init__(self, future: asyncio.Future | None, signal: Signal, keys: Callable[[], set[SpanKey]]) -> None:
        self.future = future
        self.signal = signal
        self.keys = keys
        self.rejected: RejectedSpans | None = None

    def own(self, error: RejectedSpans) -> RejectedSpans | None:
        """`error` narrowed to this caller's spans (walked only now that something was refused)."""
        if self.signal is not Signal.TRACES:
            return None
        return error.among(self.keys())

    def note(self, error: RejectedSpans) -> None:
        """A send that may have held this caller's spans refused some: remember those that are its own."""
        mine = self.own(error)
        if mine is not None:
            self.rejected = mine if self.rejected is None else \
                RejectedSpans(f"{self.rejected}; {mine}", self.rejected.spans | mine.spans)

    def finish(self, error: BaseException | None) -> None:
        """Answer the caller: OK, the refusal of its own spans, or (any other error) the error itself."""
        if self.future is None or self.future.done():
            return
        if isinstance(error, RejectedSpans):
            self.note(error)
            error = None
        error = error or self.rejected
        if error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(error)


def finish_all(callers: list[Caller], error: BaseException | None) -> None:
    for caller in callers:
        caller.finish(error)
