"""A recording component, registered next to the real ones as type `rec` of every kind, to drive the graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from processor.component import ComponentBase, Factory, Kind
from processor.config.models import ComponentConfig
from processor.service import registry

if TYPE_CHECKING:  # a runtime package: pytest is the tests' own dependency
    import pytest


class Events(list):
    """What recorders did, in order: ("start", "exporter/rec"), ("consume", "processor/rec/p1"), ..."""


EVENTS = Events()


class TagConfig(ComponentConfig):
    tag: str = "x"
    mutate: bool = False


class Recorder(ComponentBase):
    def __init__(self, settings, config, next_consumer):
        self.name = f"{settings.kind.value}/{settings.id}"
        self.config = config
        self.next = next_consumer
        self.mutates_data = config.mutate
        self.seen: list = []

    async def start(self, host):
        EVENTS.append(("start", self.name))

    async def shutdown(self):
        EVENTS.append(("shutdown", self.name))

    async def consume(self, batch):
        EVENTS.append(("consume", self.name))
        self.seen.append(batch)
        if self.config.mutate:
            batch.request.resource_spans[0].resource.attributes.add(key="tag").value.string_value = self.config.tag
        if self.next is not None:
            await self.next.consume(batch)


def _factory(kind: Kind) -> Factory:
    return Factory(type="rec", kind=kind, config_model=TagConfig, create=Recorder, description="test recorder")


def register_recorders(monkeypatch: pytest.MonkeyPatch) -> Events:
    """For the rest of the test the registry holds type `rec` of every kind, and the `debug` exporter, only:
    tests of the framework then do not depend on which real components exist. Returns the event log."""
    from processor.exporters.debug import factory as debug

    patched = {kind: {"rec": _factory(kind)} for kind in Kind}
    patched[Kind.EXPORTER]["debug"] = debug
    monkeypatch.setattr(registry, "factories", lambda: patched)
    EVENTS.clear()
    return EVENTS
