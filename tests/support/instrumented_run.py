"""One instrumented app run, in its own process (instrumentors patch `openai` globally).

    python -m tests.support.instrumented_run --instr traceloop --scenario '{"stall_after": 3, "stall_seconds": 0.3}' \\
        --otlp 127.0.0.1:4317 --base-url http://127.0.0.1:PORT/v1 --out result.json

Without --base-url it starts its own scripted stream server. The result JSON holds the client events, the parent
span's ids, the server's records for this run and the library versions.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
import uuid
from importlib import metadata
from typing import Any

from tests.support.app_driver import EventLog, run_app
from tests.support.instrumentors import activate
from tests.support.library_setups import SETUPS
from tests.support.otel_setup import Providers, setup_otel

VERSIONED = ("openai", "opentelemetry-sdk", "opentelemetry-instrumentation-openai",
             "openinference-instrumentation-openai", "opentelemetry-instrumentation-openai-v2",
             "opentelemetry-util-genai", "traceai-openai", "fi-instrumentation-otel", "mlflow-tracing", "langfuse",
             "logfire", "openlit")


def _versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _fetch_records(base_url: str, key: str) -> list[dict[str, Any]]:
    url = f"{base_url.rstrip('/')}/_records?{urllib.parse.urlencode({'key': key})}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local test server
        return json.loads(response.read())


def _setup(args: argparse.Namespace) -> Providers:
    service = f"tokenstream-harness-{args.instr}"
    if args.instr in SETUPS:  # a library that sets up its own export (tests.support.library_setups)
        http = args.otlp_http or (args.otlp if args.otlp.startswith("http") else f"http://{args.otlp}")
        return SETUPS[args.instr](args.otlp, http, service)
    headers = dict(item.split("=", 1) for item in args.otlp_header)
    providers = setup_otel(args.otlp, service_name=service, headers=headers, span_processor=args.span_processor,
                           metrics_enabled=args.metrics)
    activate(args.instr, providers)
    return providers


def run(args: argparse.Namespace) -> dict[str, Any]:
    scenario = json.loads(args.scenario)
    scenario.setdefault("key", f"run-{uuid.uuid4().hex[:12]}")  # attempts are counted per key on the server
    providers = _setup(args)
    log = EventLog()
    own_server = None
    base_url = args.base_url
    if base_url is None:
        from tests.support.stream_server import StreamServer

        own_server = StreamServer().start()
        base_url = own_server.base_url
    try:
        ids = run_app(base_url, scenario, log, attempt_trace_id=providers.attempt_trace_id,
                      retry_span=providers.retry_span)
        flushed = providers.flush_and_shutdown()
        if own_server is not None:
            records = [r.as_dict() for r in own_server.wait_finished(1, key=scenario["key"], timeout=10)]
        else:
            records = _fetch_records(base_url, scenario["key"])
    finally:
        if own_server is not None:
            own_server.stop()
    return {"instrumentation": args.instr, "scenario": scenario, "key": scenario["key"], **ids, "flushed": flushed,
            "client_events": log.events, "server_records": records, "versions": _versions()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instr", required=True, help="traceloop, traceloop_events, openinference, openai_v2, ...")
    parser.add_argument("--scenario", default="{}", help="flat JSON: client keys + server knobs")
    parser.add_argument("--otlp", required=True, help="gRPC host:port, or an http:// base URL for OTLP/HTTP")
    parser.add_argument("--otlp-http", default=None, help="OTLP/HTTP base URL, for libraries that export over HTTP")
    parser.add_argument("--otlp-header", action="append", default=[], help="k=v header/metadata on every export")
    parser.add_argument("--base-url", default=None, help="the scripted server's /v1 URL; default: start one")
    parser.add_argument("--span-processor", choices=("batch", "simple"), default="batch")
    parser.add_argument("--metrics", action="store_true", help="also export metrics")
    parser.add_argument("--out", default="-", help="result JSON path, or - for stdout")
    args = parser.parse_args(argv)
    result = json.dumps(run(args), indent=1)
    if args.out == "-":
        sys.stdout.write(result + "\n")
    else:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
