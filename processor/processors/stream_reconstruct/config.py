from __future__ import annotations

from pydantic import Field, field_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration, Size
from processor.conventions import AUTO, KNOWN

ROUTE_KEYS = ("http.route", "gen_ai.route", "llm.route", "url.template")
TENANT_KEYS = ("tenant.id", "gen_ai.tenant.id", "tenant", "enduser.tenant")


class StreamReconstructConfig(ComponentConfig):
    #: Convention adapters to try, by name; `auto` tries them all.
    conventions: list[str] = Field(default_factory=lambda: ["auto"], min_length=1)
    #: How long a trace's pieces are held after its last piece arrived, so later logs and spans are joined.
    wait: Duration = 5.0
    #: Traces held at most; beyond it the oldest is emitted early and counted as evicted.
    max_traces: int = Field(10000, ge=1)
    #: Pieces one trace holds at most (LLM calls, HTTP attempts, log records waiting for their span); beyond it the
    #: trace is emitted early and counted as evicted, so that a trace a client keeps alive cannot grow without end.
    max_trace_pieces: int = Field(1000, ge=1)
    #: All traces' pieces together, in approximate bytes (a waiting log record is kept whole); one trace holds at
    #: most a sixteenth of it. Beyond either, traces are emitted early (that one, else the least recently active),
    #: counted as evicted.
    max_held_bytes: Size = Field(64 << 20, gt=0)
    #: Attributes that give a stream its `route` and `tenant` labels: the first present on the LLM span, else on
    #: its resource. Gateways set these on the span (or through baggage) from the request they serve.
    route_keys: list[str] = Field(default_factory=lambda: list(ROUTE_KEYS))
    tenant_keys: list[str] = Field(default_factory=lambda: list(TENANT_KEYS))

    @field_validator("conventions")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        unknown = [name for name in names if name != AUTO and name not in KNOWN]
        if unknown:
            raise ValueError(f"unknown convention(s) {unknown}; known: {', '.join((AUTO, *KNOWN))}")
        return names
