"""The command line: `tokenstream run | validate | components | loadgen`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from processor.component import Kind
from processor.config.loader import LoadError, load
from processor.config.validate import Config, Problems, validate

DEFAULT_CONFIG = "pipelines/default.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokenstream", description="Stream processor for LLM token-streaming "
                                     "telemetry, in the shape of the OpenTelemetry Collector.")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run a pipeline (default: pipelines/default.yaml)")
    _config_args(run, required=False)
    run.add_argument("--workers", type=int, metavar="N",
                     help="processes serving the same ports (sets service.workers); connections stick to one")
    run.set_defaults(handler=_run)

    check = sub.add_parser("validate", help="check config; exit 0, or print every problem and exit 1")
    _config_args(check, required=True)
    check.set_defaults(handler=_validate)

    components = sub.add_parser("components", help="list receivers, processors, exporters, extensions")
    components.set_defaults(handler=_components)

    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands():
    """Commands that live beside the components they drive (loadgen)."""
    try:
        from processor.loadgen.cli import register
    except ImportError:
        return []
    return [register]


def _config_args(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--config", action="append", metavar="FILE", required=required,
                        help="pipeline YAML; repeat to deep-merge several files, later ones win")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override one key, e.g. processors.stream.cadence.stall_gap=3s")


def _load(args) -> Config | None:
    """The validated config, or None after printing every problem to stderr."""
    try:
        config = validate(load(args.config or [DEFAULT_CONFIG], args.set))
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    except Problems as problems:
        for line in problems.errors:
            print(f"error: {line}", file=sys.stderr)
        for line in problems.warnings:
            print(f"warning: {line}", file=sys.stderr)
        print(f"{len(problems.errors)} problem(s) found", file=sys.stderr)
        return None
    for line in config.warnings:
        print(f"warning: {line}", file=sys.stderr)
    return config


def _validate(args) -> int:
    config = _load(args)
    if config is None:
        return 1
    print(f"{', '.join(args.config)}: valid ({len(config.pipelines)} pipeline(s))")
    return 0


def _run(args) -> int:
    if args.workers is not None:
        args.set.append(f"service.workers={args.workers}")
    config = _load(args)
    if config is None:
        return 1
    from processor.service.workers import current_worker

    worker = current_worker()
    setup_logging(config.service.telemetry.logs.level, worker=worker.index if worker else None)
    from processor import wire

    if wire.IMPLEMENTATION != "native" and worker is None:  # one line at start: which path runs, and why
        logging.getLogger("tokenstream").warning("%s", wire.WHY)
    if worker is None and config.service.workers > 1:
        from processor.service.supervisor import Supervisor

        return asyncio.run(Supervisor(config, args.config or [DEFAULT_CONFIG], args.set).run())
    from processor.service.service import Service

    return asyncio.run(Service(config, worker=worker).run())


def _components(_args) -> int:
    from processor.service import registry

    for kind in Kind:
        print(f"{kind.section}:")
        for type_, factory in sorted(registry.factories()[kind].items()):
            signals = "" if kind is Kind.EXTENSION else f"  [{', '.join(sorted(s.value for s in factory.signals))}]"
            if factory.emits:
                signals = signals[:-1] + f" -> {', '.join(sorted(s.value for s in factory.emits))}]"
            print(f"  {type_:<20}{factory.description}{signals}")
    return 0


def setup_logging(level: str = "info", *, worker: int | None = None) -> None:
    level = {"warn": "warning"}.get(level, level)
    where = "" if worker is None else f"[worker {worker}] "
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)-5s {where}%(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
