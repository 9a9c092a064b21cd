"""`tokenstream loadgen --endpoint HOST:PORT [--rate N] [--duration S] [--profile NAME]`."""

from __future__ import annotations

import argparse
import asyncio

from processor.config.types import parse_duration
from processor.loadgen.profiles import KINDS, PROFILES
from processor.loadgen.run import LoadSettings, generate
from processor.loadgen.spans import CHUNK_TEXT_KEY


def register(sub) -> None:
    parser = sub.add_parser("loadgen", help="realistic synthetic streaming traffic over OTLP")
    parser.add_argument("--endpoint", required=True, metavar="HOST:PORT",
                        help="an OTLP receiver, e.g. 127.0.0.1:4317 (grpc) or 127.0.0.1:4318 (http)")
    parser.add_argument("--rate", type=float, default=20.0, help="streamed LLM calls per second (default 20)")
    parser.add_argument("--duration", type=_duration, default=10.0, help="how long, e.g. 30s (default 10s)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="mixed", help="what the streams do")
    parser.add_argument("--protocol", choices=("grpc", "http"), default="grpc")
    parser.add_argument("--seed", type=int, help="make the traffic repeatable")
    parser.add_argument("--chunk-text-attribute", default=CHUNK_TEXT_KEY, metavar="KEY",
                        help=f"chunk events carry their text under KEY and spans their completion (default "
                             f"{CHUNK_TEXT_KEY}); '' sends no content")
    parser.set_defaults(handler=_run)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _run(args) -> int:
    settings = LoadSettings(args.endpoint, args.rate, args.duration, args.profile, args.protocol, args.seed,
                            args.chunk_text_attribute)
    print(f"loadgen: profile={settings.profile} rate={settings.rate:g}/s duration={settings.duration:g}s "
          f"endpoint={settings.endpoint} ({settings.protocol})", flush=True)
    counts = asyncio.run(generate(settings, report=lambda line: print(line, flush=True)))
    print(summary(counts))
    return 0 if counts["traces"] else 1


def summary(counts) -> str:
    refused = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("refused:")}
    lines = [f"sent {counts['traces']} streamed calls ({counts['llm_spans']} LLM spans, {counts['spans']} spans, "
             f"{counts['chunk_events']} chunk events) in {counts['elapsed_ms'] / 1000:.1f}s",
             "  by kind: " + ", ".join(f"{kind} {counts[kind]}" for kind in KINDS if counts[kind]),
             f"  feedback: {counts['feedback_events']} span events, {counts['feedback_logs']} log records; "
             f"{counts['reconnects_not_due']} reconnects not yet due when the time was up (not sent)"]
    if refused:
        lines.append(f"  refused: {counts['refused_traces']} streams in "
                     + ", ".join(f"{n} requests ({reason})" for reason, n in refused.items()))
    return "\n".join(lines)
