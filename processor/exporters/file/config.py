from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class RotationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Start a new file when the current one would grow past this size.
    max_megabytes: int = Field(100, gt=0)
    #: Rotated files to keep; older ones are deleted. 0 keeps them all.
    max_backups: int = Field(100, ge=0)


class FileConfig(ComponentConfig):
    path: str = Field(min_length=1)
    #: `spans` (alias `otlp`): the OTLP request of the pipeline's signal, one per line (spans, log records or
    #: metrics); `streams`: one stream record per line; `anomalies`: one anomaly per line.
    kind: Literal["spans", "otlp", "streams", "anomalies"] = "spans"
    #: 0 writes each batch before accepting the next; more buffers lines in memory and writes them this often.
    flush_interval: Duration = 0.0
    rotation: RotationConfig | None = None
