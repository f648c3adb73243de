"""Encode AWS event-stream messages (the binary framing of Bedrock ``ConverseStream``).

Each message: a 12-byte prelude (total length and headers length as big-endian uint32, then the
CRC32 of those 8 bytes), the headers (name length byte, name, value type byte ``7`` = string,
value length as big-endian uint16, value), the payload, and the CRC32 of everything before it.
Events carry ``:event-type``, ``:content-type`` and ``:message-type: event``; exceptions carry
``:exception-type`` and ``:message-type: exception`` with a ``{"message": ...}`` payload.
"""

from __future__ import annotations

import struct
import zlib

import orjson

_STRING = 7


def _headers(headers: list[tuple[str, str]]) -> bytes:
    out = bytearray()
    for name, value in headers:
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """Encode one event-stream message."""
    head = _headers(headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def encode_event(event_type: str, data: dict) -> bytes:
    """Encode an ``event`` message whose payload is ``data`` as JSON."""
    headers = [(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")]
    return encode_message(headers, orjson.dumps(data))


def encode_exception(exception_type: str, message: str) -> bytes:
    """Encode an ``exception`` message (``throttlingException``, ``modelStreamErrorException``, ...)."""
    headers = [
        (":exception-type", exception_type),
        (":content-type", "application/json"),
        (":message-type", "exception"),
    ]
    return encode_message(headers, orjson.dumps({"message": message}))
