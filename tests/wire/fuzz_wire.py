"""Coverage-guided fuzzing (atheris / libFuzzer) of the compiled wire core, differential against the reference.

    python -m tests.wire.fuzz_wire TARGET [CORPUS_DIR] [libFuzzer flags, e.g. -max_total_time=100]

TARGET: `scan` (scan_traces / scan_logs: both backends must accept the same bytes and give the same index) or a
writer, `by_trace`, `select`, `drop`, `add`, `redact` (the compiled output must decode to the reference's). Any
difference, and any exception other than WireError, raises: libFuzzer reports it as a crash with the input.
A crash inside the C code itself is caught by the sanitizer build `make fuzz` uses (clang, AddressSanitizer,
libFuzzer coverage of the extension); under a plain build atheris guides by the Python side's coverage only.
`seed_corpus(dir)` writes generated requests (unknown fields, merges, odd orders) to start from.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# libFuzzer (inside atheris) must be visible to the extension when a coverage-instrumented build of it loads.
sys.setdlopenflags(os.RTLD_NOW | os.RTLD_GLOBAL)
import atheris  # noqa: E402

TARGETS = ("scan", "by_trace", "select", "drop", "add", "redact")
_VALUES = {"tokenstream.ttft_s": 0.5, "gen_ai.system": "shadowed", "tokenstream.flags": [1, "a", [True]],
           "tokenstream.bytes": b"\x00\xff", "k": None}


# Loaded by main(): the sanitizer build of the extension needs atheris' libFuzzer in the process first (LD_PRELOAD).
wire = generate = NATIVE = REFERENCE = contents = canonical = RULES = answers = None


def _load() -> None:
    global wire, generate, NATIVE, REFERENCE, contents, canonical, RULES, answers
    with atheris.instrument_imports(include=["processor.wire"]):
        from processor import wire
    from tests.wire import generate
    from tests.wire.conftest import NATIVE, REFERENCE, contents
    from tests.wire.test_claims_set import answers
    from tests.wire.test_writers import RULES, canonical


def _scan(backend, logs: bool, data: bytes):
    scan = backend.scan_logs if logs else backend.scan_traces
    try:
        return scan(data, generate.CLAIMS)
    except wire.WireError:
        return None


def check_scan(data: bytes, logs: bool) -> tuple:
    native, reference = _scan(NATIVE, logs, data), _scan(REFERENCE, logs, data)
    assert (native is None) == (reference is None), "one backend refused what the other accepted"
    if native is not None:
        assert contents(native) == contents(reference), "the indexes differ"
        if not logs:  # one scan for several claims: each member's bits and answer
            assert answers(NATIVE.scan_traces(data, generate.CLAIMS_SET)) == answers(
                REFERENCE.scan_traces(data, generate.CLAIMS_SET)), "the ClaimsSet answers differ"
    return native, reference


def check_writer(target: str, native, reference, logs: bool, choice: int) -> None:
    rows = [row for row in range(len(native)) if (choice >> (row % 16)) & 1]
    rule = RULES[sorted(RULES)[choice % len(RULES)]]
    if target == "redact":
        got, expected = NATIVE.drop_attributes(native, rule), REFERENCE.drop_attributes(reference, rule)
        assert got.count == expected.count
        assert canonical(got.data, logs) == canonical(expected.data, logs)
    elif target == "drop":
        drop = "drop_logs" if logs else "drop_spans"
        got = getattr(NATIVE, drop)(native, rows)
        assert canonical(got, logs) == canonical(getattr(REFERENCE, drop)(reference, rows), logs)
    elif logs:
        return  # the other writers take spans
    elif target == "by_trace":
        got, expected = NATIVE.by_trace(native), REFERENCE.by_trace(reference)
        assert [(p.trace_id, p.span_count, canonical(p.data)) for p in got] == [
            (p.trace_id, p.span_count, canonical(p.data)) for p in expected]
    elif target == "select":
        assert canonical(NATIVE.select_spans(native, rows)) == canonical(REFERENCE.select_spans(reference, rows))
    elif target == "add":
        additions = {row: _VALUES for row in rows}
        got = NATIVE.add_attributes(native, additions)
        assert canonical(got) == canonical(REFERENCE.add_attributes(reference, additions))


def one_input(target: str):
    def run(data: bytes) -> None:
        if len(data) < 2:
            return
        logs, choice, payload = bool(data[0] & 1), data[1], data[2:]
        native, reference = check_scan(payload, logs)
        if target != "scan" and native is not None:
            check_writer(target, native, reference, logs, choice)
    return run


def seed_corpus(directory: Path, count: int = 60) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from bench import payloads
    from tests.wire import generate

    directory.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        for logs, root in ((0, ExportTraceServiceRequest), (1, ExportLogsServiceRequest)):
            body = generate.build(root.DESCRIPTOR, seed)
            (directory / f"gen-{logs}-{seed}").write_bytes(bytes([logs, seed & 0xFF]) + body)
    (directory / "plain").write_bytes(b"\x00\x55" + payloads.build("plain", variants=1)[0])


def main() -> None:
    target = sys.argv.pop(1) if len(sys.argv) > 1 and sys.argv[1] in TARGETS else "scan"
    _load()
    if NATIVE is None:
        raise SystemExit(f"the compiled wire core is not built: nothing to fuzz ({wire.WHY})")
    atheris.Setup(sys.argv, one_input(target))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
