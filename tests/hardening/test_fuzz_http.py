"""What only OTLP/HTTP carries, fuzzed: JSON with wrong types and bad ids, broken gzip, unknown content types,
and a Content-Length that lies about the body (raw HTTP over a socket)."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from processor.receivers.otlp.http_server import CODECS
from tests.hardening import expect
from tests.hardening.conftest import LIMIT_BYTES, examples
from tests.hardening.payloads import encoded_requests
from tests.hardening.payloads_http import broken_gzip, json_bodies, lying_lengths


@examples(fast=150, full=1500)
@given(body=json_bodies())
def test_json_wrong_types_and_bad_ids(fuzz, body):
    fuzz.http(body, expect.json_body(body, LIMIT_BYTES), content_type="application/json")


@examples(fast=100, full=1200)
@given(body=broken_gzip())
def test_broken_gzip(fuzz, body):
    fuzz.http(body, expect.gzipped(body, LIMIT_BYTES), headers={"Content-Encoding": "gzip"})


@examples(fast=30, full=300)
@given(content_type=st.text(string.ascii_letters + string.digits + "/-+.", min_size=1, max_size=40)
       .filter(lambda text: text.lower() not in CODECS), body=encoded_requests)
def test_unsupported_content_type(fuzz, content_type, body):
    fuzz.http(body, 415, content_type=content_type)


@examples(fast=60, full=700)
@given(body_and_length=lying_lengths())
def test_lying_content_length(fuzz, body_and_length):
    """Longer than sent, then the client closes: a clean close (or 400). Shorter: the bytes after the declared
    body (we end them with " junk" and a blank line) are not a request: they get a 400 and the connection is
    closed. The declared prefix is answered as a request of its own, unless it arrived in the same read as the
    junk: aiohttp then answers the junk alone, and the client (which got no 200) keeps its data."""
    body, declared = body_and_length
    head = (f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    if declared > len(body):
        assert fuzz.raw(head + body, half_close=True) in ([], [400])
    else:
        statuses = fuzz.raw(head + body + b" junk\r\n\r\n", half_close=False)
        assert statuses[-1:] == [400], statuses
        assert statuses[:-1] in ([], [expect.protobuf(body[:declared], LIMIT_BYTES)]), statuses
