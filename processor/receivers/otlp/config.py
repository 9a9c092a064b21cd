"""The otlp receiver's config: which protocols listen where, with what limits, TLS and auth."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from processor.config.models import ComponentConfig
from processor.config.types import Endpoint, Size
from processor.receivers.otlp.security import AuthConfig, TlsConfig

MIB = 1 << 20


class GrpcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoint: Endpoint = "127.0.0.1:4317"  # all interfaces only when the config says so (0.0.0.0:4317)
    max_recv_msg_size: Size = 64 * MIB
    tls: TlsConfig | None = None
    auth: AuthConfig | None = None


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoint: Endpoint = "127.0.0.1:4318"
    #: Largest body accepted, counted after decompression.
    max_request_size: Size = 64 * MIB
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
    #: and a retry delay. A request waiting downstream holds its body in memory: this bounds that memory, so that
    #: an overload is refused, not queued until clients time out or the process outgrows its limit.
    max_in_flight_requests: int = Field(128, ge=1)
