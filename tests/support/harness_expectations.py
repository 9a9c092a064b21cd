"""What each library's export lets tokenstream know, per harness scenario: the records it must make, with their
outcome and truncation reason, and where the first chunk comes from. Shared by the live harness
(tests/e2e/test_real_instrumentations.py) and the replay of the captures (tests/data/realclients).

Where an expectation differs from what happened, the library withholds the evidence (README, conventions table):
no record where it exports nothing (OpenLIT, traceAI, MLflow and Vercel 6 drop a failed or closed stream's span);
`truncated`/`cutoff` for a stream the app closed where the library ends it like a cut-off one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COMPLETED = ("completed", None)
ABORTED = ("aborted", None)
CUTOFF = ("truncated", "cutoff")
LENGTH = ("truncated", "length")
NO_RECORD = None  # the library exports no LLM span for this call

#: Scenarios where the app makes one call (tests.support.harness_scenarios, all but `retry`).
SINGLE = ("normal", "stall", "cutoff", "eof", "length", "cancel", "sdk_retry", "tool_call", "slow_first")


@dataclass(frozen=True)
class Library:
    """`first_chunk`: where the record's first chunk comes from: `chunk_events` (every chunk: stalls exact),
    `first_token` (the library marks the first chunk), `reported` (a TTFT number), or None (nothing: no TTFT).
    `tolerance_ms`: how close the record's first chunk is to the app's. `retry`: (records, the retry flagged)."""

    outcomes: dict[str, tuple[str, str | None] | None]
    first_chunk: str | None
    tolerance_ms: float = 10.0
    retry: tuple[int, bool] = (2, True)
    #: (scenario -> the other outcome the export cannot tell apart), for `ambiguous_outcome`.
    ambiguous: dict[str, str] = field(default_factory=dict)

    def expected(self, scenario: str) -> tuple[str, str | None] | None:
        return self.outcomes.get(scenario, COMPLETED)


def _outcomes(**special: tuple[str, str | None] | None) -> dict[str, tuple[str, str | None] | None]:
    base = {"cutoff": ABORTED, "eof": CUTOFF, "length": LENGTH, "cancel": ABORTED}
    return {**base, **special}


LIBRARIES: dict[str, Library] = {
    # Traceloop ends a dropped or closed stream with OK: only a cut-off shows.
    "traceloop": Library(_outcomes(cutoff=CUTOFF, cancel=CUTOFF), "chunk_events",
                         ambiguous={"cutoff": "aborted", "eof": "aborted", "cancel": "aborted"}),
    "openinference": Library(_outcomes(), "first_token"),
    # openai-v2 ends a closed stream UNSET with "error" in its log, exactly like a clean EOF.
    "openai_v2": Library(_outcomes(cancel=CUTOFF), None, ambiguous={"eof": "aborted", "cancel": "aborted"}),
    "traceai": Library(_outcomes(cancel=NO_RECORD), "first_token"),
    "traceai_register": Library(_outcomes(cancel=NO_RECORD), "first_token"),
    # A bare call roots a trace of its own; the app's retry loop runs in its own `mlflow.start_span`, as MLflow's users
    # do, which puts both attempts under that span in one trace.
    "mlflow": Library(_outcomes(cancel=NO_RECORD), "chunk_events"),
    # A drop, an early end and a close all end UNSET with a first-chunk time and nothing else.
    "langfuse": Library(_outcomes(cutoff=CUTOFF, cancel=CUTOFF), "first_token",
                        ambiguous={"cutoff": "aborted", "eof": "aborted", "cancel": "aborted"}),
    "logfire": Library(_outcomes(), None),
    # A failed or closed stream's span is never ended: only its httpx span arrives (an orphan, which still marks
    # the first attempt of an app-level retry as partial).
    "openlit": Library(_outcomes(cutoff=NO_RECORD, cancel=NO_RECORD), "reported", tolerance_ms=50, retry=(1, True)),
    # 6.x never ends the spans of a dropped stream (they end in its stream transforms' flush(), which a stream error
    # skips; however the app reads the result: fullStream, textStream, consumeStream({onError}), the text promise,
    # toTextStreamResponse(), streamText's onError): the cut-off attempt of a retry is not exported at all.
    "vercel6": Library(_outcomes(cutoff=NO_RECORD), "first_token", tolerance_ms=50, retry=(1, False)),
    # 7.x counts msToFirstChunk from the SDK's own start, which the span's start follows by the event loop's delay:
    # on a loaded 2-core machine the record's first chunk was seen 91 ms after the app's (CI, legacy eof).
    "vercel7": Library(_outcomes(), "reported", tolerance_ms=250),
    "vercel7_legacy": Library(_outcomes(), "reported", tolerance_ms=250),
}
#: Where the library's number is not the first chunk's time: after an SDK retry, 7.x legacy's msToFirstChunk counts
#: from the retry while its span covers both attempts; 7.x OpenTelemetry's time_to_first_chunk of a tool-call stream
#: counts to the first output part, the whole tool call.
FIRST_CHUNK_UNKNOWN = {("vercel7_legacy", "sdk_retry"), ("vercel7", "tool_call")}


def first_chunk_window(server_writes: list[int], arrival: int, tolerance_ms: float) -> tuple[int, int]:
    """Where a library's time of a chunk (the first, or any) may lie, on the two recorded clocks: after the server
    wrote the chunk the app got (the last write before the app's arrival) and no later than `tolerance_ms` after
    the app got it.
    On a loaded machine the chunk may take a while from the library's hands to the app's; it is never earlier than
    the server's write."""
    written = max((t for t in server_writes if t <= arrival), default=arrival)
    return written - 1_000_000, arrival + round(tolerance_ms * 1_000_000)
