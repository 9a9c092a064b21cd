"""What each generated stream does: its labels, timing and ending, drawn per profile."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

PROVIDERS = {
    "openai": ["gpt-4o-mini", "gpt-4.1"],
    "anthropic": ["claude-sonnet-4", "claude-haiku-4"],
    "vllm": ["llama-3.1-70b-instruct"],
}
ROUTES = ["/v1/chat", "/v1/assist", "/v1/summarize", "/v1/search"]
TENANTS = ["acme", "globex", "initech", "umbrella"]
#: How each model feels: (median time to first token in s, median gap between chunks in s).
FEEL = {"gpt-4o-mini": (0.35, 0.02), "gpt-4.1": (0.6, 0.03), "claude-sonnet-4": (0.7, 0.03),
        "claude-haiku-4": (0.3, 0.015), "llama-3.1-70b-instruct": (0.25, 0.04)}

#: Endings: `stop` and `length` are finish reasons; `cutoff` is a clean EOF with no finish chunk and no usage;
#: `abort` fails after some chunks; `error` fails before any; `retry` is an abort retried by the app, which succeeds.
KINDS = ("normal", "stall", "length", "content_filter", "cutoff", "abort", "error", "retry")
PROFILES: dict[str, dict[str, float]] = {
    "normal": {"normal": 1.0},
    "stalls": {"normal": 0.5, "stall": 0.5},
    "truncations": {"normal": 0.4, "length": 0.25, "cutoff": 0.25, "content_filter": 0.1},
    "retries": {"normal": 0.5, "retry": 0.5},
    "mixed": {"normal": 0.62, "stall": 0.1, "length": 0.06, "cutoff": 0.05, "content_filter": 0.02, "abort": 0.06,
              "error": 0.03, "retry": 0.06},
}


@dataclass
class StreamPlan:
    kind: str
    provider: str
    model: str
    route: str
    tenant: str
    session: str
    ttft_s: float
    gap_s: float
    content_chunks: int
    #: (after which content chunk, extra seconds of silence)
    stalls: list[tuple[int, float]] = field(default_factory=list)
    input_tokens: int = 0


def draw(profile: str, rng: random.Random) -> StreamPlan:
    weights = PROFILES[profile]
    kind = rng.choices(list(weights), list(weights.values()))[0]
    provider = rng.choice(list(PROVIDERS))
    model = rng.choice(PROVIDERS[provider])
    ttft, gap = FEEL[model]
    plan = StreamPlan(kind=kind, provider=provider, model=model, route=rng.choice(ROUTES), tenant=rng.choice(TENANTS),
                      session=f"sess-{rng.randrange(1_000_000):06d}", ttft_s=rng.lognormvariate(0, 0.35) * ttft,
                      gap_s=rng.lognormvariate(0, 0.25) * gap, content_chunks=rng.randint(20, 120),
                      input_tokens=rng.randint(20, 2000))
    if kind == "stall":
        plan.stalls = [(rng.randint(2, plan.content_chunks - 2), rng.uniform(2.5, 6.0))
                       for _ in range(rng.choice((1, 1, 2)))]
    return plan
