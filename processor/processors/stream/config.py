"""The `stream` processor's config: how calls are read and held, then one optional section per derivation.

A section left out runs with its defaults; `false` turns it off (e.g. `content_check: false`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from processor.config.hmac_keys import check_hmac_key_env
from processor.config.models import ComponentConfig
from processor.config.types import Duration, Size
from processor.conventions import AUTO, KNOWN
from processor.conventions.common import CHUNK_EVENTS

ROUTE_KEYS = ("http.route", "gen_ai.route", "llm.route", "url.template")
TENANT_KEYS = ("tenant.id", "gen_ai.tenant.id", "tenant", "enduser.tenant")
#: Attributes of a chunk event or chunk log record that hold the chunk's text, first found wins. `token` is
#: LangChain's `new_token` payload; the others are what gateways and newer emitters write.
TEXT_KEYS = ("gen_ai.completion.chunk", "gen_ai.completion.delta", "gen_ai.chunk.text", "gen_ai.completion",
             "token", "content")
#: What a user without a key can do instead, as the missing key's error says.
WITHOUT_KEY = "leave hash_key_env out for unkeyed SHA-256 fingerprints"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class CadenceSection(Section):
    #: A gap between two chunks at least this long is a stall.
    stall_gap: Duration = 2.0
    #: When set, a gap at least this many times the stream's median gap is a stall too.
    stall_factor: float | None = Field(None, gt=0)


class RetriesSection(Section):
    #: A call that starts within this time of a failed one (same parent, operation and model) retries it.
    window: Duration = 60.0
    #: Attributes that mark a retry; a retry that carries none of them is an unmarked retry.
    markers: list[str] = Field(default_factory=lambda: ["http.request.resend_count"])


class TruncationSection(Section):
    """No settings: the outcome follows from what the span tells (processor.stream.outcome)."""


class Price(Section):
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class CostSection(Section):
    #: `provider/model` -> USD per million input and output tokens; `provider/*` prices every other model.
    prices: dict[str, Price] = Field(default_factory=dict)

    @field_validator("prices")
    @classmethod
    def _keys_name_a_provider(cls, prices: dict[str, Price]) -> dict[str, Price]:
        bad = [key for key in prices if "/" not in key or key.startswith("/") or key.endswith("/")]
        if bad:
            raise ValueError(f"price keys must be provider/model (e.g. openai/gpt-4o-mini or openai/*): {bad}")
        return prices


class ContentCheckSection(Section):
    #: Span event names that stand for one streamed chunk; those carrying text rebuild the completion.
    chunk_events: list[str] = Field(default_factory=lambda: list(CHUNK_EVENTS))
    #: Log record event names that stand for one streamed chunk (text in the body or in `text_keys`).
    chunk_log_events: list[str] = Field(default_factory=lambda: list(CHUNK_EVENTS))
    text_keys: list[str] = Field(default_factory=lambda: list(TEXT_KEYS), min_length=1)
    #: Name of an environment variable holding an HMAC key (16 characters or more): the fingerprints in an anomaly's
    #: detail are then HMAC-SHA256 instead of SHA-256 (a guessed short completion cannot be confirmed without the
    #: key). Named but unset, empty or short, the config is refused, as redaction's is.
    hash_key_env: str = ""
    #: Streams whose chunk log records are held, at most, until their record is checked (oldest dropped first).
    max_pending: int = Field(10000, ge=1)

    @field_validator("hash_key_env")
    @classmethod
    def _key_set_when_named(cls, name: str) -> str:
        return check_hmac_key_env(name, otherwise=WITHOUT_KEY) if name else name

    @field_validator("chunk_events", "chunk_log_events", "text_keys")
    @classmethod
    def _no_empty_names(cls, names: list[str]) -> list[str]:
        if any(not name for name in names):
            raise ValueError("names must not be empty")
        return names


SECTIONS = ("cadence", "retries", "truncation", "cost", "content_check")


class StreamConfig(ComponentConfig):
    #: Convention adapters to try, by name; `auto` tries them all.
    conventions: list[str] = Field(default_factory=lambda: [AUTO], min_length=1)
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
    #: TTFT, TPOT, gap percentiles, stalls and throughput (processor.stream.cadence_math).
    cadence: CadenceSection | None = CadenceSection()
    #: Retries after partial output (app level) and inside one call (SDK level) (processor.stream.retries).
    retries: RetriesSection | None = RetriesSection()
    #: `outcome` and `truncation_reason`, with truncation and abort anomalies (processor.stream.outcome).
    truncation: TruncationSection | None = TruncationSection()
    #: `cost_usd` from the price table, when input and output tokens are known.
    cost: CostSection | None = CostSection()
    #: The text rebuilt from chunks compared with the recorded completion; a mismatch is an anomaly (offsets and
    #: fingerprints only, never text).
    content_check: ContentCheckSection | None = ContentCheckSection()

    @field_validator("conventions")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        unknown = [name for name in names if name != AUTO and name not in KNOWN]
        if unknown:
            raise ValueError(f"unknown convention(s) {unknown}; known: {', '.join((AUTO, *KNOWN))}")
        return names

    @field_validator(*SECTIONS, mode="before")
    @classmethod
    def _false_turns_off(cls, value: Any) -> Any:
        """`false` turns a section off; a section named without settings (`cadence:`) or `true` runs its defaults."""
        if value is False:
            return None
        return {} if value is None or value is True else value
