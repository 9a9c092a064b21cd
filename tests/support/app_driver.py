"""The 'app': calls the real openai SDK for one scenario, inside a parent span, and records its own clock.

Client-side events use the reference harness's client-events.jsonl names: scenario_start, create_called,
create_returned, chunk_received, stream_finished, stream_closed, exception, scenario_end; each attempt-level
event also carries `attempt` (app-level retries share the parent span `harness.scenario`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import time
from collections.abc import Callable
from typing import Any

CLIENT_KEYS = {"stream", "include_usage", "max_tokens", "close_after", "app_retries", "sdk_max_retries",
               "tools", "model", "prompt", "name"}
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a place",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}


@dataclasses.dataclass(frozen=True)
class ClientScenario:
    name: str = "scenario"
    stream: bool = True
    include_usage: bool = True
    max_tokens: int | None = 64
    close_after: int | None = None  # the app closes the stream after this many chunks
    app_retries: int = 0  # the app repeats the same request after an exception, under the same parent span
    sdk_max_retries: int = 2
    tools: bool = False
    model: str = "gpt-4o-mini"
    prompt: str = "Explain token streaming in one sentence."


def split_scenario(scenario: dict[str, Any]) -> tuple[ClientScenario, dict[str, Any]]:
    """A flat scenario dict -> (what the app does, the server knobs sent as the X-Scenario header)."""
    client = {k: v for k, v in scenario.items() if k in CLIENT_KEYS}
    server = {k: v for k, v in scenario.items() if k not in CLIENT_KEYS}
    if server.get("tool_call") and "tools" not in client:
        client["tools"] = True
    return ClientScenario(**client), server


class EventLog:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {"t_unix_nano": time.time_ns(), "event": event, **fields}
        self.events.append(entry)
        return entry


def _request(client_scenario: ClientScenario, server_knobs: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": client_scenario.model, "temperature": 0.2,
        "messages": [{"role": "system", "content": "You are terse."},
                     {"role": "user", "content": client_scenario.prompt}],
        "extra_headers": {"X-Scenario": json.dumps(server_knobs, sort_keys=True)},
    }
    if client_scenario.max_tokens is not None:
        request["max_tokens"] = client_scenario.max_tokens
    if client_scenario.tools:
        request["tools"] = [WEATHER_TOOL]
    if client_scenario.stream:
        request["stream"] = True
        if client_scenario.include_usage:
            request["stream_options"] = {"include_usage": True}
    return request


def _attempt(client: Any, request: dict[str, Any], scenario: ClientScenario, log: EventLog, attempt: int) -> None:
    created = log.add("create_called", attempt=attempt)["t_unix_nano"]
    response = client.chat.completions.create(**request)
    log.add("create_returned", attempt=attempt, dt_ms=(time.time_ns() - created) / 1e6)
    if not scenario.stream:
        choice = response.choices[0]
        log.add("response_received", attempt=attempt, finish_reason=choice.finish_reason,
                content=choice.message.content, has_usage=response.usage is not None)
        return
    count = 0
    for chunk in response:
        count += 1
        choice = chunk.choices[0] if chunk.choices else None
        log.add("chunk_received", attempt=attempt, n=count, content=choice.delta.content if choice else None,
                finish_reason=choice.finish_reason if choice else None, has_usage=chunk.usage is not None,
                tool_calls=bool(choice and choice.delta.tool_calls))
        if scenario.close_after is not None and count >= scenario.close_after:
            response.close()
            log.add("stream_closed", attempt=attempt, chunks=count)
            return
    log.add("stream_finished", attempt=attempt, chunks=count)


def _public_name(exc: BaseException) -> str:
    """`openai.APIConnectionError`, not `openai._exceptions.APIConnectionError` (as the reference captures)."""
    return f"{type(exc).__module__.split('.')[0]}.{type(exc).__qualname__}"


def run_app(base_url: str, scenario: dict[str, Any], log: EventLog, *,
            attempt_trace_id: Callable[[], str | None] | None = None,
            retry_span: Callable[[], contextlib.AbstractContextManager] | None = None) -> dict[str, str]:
    """Run the scenario under a `harness.scenario` parent span; return that span's hex trace and span ids.

    `attempt_trace_id`: for a library whose LLM spans root traces of their own, the trace id of its last call,
    logged after each attempt as an `llm_trace` event. `retry_span`: that library's own span, which an app that
    retries (`app_retries`) runs its retry loop in.
    """
    import openai
    from opentelemetry import trace

    client_scenario, server_knobs = split_scenario(scenario)
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=client_scenario.sdk_max_retries,
                           timeout=30.0)
    request = _request(client_scenario, server_knobs)
    tracer = trace.get_tracer("tokenstream.tests.harness")
    # A service calls long after its start-up; this process is fresh. The full collection its imports make due
    # (OpenLLMetry's instrumentation imports ~1,800 modules: ~177,000 objects) would otherwise come while the first
    # chunk is parsed: 0.2 s on an idle machine, about 1 s in the loaded harness, while the app reads nothing.
    gc.collect()
    log.add("scenario_start", scenario=client_scenario.name, openai_version=openai.__version__)
    with tracer.start_as_current_span("harness.scenario", kind=trace.SpanKind.INTERNAL) as parent:
        parent.set_attribute("harness.scenario", client_scenario.name)
        retrying = retry_span is not None and client_scenario.app_retries
        with retry_span() if retrying else contextlib.nullcontext():
            for attempt in range(1, client_scenario.app_retries + 2):
                try:
                    _attempt(client, request, client_scenario, log, attempt)
                    break
                except Exception as exc:  # noqa: BLE001 - the app records any SDK failure, then maybe retries
                    log.add("exception", attempt=attempt, type=_public_name(exc), message=str(exc))
                finally:
                    if attempt_trace_id is not None:
                        log.add("llm_trace", attempt=attempt, trace_id=attempt_trace_id())
        context = parent.get_span_context()
    client.close()
    log.add("scenario_end")
    return {"trace_id": f"{context.trace_id:032x}", "parent_span_id": f"{context.span_id:016x}"}
