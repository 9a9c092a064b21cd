"""Strategies for what only OTLP/HTTP carries: JSON bodies with wrong types and bad ids, gzip, broken framing."""

from __future__ import annotations

import gzip
import json

from hypothesis import strategies as st

from processor.model import otlp_json
from tests.hardening.payloads import encoded_requests, trace_requests

_bad_ids = st.one_of(st.text(max_size=40), st.sampled_from(["zz", "0", "0x" + "1" * 30, "1" * 31, "é" * 16, ""]),
                     st.text("0123456789abcdefABCDEF", max_size=40))
_wrong = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=10),
                   st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=5), st.none(), max_size=2),
                   st.just([]), st.just({}), st.just("NaN"), st.just("-1"), st.just("1e400"))


def _paths(node, prefix=()):
    """Every place in a JSON document where a value could be replaced."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replace(document, path, value):
    if not path:
        return value
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return document


@st.composite
def json_bodies(draw) -> bytes:
    """OTLP/JSON of a valid request with 1-3 values replaced: wrong types, nulls, arrays for objects, bad hex ids."""
    document = json.loads(otlp_json.encode(draw(trace_requests())))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(document))))
        id_key = bool(path) and str(path[-1]).endswith("Id")
        replacement = draw(_bad_ids if id_key and draw(st.booleans()) else _wrong)
        document = _replace(document, path, replacement)
    body = json.dumps(document)
    if draw(st.integers(0, 9)) == 0:  # now and then, nest the whole thing very deep (as text: dumps would recurse)
        depth = draw(st.integers(100, 5000))
        body = '{"resourceSpans":[' * depth + body + "]}" * depth
    return body.encode()


@st.composite
def broken_gzip(draw) -> bytes:
    """gzip of a valid request, most often damaged: truncated, bytes changed, junk after it, a bad header."""
    body = gzip.compress(draw(encoded_requests), mtime=0)
    edit = draw(st.sampled_from(["intact", "two_members", "truncate", "flip", "junk", "zeros", "header"]))
    if edit == "two_members":
        return body + gzip.compress(draw(encoded_requests), mtime=0)
    if edit == "truncate":
        return body[:draw(st.integers(0, len(body) - 1))]
    if edit == "flip":
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1:]
    if edit == "junk":
        return body + draw(st.binary(min_size=1, max_size=32))
    if edit == "zeros":
        return body + bytes(draw(st.integers(1, 16)))
    if edit == "header":
        return draw(st.binary(min_size=1, max_size=10)) + body[10:]
    return body


@st.composite
def lying_lengths(draw) -> tuple[bytes, int]:
    """(body, declared Content-Length): declared larger than the body (then we close), or smaller."""
    body = draw(st.one_of(encoded_requests, st.binary(max_size=512)))
    if draw(st.booleans()) or not body:
        return body, len(body) + draw(st.integers(1, 100_000))
    return body, draw(st.integers(0, len(body) - 1))
