from __future__ import annotations

from pydantic import field_validator

from processor.config.models import ComponentConfig
from processor.config.types import ComponentID


class StreamzExporterConfig(ComponentConfig):
    #: The id of the streamz extension this exporter feeds (it must be in service.extensions).
    extension: str = "streamz"

    @field_validator("extension")
    @classmethod
    def _component_id(cls, value: str) -> str:
        cid = ComponentID.parse(value)
        if cid.type != "streamz":
            raise ValueError(f'"{value}" is not a streamz extension id (streamz or streamz/name)')
        return str(cid)
