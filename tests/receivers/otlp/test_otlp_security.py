"""Bearer-token auth (inline, env, file with rotation) and TLS/mTLS on both transports."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl

import aiohttp
import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.receivers.otlp.otlp_helpers import (
    good_span,
    grpc_export,
    in_thread,
    post,
    sdk_spans,
    sink_routes,
    trace_request,
)

GOOD = trace_request(good_span())


def _both(**extra) -> dict:
    return {"grpc": {"endpoint": "127.0.0.1:0", **extra}, "http": {"endpoint": "127.0.0.1:0", **extra}}


async def _grpc_code(port: int, token: str | None, credentials=None) -> grpc.StatusCode:
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
    try:
        await grpc_export(port, GOOD, metadata=metadata, credentials=credentials)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _http_status(port: int, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    status, response_headers, _ = await post(port, "/v1/traces", GOOD.SerializeToString(), headers=headers)
    if status == 401:
        assert response_headers["WWW-Authenticate"] == "Bearer"
    return status


async def test_inline_token_on_both_transports(start_receiver, sink):
    receiver = await start_receiver(_both(auth={"bearer_token": "s3cret"}), sink_routes(sink))
    assert await _grpc_code(receiver.grpc_port, None) is grpc.StatusCode.UNAUTHENTICATED
    assert await _grpc_code(receiver.grpc_port, "wrong") is grpc.StatusCode.UNAUTHENTICATED
    assert await _http_status(receiver.http_port, None) == 401
    assert await _http_status(receiver.http_port, "wrong") == 401
    assert sink.batches == []
    assert await _grpc_code(receiver.grpc_port, "s3cret") is grpc.StatusCode.OK
    assert await _http_status(receiver.http_port, "s3cret") == 200
    assert sink.item_count == 2


async def test_sdk_exporters_send_the_token_as_headers(start_receiver, sink):
    receiver = await start_receiver(_both(auth={"bearer_token": "s3cret"}), sink_routes(sink))
    spans = sdk_spans()
    headers = {"authorization": "Bearer s3cret"}
    grpc_exporter = GrpcSpanExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, headers=headers,
                                     timeout=10)
    http_exporter = HttpSpanExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", headers=headers,
                                     timeout=10)
    try:
        assert await in_thread(grpc_exporter.export, spans) is SpanExportResult.SUCCESS
        assert await in_thread(http_exporter.export, spans) is SpanExportResult.SUCCESS
    finally:
        grpc_exporter.shutdown()
        http_exporter.shutdown()
    assert sink.item_count == 2 * len(spans)


async def test_token_from_environment(start_receiver, sink, monkeypatch):
    monkeypatch.setenv("OTLP_TEST_TOKEN", "from-env")
    receiver = await start_receiver(_both(auth={"bearer_token_env": "OTLP_TEST_TOKEN"}), sink_routes(sink))
    assert await _http_status(receiver.http_port, "from-env") == 200
    assert await _grpc_code(receiver.grpc_port, "other") is grpc.StatusCode.UNAUTHENTICATED


async def test_missing_environment_token_fails_start(start_receiver, monkeypatch):
    monkeypatch.delenv("OTLP_TEST_TOKEN", raising=False)
    with pytest.raises(RuntimeError, match="OTLP_TEST_TOKEN"):
        await start_receiver(_both(auth={"bearer_token_env": "OTLP_TEST_TOKEN"}))


async def test_token_file_rotation_needs_no_restart(start_receiver, sink, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    receiver = await start_receiver(_both(auth={"bearer_token_file": str(token_file)}), sink_routes(sink))
    assert await _grpc_code(receiver.grpc_port, "first") is grpc.StatusCode.OK
    assert await _http_status(receiver.http_port, "first") == 200

    token_file.write_text("second\n")
    stat = token_file.stat()  # make the change visible even on a filesystem with coarse mtimes
    os.utime(token_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert await _grpc_code(receiver.grpc_port, "first") is grpc.StatusCode.UNAUTHENTICATED
    assert await _http_status(receiver.http_port, "first") == 401
    assert await _grpc_code(receiver.grpc_port, "second") is grpc.StatusCode.OK
    assert await _http_status(receiver.http_port, "second") == 200


def _tls(pki, *, mutual: bool) -> dict:
    tls = {"cert_file": str(pki.server_cert), "key_file": str(pki.server_key)}
    return {**tls, "client_ca_file": str(pki.ca)} if mutual else tls


def _client_ssl(pki, *, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if with_cert:
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    return context


def _grpc_credentials(pki, *, with_cert: bool) -> grpc.ChannelCredentials:
    client = (pki.client_key.read_bytes(), pki.client_cert.read_bytes()) if with_cert else (None, None)
    return grpc.ssl_channel_credentials(pki.ca.read_bytes(), *client)


async def _https_status(port: int, context: ssl.SSLContext) -> int:
    status, _, _ = await post(port, "/v1/traces", GOOD.SerializeToString(), scheme="https", ssl=context)
    return status


async def test_tls_on_both_transports(start_receiver, sink, pki, monkeypatch):
    # requests lets these variables override the exporter's own certificate_file (session.verify).
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    receiver = await start_receiver(_both(tls=_tls(pki, mutual=False)), sink_routes(sink))
    assert await _grpc_code(receiver.grpc_port, None, _grpc_credentials(pki, with_cert=False)) is grpc.StatusCode.OK
    assert await _https_status(receiver.http_port, _client_ssl(pki, with_cert=False)) == 200
    assert await _grpc_code(receiver.grpc_port, None) is grpc.StatusCode.UNAVAILABLE  # plaintext client
    with pytest.raises(aiohttp.ClientError):
        await post(receiver.http_port, "/v1/traces", GOOD.SerializeToString())
    http_exporter = HttpSpanExporter(endpoint=f"https://127.0.0.1:{receiver.http_port}/v1/traces",
                                     certificate_file=str(pki.ca), timeout=10)
    try:
        assert await in_thread(http_exporter.export, sdk_spans()) is SpanExportResult.SUCCESS
    finally:
        http_exporter.shutdown()
    assert sink.item_count == 4


async def test_mutual_tls_requires_a_client_certificate(start_receiver, sink, pki):
    receiver = await start_receiver(_both(tls=_tls(pki, mutual=True)), sink_routes(sink))
    without = await _grpc_code(receiver.grpc_port, None, _grpc_credentials(pki, with_cert=False))
    assert without is grpc.StatusCode.UNAVAILABLE
    with pytest.raises(aiohttp.ClientError):
        await _https_status(receiver.http_port, _client_ssl(pki, with_cert=False))
    assert sink.batches == []
    assert await _grpc_code(receiver.grpc_port, None, _grpc_credentials(pki, with_cert=True)) is grpc.StatusCode.OK
    assert await _https_status(receiver.http_port, _client_ssl(pki, with_cert=True)) == 200
    grpc_exporter = GrpcSpanExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", timeout=10,
                                     credentials=_grpc_credentials(pki, with_cert=True))
    try:
        assert await in_thread(grpc_exporter.export, sdk_spans()) is SpanExportResult.SUCCESS
    finally:
        grpc_exporter.shutdown()
    assert sink.item_count == 4


@pytest.mark.parametrize("protocol", ["grpc", "http"])
async def test_missing_certificate_file_fails_start_naming_it(start_receiver, pki, tmp_path, protocol):
    tls = {"cert_file": str(pki.server_cert), "key_file": str(tmp_path / "nope.pem")}
    with pytest.raises(RuntimeError, match="key_file .*nope.pem does not exist"):
        await start_receiver({protocol: {"endpoint": "127.0.0.1:0", "tls": tls}})


async def _raw_post(port: int, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
    """A POST whose header bytes go out exactly as given (an HTTP client library would refuse to send some)."""
    if b"Content-Type" not in dict(headers):
        headers = [(b"Content-Type", b"application/x-protobuf"), *headers]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n" + head + b"\r\n" + body)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(("auth", "header", "value", "status", "says"), [
    ({"bearer_token": "s3cret"}, b"Authorization", b"Bearer s3\xffcret", 401, "bearer token"),
    ({"bearer_token": "s3cret"}, b"Authorization", b"\xc3\x28 \xa0\xa1", 401, "bearer token"),
    (None, b"Content-Encoding", b"gz\xffip", 400, "Content-Encoding"),
    ({"bearer_token": "s3cret"}, b"Content-Encoding", b"\xe2\x82", 400, "Content-Encoding"),
    (None, b"Content-Type", b"application/\xffjson", 415, "content type"),
])
async def test_header_bytes_that_are_not_utf8_are_refused_clearly_not_a_server_error(
        start_receiver, sink, caplog, auth, header, value, status, says):
    """No token is needed to send them: they must get 401/400 with a message, never a 500 and a traceback."""
    http = {"endpoint": "127.0.0.1:0", **({"auth": auth} if auth else {})}
    receiver = await start_receiver({"http": http}, sink_routes(sink))
    headers = [(header, value)]
    if header != b"Authorization" and auth:
        headers.append((b"Authorization", b"Bearer s3cret"))
    with caplog.at_level(logging.WARNING):
        code, body = await _raw_post(receiver.http_port, headers, GOOD.SerializeToString())
    assert code == status, body
    message = body.decode() if status == 415 else status_pb2.Status.FromString(body).message
    assert says in message, message
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    code, _ = await _raw_post(receiver.http_port, [(b"Authorization", b"Bearer s3cret")], GOOD.SerializeToString())
    assert code == 200 and sink.item_count == 1  # and the next request is taken


async def test_an_authorization_header_with_non_utf8_bytes_is_ignored_when_auth_is_off(start_receiver, sink):
    receiver = await start_receiver({"http": {"endpoint": "127.0.0.1:0"}}, sink_routes(sink))
    code, _ = await _raw_post(receiver.http_port, [(b"Authorization", b"Bearer \xff")], GOOD.SerializeToString())
    assert code == 200 and sink.item_count == 1


async def _http_status_with(port: int, *authorizations: str) -> int:
    headers = [(b"Authorization", value.encode()) for value in authorizations]
    status, body = await _raw_post(port, headers, GOOD.SerializeToString())
    if status == 401 and len(set(authorizations)) > 1:
        assert "Authorization" in status_pb2.Status.FromString(body).message
    return status


async def _grpc_code_with(port: int, *authorizations: str) -> grpc.StatusCode:
    try:
        await grpc_export(port, GOOD, metadata=tuple(("authorization", value) for value in authorizations))
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("authorizations", [("Bearer s3cret", "Bearer wrong"), ("Bearer wrong", "Bearer s3cret")])
async def test_two_different_authorization_headers_are_refused_on_both_transports(start_receiver, sink,
                                                                                authorizations):
    """Which of two tokens counts is a guess either way (HTTP used the first, gRPC the last): both refuse."""
    receiver = await start_receiver(_both(auth={"bearer_token": "s3cret"}), sink_routes(sink))
    assert await _http_status_with(receiver.http_port, *authorizations) == 401
    assert await _grpc_code_with(receiver.grpc_port, *authorizations) is grpc.StatusCode.UNAUTHENTICATED
    assert sink.item_count == 0


async def test_the_same_authorization_header_twice_is_one_token_on_both_transports(start_receiver, sink):
    receiver = await start_receiver(_both(auth={"bearer_token": "s3cret"}), sink_routes(sink))
    assert await _http_status_with(receiver.http_port, "Bearer s3cret", "Bearer s3cret") == 200
    assert await _grpc_code_with(receiver.grpc_port, "Bearer s3cret", "Bearer s3cret") is grpc.StatusCode.OK
    assert sink.item_count == 2
