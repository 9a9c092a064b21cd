"""Reading an OTLP/HTTP request body: decompressed, and never more than the configured size.

We inflate gzip and deflate ourselves, a chunk at a time, asking zlib for at most what is left of
the limit: that keeps a gzip bomb from filling memory (the limit applies after decompression, and
nothing past it is ever inflated). aiohttp's own decoder would also do that, but it takes a
truncated gzip stream for a whole one, so a cut-off body would be accepted as a shorter request.
"""

from __future__ import annotations

import zlib

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from processor.receivers.otlp.failure import Failure
from processor.receivers.otlp.security import printable

#: Content-Encodings we decode; "" and identity mean not compressed.
SUPPORTED_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})


async def read_body(request: web.Request, limit: int) -> bytes:
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in SUPPORTED_ENCODINGS:
        raise Failure.invalid(f'unsupported Content-Encoding "{printable(encoding)}"; send gzip, deflate or '
                              "uncompressed")
    inflater = _Inflater(encoding, limit) if encoding in ("gzip", "deflate") else None
    # Compressed input may be a little larger than its output (stored blocks), never by more than this.
    raw_limit = limit + limit // 64 + 1024 if inflater else limit
    if (request.content_length or 0) > raw_limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > raw_limit:
                raise _too_large(limit)
            chunks.append(inflater.feed(chunk) if inflater else chunk)
    except (web.RequestPayloadError, HttpProcessingError) as exc:
        raise Failure.invalid(f"cannot read the {encoding or 'request'} body: {_reason(exc)}") from None
    except ConnectionResetError:  # the client went away mid-body: nobody to answer, and not a server error
        raise Failure.invalid("the client closed the connection before sending the whole body") from None
    if inflater:
        inflater.finish()
    return b"".join(chunks)


def announced_size(request: web.Request) -> int | None:
    """The body's size as it will be decoded, when the headers tell it: an uncompressed body's Content-Length."""
    if request.headers.get("Content-Encoding", "").strip().lower() in ("", "identity"):
        return request.content_length
    return None


class _Inflater:
    """gzip (one or more members) or deflate (zlib-wrapped or raw, as aiohttp accepts), bounded by `limit`."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.size = 0
        self._zlib = None

    def feed(self, data: bytes) -> bytes:
        out = []
        try:
            while data:
                if self._zlib is not None and self._zlib.eof and self.encoding == "gzip":
                    data = data.lstrip(b"\0")  # zero padding after a member, as gzip(1) and Python's gzip allow
                    if not data:
                        break
                if self._zlib is None or self._zlib.eof:
                    self._zlib = self._start(data)
                part = self._zlib.decompress(data, self.limit - self.size + 1)
                self.size += len(part)
                if self.size > self.limit:
                    raise _too_large(self.limit)
                out.append(part)
                data = self._zlib.unused_data if self._zlib.eof else self._zlib.unconsumed_tail
        except zlib.error as exc:
            raise Failure.invalid(f"cannot read the {self.encoding} body: {exc}") from None
        return b"".join(out)

    def _start(self, data: bytes):
        if self._zlib is not None and self.encoding != "gzip":
            raise Failure.invalid("cannot read the deflate body: data after the end of the compressed stream")
        if self.encoding == "gzip":
            return zlib.decompressobj(31)
        return zlib.decompressobj(15 if data[0] & 0xF == 8 else -15)

    def finish(self) -> None:
        if self._zlib is not None and not self._zlib.eof:
            raise Failure.invalid(f"cannot read the {self.encoding} body: it ends before the compressed stream does")


def _too_large(limit: int) -> Failure:
    return Failure.too_large(f"request body is larger than max_request_size ({limit} bytes, after decompression)")


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
