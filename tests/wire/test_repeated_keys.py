"""A key repeated in an attribute list (OTLP forbids it; a careless SDK sends it): both backends take its first
occurrence, as today's `otlp_attrs.find` and the Collector's pcommon `Map.Get` do. A kvlist value keeps the last, as
`otlp_attrs.to_python` does."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor import wire
from processor.model.otlp_attrs import as_str, find, to_python

CLAIMS = wire.Claims(key_prefixes=("gen_ai.",), text_event_names=("gen_ai.chunk",), text_keys=("text",),
                     log_event_prefixes=("gen_ai.",))


def _kv(key: str, value: str | int) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = value
    return kv


def _traces() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", "first"), _kv("service.name", "second")])
    span = rs.scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="chat",
                                          kind=Span.SPAN_KIND_CLIENT)
    span.attributes.extend([_kv("gen_ai.request.model", "gpt-first"), _kv("gen_ai.usage.output_tokens", 7),
                            _kv("gen_ai.request.model", "gpt-second"), _kv("gen_ai.usage.output_tokens", 9)])
    nested = AnyValue()
    nested.kvlist_value.values.extend([_kv("a", "first"), _kv("a", "last")])
    span.attributes.add(key="gen_ai.nested").value.CopyFrom(nested)
    event = span.events.add(name="gen_ai.chunk", time_unix_nano=5)
    event.attributes.extend([_kv("text", "Hel"), _kv("text", "lo")])
    return request


def test_a_claimed_span_keeps_the_first_of_a_repeated_key(backend):
    request = _traces()
    index = backend.scan_traces(request.SerializeToString(), CLAIMS)
    (claimed,) = index.claimed
    span = request.resource_spans[0].scope_spans[0].spans[0]
    # What today's code reads of the same span, and what the Collector's Map.Get would give.
    assert claimed.attributes["gen_ai.request.model"] == as_str(find(span.attributes, "gen_ai.request.model"))
    assert claimed.attributes["gen_ai.request.model"] == "gpt-first"
    assert claimed.attributes["gen_ai.usage.output_tokens"] == 7
    assert list(claimed.attributes) == ["gen_ai.request.model", "gen_ai.usage.output_tokens", "gen_ai.nested"]
    assert claimed.attributes["gen_ai.nested"] == to_python(span.attributes[4].value) == {"a": "last"}
    assert claimed.texts == ["Hel"] and list(claimed.text_times) == [5]


def test_resource_and_event_attributes_keep_the_first_too(backend):
    index = backend.scan_traces(_traces().SerializeToString(), CLAIMS)
    assert index.resource_attributes(0) == {"service.name": "first"}
    assert index.event_attributes(index.claimed_rows[0], 0) == {"text": "Hel"}


def test_a_claimed_log_keeps_the_first_of_a_repeated_key(backend):
    request = ExportLogsServiceRequest()
    log = request.resource_logs.add().scope_logs.add().log_records.add()
    log.attributes.extend([_kv("event.name", "gen_ai.choice"), _kv("event.name", "other"),
                           _kv("gen_ai.system", "openai"), _kv("gen_ai.system", "vllm")])
    index = backend.scan_logs(request.SerializeToString(), CLAIMS)
    (claimed,) = index.claimed
    assert claimed.event_name == "gen_ai.choice"
    assert claimed.attributes == {"event.name": "gen_ai.choice", "gen_ai.system": "openai"}


def test_a_log_named_only_by_a_later_repeat_is_not_claimed(backend):
    """The claim is decided on the same value the record is read with: the first `event.name`."""
    request = ExportLogsServiceRequest()
    log = request.resource_logs.add().scope_logs.add().log_records.add()
    log.attributes.extend([_kv("event.name", "app.click"), _kv("event.name", "gen_ai.choice")])
    index = backend.scan_logs(request.SerializeToString(), CLAIMS)
    assert not index.claimed and not any(index.claim)


def test_chunk_text_is_the_first_text_key_whose_first_occurrence_is_a_string(backend):
    """`text_keys` best first: a key whose first occurrence is not a string gives no text, even when it repeats as
    one; the next key's string is taken."""
    claims = wire.Claims(key_prefixes=("gen_ai.",), text_event_names=("gen_ai.chunk",), text_keys=("best", "next"))
    request = _traces()
    span = request.resource_spans[0].scope_spans[0].spans[0]
    del span.events[:]
    event = span.events.add(name="gen_ai.chunk", time_unix_nano=9)
    event.attributes.extend([_kv("next", "taken"), _kv("best", 1), _kv("best", "repeat"), _kv("next", "later")])
    (claimed,) = backend.scan_traces(request.SerializeToString(), claims).claimed
    assert claimed.texts == ["taken"] and list(claimed.text_times) == [9]
