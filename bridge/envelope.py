"""The event envelope every Kervan message carries, as JSON.

Events say what changed, not what it is (DESIGN §2.1): ids, never the product. ``seq`` is the
outbox row id, monotonic per database, so a consumer can tell an older event of an aggregate
from a newer one.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

# Event types the fleet understands. Unknown types are poison: parked with the reason.
KNOWN_TYPES = {
    "product.saved",
    "product.deleted",
    "stock.changed",
    "order.created",
    "order.status_changed",
    "cmd.resync",
    "cmd.poll_orders",
    "cmd.replay",
    "cmd.channel_pause",
    "cmd.channel_resume",
    "cmd.import_feed",
    "cmd.full_reconcile",
    "cmd.dropship",
}


# The envelope as JSON, built by a template: the relay builds one per outbox row, and dumping a
# dict per message was a large part of its CPU. encode_basestring is json.dumps' own (C) string
# quoting with ensure_ascii=False. The payload goes last, as JSON bytes given by the caller (the
# relay forwards the stored ones without decoding them).
_q = json.encoder.encode_basestring
_HEAD = ('{"type":%s,"aggregate_type":%s,"aggregate_id":%s,"id":%s,"occurred_at":%s,"correlation_id":%s,'
         '"seq":%s,"source":%s,"schema":%d,"payload":')


def body(event_type: str, aggregate_type: str, aggregate_id: str, event_id: str, occurred_at: str,
         correlation_id: str, seq: int | None, source: str, payload_json: bytes,
         schema: int = SCHEMA_VERSION) -> bytes:
    """The message body of an event whose payload is already JSON (``payload_json``)."""
    head = _HEAD % (_q(event_type), _q(aggregate_type), _q(aggregate_id), _q(event_id), _q(occurred_at),
                    _q(correlation_id), "null" if seq is None else int(seq), _q(source), schema)
    return b"".join((head.encode(), payload_json, b"}"))


class PoisonMessage(ValueError):
    """A message that can never be processed as it is: unreadable, or of an unknown type."""


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=utcnow_iso)
    correlation_id: str | None = None
    seq: int | None = None
    source: str = "kervan"
    schema: int = SCHEMA_VERSION

    @property
    def aggregate(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id}"

    def to_json(self) -> bytes:
        return body(self.type, self.aggregate_type, self.aggregate_id, self.id, self.occurred_at,
                    self.correlation_id or self.id, self.seq, self.source,
                    json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode(), self.schema)

    @classmethod
    def from_json(cls, body: bytes | str) -> Event:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise PoisonMessage(f"body is not JSON: {str(exc)[:200]}") from None
        if not isinstance(data, dict):
            raise PoisonMessage("body is not a JSON object")
        missing = [k for k in ("id", "type", "aggregate_type", "aggregate_id") if not data.get(k)]
        if missing:
            raise PoisonMessage(f"envelope lacks {', '.join(missing)}")
        # Valid JSON of the wrong shape is as unreadable as broken JSON: a clear reason, parked at once.
        for key in ("id", "type", "aggregate_type", "aggregate_id", "occurred_at", "correlation_id", "source"):
            if data.get(key) is not None and not isinstance(data[key], str | int):
                raise PoisonMessage(f"envelope field {key} is a {type(data[key]).__name__}, not a string")
        schema, seq = data.get("schema", SCHEMA_VERSION), data.get("seq")
        for key, value in (("schema", schema), ("seq", seq)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise PoisonMessage(f"envelope field {key} is {value!r}, not a whole number")
        if schema > SCHEMA_VERSION:
            raise PoisonMessage(f"envelope schema {schema} is newer than this worker ({SCHEMA_VERSION})")
        if data["type"] not in KNOWN_TYPES:
            raise PoisonMessage(f"unknown event type {str(data['type'])[:64]!r}")
        payload = data.get("payload") or {}
        if not isinstance(payload, dict):
            raise PoisonMessage("payload is not a JSON object")
        return cls(
            type=str(data["type"]),
            aggregate_type=str(data["aggregate_type"]),
            aggregate_id=str(data["aggregate_id"]),
            payload=payload,
            id=str(data["id"]),
            occurred_at=str(data.get("occurred_at") or utcnow_iso()),
            correlation_id=str(data.get("correlation_id") or data["id"]),
            seq=seq,
            source=str(data.get("source") or "kervan"),
            schema=schema,
        )

    @property
    def routing_key(self) -> str:
        return routing_key(self.type, self.payload)


def routing_key(event_type: str, payload: dict[str, Any]) -> str:
    """Commands aimed at one channel route as ``cmd.<name>.<channel>``; events by their type."""
    channel = payload.get("channel")
    if event_type.startswith("cmd.") and channel:
        return f"{event_type}.{channel}"
    return event_type
