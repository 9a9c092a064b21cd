"""The otlp and otlphttp exporters' config, in the Collector's shape: endpoint, headers, tls, compression, timeout,
retry_on_failure and sending_queue (with the kafka exporter's on-disk `storage`)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import ClassVar, Literal

import grpc
from pydantic import Field, SecretStr, field_validator, model_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration, Size
from processor.exporters.kafka.config import RetryConfig, SendingQueueConfig, _Section

MIB = 1 << 20


class ClientTlsConfig(_Section):
    """TLS to the backend: on unless `insecure`; `ca_file` to trust a private CA, `cert_file`/`key_file` for mTLS."""

    insecure: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    #: The name the server's certificate must carry, when it is not the endpoint's host.
    server_name_override: str | None = None

    @model_validator(mode="after")
    def _pair(self) -> ClientTlsConfig:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("set both cert_file and key_file for a client certificate (mTLS), or neither")
        return self

    def _read(self, name: str) -> bytes | None:
        path = getattr(self, name)
        if not path:
            return None
        if not Path(path).is_file():
            raise ValueError(f"tls: {name} {path} does not exist or is not a file")
        return Path(path).read_bytes()

    def grpc_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(root_certificates=self._read("ca_file"),
                                            private_key=self._read("key_file"),
                                            certificate_chain=self._read("cert_file"))

    def ssl_context(self) -> ssl.SSLContext:
        for name in ("ca_file", "cert_file", "key_file"):
            self._read(name)  # names a missing file; ssl's own error does not say which
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


class RetryOnFailureConfig(RetryConfig):
    """The Collector's retry_on_failure. A delay the backend asks for (RetryInfo, Retry-After) is waited instead of
    the backoff. With `sending_queue.storage` the deadline does not apply: what is on disk was acknowledged."""

    enabled: bool = True
    initial_interval: Duration = 5.0
    max_interval: Duration = 30.0
    max_elapsed_time: Duration = 300.0


class OtlpSendingQueueConfig(SendingQueueConfig):
    #: Export requests waiting for the backend's answer (or a retry), at most.
    queue_size: int = Field(1000, gt=0)
    #: Requests sent at once.
    num_consumers: int = Field(10, gt=0)


class OtlpExporterConfig(ComponentConfig):
    #: A client's target, not a listener: no port claim.
    listen: ClassVar[bool] = False
    #: `host:port` (`https://` or `http://` may lead); empty turns the exporter off, for a config whose
    #: endpoint comes from an unset environment variable (`${env:OTLP_ENDPOINT:-}`).
    endpoint: str
    #: Sent with every request; use `${env:NAME}` for secrets. Never logged.
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    tls: ClientTlsConfig = Field(default_factory=ClientTlsConfig)
    compression: Literal["gzip", "none"] = "gzip"
    #: One attempt's deadline.
    timeout: Duration = 5.0
    retry_on_failure: RetryOnFailureConfig = Field(default_factory=RetryOnFailureConfig)
    sending_queue: OtlpSendingQueueConfig = Field(default_factory=OtlpSendingQueueConfig)
    #: The largest request sent; bigger ones are cut first (4 MiB is a gRPC server's default limit). A request the
    #: backend still refuses as too large is cut in halves until it takes them.
    max_request_size: Size = Field(4 * MIB, gt=1024)
    #: How long shutdown waits for queued requests to be delivered.
    flush_timeout: Duration = 10.0

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        host = value.split("://", 1)[-1].rstrip("/")
        name, sep, port = host.rpartition(":")
        if not sep or not name or not port.isdigit() or int(port) > 65535:
            raise ValueError(f'"{value}" is not an OTLP/gRPC endpoint (host:port, e.g. collector:4317)')
        return value

    def target(self) -> tuple[str, bool]:
        """(host:port, whether TLS is used)."""
        scheme, sep, rest = self.endpoint.partition("://")
        if not sep:
            return self.endpoint, not self.tls.insecure
        return rest.rstrip("/"), scheme == "https" and not self.tls.insecure

    def header_items(self) -> list[tuple[str, str]]:
        return [(name.lower(), value.get_secret_value()) for name, value in self.headers.items()]
