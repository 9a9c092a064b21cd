"""Adding derived values to an LLM span as attributes, so a downstream collector sees them.

Semantic-convention names where one exists (`gen_ai.response.time_to_first_chunk`,
`gen_ai.response.finish_reasons`), `tokenstream.<record field>` otherwise. An attribute the span already
has is left alone: the library's own value wins. `enrich` is what the stream processor calls: a span held as
bytes is enriched by the wire core's `add_attributes` writer (the same rule: tests/wire/test_writers.py) when the
batch's bytes are next read; a decoded span is edited in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

if TYPE_CHECKING:
    from processor.model.batch import Batch
    from processor.stream.work import StreamWork

PREFIX = "tokenstream."


def enrich(batch: Batch, work: StreamWork, values: dict[str, Any]) -> None:
    """Add `values` to the LLM span of a receipt-time work item (see `add_attributes` for the rule)."""
    if work.span_is_copy:
        record = work.record
        batch.add_span_attributes(record.trace_id, record.span_id, values)
    else:
        add_attributes(work.span, values)


def add_attributes(span: Any, values: dict[str, Any]) -> None:
    """Add each known (not None) value the span does not already carry.

    Values are written into the new KeyValue in place: building an AnyValue and passing it to `add` copies it.
    """
    attributes = span.attributes
    present: set[str] | None = None
    for key, value in values.items():
        if value is None:
            continue
        if present is None:
            present = {existing.key for existing in attributes}
        if key not in present:
            set_value(attributes.add(key=key).value, value)
            present.add(key)


def set_value(target: AnyValue, value: Any) -> None:
    """`target` (an empty AnyValue) set to `value`, as OTLP encodes it (bytes as hex text)."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.string_value = value.hex()
    elif isinstance(value, list | tuple):
        array = target.array_value
        array.SetInParent()
        for item in value:
            set_value(array.values.add(), item)
    else:
        target.string_value = str(value)


def record_fields(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """`tokenstream.<name>` -> value for each of `names` set on the record."""
    return {PREFIX + name: getattr(record, name) for name in names if record.HasField(name)}
