from __future__ import annotations

import pytest

from processor.conventions.base import SpanStatus
from processor.stream.outcome import Outcome, classify_outcome
from tests.stream.builders import MS, T0, make_call

CHUNKS = [T0 + 300 * MS, T0 + 350 * MS]


@pytest.mark.parametrize(("call", "expected"), [
    (make_call(chunks=CHUNKS, finish_reason="stop", output_tokens=2), Outcome("completed")),
    (make_call(chunks=CHUNKS, finish_reason="length", output_tokens=2), Outcome("truncated", "length")),
    (make_call(chunks=CHUNKS, finish_reason="content_filter"), Outcome("truncated", "content_filter")),
    (make_call(chunks=CHUNKS), Outcome("truncated", "cutoff")),  # clean EOF without [DONE]: looks OK
    (make_call(chunks=CHUNKS, finish_reason=""), Outcome("truncated", "cutoff")),  # OpenLIT's [""]
    (make_call(chunks=CHUNKS, output_tokens=31, usage_estimated=True), Outcome("truncated", "cutoff")),
    (make_call(chunks=CHUNKS, output_tokens=2), Outcome("completed")),  # usage chunk came: the stream ended
    (make_call(chunks=CHUNKS, status=SpanStatus.ERROR), Outcome("aborted")),
    (make_call(first_token_time=T0 + 300 * MS, status=SpanStatus.ERROR), Outcome("aborted")),
    (make_call(status=SpanStatus.ERROR), Outcome("error")),
    (make_call(chunks=CHUNKS, consumer_closed=True, status=SpanStatus.ERROR), Outcome("aborted")),
    (make_call(chunks=CHUNKS, status=SpanStatus.UNSET, unset_means_incomplete=True), Outcome("aborted")),
    (make_call(completion_text="Streaming tokens", status=SpanStatus.UNSET, unset_means_incomplete=True,
               finish_reason="error"), Outcome("aborted")),  # openai-v2: "error" in the choice log, no chunks
    (make_call(chunks=CHUNKS, finish_reason="stop", status=SpanStatus.UNSET, unset_means_incomplete=True),
     Outcome("completed")),
])
def test_outcome_follows_the_table(call, expected):
    assert classify_outcome(call) == expected
