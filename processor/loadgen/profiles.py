"""What each generated stream does: its labels, timing, text and ending, drawn per profile; and what the user
does after it (feedback, a reconnect after a broken stream)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: provider -> {model: weight}; and the weights of providers and routes: traffic is uneven, as in production.
PROVIDERS = {
    "openai": {"gpt-4o-mini": 0.5, "gpt-4.1": 0.5},
    "anthropic": {"claude-sonnet-4": 0.5, "claude-haiku-4": 0.5},
    "vllm": {"llama-3.1-70b-instruct": 1.0},
}
PROVIDER_WEIGHTS = {"openai": 0.5, "anthropic": 0.35, "vllm": 0.15}
ROUTES = {"/v1/chat": 0.35, "/v1/assist": 0.35, "/v1/summarize": 0.15, "/v1/search": 0.15}
TENANTS = ["acme", "globex", "initech", "umbrella"]
#: How each model feels: (median time to first token in s, median gap between chunks in s).
FEEL = {"gpt-4o-mini": (0.35, 0.02), "gpt-4.1": (0.6, 0.03), "claude-sonnet-4": (0.7, 0.03),
        "claude-haiku-4": (0.3, 0.015), "llama-3.1-70b-instruct": (0.25, 0.04)}
#: The route and model that is sometimes slow to start (a cold pool behind it): about 1 in 11 streams of the
#: mixed profile, a quarter of them 2.5-6 s to first token, so its p95 breaches a 2 s SLO within half a minute.
SLOW = ("/v1/assist", "gpt-4.1")
SLOW_SHARE = 0.25
WORDS = ("the", "stream", "token", "model", "answer", "user", "chunk", "route", "latency", "first", "result",
         "request", "response", "context", "summary", "search", "data", "value", "fast", "slow")

#: Endings: `stop` and `length` are finish reasons; `cutoff` is a clean EOF with no finish chunk and no usage;
#: `abort` fails after some chunks; `error` fails before any; `retry` is an abort retried by the app, which succeeds.
#: `reconnect` is not drawn: it is the user's new stream in the session of a broken one (see `reconnect_after`).
KINDS = ("normal", "stall", "length", "content_filter", "cutoff", "abort", "error", "retry", "reconnect")
PROFILES: dict[str, dict[str, float]] = {
    "normal": {"normal": 1.0},
    "stalls": {"normal": 0.5, "stall": 0.5},
    "truncations": {"normal": 0.4, "length": 0.25, "cutoff": 0.25, "content_filter": 0.1},
    "retries": {"normal": 0.5, "retry": 0.5},
    "mixed": {"normal": 0.62, "stall": 0.1, "length": 0.06, "cutoff": 0.05, "content_filter": 0.02, "abort": 0.06,
              "error": 0.03, "retry": 0.06},
}
#: Of the retries, the share whose retry kept the broken attempt's chunks in the same span: the first chunks
#: appear twice in the chunk text (stream's content_check: `content_mismatch`).
DUPLICATING_RETRY_SHARE = 0.3
#: Chance that the user comes back in the same session after a broken stream of this kind.
RECONNECT_CHANCE = {"abort": 0.6, "cutoff": 0.6, "length": 0.3, "content_filter": 0.3}
#: Chance of feedback on a stream, and of it being thumbs-down, by how the stream felt.
FEEDBACK_CHANCE = 0.3
DOWN_CHANCE = {"normal": 0.1, "reconnect": 0.2, "retry": 0.4, "stall": 0.6, "slow": 0.6, "length": 0.5,
               "content_filter": 0.5, "cutoff": 0.7, "abort": 0.8, "error": 0.9}


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
    #: The text of each content chunk, in order.
    words: list[str] = field(default_factory=list)
    #: For a retry: how many chunks of the broken attempt its retried span repeats first (0: none).
    duplicated_chunks: int = 0

    @property
    def slow_start(self) -> bool:
        return self.ttft_s > 2.0


def draw(profile: str, rng: random.Random) -> StreamPlan:
    weights = PROFILES[profile]
    kind = rng.choices(list(weights), list(weights.values()))[0]
    provider = _pick(PROVIDER_WEIGHTS, rng)
    model = _pick(PROVIDERS[provider], rng)
    route = _pick(ROUTES, rng)
    plan = StreamPlan(kind=kind, provider=provider, model=model, route=route, tenant=rng.choice(TENANTS),
                      session=f"sess-{rng.randrange(1_000_000):06d}", ttft_s=0.0, gap_s=0.0, content_chunks=0)
    _feel(plan, rng)
    if kind == "stall":
        plan.stalls = [(rng.randint(2, plan.content_chunks - 2), rng.uniform(2.5, 6.0))
                       for _ in range(rng.choice((1, 1, 2)))]
    if kind == "retry" and rng.random() < DUPLICATING_RETRY_SHARE:
        plan.duplicated_chunks = rng.randint(2, max(2, plan.content_chunks // 3))
    return plan


def reconnect_after(plan: StreamPlan, rng: random.Random) -> StreamPlan | None:
    """The user's next stream in the same session after a broken one, or None when they do not come back."""
    if rng.random() >= RECONNECT_CHANCE.get(plan.kind, 0.0):
        return None
    again = StreamPlan(kind="reconnect", provider=plan.provider, model=plan.model, route=plan.route,
                       tenant=plan.tenant, session=plan.session, ttft_s=0.0, gap_s=0.0, content_chunks=0)
    _feel(again, rng)
    return again


def feedback_verdict(plan: StreamPlan, rng: random.Random) -> str | None:
    """`up`, `down`, or None when the user leaves none; bad experiences get more thumbs-down."""
    if rng.random() >= FEEDBACK_CHANCE:
        return None
    down = DOWN_CHANCE["slow"] if plan.slow_start and plan.kind == "normal" else DOWN_CHANCE.get(plan.kind, 0.2)
    return "down" if rng.random() < down else "up"


def _feel(plan: StreamPlan, rng: random.Random) -> None:
    ttft, gap = FEEL[plan.model]
    plan.ttft_s = rng.lognormvariate(0, 0.35) * ttft
    if (plan.route, plan.model) == SLOW and rng.random() < SLOW_SHARE:
        plan.ttft_s = rng.uniform(2.5, 6.0)
    plan.gap_s = rng.lognormvariate(0, 0.25) * gap
    plan.content_chunks = rng.randint(20, 120)
    plan.input_tokens = rng.randint(20, 2000)
    plan.words = [(" " if i else "") + rng.choice(WORDS) for i in range(plan.content_chunks)]


def _pick(weights: dict[str, float], rng: random.Random) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]
