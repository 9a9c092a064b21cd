"""OTLP/HTTP as a client (aiohttp): POST the encoded request, read the answer as the OTLP specification says.

2xx: accepted, with a partial success read from the body. 429, 502, 503, 504: retry, after `Retry-After` (seconds
or an HTTP date) when the server sent one. 413: cut the request. Every other status is permanent. A connection
that fails or times out is retried.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from email.utils import parsedate_to_datetime

import aiohttp
from google.rpc import status_pb2

from processor.exporters.otlp.outcome import Outcome, rejected_items
from processor.exporters.otlphttp.config import OtlpHttpExporterConfig
from processor.model import otlp_json
from processor.model.batch import REQUEST_TYPES, Signal
from processor.receivers.otlp.export import RESPONSE_TYPES

_RETRYABLE = frozenset({429, 502, 503, 504})
_PROTOBUF, _JSON = "application/x-protobuf", "application/json"
#: Bodies this big are compressed in a worker thread, off the event loop.
_COMPRESS_IN_THREAD = 256 << 10


class HttpTransport:
    def __init__(self, config: OtlpHttpExporterConfig) -> None:
        self.config = config
        self.peer = config.endpoint or "(off)"
        self.urls = {signal: config.url(signal) for signal in Signal}
        self.json = config.encoding == "json"
        self.headers = {name: value for name, value in config.header_items()}
        self.headers["Content-Type"] = _JSON if self.json else _PROTOBUF
        if config.compression == "gzip":
            self.headers["Content-Encoding"] = "gzip"
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        secure = any(url.startswith("https://") for url in self.urls.values())
        ssl = self.config.tls.ssl_context() if secure and not self.config.tls.insecure else None
        connector = aiohttp.TCPConnector(ssl=ssl if ssl is not None else False,
                                         limit=self.config.sending_queue.num_consumers)
        self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None),
                                             auto_decompress=True)

    async def send(self, signal: Signal, body: bytes) -> Outcome:
        if self.json:
            body = otlp_json.encode(REQUEST_TYPES[signal].FromString(body))
        if self.config.compression == "gzip":
            body = await asyncio.to_thread(gzip.compress, body) if len(body) > _COMPRESS_IN_THREAD \
                else gzip.compress(body)
        try:
            async with self.session.post(self.urls[signal], data=body, headers=self.headers,
                                         timeout=aiohttp.ClientTimeout(total=self.config.timeout)) as response:
                answer = await response.read()
                return self._outcome(signal, response, answer)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}")

    def _outcome(self, signal: Signal, response: aiohttp.ClientResponse, answer: bytes) -> Outcome:
        status = response.status
        json_answer = response.content_type == _JSON
        if 200 <= status < 300:
            message = RESPONSE_TYPES[signal]()
            try:
                if answer:
                    message = otlp_json.parse(answer, message) if json_answer else message.FromString(answer)
            except Exception:  # noqa: BLE001 - the backend took the data; an unreadable answer changes nothing
                return Outcome.accepted()
            return Outcome.accepted(*rejected_items(message))
        text = f"HTTP {status}: {_status_message(answer, json_answer) or response.reason}"
        if status in _RETRYABLE:
            return Outcome.retry(text, retry_after(response.headers.get("Retry-After")))
        if status == 413:
            return Outcome.too_large(text)
        return Outcome.permanent(text)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP date) -> seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _status_message(answer: bytes, json_answer: bool) -> str:
    """The message of a google.rpc.Status error body, or the body's start as text."""
    if not answer:
        return ""
    try:
        status = otlp_json.parse(answer, status_pb2.Status()) if json_answer else status_pb2.Status.FromString(answer)
        if status.message:
            return status.message
    except Exception:  # noqa: BLE001 - not a Status: show the text
        pass
    return answer[:200].decode(errors="replace").strip()
