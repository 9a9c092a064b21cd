"""The HTTP handler of the scripted stream server: parses the request, then plays the scenario's plan."""

from __future__ import annotations

import json
import os
import secrets
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from tests.support import sse_chunks
from tests.support.scenario import ServerScenario
from tests.support.stream_plan import Step, StreamPlan, build_plan, resolve_output
from tests.support.stream_records import RequestRecord

if TYPE_CHECKING:
    from tests.support.stream_server import StreamServer


class _ServerStopping(Exception):
    pass


class StreamHandler(BaseHTTPRequestHandler):
    # Each SSE chunk leaves when it is written, as from a real server: Nagle's algorithm would hold small writes.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "tokenstream-scripted/1"

    @property
    def owner(self) -> StreamServer:
        return self.server.owner  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean; the records are the log

    def do_GET(self) -> None:
        if not self.path.startswith("/v1/_records"):
            self._send_json(404, {"error": {"message": "not found"}})
            return
        self._send_bytes(200, self.owner.records_response(self.path), "application/json")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        scenario, key, attempt = self.owner.resolve(self.headers.get("X-Scenario"), body)
        stream = bool(body.get("stream"))
        plan = build_plan(scenario, body)
        record = RequestRecord(
            request_id=f"req_{secrets.token_hex(12)}", key=key, attempt=attempt, stream=stream,
            model=str(body.get("model", "")), scenario=scenario.as_dict(),
            plan=[step.as_dict() for step in plan.steps] if stream else [],
        )
        self.owner.recorder.add(record)
        record.add("request_received", stream=stream, model=record.model, attempt=attempt, cfg=record.scenario)
        try:
            self._respond(scenario, body, record)
        except (BrokenPipeError, ConnectionResetError) as exc:
            record.add("client_gone", error=type(exc).__name__)
            self.close_connection = True
        except _ServerStopping:
            record.add("server_stopping")
            self.close_connection = True
        finally:
            self.owner.recorder.finish(record)

    def _respond(self, scenario: ServerScenario, body: dict[str, Any], record: RequestRecord) -> None:
        if record.attempt <= scenario.fail_first_n:
            headers = {"retry-after-ms": str(scenario.retry_after_ms),
                       "retry-after": str(max(1, scenario.retry_after_ms // 1000))}
            self._send_error(429, "rate_limit_exceeded", headers)
            record.add("http_error", status=429, retry_after_ms=scenario.retry_after_ms)
        elif scenario.http_status and scenario.http_status >= 400:
            self._send_error(scenario.http_status, "scripted_error", {})
            record.add("http_error", status=scenario.http_status)
        elif record.stream:
            self._stream(scenario, body, record)
        else:
            self._wait(scenario.first_delay)
            chunks, finish_reason = resolve_output(scenario, body)
            self._send_json(200, sse_chunks.completion(record.model, chunks, finish_reason,
                                                       tool_call=scenario.tool_call))
            record.add("response_sent", content_chunks=chunks, finish_reason=finish_reason)

    def _stream(self, scenario: ServerScenario, body: dict[str, Any], record: RequestRecord) -> None:
        plan = build_plan(scenario, body)
        factory = sse_chunks.ChunkFactory(record.model, include_usage=plan.include_usage,
                                          obfuscation=scenario.obfuscation)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", record.request_id)
        self.end_headers()
        self.wfile.flush()
        record.add("headers_sent")
        content_index = 0
        for step in plan.steps:
            self._wait_step(step, record, content_index)
            if step.kind == "disconnect":
                self._disconnect(scenario.disconnect_mode, record, content_index)
                return
            self._write_step(step, factory, plan, scenario, content_index, record)
            content_index += step.kind == "content"

    def _wait_step(self, step: Step, record: RequestRecord, content_index: int) -> None:
        if step.stall:
            record.add("stall_begin", after_content_chunks=content_index, seconds=step.delay_s)
        self._wait(step.delay_s)
        if step.stall:
            record.add("stall_end", after_content_chunks=content_index)

    def _write_step(self, step: Step, factory: sse_chunks.ChunkFactory, plan: StreamPlan, scenario: ServerScenario,
                    content_index: int, record: RequestRecord) -> None:
        if step.kind == "done":
            self._write_chunk(sse_chunks.sse_event("[DONE]"))
            self._write_chunk(b"")
            record.add("done_sent")
            return
        if step.kind == "role":
            payload = factory.role(tool_call=scenario.tool_call)
        elif step.kind == "content":
            payload = factory.content(content_index, plan.content_chunks, tool_call=scenario.tool_call)
        elif step.kind == "finish":
            payload = factory.finish(plan.finish_reason)
        else:
            payload = factory.usage(plan.content_chunks)
        began = time.time_ns()  # stamped before the write: a loaded machine may pause this thread right after it
        self._write_chunk(sse_chunks.sse_event(payload))
        extra: dict[str, Any] = {"finish_reason": plan.finish_reason} if step.kind == "finish" else {}
        if step.kind == "usage":
            extra["usage"] = payload["usage"]
        record.add("chunk_sent", at=began, index=step.index, kind=step.kind, **extra)

    def _disconnect(self, mode: str, record: RequestRecord, content_sent: int) -> None:
        """abort: FIN inside the chunked body (client error); eof: clean body end, no finish/[DONE]; rst: TCP reset."""
        if mode == "eof":
            self._write_chunk(b"")
        elif mode == "abort":
            self.connection.shutdown(socket.SHUT_WR)
        else:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())  # the fd itself, so the reset is sent now
        record.add("disconnect", mode=mode, content_chunks_sent=content_sent)
        self.close_connection = mode != "eof"

    def _write_chunk(self, data: bytes) -> None:
        """One HTTP/1.1 chunk; an empty `data` writes the terminating zero-length chunk."""
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self.owner.stopping.wait(seconds):
            raise _ServerStopping

    def _send_error(self, status: int, code: str, headers: dict[str, str]) -> None:
        error = {"error": {"message": f"scripted {status}", "type": code, "param": None, "code": code}}
        self._send_json(status, error, headers)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
