"""Helpers for the redaction tests: real captures (fixtures/realclients, the `normal` scenario of each
instrumentation) and the content they carry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from processor.component import Kind
from processor.model.batch import REQUEST_TYPES, Batch, Signal
from processor.processors.redaction import factory
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings

DATA = Path(__file__).parent / "data"

#: The request every capture's app sent (the capture harness's messages) and the header OpenLLMetry leaks.
REQUEST_TEXTS = ("You are a terse assistant.", "Explain token streaming in one paragraph.", "X-Fake-Config")


def _completion_chunks() -> list[str]:
    events = [json.loads(line) for line in (DATA / "client-events-tl-normal.jsonl").read_text().splitlines()]
    return [e["content"] for e in events if e["event"] == "chunk_received" and e["content"]]


CHUNKS = _completion_chunks()
#: Every text that must not survive: the prompts, the whole completion, and each chunk of 4+ characters as the
#: app received it (shorter ones, " a", " ,", also occur in unrelated bytes).
CONTENT_TEXTS = tuple(dict.fromkeys((*REQUEST_TEXTS, "".join(CHUNKS), *(chunk for chunk in CHUNKS if len(chunk) >= 4))))


@dataclass(frozen=True)
class Capture:
    name: str  # e.g. traces-oi-001
    signal: Signal
    data: bytes

    def batch(self) -> Batch:
        request = REQUEST_TYPES[self.signal]()
        request.ParseFromString(self.data)
        return Batch(self.signal, request)


def load_captures() -> list[Capture]:
    found = []
    for path in sorted(DATA.glob("*.pb")):
        signal = Signal.TRACES if path.name.startswith("traces-") else Signal.LOGS
        found.append(Capture(path.stem, signal, path.read_bytes()))
    return found


CAPTURES = load_captures()


def content_in(data: bytes) -> list[str]:
    return [text for text in CONTENT_TEXTS if text.encode() in data]


def make_processor(sink: SinkConsumer | None = None, *, telemetry: SelfTelemetry | None = None, **config):
    """A redaction processor on `config`, feeding `sink` (a new SinkConsumer when None)."""
    settings = create_settings("redaction", Kind.PROCESSOR, pipeline="traces", telemetry=telemetry)
    return factory.create(settings, factory.config_model.model_validate(config), sink or SinkConsumer())


async def redact(batch: Batch, **config) -> Batch:
    sink = SinkConsumer()
    await make_processor(sink, **config).consume(batch)
    assert len(sink.batches) == 1
    return sink.batches[0]


HASH_ENV = "TOKENSTREAM_TEST_REDACTION_KEY"
HASH_KEY = "test-key-0123456789abcdef"
