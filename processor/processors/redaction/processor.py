"""The redaction processor: drops or hashes prompt and completion content before it leaves tokenstream.

It walks every attribute list of a batch (resource, scope, span, span event, span link, log record) and the
bodies of `gen_ai.*` log records. Spans held as bytes are edited by the wire core's `drop_attributes` writer (the
same edit, tests/wire/test_writers.py); a decoded batch is changed in place, a span with no matching key costing one
cached dict lookup per attribute key. Either way a span with no matching key stays exactly as it was.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from processor import wire
from processor.component import ComponentBase, Consumer, CreateSettings
from processor.config.hmac_keys import hmac_key_from_env
from processor.model.batch import Batch, Signal
from processor.processors.redaction.config import WITHOUT_KEY, RedactionConfig
from processor.processors.redaction.matcher import KeyMatcher
from processor.processors.redaction.preset import GENAI_BODY_CONTENT_FIELDS, GENAI_EVENT_PREFIX
from processor.processors.redaction.telemetry import redacted_counter
from processor.processors.redaction.values import ValueRedactor

SUMMARY_KEYS = "redaction.redacted.keys"
SUMMARY_COUNT = "redaction.redacted.count"


class RedactionProcessor(ComponentBase):
    #: Values are removed or replaced in the batch it is given.
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: RedactionConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        #: The resolved key rule, for other components that need to know what this instance redacts.
        self.matcher = KeyMatcher.from_config(config)
        key = hmac_key_from_env(config.hash_key_env, otherwise=WITHOUT_KEY) if config.action == "hash" else None
        self.redactor = ValueRedactor(config.action, key)
        self.body_fields = GENAI_BODY_CONTENT_FIELDS if config.preset == "genai_content" else frozenset()
        self.summary = config.summary
        self.rule = wire.RedactRule.from_keys(
            block=self.matcher.block_keys, patterns=self.matcher.block_key_patterns, allow=self.matcher.allow_keys,
            digest=None if self.redactor.drop else (lambda encoded: self.redactor.digest(AnyValue.FromString(encoded))),
            summary=self.summary, body_fields=self.body_fields)
        counter = redacted_counter(settings.telemetry.registry)
        self._counted = {signal: counter.labels(str(settings.id), signal.value, config.action)
                         for signal in (Signal.TRACES, Signal.LOGS)}

    async def consume(self, batch: Batch) -> None:
        if batch.signal is Signal.TRACES and not batch.decoded:
            index = batch.index()
            redacted, changed = self.redact_trace_bytes(index)
            if redacted:
                batch.replace_data(changed)
        elif batch.signal is Signal.TRACES:
            redacted = self.redact_traces(batch.request)
        elif batch.signal is Signal.LOGS:
            redacted = self.redact_logs(batch.request)
        else:
            redacted = 0
        if redacted:
            self._counted[batch.signal].inc(redacted)
        await self.next.consume(batch)

    def redact_trace_bytes(self, index: wire.TraceIndex) -> tuple[int, bytes]:
        """Redacts an encoded ExportTraceServiceRequest; returns how many values it redacted and the new bytes."""
        redacted = wire.drop_attributes(index, self.rule)
        return redacted.count, redacted.data

    def redact_traces(self, request: Any) -> int:
        """Redacts an ExportTraceServiceRequest in place; returns how many values it redacted."""
        attributes, matcher, total = self.redactor.attributes, self.matcher, 0
        for resource_spans in request.resource_spans:
            total += self._outer(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                total += self._outer(scope_spans.scope.attributes)
                for span in scope_spans.spans:
                    found: list[str] = []
                    attributes(span.attributes, matcher, found)
                    for event in span.events:  # most are chunk events with no attributes: skip the call
                        if event.attributes:
                            attributes(event.attributes, matcher, found)
                    for link in span.links:
                        if link.attributes:
                            attributes(link.attributes, matcher, found)
                    if found:
                        total += self._summarise(span.attributes, found)
        return total

    def redact_logs(self, request: Any) -> int:
        """Redacts an ExportLogsServiceRequest in place; returns how many values it redacted."""
        attributes, matcher, total = self.redactor.attributes, self.matcher, 0
        for resource_logs in request.resource_logs:
            total += self._outer(resource_logs.resource.attributes)
            for scope_logs in resource_logs.scope_logs:
                total += self._outer(scope_logs.scope.attributes)
                for record in scope_logs.log_records:
                    found: list[str] = []
                    attributes(record.attributes, matcher, found)
                    if self.body_fields and record.HasField("body") and _is_genai_event(record):
                        self.redactor.body(record, self.body_fields, found)
                    if found:
                        total += self._summarise(record.attributes, found)
        return total

    def _outer(self, attributes: Any) -> int:
        """Resource and scope attributes: redacted, but summarised on no item."""
        found: list[str] = []
        self.redactor.attributes(attributes, self.matcher, found)
        return len(found)

    def _summarise(self, attributes: Any, found: list[str]) -> int:
        if self.summary:
            for index in reversed(range(len(attributes))):  # a second redaction replaces the first's summary
                if attributes[index].key in (SUMMARY_KEYS, SUMMARY_COUNT):
                    del attributes[index]
            attributes.add(key=SUMMARY_KEYS).value.string_value = ",".join(sorted(set(found)))
            attributes.add(key=SUMMARY_COUNT).value.int_value = len(found)
        return len(found)


def _is_genai_event(record: Any) -> bool:
    if record.event_name:
        return record.event_name.startswith(GENAI_EVENT_PREFIX)
    return any(kv.key == "event.name" and kv.value.string_value.startswith(GENAI_EVENT_PREFIX)
               for kv in record.attributes)
