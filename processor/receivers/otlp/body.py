"""Reading an OTLP/HTTP request body: decompressed, and never more than the configured size.

aiohttp decompresses gzip and deflate bodies as they stream in, a bounded chunk at a time, so
counting what we read and stopping at the limit is what keeps a gzip bomb from filling memory:
the size limit applies after decompression, and nothing past it is ever inflated.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from processor.receivers.otlp.failure import Failure

#: Content-Encodings aiohttp's server decodes while streaming; "" and identity mean not compressed.
SUPPORTED_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})


async def read_body(request: web.Request, limit: int) -> bytes:
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in SUPPORTED_ENCODINGS:
        raise Failure.invalid(f'unsupported Content-Encoding "{encoding}"; send gzip, deflate or uncompressed')
    if encoding in ("", "identity") and (request.content_length or 0) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except (web.RequestPayloadError, HttpProcessingError) as exc:
        raise Failure.invalid(f"cannot read the {encoding or 'request'} body: {_reason(exc)}") from None
    return b"".join(chunks)


def _too_large(limit: int) -> Failure:
    return Failure.too_large(f"request body is larger than max_request_size ({limit} bytes, after decompression)")


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
