"""TLS and bearer-token auth, shared by the gRPC and HTTP sides of the OTLP receiver."""

from __future__ import annotations

import hmac
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

import grpc
from pydantic import BaseModel, ConfigDict, model_validator


class TlsConfig(BaseModel):
    """Server certificate and key; with `client_ca_file`, clients must present a certificate it signed (mTLS)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cert_file: str
    key_file: str
    client_ca_file: str | None = None

    def check_files(self) -> None:
        """Name the missing file: ssl's own error does not say which one it was."""
        for name in ("cert_file", "key_file", "client_ca_file"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ValueError(f"tls: {name} {path} does not exist or is not a file")

    def ssl_context(self) -> ssl.SSLContext:
        self.check_files()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file:
            context.load_verify_locations(cafile=self.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def grpc_credentials(self) -> grpc.ServerCredentials:
        self.check_files()
        ca = Path(self.client_ca_file).read_bytes() if self.client_ca_file else None
        pair = (Path(self.key_file).read_bytes(), Path(self.cert_file).read_bytes())
        return grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=ca is not None)


class AuthConfig(BaseModel):
    """Bearer-token auth: exactly one source of the token."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    bearer_token_env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AuthConfig:
        given = [n for n in ("bearer_token", "bearer_token_file", "bearer_token_env") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("set exactly one of bearer_token, bearer_token_file, bearer_token_env"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class BearerAuth:
    """Checks `authorization: Bearer <token>`. A token file is read again whenever its mtime changes."""

    def __init__(self, config: AuthConfig) -> None:
        self._path = Path(config.bearer_token_file) if config.bearer_token_file else None
        self._mtime: int | None = None
        if config.bearer_token_env:
            token = os.environ.get(config.bearer_token_env, "")
            if not token:
                raise ValueError(f"auth: environment variable {config.bearer_token_env} is not set or empty")
            self._token = token
        else:
            self._token = config.bearer_token or ""
        if self._path is not None:
            self._reload()
            if not self._token:
                raise ValueError(f"auth: bearer_token_file {self._path} is empty")

    def _reload(self) -> None:
        try:
            mtime = self._path.stat().st_mtime_ns
            if mtime != self._mtime:
                self._token = self._path.read_text().strip()
                self._mtime = mtime
        except OSError as exc:
            # Keep the last good token while a rotation replaces the file; fail only if there never was one.
            if self._mtime is None:
                raise ValueError(f"auth: cannot read bearer_token_file: {exc}") from None

    def refusal(self, authorizations: Sequence[str]) -> str | None:
        """Why a request whose Authorization headers (or metadata) are `authorizations` is refused; None when it
        carries the token. Two different values are refused: which one counts would be a guess, and the two
        transports used to guess differently (HTTP the first, gRPC the last)."""
        if len(set(authorizations)) > 1:
            return f"{len(set(authorizations))} different Authorization headers; send one bearer token"
        if self._path is not None:
            self._reload()
        scheme, _, token = (authorizations[0] if authorizations else "").strip().partition(" ")
        if scheme.lower() != "bearer" or not self._token or not hmac.compare_digest(_raw(token.strip()),
                                                                                      self._token.encode()):
            return "missing or invalid bearer token"
        return None


def _raw(text: str) -> bytes:
    """The bytes a header value arrived as. aiohttp decodes bytes that are not UTF-8 as lone surrogates, which a
    plain encode() refuses (that was a 500); gRPC metadata is ASCII already."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no decoder made: matches no token
        return b""


def printable(value: str, *, limit: int = 64) -> str:
    """A header value as a message may quote it back: bytes that are not UTF-8 escaped (\\xff), cut short."""
    text = _raw(value).decode("utf-8", "backslashreplace")
    return text if len(text) <= limit else text[:limit] + "..."
