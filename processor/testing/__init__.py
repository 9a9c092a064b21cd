"""Shared fakes for component tests, as the Collector's consumertest: a sink and a failing consumer."""

from processor.testing.consumers import FailingConsumer, SinkConsumer
from processor.testing.settings import create_settings

__all__ = ["FailingConsumer", "SinkConsumer", "create_settings"]
