"""Client settings every Kafka component shares: brokers, client id, TLS and SASL.

`brokers` empty, missing, `[""]` (an unset `${env:...}`) or `[embedded]` means: start the embedded
broker (processor.kafka.embedded). Secrets such as the SASL password usually come from `${env:...}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaTimeoutError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from pydantic import BaseModel, ConfigDict, Field, field_validator

from processor.config.models import ComponentConfig

EMBEDDED = "embedded"


class KafkaTlsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False

    def ssl_context(self) -> ssl.SSLContext:
        context = create_ssl_context(cafile=self.ca_file, certfile=self.cert_file, keyfile=self.key_file)
        if self.insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


class KafkaSaslConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    username: str
    password: str = Field(repr=False)


class KafkaClientConfig(ComponentConfig):
    brokers: list[str] = Field(default_factory=list)
    client_id: str = "tokenstream"
    tls: KafkaTlsConfig | None = None
    sasl: KafkaSaslConfig | None = None

    @field_validator("brokers", mode="before")
    @classmethod
    def _brokers_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):  # `brokers: host:9092` or an env var holding "a:9092,b:9092"
            return [part for part in value.split(",")]
        return value

    @field_validator("brokers")
    @classmethod
    def _brokers_shape(cls, brokers: list[str]) -> list[str]:
        named = [b.strip() for b in brokers if b.strip()]
        if EMBEDDED in named and len(named) > 1:
            raise ValueError(f'"{EMBEDDED}" cannot be combined with other brokers')
        for broker in named:
            host, sep, port = broker.rpartition(":")
            if broker != EMBEDDED and (not sep or not host or not port.isdigit() or not 0 < int(port) < 65536):
                raise ValueError(f'"{broker}" is not a broker address (e.g. kafka-1:9092), nor "{EMBEDDED}"')
        return named

    def uses_embedded(self) -> bool:
        return not self.brokers or self.brokers == [EMBEDDED]

    def client_kwargs(self, bootstrap: list[str]) -> dict[str, Any]:
        """Keyword arguments for an aiokafka producer, consumer or admin client."""
        kwargs: dict[str, Any] = {"bootstrap_servers": bootstrap, "client_id": self.client_id}
        if self.tls is not None:
            kwargs["ssl_context"] = self.tls.ssl_context()
        if self.sasl is not None:
            kwargs["security_protocol"] = "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
            kwargs["sasl_mechanism"] = self.sasl.mechanism
            kwargs["sasl_plain_username"] = self.sasl.username
            kwargs["sasl_plain_password"] = self.sasl.password
        elif self.tls is not None:
            kwargs["security_protocol"] = "SSL"
        return kwargs


class KafkaAuthError(Exception):
    """The broker refused the configured SASL credentials, or the TLS handshake with it failed."""


def auth_refusal(error: BaseException, sasl: KafkaSaslConfig | None, where: str) -> KafkaAuthError | None:
    """`error`, from starting a Kafka client, said plainly when it is the broker refusing the SASL credentials
    configured at `where` (e.g. exporters::kafka::sasl).

    aiokafka reports a refused SCRAM exchange as whatever its parser tripped on (a KeyError for the server
    signature a refusal does not carry), so the exchange's own frames in the traceback are the evidence.
    """
    if sasl is None:
        return None
    sasl_errors = (AuthenticationFailedError | AuthenticationMethodNotSupported | SaslAuthenticationFailed
                   | UnsupportedSaslMechanismError | IllegalSaslStateError)
    if not isinstance(error, sasl_errors) and not _raised_in_scram_exchange(error):
        return None
    return KafkaAuthError(f"{where}: the broker refused the SASL {sasl.mechanism} credentials of user "
                          f"{sasl.username!r} ({type(error).__name__}: {error}); check its username, password and "
                          f"mechanism")


async def check_login(config: KafkaClientConfig, bootstrap: list[str], where: str, timeout: float) -> None:
    """Connect once at start when TLS or SASL is configured: an untrusted certificate or a wrong password is a
    config mistake, said at once and naming the key (`where`, e.g. exporters::kafka), not a failure of every
    send. A broker that cannot be reached yet is not an error here (records wait for it)."""
    if config.tls is not None:
        await _check_tls(bootstrap[0], config.tls, f"{where}::tls", timeout)
    if config.sasl is not None:
        await _check_credentials(config.client_kwargs(bootstrap), config.sasl, f"{where}::sasl", timeout)


async def _check_tls(broker: str, tls: KafkaTlsConfig, where: str, timeout: float) -> None:
    """aiokafka only logs why a handshake failed and raises "Unable to bootstrap": shake hands ourselves."""
    host, _, port = broker.rpartition(":")
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, int(port), ssl=tls.ssl_context(), server_hostname=host), timeout)
    except ssl.SSLCertVerificationError as exc:
        raise KafkaAuthError(f"{where}: the certificate of the broker at {broker} is not trusted "
                             f"({exc.verify_message}); check ca_file") from exc
    except ssl.SSLError as exc:
        raise KafkaAuthError(f"{where}: the TLS handshake with the broker at {broker} failed ({exc.reason}); "
                             f"check ca_file, cert_file and key_file") from exc
    except (OSError, TimeoutError):
        return
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _check_credentials(client_kwargs: dict[str, Any], sasl: KafkaSaslConfig, where: str,
                             timeout: float) -> None:
    producer = AIOKafkaProducer(**client_kwargs, enable_idempotence=False)
    try:
        await asyncio.wait_for(producer.start(), timeout)
    except Exception as exc:  # noqa: BLE001 - only a refusal of the credentials matters here
        refusal = auth_refusal(exc, sasl, where)
        if refusal is not None:
            raise refusal from exc
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


def _raised_in_scram_exchange(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_qualname.startswith("ScramAuthenticator."):
            return True
        traceback = traceback.tb_next
    return False


def is_retriable(error: BaseException) -> bool:
    """Worth sending again: the broker is away or busy, not refusing the record itself.

    aiokafka marks most such errors `retriable`; a timeout (a batch expired while the broker was
    unreachable) and a lost connection are not marked but are transient too.
    """
    if isinstance(error, KafkaTimeoutError | KafkaConnectionError | asyncio.TimeoutError | ConnectionError):
        return True
    if isinstance(error, KafkaAuthError):  # credentials fixed at the broker work without a restart here
        return True
    return bool(getattr(error, "retriable", False))
