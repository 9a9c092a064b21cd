from __future__ import annotations

import logging

from processor.component import CreateSettings, Kind
from processor.config.types import ComponentID
from processor.model.batch import Signal
from processor.service.telemetry import SelfTelemetry


def create_settings(id_: str, kind: Kind, *, signals=tuple(Signal), telemetry: SelfTelemetry | None = None,
                    shared: dict | None = None, pipeline: str = "") -> CreateSettings:
    """CreateSettings for a component built by hand in a test."""
    cid = ComponentID.parse(id_)
    return CreateSettings(cid, kind, logging.getLogger(f"test.{kind.value}.{cid}"), telemetry or SelfTelemetry(),
                          frozenset(signals), pipeline, {} if shared is None else shared)
