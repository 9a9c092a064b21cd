"""The wire core against upb on the bench's requests: µs per request and spans per CPU-second, both backends.

    python -m bench.wire [--repeat 15] [--workload llm]

Rows per workload (llm / mixed / plain, bench/payloads.py):
- `upb decode`: ExportTraceServiceRequest.FromString, the decode-only ceiling's work;
- `upb decode + walk`: the same plus one Python pass touching every event's time (the walk ceiling's work);
- `scan, nothing claimed`: the compiled scanner with no claims (ids, offsets, validation of every byte);
- `scan, LLM claims`: with the adapters' claims (LLM key prefixes, HTTP attempts, chunk text): what a receiver
  will run; the claimed spans' attributes and event times come out as Python values (the reference reads them
  from upb when first used);
- `scan, LLM claims, all read`: the same, then every claimed span's attributes, event tables and texts read;
- `by_trace`: the per-trace regrouping for the Kafka spans topic (native, then the reference);
- `add 6 attributes` / `redact (genai preset)`: the enrichment and redaction writers.
Each figure is the best of `--repeat` rounds of CPU time (process_time), so other work on the machine inflates
it less than wall time would; still, on a shared machine repeat and compare medians.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench import payloads
from processor import wire
from processor.processors.redaction.preset import GENAI_BODY_CONTENT_FIELDS, GENAI_CONTENT_KEYS

NONE = wire.NO_CLAIMS
LLM = wire.Claims(key_prefixes=("gen_ai.", "llm.", "ai.", "openinference."), http_client=True,
                  text_event_names=("gen_ai.content.completion.chunk",), text_keys=("gen_ai.completion.chunk",))
ENRICH = {"gen_ai.response.time_to_first_chunk": 0.25, "tokenstream.tpot_s": 0.01, "tokenstream.chunk_count": 97,
          "tokenstream.stalled": False, "tokenstream.gap_p95_s": 0.05, "tokenstream.cadence_source": "chunk_events"}
REDACT = wire.RedactRule.from_keys(block=GENAI_CONTENT_KEYS, body_fields=GENAI_BODY_CONTENT_FIELDS)


def cpu_us(action: Callable[[], object], repeat: int, inner: int) -> float:
    """Best per-call CPU time, in µs, over `repeat` rounds of `inner` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(inner):
            action()
        best = min(best, (time.process_time() - started) / inner)
    return best * 1e6


def walk(body: bytes) -> int:
    request = ExportTraceServiceRequest.FromString(body)
    total = 0
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                for event in span.events:
                    total += event.time_unix_nano
    return total


def read_claimed(index) -> int:
    """Every claimed span's readings touched, as the stream processors read them (the reference takes them from
    upb only when first read, so `scan, LLM claims` alone does not show their cost)."""
    total = 0
    for claimed in index.claimed:
        total += len(claimed.attributes) + len(claimed.event_times) + len(claimed.texts) + claimed.event_count
    return total


def stages(body: bytes, backend) -> dict[str, Callable[[], object]]:
    index = backend.scan_traces(body, NONE)
    claimed = backend.scan_traces(body, LLM)
    rows = {row: ENRICH for row in claimed.claimed_rows}
    return {
        "scan, nothing claimed": lambda: backend.scan_traces(body, NONE),
        "scan, LLM claims": lambda: backend.scan_traces(body, LLM),
        "scan, LLM claims, all read": lambda: read_claimed(backend.scan_traces(body, LLM)),
        "by_trace": lambda: backend.by_trace(index),
        "add 6 attributes (LLM spans)": lambda: backend.add_attributes(index, rows),
        "redact (genai preset)": lambda: backend.drop_attributes(index, REDACT),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--workload", choices=payloads.WORKLOADS, action="append")
    args = parser.parse_args(argv)
    backends = [(name, b) for name, b in (("native", wire.native_backend()), ("reference", wire.reference_backend()))
                if b is not None]
    print(f"{'workload':<8} {'stage':<30} {'backend':<10} {'µs/request':>11} {'spans/cpu-s':>12} {'x upb':>7}")
    for workload in args.workload or payloads.WORKLOADS:
        body = payloads.build(workload, variants=1)[0]
        spans = payloads.counts(body)[0]
        inner = max(1, 20000 // len(body)) + 2
        upb = cpu_us(lambda body=body: ExportTraceServiceRequest.FromString(body), args.repeat, inner)
        walked = cpu_us(lambda body=body: walk(body), args.repeat, inner)
        rows = [("upb decode", "upb", upb), ("upb decode + walk", "upb", walked)]
        for name, backend in backends:
            rounds = args.repeat if name == "native" else max(3, args.repeat // 5)
            rows += [(stage, name, cpu_us(action, rounds, inner)) for stage, action in stages(body, backend).items()]
        for stage, name, micros in rows:
            print(f"{workload:<8} {stage:<30} {name:<10} {micros:>11.1f} {spans / micros * 1e6:>12.0f} "
                  f"{upb / micros:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
