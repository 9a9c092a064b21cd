"""Where a stream's chunk arrival times are found: beside its record on the batch (`Batch.chunks`), put there by
the `stream` processor with the record."""

from __future__ import annotations

from processor.model.batch import Batch


def chunk_times(batch: Batch) -> dict[bytes, list[int]]:
    """Unix-ns chunk times by span id, for the batch's stream records that have any."""
    return {chunks.span_id: list(chunks.times) for chunks in batch.chunks}
