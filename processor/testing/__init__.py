"""Shared fakes for component tests, as the Collector's consumertest: a sink, a slow sink and a failing consumer."""

from processor.testing.consumers import FailingConsumer, HeldConsumer, SinkConsumer
from processor.testing.settings import create_settings

__all__ = ["FailingConsumer", "HeldConsumer", "SinkConsumer", "create_settings"]
