"""Capture what a real instrumentation library exports, as test data (tests/data/realclients/<lib>/<scenario>/):

    .venv/bin/python -m tests.support.capture_library traceai mlflow --scenarios normal,stall

For each scenario (tests.support.harness_scenarios) the library's app runs once in its own virtualenv against the
scripted stream server and an OTLP capture (gRPC and HTTP), and the folder gets what the reference captures hold:
`traces-NNN.pb` / `logs-NNN.pb` (each export request, serialised again from what the receiver decoded),
`client-events.jsonl` (the app's clock) and `server-events.jsonl` (the server's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from pathlib import Path

from tests.support.harness_scenarios import SCENARIOS, SCHEDULE
from tests.support.instrumented import RunResult, run_instrumented_async
from tests.support.otlp_capture import OtlpCapture
from tests.support.stream_server import StreamServer

OUT = Path(__file__).resolve().parents[1] / "data" / "realclients"
#: Where a library's captures go when its name is taken by a reference capture.
FOLDERS = {"openlit": "openlit_harness"}
#: After the app flushed, requests still on their way to the capture (gRPC answers before the store).
SETTLE_S = 0.5


async def capture(lib: str, scenario: str, server: StreamServer, out: Path) -> RunResult:
    async with OtlpCapture() as receiver:
        run = await run_instrumented_async(lib, SCENARIOS[scenario], receiver.endpoint, server=server,
                                           otlp_http=receiver.http_endpoint)
        await asyncio.sleep(SETTLE_S)
        requests = list(receiver.requests)
    folder = out / FOLDERS.get(lib, lib) / scenario
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counts: dict[str, int] = {}
    for captured in requests:
        if captured.signal == "metrics":
            continue
        counts[captured.signal] = counts.get(captured.signal, 0) + 1
        (folder / f"{captured.signal}-{counts[captured.signal]:03d}.pb").write_bytes(
            captured.request.SerializeToString())
    _jsonl(folder / "client-events.jsonl", run.client_events)
    server_events = sorted((e for record in run.server_records for e in record.events), key=lambda e: e["t_unix_nano"])
    _jsonl(folder / "server-events.jsonl", server_events)
    (folder / "run.json").write_text(json.dumps({"scenario": run.scenario, "trace_id": run.trace_id,
                                                 "parent_span_id": run.parent_span_id, "versions": run.versions},
                                                indent=1, sort_keys=True) + "\n")
    return run


def _jsonl(path: Path, events: list[dict]) -> None:
    path.write_text("".join(json.dumps(event, sort_keys=True) + "\n" for event in events))


async def main_async(libs: list[str], scenarios: list[str], out: Path) -> None:
    with StreamServer(SCHEDULE) as server:
        for lib in libs:
            for scenario in scenarios:
                run = await capture(lib, scenario, server, out)
                print(f"{lib}/{scenario}: {len(run.client('chunk_received'))} chunks, {run.attempts} attempt(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("libs", nargs="+", help="harness instrumentation names, e.g. traceai mlflow")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated scenario names")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.libs, args.scenarios.split(","), args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
