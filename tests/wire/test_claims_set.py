"""One scan for several claims (ClaimsSet): the index of the union answers for each member exactly as a scan with
that member alone would, on both backends."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor import wire
from processor.wire import Claims, ClaimsSet
from processor.wire.claims import MAX_MEMBERS, NO_CLAIMS
from tests.wire import generate
from tests.wire.conftest import EXAMPLES as EXAMPLE_COUNT
from tests.wire.conftest import NATIVE, REFERENCE, contents, needs_native
from tests.wire.generate import FEEDBACK_CLAIMS as FEEDBACK
from tests.wire.generate import KEY_CLAIMS as KEYS
from tests.wire.generate import LLM_CLAIMS as LLM
from tests.wire.generate import SCOPE_CLAIMS as SCOPES

EXAMPLES = settings(max_examples=max(20, EXAMPLE_COUNT // 2), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

#: Reads chunk text by other rules than LLM: a set that holds LLM cannot answer for it.
OTHER_TEXT = Claims(key_prefixes=("llm.",), text_event_names=("gen_ai.chunk",), text_keys=("token",))
MEMBERS = (LLM, FEEDBACK, SCOPES, KEYS, OTHER_TEXT)
SETS = st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=len(MEMBERS), unique=True).map(ClaimsSet)
BACKENDS = [backend for backend in (NATIVE, REFERENCE) if backend is not None]


def answers(index) -> dict:
    """A ClaimsSet index's contents, its members' bits and each member's answer (the fuzzer compares them too)."""
    return {"union": contents(index), "members": [list(column) for column in index.member_claims],
            **{str(m): contents(index.for_claims(m)) for m in index.claims_set.members}}


def _answers(backend, data: bytes, claims_set: ClaimsSet) -> dict:
    return answers(backend.scan_traces(data, claims_set))


@EXAMPLES
@given(generate.traces(), SETS)
def test_each_member_reads_as_its_own_scan(data, claims_set):
    for backend in BACKENDS:
        index = backend.scan_traces(data, claims_set)
        assert contents(index) == contents(backend.scan_traces(data, claims_set.union))
        for member in claims_set.members:
            assert contents(index.for_claims(member)) == contents(backend.scan_traces(data, member))
        for member in set(MEMBERS) - set(claims_set.members):
            assert index.for_claims(member) is None  # not registered: the caller scans for it


@needs_native
@EXAMPLES
@given(generate.traces(), SETS)
def test_backends_answer_alike(data, claims_set):
    assert _answers(NATIVE, data, claims_set) == _answers(REFERENCE, data, claims_set)


@settings(max_examples=max(10, EXAMPLE_COUNT // 4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generate.traces(), generate.traces(), SETS)
def test_concat_keeps_the_members_answers(first, second, claims_set):
    for backend in BACKENDS:
        joined = wire.TraceIndex.concat([backend.scan_traces(first, claims_set),
                                         backend.scan_traces(second, claims_set)])
        for member in claims_set.members:
            assert contents(joined.for_claims(member)) == contents(backend.scan_traces(first + second, member))


def test_concat_of_other_sets_answers_only_for_the_union(backend):
    data = generate.build(generate.ExportTraceServiceRequest.DESCRIPTOR, 7)
    joined = wire.TraceIndex.concat([backend.scan_traces(data, ClaimsSet((LLM, FEEDBACK))),
                                     backend.scan_traces(data, ClaimsSet((FEEDBACK, LLM)))])
    assert joined.claims_set is None and joined.for_claims(LLM) is None


def test_the_set_leaves_out_what_one_scan_cannot_answer():
    claims_set = ClaimsSet((NO_CLAIMS, LLM, FEEDBACK, LLM, OTHER_TEXT))
    assert claims_set.members == (LLM, FEEDBACK)
    assert claims_set.union.text_keys == LLM.text_keys and claims_set.union.event_names == ("feedback",)
    # text keys of a member that reads no text do not change how the union reads text
    keys_only = Claims(key_prefixes=("x.",), text_keys=("other",))
    assert ClaimsSet((LLM, keys_only)).union.text_keys == LLM.text_keys
    many = [Claims(keys=(f"k{i}",)) for i in range(MAX_MEMBERS + 2)]
    assert ClaimsSet(many).members == tuple(many[:MAX_MEMBERS])
    assert not ClaimsSet((NO_CLAIMS,))


@pytest.mark.parametrize("members", [(LLM,), (LLM, FEEDBACK)])
def test_a_member_claiming_every_claimed_row_gets_the_index_itself(backend, members):
    """No copy when nothing would differ: an LLM span claimed by the LLM rules only."""
    from bench import payloads

    data = payloads.build("llm", variants=1)[0]
    index = backend.scan_traces(data, ClaimsSet(members))
    assert index.claimed_rows and index.for_claims(LLM) is index
    assert not index.for_claims(members[-1]).claimed_rows or members[-1] is LLM


def _span_of_every_member() -> bytes:
    """One span that LLM (key, chunk text), FEEDBACK (event) and SCOPES (scope) all claim, with other bits each,
    and an HTTP attempt that only LLM claims."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    scope_spans.scope.name = "langchain.chat"
    span = scope_spans.spans.add(trace_id=b"\1" * 16, span_id=b"\2" * 8, name="chat")
    span.attributes.append(KeyValue(key="gen_ai.system", value=AnyValue(string_value="openai")))
    chunk = span.events.add(name="gen_ai.chunk", time_unix_nano=5)
    chunk.attributes.append(KeyValue(key="token", value=AnyValue(string_value="Hel")))
    span.events.add(name="feedback", time_unix_nano=9)
    other = request.resource_spans.add().scope_spans.add()
    other.spans.add(trace_id=b"\1" * 16, span_id=b"\3" * 8, parent_span_id=b"\2" * 8, name="POST /v1",
                    kind=Span.SPAN_KIND_CLIENT)
    return request.SerializeToString()


def test_a_span_several_members_claim_reads_as_each_alone(backend):
    data = _span_of_every_member()
    index = backend.scan_traces(data, ClaimsSet((LLM, FEEDBACK, SCOPES)))
    assert [list(column) for column in index.member_claims] == [
        [wire.CLAIM_KEY, wire.CLAIM_HTTP_CLIENT], [wire.CLAIM_EVENT, 0], [wire.CLAIM_SCOPE, 0]]
    assert index.claimed[0].texts == ["Hel"]
    for member in (LLM, FEEDBACK, SCOPES):
        assert contents(index.for_claims(member)) == contents(backend.scan_traces(data, member))
    assert index.for_claims(FEEDBACK).claimed[0].texts == []
    assert list(index.for_claims(FEEDBACK).claimed_rows) == [0]
