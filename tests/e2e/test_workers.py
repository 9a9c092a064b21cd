"""`tokenstream run --workers 2` as real processes: shared ports, sticky connections, summed metrics, drain, restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import threading
import time
import urllib.request

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from processor.loadgen.profiles import draw
from processor.loadgen.spans import TraceBuilder
from processor.model import otlp_json
from processor.model.batch import Signal
from processor.testing.process import TokenstreamProcess
from tests.e2e.conftest import Ports, file_pipeline
from tests.e2e.sdk import make_spans, span_set, spans_request
from tests.support.kafka import consume_records

WORKERS = 2
_STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")


def start(tmp_path, ports: Ports, config: dict | None = None) -> TokenstreamProcess:
    config = config or file_pipeline(tmp_path, ports)
    return TokenstreamProcess(config, tmp_path, health_port=ports.health, workers=WORKERS).start()


@pytest.fixture
def workers(tmp_path, ports):
    process = start(tmp_path, ports)
    yield process
    process.kill()


def worker_pids(process: TokenstreamProcess) -> dict[int, int]:
    """The latest pid of each worker, from the supervisor's log."""
    return {int(index): int(pid) for index, pid in _STARTED.findall(process.logs())}


def written_by_worker(tmp_path, stem: str = "spans") -> dict[int, list]:
    """Each worker's file exporter output (the path gets the worker index), decoded."""
    found = {}
    for index in range(WORKERS):
        path = tmp_path / f"{stem}.worker{index}.jsonl"
        lines = path.read_bytes().splitlines() if path.exists() else []
        found[index] = [otlp_json.decode(Signal.TRACES, line) for line in lines if line.strip()]
    return found


def _has_written(tmp_path, index: int, stem: str = "spans") -> bool:
    path = tmp_path / f"{stem}.worker{index}.jsonl"
    return path.exists() and path.stat().st_size > 0


def post(url: str, body: bytes) -> int:
    """One request on a connection of its own (urllib does not keep connections)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples, name: str, **labels) -> float:
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items() if sample == name and wanted <= found)


def test_separate_connections_reach_both_workers_and_one_grpc_channel_stays_on_one(workers, ports, tmp_path):
    separate = [spans_request(make_spans(1, prefix=f"conn-{i}")) for i in range(24)]
    for request in separate:
        assert post(f"http://127.0.0.1:{ports.http}/v1/traces", request.SerializeToString()) == 200
    channel = grpc.insecure_channel(f"127.0.0.1:{ports.grpc}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    sticky = [spans_request(make_spans(1, prefix=f"channel-{i}")) for i in range(20)]
    for request in sticky:
        stub.Export(request, timeout=10)
    channel.close()
    assert workers.stop() == 0, workers.logs()

    by_worker = {index: span_set(requests) for index, requests in written_by_worker(tmp_path).items()}
    assert set().union(*by_worker.values()) == span_set(separate + sticky)
    reached = {i for i, spans in by_worker.items() if spans & span_set(separate)}
    assert reached == {0, 1}, "24 separate connections should not all land on one worker"
    holders = [i for i, spans in by_worker.items() if spans & span_set(sticky)]
    assert len(holders) == 1, f"one channel's requests were split over workers {holders}"
    assert span_set(sticky) <= by_worker[holders[0]]


def test_sigterm_drains_both_workers_and_keeps_every_acknowledged_span(workers, ports, tmp_path):
    acknowledged: set[bytes] = set()
    lock = threading.Lock()
    stop = threading.Event()
    # 16 connections: the kernel spreads them at random (4 all landed on one worker about 1 run in 8; 16 do 1 in
    # 32,768).
    batches = [[spans_request(make_spans(2, prefix=f"t{t}-{i}")) for i in range(150)] for t in range(16)]

    def send(requests) -> None:
        # Its own connection per thread, so that both workers have requests in flight.
        channel = grpc.insecure_channel(f"127.0.0.1:{ports.grpc}", options=[("grpc.use_local_subchannel_pool", 1)])
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for request in requests:
            if stop.is_set():
                break
            try:
                stub.Export(request, timeout=5)
            except grpc.RpcError:
                continue  # refused while draining: not acknowledged, so not owed
            with lock:
                acknowledged.update(span_set([request]))
        channel.close()

    senders = [threading.Thread(target=send, args=(requests,)) for requests in batches]
    for sender in senders:
        sender.start()
    # SIGTERM once both workers have written spans: on a loaded machine one worker may answer its first requests
    # seconds after the other has answered 80.
    deadline = time.monotonic() + 30
    while (len(acknowledged) < 80 or not all(_has_written(tmp_path, i) for i in range(WORKERS))) \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    code = workers.stop()
    stop.set()
    for sender in senders:
        sender.join(15)

    assert code == 0, workers.logs()
    assert len(acknowledged) >= 80
    by_worker = {index: span_set(requests) for index, requests in written_by_worker(tmp_path).items()}
    assert all(by_worker.values()), "both workers should have had requests in flight"
    written = set().union(*by_worker.values())
    assert acknowledged <= written, f"{len(acknowledged - written)} acknowledged spans are missing"
    logs = workers.logs()
    assert "received SIGTERM: draining every worker" in logs
    assert len(re.findall(r"worker \d \(pid \d+\) exited with code 0", logs)) == WORKERS
    assert "all workers drained and exited" in logs


def test_a_killed_worker_is_restarted_and_logged_and_the_service_keeps_answering(workers, ports, tmp_path):
    first = worker_pids(workers)
    assert sorted(first) == [0, 1]
    os.kill(first[0], signal.SIGKILL)

    deadline = time.monotonic() + 30
    while worker_pids(workers)[0] == first[0] or workers.health() != 200:
        assert time.monotonic() < deadline, workers.logs()
        time.sleep(0.05)
    logs = workers.logs()
    assert f"worker 0 (pid {first[0]}) died: it was killed by signal SIGKILL; restarting it" in logs
    assert worker_pids(workers)[1] == first[1]  # the other one was left alone

    sent = [spans_request(make_spans(1, prefix=f"after-{i}")) for i in range(20)]
    for request in sent:
        assert post(f"http://127.0.0.1:{ports.http}/v1/traces", request.SerializeToString()) == 200
    assert total(scrape(ports.metrics), "tokenstream_worker_restarts_total", worker="0") == 1
    assert workers.stop() == 0, workers.logs()
    written = set().union(*(span_set(r) for r in written_by_worker(tmp_path).values()))
    assert span_set(sent) <= written


def _stream_pipeline(tmp_path, ports: Ports, prometheus_port: int) -> dict:
    config = file_pipeline(tmp_path, ports)
    # Records alone, nothing derived from them: the sums over workers are what this checks.
    sections_off = dict.fromkeys(("cadence", "retries", "truncation", "cost", "content_check"), False)
    config["processors"]["stream"] = {"wait": "100ms", **sections_off}
    config["exporters"] = {"file/streams": {"path": str(tmp_path / "streams.jsonl"), "kind": "streams"},
                           "prometheus": {"endpoint": f"127.0.0.1:{prometheus_port}"}}
    config["service"]["pipelines"] = {"traces": {"receivers": ["otlp"], "processors": ["stream", "batch"],
                                                 "exporters": ["file/streams", "prometheus"]}}
    return config


def test_metrics_on_one_endpoint_are_the_sum_over_the_workers(tmp_path, ports):
    prometheus_port = Ports().grpc
    process = start(tmp_path, ports, _stream_pipeline(tmp_path, ports, prometheus_port))
    try:
        rng = random.Random(7)
        spans = 0
        for _ in range(30):  # one LLM stream per request, each on a connection of its own
            builder = TraceBuilder(rng)
            plan = draw("normal", rng)
            builder.add(plan)
            spans += builder.counts["spans"]
            assert post(f"http://127.0.0.1:{ports.http}/v1/traces", builder.request.SerializeToString()) == 200

        per_worker = {}
        deadline = time.monotonic() + 20
        while True:  # stream records leave after the stream processor's wait; snapshots are published each second
            streams = {index: sum(1 for line in _lines(tmp_path / f"streams.worker{index}.jsonl"))
                       for index in range(WORKERS)}
            stream_metrics = scrape(prometheus_port)
            if sum(streams.values()) == 30 and total(stream_metrics, "llm_streams_total") == 30:
                per_worker = streams
                break
            assert time.monotonic() < deadline, (streams, total(stream_metrics, "llm_streams_total"))
            time.sleep(0.2)
        assert all(per_worker.values()), f"30 separate connections should reach both workers: {per_worker}"
        assert total(stream_metrics, "gen_ai_client_token_usage_count", gen_ai_token_type="input") == 30

        telemetry = scrape(ports.metrics)
        assert total(telemetry, "tokenstream_receiver_accepted_spans_total") == spans
        assert total(telemetry, "tokenstream_exporter_sent_records_total", exporter="file/streams") == 30
        assert total(stream_metrics, "tokenstream_exporter_sent_records_total", exporter="prometheus") == 30
        assert process.stop() == 0, process.logs()
    finally:
        process.kill()


def _lines(path):
    return [line for line in path.read_bytes().splitlines() if line.strip()] if path.exists() else []


def test_a_taken_receiver_port_fails_the_start_before_any_worker_runs(tmp_path, ports):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.grpc))
        squatter.listen()
        process = TokenstreamProcess(file_pipeline(tmp_path, ports), tmp_path, health_port=ports.health,
                                     workers=WORKERS)
        with pytest.raises(RuntimeError, match="exited with 1"):
            process.start(timeout=30)
    assert f"cannot listen on 127.0.0.1:{ports.grpc}" in process.logs()
    assert "worker 0 started" not in process.logs()


def test_one_embedded_kafka_broker_serves_every_worker(tmp_path, ports):
    config = file_pipeline(tmp_path, ports)
    config["exporters"] = {"kafka": {"brokers": ["embedded"], "create_topics": {"partitions": 1},
                                     "topics": {"spans": "llm.spans", "streams": None, "anomalies": None}}}
    config["service"]["pipelines"] = {"traces": {"receivers": ["otlp"], "processors": ["batch"],
                                                 "exporters": ["kafka"]}}
    process = start(tmp_path, ports, config)
    try:
        sent = [spans_request(make_spans(1, prefix=f"kafka-{i}")) for i in range(16)]
        for request in sent:
            assert post(f"http://127.0.0.1:{ports.http}/v1/traces", request.SerializeToString()) == 200
        logs = process.logs()
        (bootstrap,) = re.findall(r"started one embedded broker \(tansu, in memory\) at (\S+) for all workers", logs)
        assert sorted(re.findall(r"\[worker (\d)\] tokenstream.exporter.kafka: kafka exporter sending to (\S+)",
                                 logs)) == [("0", bootstrap), ("1", bootstrap)]
        assert "started an embedded broker" not in logs  # no worker started a broker of its own
        records = asyncio.run(consume_records(bootstrap, "llm.spans", len(sent)))
        assert span_set(ExportTraceServiceRequest.FromString(r.value) for r in records) == span_set(sent)
        assert process.stop() == 0, process.logs()
    finally:
        process.kill()


def test_signals_after_the_first_reach_supervisor_and_workers_and_are_ignored(workers, ports, tmp_path):
    """A terminal's Ctrl-C reaches the supervisor and every worker, and the supervisor then sends each worker a
    SIGTERM of its own: each one after the first is logged and ignored, and all drain and exit 0."""
    assert post(f"http://127.0.0.1:{ports.http}/v1/traces", spans_request(make_spans(3)).SerializeToString()) == 200
    pids = list(worker_pids(workers).values())
    workers.proc.send_signal(signal.SIGINT)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
    while workers.proc.poll() is None:
        for pid in [workers.proc.pid, *pids]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        time.sleep(0.02)
    assert workers.proc.wait(30) == 0, workers.logs()
    logs = workers.logs()
    assert "received SIGTERM again while the workers drain: ignored" in logs
    assert "received SIGTERM again while draining: ignored" in logs
    assert len(re.findall(r"worker \d \(pid \d+\) exited with code 0", logs)) == WORKERS
