"""What every way of forwarding an order to a supplier (REST, e-mail) shares: the answer of a
send, the tracking a supplier reports, and the supplier's "out of stock" refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from workers.channels.errors import PermanentError


@dataclass(frozen=True)
class Sent:
    """The supplier took the order: its own id for it (REST) or our Message-ID (e-mail)."""

    remote_id: str


@dataclass(frozen=True)
class TrackingInfo:
    carrier: str
    tracking_number: str
    tracking_url: str = ""


class OutOfStockError(PermanentError):
    """The supplier refused the order because it lacks stock of ``codes`` (its own codes, when it
    names them). The lines wait for the merchant; resending the same order will not help."""

    codes: tuple[str, ...] = ()


class Sender(Protocol):
    def send(self, document: dict[str, Any], idempotency_key: str) -> Sent:
        """Hand one supplier order over. Raises ``OutOfStockError``, ``PermanentError`` (rejected:
        validation, auth) or ``TransientError`` (timeouts, 5xx: try again with the same key)."""
        ...


__all__ = ["OutOfStockError", "Sender", "Sent", "TrackingInfo"]
