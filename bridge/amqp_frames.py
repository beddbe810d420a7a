"""The wire bytes of one relay message (Basic.Publish, its content header and body frames).

pika marshals a publish through generic per-field encoders: about 10 µs of Python per message,
half of what the relay spends per event once claiming and marking left its I/O loop. The relay
always sends the same shape of message (the properties of ``relay_rows.message_of``), so this
module writes that one shape directly, with the constant parts encoded once. The bytes are the
ones pika writes: ``tests/test_relay_pipeline.py`` compares them with pika's own marshalling.
Anything else (other properties, other header types) goes through pika as before.
"""

from __future__ import annotations

import struct

from pika import spec
from pika.exceptions import ShortStringTooLong

from bridge.topology import BUCKET_HEADER

_END = b"\xce"
_FLAGS = (spec.BasicProperties.FLAG_CONTENT_TYPE | spec.BasicProperties.FLAG_HEADERS
          | spec.BasicProperties.FLAG_DELIVERY_MODE | spec.BasicProperties.FLAG_CORRELATION_ID
          | spec.BasicProperties.FLAG_MESSAGE_ID | spec.BasicProperties.FLAG_TYPE)
_CONTENT_TYPE = b"\x10application/json"
_DELIVERY_MODE = b"\x02"  # persistent
_KEY_AGGREGATE = b"\x09aggregate"
_KEY_SEQ = b"\x03seq"
_KEY_BUCKET = bytes((len(BUCKET_HEADER),)) + BUCKET_HEADER.encode()
_PUBLISH = struct.pack(">IH", spec.Basic.Publish.INDEX, 0)  # method index, ticket 0
_MANDATORY = b"\x01"
_pack = struct.pack


def _short(value: str) -> bytes:
    raw = value.encode()
    if len(raw) > 255:
        raise ShortStringTooLong(f"{len(raw)} bytes where AMQP allows 255: {value[:40]!r}…")
    return bytes((len(raw),)) + raw


def _long_string(tag: bytes, value: str) -> bytes:
    raw = value.encode()
    return tag + _pack(">I", len(raw)) + raw


def publish(channel: int, body_max: int, exchange: str, routing_key: str, body: bytes, *, message_id: str,
            correlation_id: str, event_type: str, aggregate: str, seq: int, bucket: str) -> bytes:
    """Frames of a mandatory, persistent JSON message with the relay's properties (headers
    ``aggregate``, ``seq`` and the bucket) — byte for byte what pika's ``basic_publish`` writes."""
    method = _PUBLISH + _short(exchange) + _short(routing_key) + _MANDATORY
    # pika writes an int as a 32-bit "I" when it fits, else as a 64-bit "l".
    number = b"I" + _pack(">i", seq) if -0x80000000 <= seq <= 0x7FFFFFFF else b"l" + _pack(">q", seq)
    table = (_KEY_AGGREGATE + _long_string(b"S", aggregate) + _KEY_SEQ + number
             + _KEY_BUCKET + _long_string(b"S", bucket))
    header = b"".join((
        _pack(">HxxQH", spec.BasicProperties.INDEX, len(body), _FLAGS),
        _CONTENT_TYPE,
        _pack(">I", len(table)), table,
        _DELIVERY_MODE,
        _short(correlation_id),
        _short(message_id),
        _short(event_type),
    ))
    pieces = [_pack(">BHI", 1, channel, len(method)), method, _END,
              _pack(">BHI", 2, channel, len(header)), header, _END]
    for start in range(0, len(body), body_max):
        chunk = body[start:start + body_max]
        pieces += (_pack(">BHI", 3, channel, len(chunk)), chunk, _END)
    return b"".join(pieces)
