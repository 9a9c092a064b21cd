"""The otlp receiver's config: which protocols listen where, with what limits, TLS and auth."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration, Endpoint, Size
from processor.receivers.otlp.security import AuthConfig, TlsConfig

MIB = 1 << 20
#: How long a request's body (HTTP) or message (gRPC) may take to arrive once its headers have. A reader that is
#: slower holds no place meanwhile (export.py), only its connection: the deadline frees that.
READ_TIMEOUT_S = 30.0
#: A connection with nothing going on for this long is closed (the Collector's HTTP server idle_timeout).
IDLE_TIMEOUT_S = 60.0
#: Connections each transport accepts at once; one more is closed as soon as it is accepted. Each takes a file
#: descriptor (the process raises its soft limit to the hard one at start, processor/service/limits.py).
MAX_CONNECTIONS = 4096


class GrpcServerParameters(BaseModel):
    """As the Collector's `keepalive.server_parameters`; each maps to the gRPC server option of the same name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: A connection without a call for this long is sent GOAWAY; one that has not begun HTTP/2 in this time (or in
    #: gRPC's handshake timeout, 120 s, whichever is shorter) is closed. gRPC's own default is never.
    max_connection_idle: Duration = Field(IDLE_TIMEOUT_S, gt=0)
    #: Close every connection after this long, so that clients reconnect (and spread over workers); default never.
    max_connection_age: Duration | None = Field(None, gt=0)
    #: How long calls in flight on a connection past its max_connection_age may still take; default forever.
    max_connection_age_grace: Duration | None = Field(None, ge=0)
    #: Ping a client after this long without activity, and close the connection if the answer takes `timeout`.
    time: Duration = Field(7200.0, gt=0)
    timeout: Duration = Field(20.0, gt=0)


class GrpcKeepalive(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    server_parameters: GrpcServerParameters = Field(default_factory=GrpcServerParameters)


class GrpcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoint: Endpoint = "127.0.0.1:4317"  # all interfaces only when the config says so (0.0.0.0:4317)
    max_recv_msg_size: Size = 64 * MIB
    #: The most a call may take from its start to the end of its request message.
    read_timeout: Duration = Field(READ_TIMEOUT_S, gt=0)
    max_connections: int = Field(MAX_CONNECTIONS, ge=1)
    keepalive: GrpcKeepalive = Field(default_factory=GrpcKeepalive)
    tls: TlsConfig | None = None
    auth: AuthConfig | None = None


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoint: Endpoint = "127.0.0.1:4318"
    #: Largest body accepted, counted after decompression.
    max_request_size: Size = 64 * MIB
    #: The most a request's body may take to arrive, from the end of its headers.
    read_timeout: Duration = Field(READ_TIMEOUT_S, gt=0)
    #: A connection that has not sent a whole request's headers for this long is closed: after its last answer,
    #: since it opened, or while it sends them a byte at a time.
    idle_timeout: Duration = Field(IDLE_TIMEOUT_S, gt=0)
    max_connections: int = Field(MAX_CONNECTIONS, ge=1)
    tls: TlsConfig | None = None
    auth: AuthConfig | None = None


class Protocols(BaseModel):
    """An omitted protocol is off; one given as null or {} is on with its defaults, as in the Collector."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grpc: GrpcConfig | None = None
    http: HttpConfig | None = None

    @field_validator("grpc", "http", mode="before")
    @classmethod
    def _null_means_defaults(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _at_least_one(self) -> Protocols:
        if self.grpc is None and self.http is None:
            raise ValueError("must specify at least one protocol (grpc or http) when using the otlp receiver")
        return self


class OtlpReceiverConfig(ComponentConfig):
    protocols: Protocols = Field(default_factory=lambda: Protocols(grpc=GrpcConfig(), http=HttpConfig()))
    #: Export requests handled at once, both transports together; more are refused at once with UNAVAILABLE/503
    #: and a retry delay. A request being decoded or waiting downstream holds its body in memory: this bounds that
    #: memory, so that an overload is refused, not queued until clients time out or the process outgrows its limit.
    #: A request takes its place once its body has arrived: a client that is slow to send holds none.
    max_in_flight_requests: int = Field(128, ge=1)
    #: The most spans and span events (or log records, or metric points) one request may hold; more is refused with
    #: RESOURCE_EXHAUSTED/413. The pipeline walks each in turn, so one request of millions would hold up every
    #: other client's. An OpenTelemetry SDK sends at most 512 spans of at most 128 events each (66,048).
    max_request_items: int = Field(250_000, ge=1)
