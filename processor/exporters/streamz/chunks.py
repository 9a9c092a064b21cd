"""Where a stream's chunk arrival times are found in the batch that carries its record.

Records carry cadence statistics but not the chunk times themselves. `stream_reconstruct` hands
each record's call, with its chunk event times, to the later processors on `batch.extra` (see
processor.stream.work); a pipeline that carries records next to their spans has them as
OpenLLMetry chunk events on the span. Either is read only for the records in the batch.
"""

from __future__ import annotations

from processor.model.batch import Batch
from processor.stream.work import WORK

#: OpenLLMetry's per-chunk span event: the convention a gateway is told to emit for full cadence.
CHUNK_EVENT = "gen_ai.content.completion.chunk"


def chunk_times(batch: Batch) -> dict[bytes, list[int]]:
    """Unix-ns chunk times by span id, for the batch's stream records that have any."""
    wanted = {record.span_id for record in batch.streams}
    found: dict[bytes, list[int]] = {}
    for item in batch.extra.get(WORK, ()):
        span_id = item.record.span_id
        if span_id in wanted and item.call.chunk_times:
            found[span_id] = list(item.call.chunk_times)
    missing = wanted - found.keys()
    if missing:
        found.update(_from_spans(batch.request, missing))
    return found


def _from_spans(request, span_ids: set[bytes]) -> dict[bytes, list[int]]:
    found: dict[bytes, list[int]] = {}
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if span.span_id in span_ids:
                    times = [event.time_unix_nano for event in span.events if event.name == CHUNK_EVENT]
                    if times:
                        found[span.span_id] = times
    return found
