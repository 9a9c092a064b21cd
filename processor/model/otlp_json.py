"""OTLP/JSON, as the OTLP specification and the Collector's file exporter write it.

It is proto3 JSON with two differences that `json_format` alone gets wrong: trace and span ids are
hex strings (not base64), and enums are integers. Decoding also accepts enum names, int64 as strings
or numbers, snake_case as well as camelCase keys, and ignores unknown fields, as the Collector does.
Used by the OTLP receiver, and by the file and Kafka exporters to write spans.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2  # noqa: F401 - registers RetryInfo for google.rpc.Status details

from processor.model.batch import REQUEST_TYPES, Signal

#: Every bytes field that OTLP/JSON writes as hex: span, link, log record and exemplar ids.
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class OtlpJsonError(ValueError):
    """The body is not OTLP/JSON for the expected message; the text says what is wrong."""


def decode(signal: Signal | str, data: bytes | str) -> Any:
    """An OTLP/JSON export request body -> the Export<Signal>ServiceRequest protobuf."""
    message = REQUEST_TYPES[Signal(signal)]()
    return parse(data, message)


def parse(data: bytes | str, message: Message) -> Message:
    """Parse OTLP/JSON into `message` (any OTLP message type) and return it."""
    try:
        document = json.loads(data, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise OtlpJsonError(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise OtlpJsonError(f"body must be a JSON object, not {type(document).__name__}")
    try:
        _ids_to_base64(document)
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except OtlpJsonError:
        raise
    except (json_format.ParseError, RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise OtlpJsonError(f"body is not a valid {message.DESCRIPTOR.name}: {exc}") from None
    return message


def _not_json(constant: str) -> None:
    """Python's json reads NaN and Infinity, which JSON does not have (and an enum of Infinity overflows)."""
    raise ValueError(f"{constant} is not a JSON value")


def encode(message: Message) -> bytes:
    """Any OTLP message -> compact OTLP/JSON: camelCase keys, hex ids, integer enums, int64 as strings."""
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    _ids_to_hex(document)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _ids_to_base64(node: Any) -> None:
    """Rewrite hex ids in place so that json_format, which expects base64 for bytes, reads them."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64encode(_hex_to_bytes(key, value)).decode()
            elif isinstance(value, dict | list):
                _ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _ids_to_base64(item)


def _hex_to_bytes(key: str, value: str) -> bytes:
    try:
        return binascii.unhexlify(value)
    except ValueError:  # binascii.Error is a ValueError; so is a non-ASCII str
        raise OtlpJsonError(f'{key} "{value[:64]}" is not hex; OTLP/JSON ids are hex strings, '
                            f"e.g. 32 hex digits for a trace id and 16 for a span id") from None


def _ids_to_hex(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = binascii.hexlify(base64.b64decode(value)).decode()
            elif isinstance(value, dict | list):
                _ids_to_hex(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _ids_to_hex(item)
