"""What is alive once the service has started stays out of the garbage collector's generations while it runs, and
young collections are rarer; both are undone at shutdown."""

from __future__ import annotations

import gc
import weakref

import yaml

from processor.config.validate import validate
from processor.service.service import Service

PIPELINE = """
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:0}
exporters:
  debug: {}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
"""


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


async def test_startup_objects_are_frozen_while_running_and_startup_garbage_is_freed_first():
    service = Service(validate(yaml.safe_load(PIPELINE)))
    thresholds = gc.get_threshold()
    garbage, kept = _Node(), _Node()
    gone = weakref.ref(garbage)
    del garbage
    await service.start()
    try:
        assert gone() is None, "garbage from before the start is collected, not frozen"
        assert gc.get_freeze_count() > 0
        assert not any(obj is kept for obj in gc.get_objects()), "a live startup object is out of the generations"
        assert gc.get_threshold()[0] >= 10_000, "young collections are rarer than CPython's default"
    finally:
        assert await service.shutdown()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
    assert any(obj is kept for obj in gc.get_objects())
