"""The registry of component factories, by kind and type name.

Each component lives in its own package, `processor/<kind>s/<type>/`, whose `__init__.py` exposes
`factory`. Adding a component is adding a folder: nothing here needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from processor.component import Factory, Kind

_PACKAGES = {
    Kind.RECEIVER: "processor.receivers",
    Kind.PROCESSOR: "processor.processors",
    Kind.EXPORTER: "processor.exporters",
    Kind.EXTENSION: "processor.extensions",
    Kind.CONNECTOR: "processor.connectors",
}


@cache
def factories() -> dict[Kind, dict[str, Factory]]:
    found: dict[Kind, dict[str, Factory]] = {kind: {} for kind in Kind}
    for kind, package_name in _PACKAGES.items():
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.ispkg:
                continue
            factory = getattr(importlib.import_module(f"{package_name}.{module.name}"), "factory", None)
            if factory is None:
                continue
            if not isinstance(factory, Factory) or factory.kind is not kind:
                raise TypeError(f"{package_name}.{module.name}.factory is not a {kind.value} Factory")
            found[kind][factory.type] = factory
    return found


def get(kind: Kind, type_: str) -> Factory | None:
    return factories()[kind].get(type_)
