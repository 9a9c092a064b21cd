"""Per-request cost of the stages the profile pointed at, in one process, on the bench's pre-encoded payloads.

    python -m bench.micro [--workload llm] [--repeat 30]

Run from two checkouts (e.g. `git archive` of the base in /tmp/base, and the working tree) for a before/after that
does not depend on how busy the machine's other cores are: each figure is the best of `--repeat` timed rounds.
"""

from __future__ import annotations

import argparse
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench import payloads
from processor.component import Kind
from processor.conventions import select
from processor.conventions.registry import read_llm_call
from processor.exporters.kafka.config import KafkaExporterConfig
from processor.exporters.kafka.encode import RecordEncoder
from processor.model.batch import Batch, Signal
from processor.processors.redaction import factory as redaction
from processor.stream.cadence_math import measure
from processor.stream.enrich import add_attributes
from processor.testing import create_settings


def _best(action, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best * 1e6


def _spans(request):
    return [(s, rs.resource, ss.scope) for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="llm")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    body = payloads.build(args.workload)[0]
    conventions = select(["auto"])
    request = ExportTraceServiceRequest.FromString(body)
    spans = _spans(request)
    calls = [c for c in (read_llm_call(s, r, sc, conventions) for s, r, sc in spans) if c is not None]
    encoder = RecordEncoder(KafkaExporterConfig())
    values = {"gen_ai.response.time_to_first_chunk": 0.25, "tokenstream.tpot_s": 0.01, "tokenstream.chunk_count": 97,
              "tokenstream.stalled": False, "tokenstream.gap_p95_s": 0.05, "tokenstream.cadence_source": "chunk_events"}

    def enrich() -> None:
        for span, _, _ in _spans(ExportTraceServiceRequest.FromString(body)):
            add_attributes(span, values)

    redactor = redaction.create(create_settings("redaction", Kind.PROCESSOR), redaction.config_model(), None)
    stages = {
        "decode (reference)": lambda: ExportTraceServiceRequest.FromString(body),
        "read LLM calls (stream)": lambda: [read_llm_call(s, r, sc, conventions) for s, r, sc in spans],
        "cadence math (stream, cadence section)": lambda: [measure(c, stall_gap_s=2.0) for c in calls],
        "decode + add 6 attributes per span": enrich,
        "kafka records (spans by trace id)": lambda: encoder.records(Batch(Signal.TRACES, request)),
        "decode + redact (redaction)": lambda: redactor.redact_traces(ExportTraceServiceRequest.FromString(body)),
    }
    print(f"{args.workload}: {len(spans)} spans, {len(calls)} LLM calls per request; best of {args.repeat}, µs/request")
    for name, action in stages.items():
        print(f"  {name:<40} {_best(action, args.repeat):>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
