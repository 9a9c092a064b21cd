"""What the convention adapters read a span from: `LlmSpan`, the same whether it came from the wire core's index of
a request's bytes (`from_index`: the `ClaimedSpan` the scan made, nothing decoded) or from a decoded protobuf span
(`from_protobuf`, for decoded batches and for tests that build spans by hand).

Attributes are plain Python values (processor.model.otlp_attrs); events are tables by name (times and positions,
in span order), an event's attributes are read only when asked for (`event_attributes`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from processor.wire import Claims, TraceIndex
from processor.wire.reference_read import attribute_map, read_events

_NO_ATTRIBUTES: dict[str, Any] = {}


@dataclass(slots=True, eq=False)
class LlmSpan:
    trace_id: bytes
    span_id: bytes
    #: b"" for a root span.
    parent_span_id: bytes
    name: str
    kind: int
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: int
    status_message: str
    #: key -> plain value (the first of a repeated key).
    attributes: dict[str, Any]
    #: event name -> times (unix ns) / positions among the span's events, in span order.
    event_times: dict[str, array]
    event_positions: dict[str, array]
    #: The text of each event `text_claims` names that carries text, in span order, and (aligned) its time.
    texts: list[str]
    text_times: array
    #: The (text_event_names, text_keys) `texts` was read with.
    text_claims: tuple[tuple[str, ...], tuple[str, ...]]
    #: The resource's attributes (plain values); do not modify.
    resource: dict[str, Any]
    scope_name: str
    #: The attributes of the span's event at a position, decoded when called.
    event_attributes: Callable[[int], dict[str, Any]]

    def times_of(self, names: Iterable[str]) -> list[int]:
        """Times of the events with any of `names`, in span order."""
        found = [name for name in names if name in self.event_times]
        if len(found) == 1:  # the common case: no merge
            return self.event_times[found[0]].tolist()
        return [time for _, time in self.events_of(found)]

    def positions_of(self, names: Iterable[str]) -> list[int]:
        """Positions of the events with any of `names`, in span order."""
        return sorted(position for name in names for position in self.event_positions.get(name, ()))

    def events_of(self, names: Iterable[str]) -> list[tuple[int, int]]:
        """(position, time) of the events with any of `names`, in span order."""
        return sorted(pair for name in names if name in self.event_times
                      for pair in zip(self.event_positions[name], self.event_times[name], strict=True))

    def first_event(self, name: str) -> tuple[int, int] | None:
        """(position, time) of the first event named `name`, or None."""
        positions = self.event_positions.get(name)
        return (positions[0], self.event_times[name][0]) if positions else None


def from_index(index: TraceIndex, row: int, claims: Claims) -> LlmSpan:
    """The claimed span at `row` of `index`, scanned with `claims`."""
    claimed = index.claimed_at(row)
    if claimed is None:
        raise ValueError(f"span row {row} was not claimed: it was not read")
    return LlmSpan(
        index.trace_id(row), index.span_id(row), index.parent_span_id(row), claimed.name, index.kind[row],
        index.start_ns[row], index.end_ns[row], index.status_code[row], claimed.status_message, claimed.attributes,
        claimed.event_times, claimed.event_positions, claimed.texts, claimed.text_times, _text_claims(claims),
        index.resource_attributes(index.span_resource[row]), index.scope_names[index.span_scope[row]],
        lambda event: index.event_attributes(row, event))


def from_protobuf(span: Any, resource: Any, scope: Any, claims: Claims) -> LlmSpan:
    """A decoded OTLP span (with its Resource and InstrumentationScope, either may be None), read as the wire core
    reads a claimed span: the texts of the events `claims` names."""
    times, positions, texts, text_times = read_events(span.events, claims)
    events = span.events
    return LlmSpan(
        span.trace_id, span.span_id, span.parent_span_id, span.name, span.kind, span.start_time_unix_nano,
        span.end_time_unix_nano, span.status.code, span.status.message, attribute_map(span.attributes), times,
        positions, texts, text_times, _text_claims(claims),
        attribute_map(resource.attributes) if resource is not None else _NO_ATTRIBUTES,
        scope.name if scope is not None else "", lambda event: attribute_map(events[event].attributes))


def _text_claims(claims: Claims) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return claims.text_event_names, claims.text_keys
