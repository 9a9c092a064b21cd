from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.conventions import KNOWN, read_llm_call, select
from tests.conventions.captured import read_capture
from tests.conventions.spans import make_span, resource, scope
from tests.data.realclients import LIBRARIES, load_capture, scenarios


def test_auto_selects_every_convention_most_specific_first():
    names = [c.name for c in select(["auto"])]
    assert names == ["langchain", "openllmetry", "openinference", "traceai", "mlflow", "langfuse", "logfire", "openlit",
                     "vercel_ai", "vercel_ai_genai", "vllm", "genai_semconv"]
    assert tuple(names) == KNOWN


def test_named_conventions_keep_precedence_order_whatever_the_config_order():
    assert [c.name for c in select(["genai_semconv", "openinference", "langchain"])] == \
        ["langchain", "openinference", "genai_semconv"]


def test_unknown_names_are_refused_with_the_known_list():
    with pytest.raises(ValueError) as raised:
        select(["openllmetry", "traceloop", "arize"])
    message = str(raised.value)
    assert "'arize'" in message and "'traceloop'" in message
    assert "auto" in message and "openllmetry" in message and "genai_semconv" in message


def test_every_convention_has_read_and_join_log():
    for convention in select(["auto"]):
        assert callable(convention.read) and callable(convention.join_log) and convention.name


@pytest.mark.parametrize("lib", LIBRARIES)
def test_harness_parent_span_and_http_spans_are_never_llm_calls(lib):
    conventions = select(["auto"])
    for scenario in scenarios(lib):
        for span, res, scp in load_capture(lib, scenario).spans():
            if span.name in ("harness.scenario", "POST"):
                assert read_llm_call(span, res, scp, conventions) is None
                for convention in conventions:  # each adapter on its own, too
                    assert convention.read(span, res, scp) is None


@pytest.mark.parametrize("lib", LIBRARIES)
def test_each_exported_llm_span_is_read_once_per_capture(lib):
    for scenario in scenarios(lib):
        read = read_capture(lib, scenario)
        expected = 0 if (lib, scenario) in {("openlit", "cutoff"), ("openlit", "client_cancel")} else 1
        assert len(read.calls) == expected, (lib, scenario)


class _Spy:
    name = "spy"

    def __init__(self):
        self.seen = []

    def read_span(self, span):
        self.seen.append(span)

    def read(self, span, resource, scope):
        self.seen.append(span)

    def join_log(self, call, log):
        pass


@pytest.mark.parametrize("attrs", [
    {"http.request.method": "POST", "url.full": "https://api.example.com/v1/x", "http.response.status_code": 200},
    {"db.system": "postgresql", "db.query.text": "select 1", "server.address": "db"},
    {},
])
def test_plain_spans_are_rejected_before_any_convention_looks(attrs):
    spy = _Spy()
    assert read_llm_call(make_span("GET /x", attrs), resource(), scope("app"), [spy, *select(["auto"])]) is None
    assert spy.seen == []


def test_one_llm_span_is_shared_by_the_conventions_tried():
    first, second = _Spy(), _Spy()
    span = make_span("chat m", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"})
    call = read_llm_call(span, resource(), scope(), [first, second, *select(["genai_semconv"])])
    assert call.record.convention == "genai_semconv"
    assert len(first.seen) == len(second.seen) == 1 and first.seen[0] is second.seen[0] is not span
    assert first.seen[0].attributes == {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}


def test_a_convention_without_read_span_is_called_through_read():
    class Plain:
        name = "plain"

        def read(self, span, resource, scope):
            return "called"

    span = make_span("x", {"gen_ai.system": "openai"})
    assert read_llm_call(span, resource(), scope(), [Plain()]) == "called"


@pytest.mark.parametrize("operation", ["embeddings", "execute_tool", "invoke_agent"])
def test_gen_ai_spans_that_do_not_generate_are_not_llm_calls(operation):
    span = make_span(f"{operation} x", {"gen_ai.operation.name": operation, "gen_ai.provider.name": "openai",
                                        "gen_ai.request.model": "m"})
    assert read_llm_call(span, resource(), scope(), select(["auto"])) is None


def test_openinference_chain_spans_are_not_llm_calls():
    span = make_span("RunnableSequence", {"openinference.span.kind": "CHAIN", "input.value": "x"},
                     kind=Span.SPAN_KIND_INTERNAL)
    assert read_llm_call(span, resource(), scope("openinference.instrumentation.langchain"),
                         select(["auto"])) is None
