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


class GrpcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoint: Endpoint = "127.0.0.1:4317"  # all interfaces only when the config says so (0.0.0.0:4317)
    max_recv_msg_size: Size = 64 * MIB
    #: The most a call may take from its start to the end of its request message.
    read_timeout: Duration = Field(READ_TIMEOUT_S, gt=0)
    tls: TlsConfig | None = None
    auth: AuthConfig | None = None


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoint: Endpoint = "127.0.0.1:4318"
    #: Largest body accepted, counted after decompression.
    max_request_size: Size = 64 * MIB
    #: The most a request's body may take to arrive, from the end of its headers.
    read_timeout: Duration = Field(READ_TIMEOUT_S, gt=0)
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
