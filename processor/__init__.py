"""tokenstream: an OpenTelemetry-Collector-style stream processor for LLM token-streaming telemetry."""

__version__ = "0.1.0"
