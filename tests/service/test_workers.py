"""Worker processes in the small: each worker's config, the checks before start, and one slot's restart loop."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from processor.cli import main
from processor.component import Kind
from processor.config.types import ComponentID
from processor.config.validate import validate
from processor.service.supervisor import _taken_ports
from processor.service.worker_process import WorkerProcess, describe_exit
from processor.service.workers import WorkerContext, ready_path, uses_embedded_kafka, worker_config


def _config(tmp_path, **kafka) -> dict:
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:14317"}}}},
        "exporters": {"file/spans": {"path": str(tmp_path / "out" / "spans.jsonl")},
                      "kafka": {"sending_queue": {"storage": {"directory": str(tmp_path / "queue")}}, **kafka}},
        "extensions": {"health_check": {"endpoint": "127.0.0.1:13133"},
                       "health_check/other": {"endpoint": "127.0.0.1:13134"}},
        "service": {"extensions": ["health_check", "health_check/other"], "workers": 2,
                    "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file/spans", "kafka"]}}},
    }


def test_each_worker_writes_its_own_files_uses_the_one_broker_and_leaves_health_to_the_supervisor(tmp_path):
    config = validate(_config(tmp_path))
    assert uses_embedded_kafka(config)
    mine = worker_config(config, WorkerContext(1, 2, tmp_path, embedded_kafka="127.0.0.1:19092"))

    exporters = mine.components[Kind.EXPORTER]
    assert exporters[ComponentID("file", "spans")].path == str(tmp_path / "out" / "spans.worker1.jsonl")
    kafka = exporters[ComponentID("kafka")]
    assert kafka.sending_queue.storage.directory == str(tmp_path / "queue" / "worker1")
    assert kafka.brokers == ["127.0.0.1:19092"]
    assert mine.service.extensions == []
    # The supervisor's own config is left as it was.
    assert config.components[Kind.EXPORTER][ComponentID("kafka")].brokers == []
    assert config.service.extensions == ["health_check", "health_check/other"]


def test_a_worker_keeps_the_brokers_it_was_given(tmp_path):
    config = validate(_config(tmp_path, brokers=["kafka-1:9092"]))
    assert not uses_embedded_kafka(config)
    mine = worker_config(config, WorkerContext(0, 2, tmp_path))
    assert mine.components[Kind.EXPORTER][ComponentID("kafka")].brokers == ["kafka-1:9092"]


def test_workers_must_be_at_least_one(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("receivers: {otlp: {protocols: {grpc: {endpoint: 127.0.0.1:14317}}}}\n"
                    "exporters: {debug: {}}\n"
                    "service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n")
    assert main(["run", "--config", str(path), "--workers", "0"]) == 1
    assert "service::workers" in capsys.readouterr().err


def test_port_0_cannot_be_shared_by_workers(tmp_path):
    document = _config(tmp_path)
    document["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = "127.0.0.1:0"
    (problem,) = _taken_ports(validate(document))
    assert problem.startswith("receivers::otlp::protocols::grpc::endpoint: port 0 picks a different port")


@pytest.mark.parametrize(("code", "text"), [(0, "exited with code 0"), (3, "exited with code 3"),
                                            (-9, "was killed by signal SIGKILL")])
def test_how_an_exit_is_told(code, text):
    assert describe_exit(code) == text


def _script(tmp_path, body: str) -> list[str]:
    """A stand-in worker: a Python process that may mark itself ready as a real one does, then `body`."""
    return [sys.executable, "-c", "import os, pathlib, sys, time\n"
            f"mark = pathlib.Path({str(tmp_path)!r}) / f'ready-{{os.getpid()}}'\n{body}"]


async def test_a_worker_that_dies_before_it_ever_started_is_not_restarted(tmp_path, caplog):
    restarts = []
    worker = WorkerProcess(_script(tmp_path, "sys.exit(3)"), WorkerContext(0, 1, tmp_path),
                           on_restart=lambda: restarts.append(1))
    (tmp_path / "metrics").mkdir()
    with caplog.at_level(logging.INFO, "tokenstream.supervisor"):
        await asyncio.wait_for(worker.keep_running(asyncio.Event()), 20)
    assert worker.failed_start and worker.exit_code == 3 and restarts == []
    assert f"worker 0 (pid {worker.pid}) exited with code 3 before it started" in caplog.text


async def test_a_worker_that_dies_after_it_started_is_restarted_until_the_stop(tmp_path, caplog):
    (tmp_path / "metrics").mkdir()
    restarts = []
    worker = WorkerProcess(_script(tmp_path, "mark.touch()\ntime.sleep(0.2)\nsys.exit(5)"),
                           WorkerContext(0, 1, tmp_path), on_restart=lambda: restarts.append(1))
    stopping = asyncio.Event()
    with caplog.at_level(logging.INFO, "tokenstream.supervisor"):
        task = asyncio.create_task(worker.keep_running(stopping))
        async with asyncio.timeout(30):
            while len(restarts) < 2:
                await asyncio.sleep(0.05)
        stopping.set()
        worker.terminate()
        await asyncio.wait_for(task, 20)
    assert not worker.failed_start
    assert "died: it exited with code 5; restarting it in" in caplog.text
    assert list(tmp_path.glob("ready-*")) == []  # each ended process's mark is cleared
    assert not ready_path(tmp_path, worker.pid).exists()
