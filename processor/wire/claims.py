"""What makes the scanner read a span or a log record fully: the rules the convention adapters register.

An ordinary span (HTTP, DB, the app's own) matches no rule and costs the scanner only its ids and offsets. A span
that matches any rule is "claimed": its attributes, status message and events are read into a `ClaimedSpan`.
Each row's `claim` column says which rules matched (the `CLAIM_*` bits), so a reader can tell an LLM span from an
HTTP attempt without looking again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

#: A span attribute key starts with one of `Claims.key_prefixes` or is one of `Claims.keys`.
CLAIM_KEY = 1
#: The span's scope name is one of `Claims.scope_names` or starts with one of `Claims.scope_prefixes`.
CLAIM_SCOPE = 2
#: `Claims.http_client`: a CLIENT span with a parent whose name's first word is an HTTP method (retry detection).
CLAIM_HTTP_CLIENT = 4
#: One of the span's events is named in `Claims.event_names` (e.g. user feedback events).
CLAIM_EVENT = 8
#: A log record's event name starts with one of `Claims.log_event_prefixes` or is in `Claims.log_event_names`.
CLAIM_LOG_EVENT = 16

#: The first word of a span name that makes it an HTTP client attempt, as retry detection reads it.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE")


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    """Deduplicated, sorted: two Claims with the same rules compare (and hash) equal."""
    return tuple(sorted(set(values)))


@dataclass(frozen=True, slots=True)
class Claims:
    """The rules, as plain strings; both backends read the same instance. Every field is optional."""

    key_prefixes: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    scope_names: tuple[str, ...] = ()
    scope_prefixes: tuple[str, ...] = ()
    http_client: bool = False
    event_names: tuple[str, ...] = ()
    #: Events (of claimed spans) whose text is taken, and the attribute keys it may be under, best first.
    text_event_names: tuple[str, ...] = ()
    text_keys: tuple[str, ...] = ()
    log_event_prefixes: tuple[str, ...] = ()
    log_event_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("key_prefixes", "keys", "scope_names", "scope_prefixes", "event_names", "text_event_names",
                     "log_event_prefixes", "log_event_names"):
            values = getattr(self, name)
            if isinstance(values, str):
                raise TypeError(f"Claims.{name} takes a list of strings, not one string: {values!r}")
            object.__setattr__(self, name, _strings(values))
        if isinstance(self.text_keys, str):
            raise TypeError(f"Claims.text_keys takes a list of strings, not one string: {self.text_keys!r}")
        object.__setattr__(self, "text_keys", tuple(dict.fromkeys(self.text_keys)))  # order matters: best first

    def union(self, other: Claims) -> Claims:
        """Both sets of rules: what the scanner is given when several components register theirs."""
        return Claims(
            key_prefixes=self.key_prefixes + other.key_prefixes, keys=self.keys + other.keys,
            scope_names=self.scope_names + other.scope_names, scope_prefixes=self.scope_prefixes + other.scope_prefixes,
            http_client=self.http_client or other.http_client, event_names=self.event_names + other.event_names,
            text_event_names=self.text_event_names + other.text_event_names,
            text_keys=self.text_keys + other.text_keys,
            log_event_prefixes=self.log_event_prefixes + other.log_event_prefixes,
            log_event_names=self.log_event_names + other.log_event_names)


#: Nothing claimed: the cheapest scan, for bytes whose spans need only ids and offsets (e.g. after a writer).
NO_CLAIMS = Claims()


#: The most claims one scan answers for separately (a byte per member and claimed row in the native scan).
MAX_MEMBERS = 8


def reads_text(claims: Claims) -> bool:
    """Whether a scan with `claims` reads the text of chunk events (both rules are needed for any)."""
    return bool(claims.text_event_names and claims.text_keys)


@dataclass(frozen=True, slots=True)
class ClaimsSet:
    """The claims a pipeline's components ask of each batch of bytes, known when the pipeline is built: the
    receiver scans once with their `union`, and the index records which members claimed each claimed row, so that
    it answers `Batch.index(member)` as a scan with that member alone would, without scanning again.

    Members are deduplicated and NO_CLAIMS is left out (any index answers it). A member that reads chunk text with
    rules other than the first such member's is left out too, as are members past MAX_MEMBERS: a claimed span's
    texts are read once, by the union's rules, and must be what the member's own scan would read; a claims left
    out is scanned for on its own when asked, as any unregistered claims."""

    members: tuple[Claims, ...] = ()
    #: What the receiver scans with: every member's rules, and the chunk text rules of the member that reads text.
    union: Claims = field(init=False, compare=False)

    def __post_init__(self) -> None:
        kept: list[Claims] = []
        text_rules: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        for claims in dict.fromkeys(self.members):
            if claims == NO_CLAIMS or len(kept) == MAX_MEMBERS:
                continue
            if reads_text(claims):
                rules = (claims.text_event_names, claims.text_keys)
                if text_rules != ((), ()) and rules != text_rules:
                    continue
                text_rules = rules
            kept.append(claims)
        union = NO_CLAIMS
        for claims in kept:
            union = union.union(replace(claims, text_event_names=(), text_keys=()))
        object.__setattr__(self, "members", tuple(kept))
        object.__setattr__(self, "union", replace(union, text_event_names=text_rules[0], text_keys=text_rules[1]))

    def __bool__(self) -> bool:
        return bool(self.members)


#: No component asks for claims: the receiver scans with NO_CLAIMS.
NO_MEMBERS = ClaimsSet()
