"""Turning stream plans into OTLP spans as OpenLLMetry records them: a gateway SERVER span and, under it, one
CLIENT span per LLM call with a `gen_ai.content.completion.chunk` event for every chunk the app pulled.

Content chunks carry their text under `chunk_text_key` and the span records the completion
(`gen_ai.completion.0.content`), as a gateway that follows the README does, so stream's content_check can compare them;
an empty key leaves content out."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, Status

from processor.loadgen.profiles import StreamPlan

CHUNK_EVENT = "gen_ai.content.completion.chunk"
CHUNK_TEXT_KEY = "gen_ai.completion.chunk"
COMPLETION_KEY = "gen_ai.completion.0.content"
_SCOPE_VERSION = "0.62.4"
_NS = 1_000_000_000


def _attr(key: str, value) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, list):
        kv.value.array_value.values.add().string_value = value[0]
    else:
        kv.value.string_value = value
    return kv


class TraceBuilder:
    """Builds one ExportTraceServiceRequest for many plans; counts what it built."""

    def __init__(self, rng: random.Random, service: str = "llm-gateway", chunk_text_key: str = CHUNK_TEXT_KEY, *,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.rng = rng
        self.clock = clock  # unix ns: a trace ends now unless told otherwise
        self.chunk_text_key = chunk_text_key
        self.request = ExportTraceServiceRequest()
        resource_spans = self.request.resource_spans.add()
        resource_spans.resource.attributes.extend([_attr("service.name", service),
                                                   _attr("telemetry.sdk.language", "python")])
        self._server = resource_spans.scope_spans.add()
        self._server.scope.name = "opentelemetry.instrumentation.asgi"
        self._clients: dict[str, ScopeSpans] = {}
        self._resource_spans = resource_spans
        self.counts: Counter[str] = Counter()

    def add(self, plan: StreamPlan, end_ns: int | None = None, *, start_ns: int | None = None) -> Span:
        """Adds the plan's trace, ending at `end_ns` (default now), or starting at `start_ns` when given;
        returns its root span."""
        trace_id = self.rng.randbytes(16)
        labels = [_attr("http.route", plan.route), _attr("tenant.id", plan.tenant), _attr("session.id", plan.session)]
        calls = [("abort", 0), ("normal", 1)] if plan.kind == "retry" else [(plan.kind, 0)]
        spans = []
        cursor = 0
        for kind, attempt in calls:
            span, cursor = self._llm_span(plan, kind, attempt, trace_id, cursor, labels)
            spans.append(span)
            cursor += int(0.2 * _NS)  # the app's back-off before it retries
        total = cursor + int(0.01 * _NS)
        if start_ns is None:
            end_ns = end_ns or self.clock()
            start = end_ns - total
        else:
            start, end_ns = start_ns, start_ns + total
        root = self._server.spans.add(trace_id=trace_id, span_id=self.rng.randbytes(8), name=f"POST {plan.route}",
                                      kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=start,
                                      end_time_unix_nano=end_ns)
        root.attributes.extend([_attr("http.request.method", "POST"), *labels,
                                _attr("http.response.status_code", 500 if plan.kind == "error" else 200)])
        for span in spans:  # shift relative times onto the clock, under the root
            span.parent_span_id = root.span_id
            span.start_time_unix_nano += start
            span.end_time_unix_nano += start
            for event in span.events:
                event.time_unix_nano += start
        self.counts["traces"] += 1
        self.counts[plan.kind] += 1
        self.counts["spans"] += 1 + len(spans)
        return root

    def _llm_span(self, plan: StreamPlan, kind: str, attempt: int, trace_id: bytes, offset: int, labels):
        scope = self._clients.get(plan.provider)
        if scope is None:
            scope = self._clients[plan.provider] = self._resource_spans.scope_spans.add()
            scope.scope.name = f"opentelemetry.instrumentation.{plan.provider}.v1"
            scope.scope.version = _SCOPE_VERSION
        span = scope.spans.add(trace_id=trace_id, span_id=self.rng.randbytes(8), name=f"{plan.provider}.chat",
                               kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=offset)
        span.attributes.extend([
            _attr("gen_ai.provider.name", plan.provider), _attr("gen_ai.system", plan.provider),
            _attr("gen_ai.operation.name", "chat"), _attr("gen_ai.request.model", plan.model),
            _attr("gen_ai.is_streaming", True), *labels])
        if attempt:
            span.attributes.append(_attr("http.request.resend_count", attempt))
        now = offset + int(plan.ttft_s * _NS)
        chunks = {"abort": max(2, plan.content_chunks // 3), "cutoff": max(2, plan.content_chunks // 2),
                  "length": plan.content_chunks, "error": 0}.get(kind, plan.content_chunks)
        stalls = dict(plan.stalls)
        if kind != "error":
            span.events.add(time_unix_nano=now, name=CHUNK_EVENT)  # the role-only first chunk
        # A retry that kept the broken attempt's chunks streams them again before its own. A plan without words
        # (made by hand) still streams its chunks, with no text.
        words = plan.words or [""] * plan.content_chunks
        replayed = words[:plan.duplicated_chunks] if attempt else []
        for index, word in enumerate([*replayed, *words[:chunks]], start=1 - len(replayed)):
            now += int((plan.gap_s + stalls.get(index - 1, 0.0)) * _NS)
            event = span.events.add(time_unix_nano=now, name=CHUNK_EVENT)
            if self.chunk_text_key and word:
                event.attributes.append(_attr(self.chunk_text_key, word))
        if self.chunk_text_key and chunks and plan.words:
            span.attributes.append(_attr(COMPLETION_KEY, "".join(plan.words[:chunks])))
        self.counts["chunk_events"] += len(span.events)
        self._finish(span, plan, kind, chunks, now)
        self.counts["llm_spans"] += 1
        return span, span.end_time_unix_nano

    def _finish(self, span: Span, plan: StreamPlan, kind: str, chunks: int, now: int) -> None:
        if kind in ("abort", "error"):
            error = "APIConnectionError" if kind == "abort" else "InternalServerError"
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=f"{error}: Connection error."))
            span.attributes.append(_attr("error.type", error))
            span.events.add(time_unix_nano=now, name="exception", attributes=[
                _attr("exception.type", error), _attr("exception.message", "Connection error.")])
            span.end_time_unix_nano = now + int(0.001 * _NS)
            return
        span.attributes.append(_attr("gen_ai.response.model", plan.model))
        if kind != "cutoff":  # a clean EOF without [DONE]: no finish chunk, no usage, status still OK
            reason = {"length": "length", "content_filter": "content_filter"}.get(kind, "stop")
            for _ in range(2):  # the finish chunk and the usage chunk
                now += int(0.001 * _NS)
                span.events.add(time_unix_nano=now, name=CHUNK_EVENT)
            self.counts["chunk_events"] += 2
            span.attributes.extend([
                _attr("gen_ai.response.finish_reasons", [reason]),
                _attr("gen_ai.usage.input_tokens", plan.input_tokens), _attr("gen_ai.usage.output_tokens", chunks),
                _attr("gen_ai.usage.total_tokens", plan.input_tokens + chunks)])
        span.status.code = Status.STATUS_CODE_OK
        span.end_time_unix_nano = now + int(0.001 * _NS)
