"""What a convention adapter reads from one LLM span, before anything is derived from it.

An adapter (one module per convention in this package) recognises spans of its convention and reads them from an
`LlmSpan` (conventions/span.py: what the wire core read of the bytes, nothing decoded) into an `LlmCall`: the
stream record's ids, labels, times, volumes and outcome clues, plus the raw timing evidence (chunk event times, a
first-token event, reported TTFT/TPOT). The stream processors derive cadence, outcome and retries from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from processor.model.records import StreamRecord


class SpanStatus(StrEnum):
    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


class TtftClock(StrEnum):
    """Where a reported TTFT starts its clock: they differ by connect time and SDK retries."""

    REQUEST_START = "request_start"  # create() called (Traceloop, OpenInference, Vercel, semconv)
    AFTER_HEADERS = "after_headers"  # response headers arrived (OpenLIT)
    SERVER_QUEUE = "server"  # measured by the serving engine (vLLM)


class Piece(StrEnum):
    """Which part of a streamed call a span is, for libraries that split one call over several spans (joined into
    one record by processor.stream.joined_calls)."""

    WHOLE = "whole"  # the span is the call
    REQUEST = "request"  # the call up to the response headers; its stream is another span (Logfire)
    STREAM = "stream"  # the streamed response of the request span before it, under the same parent (Logfire)
    WRAPPER = "wrapper"  # encloses the provider call(s) it made (Vercel's ai.streamText, 7.x invoke_agent / step)


@dataclass(slots=True)
class LlmCall:
    #: ids, labels (provider, request/response model, operation, service, ...), start/end times, token counts,
    #: finish_reason (normalised: `tool_call` -> `tool_calls`; `""` -> unset), error_type, convention.
    record: StreamRecord
    #: True/False when the span says whether it streamed; None when it does not say.
    streaming: bool | None = None
    piece: Piece = Piece.WHOLE
    #: Unix-ns times of per-chunk events exactly as they appear on the span (unsorted, duplicates kept).
    chunk_times: list[int] = field(default_factory=list)
    #: Unix-ns time of a first-token event (OpenInference's `First Token Stream Event`).
    first_token_time: int | None = None
    #: TTFT / TPOT as the library reported them, in seconds, and the clock its TTFT uses.
    reported_ttft_s: float | None = None
    reported_tpot_s: float | None = None
    ttft_clock: TtftClock = TtftClock.REQUEST_START
    #: Unix-ns time a reported TTFT counts from, when that is not the record's start: the provider call's span start
    #: once a wrapper (which starts earlier, when the app called) is joined to it.
    ttft_from: int | None = None
    status: SpanStatus = SpanStatus.UNSET
    status_message: str = ""
    #: The consumer closed the stream (GeneratorExit, cancellation), as far as the span tells.
    consumer_closed: bool = False
    #: The call failed after the response had begun (HTTP 2xx, then an error reading the body): a partial stream,
    #: though no chunk is recorded.
    response_started: bool = False
    #: Provider calls before this one, within the same app call, that failed before any output (an SDK retry the
    #: library exports as spans of their own, e.g. Vercel's doStream after a 429).
    failed_attempts: int = 0
    #: The convention leaves status UNSET on close when the stream was not completed (OpenInference, openai-v2).
    unset_means_incomplete: bool = False
    #: Usage is the library's own estimate, not what the stream carried (OpenLIT without include_usage).
    usage_estimated: bool = False
    #: Span attributes that mark a retry (e.g. `http.request.resend_count`) and their values, as found.
    retry_markers: dict[str, Any] = field(default_factory=dict)
    #: Text of the completion as the span recorded it, and as rebuilt from chunk payloads, where available.
    completion_text: str | None = None
    chunk_text: str | None = None
    #: The call's duration as the library reported it (vLLM `gen_ai.latency.e2e`, Vercel `msToFinish`), seconds.
    reported_duration_s: float | None = None
    #: Time the request waited in the serving engine's queue (vLLM `gen_ai.latency.time_in_queue`), seconds.
    server_queue_s: float | None = None
    #: Outcomes this library exports identically: "outcome" or "outcome/truncation_reason" as read -> the other
    #: outcome it cannot be told apart from (OpenLLMetry: {"truncated/cutoff": "aborted"}, a closed stream ends OK).
    lookalikes: dict[str, str] = field(default_factory=dict)
    #: The request's output token limit (`max_tokens`), where the span gives it: output reaching it with no finish
    #: reason exported is a `length` stop (traceAI exports no finish reason at all).
    max_output_tokens: int | None = None
    #: The provider's id of the request (`gen_ai.response.id`, vLLM `gen_ai.request.id`): matches a client span
    #: to the serving engine's span of the same call.
    request_id: str | None = None


class Convention(Protocol):
    #: Short name used in config (`stream.conventions`) and in `StreamRecord.convention`.
    name: str

    def read(self, span: Any, resource: Any, scope: Any) -> LlmCall | None:
        """The LLM call this span records, or None when the span is not of this convention.

        Must be cheap for spans that are not: a plain HTTP or DB span is rejected after a look at a
        few attributes or the scope name.
        """
        ...

    def join_log(self, call: LlmCall, log_record: Any) -> None:
        """Fold a log record joined to this call's span (by span id) into it, e.g. openai-v2's
        `gen_ai.choice` body, which is where its finish reason lives."""
        ...
