"""Per-marketplace webhook bodies → the command the orders worker acts on.

The command carries ids, never the order (DESIGN §2.1): the orders worker reads the package's
current state from the marketplace, so duplicated or out-of-order deliveries only make it read the
same truth again. It is a targeted ``cmd.poll_orders`` (payload ``orders``), routed as
``cmd.poll_orders.<channel>`` to the orders queue the polling commands already use — an orders
worker that predates targeted polls simply polls everything, which imports the order too.

Trendyol (marketplace-apis.md §1.12): the body is the full shipment package, statuses
CREATED … VERIFIED in the subscription and the package's own ``status`` in the body. Required:
``shipmentPackageId`` (or the pre-2025 ``id``), ``orderNumber``, ``status`` (or
``shipmentPackageStatus``); ``lines`` when present must be a list. A status string the gateway does
not know is accepted (Trendyol adds statuses; refusing would deactivate the webhook after 13
failures) and the worker's mapper decides.

Hepsiburada (marketplace-apis.md §2; its webhook pages): Basic auth, ``POST {baseUrl}/orders`` with
``{"items": [...]}`` when an order is created — served at ``/v1/webhooks/hepsiburada/<account>/orders``.
Its status webhooks (``PUT …/packages/{packageNumber}/…``) are not taken: polling covers them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.envelope import Event

NAMESPACE = uuid.UUID("2f6a7c0e-6a52-4c1e-9d0b-5b8f7b7c2a11")


class BadWebhook(ValueError):
    """The body is not a webhook this gateway can act on; the message is the reason (400)."""


@dataclass(frozen=True)
class OrderRef:
    package_id: str
    order_number: str
    status: str
    modified: str = ""

    def as_payload(self) -> dict[str, str]:
        return {"package_id": self.package_id, "order_number": self.order_number, "status": self.status}


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadWebhook("empty body")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadWebhook("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadWebhook(f"body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


def _id(doc: dict[str, Any], *names: str) -> str:
    for name in names:
        value = doc.get(name)
        if isinstance(value, bool):
            break
        if isinstance(value, int) and value > 0:
            return str(value)
        if isinstance(value, str) and value.strip().isdigit():
            return value.strip()
        if value is not None:
            raise BadWebhook(f"{name} must be a positive number")
    raise BadWebhook(f"{names[0]} is missing")


def _text(doc: dict[str, Any], *names: str) -> str:
    for name in names:
        value = doc.get(name)
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
        if value is not None:
            raise BadWebhook(f"{name} must be a non-empty string")
    raise BadWebhook(f"{names[0]} is missing")


def trendyol(doc: Any) -> list[OrderRef]:
    if not isinstance(doc, dict):
        raise BadWebhook("body must be a JSON object (a Trendyol shipment package)")
    lines = doc.get("lines")
    if lines is not None and not isinstance(lines, list):
        raise BadWebhook("lines must be a list")
    return [OrderRef(
        package_id=_id(doc, "shipmentPackageId", "id"),
        order_number=_text(doc, "orderNumber"),
        status=_text(doc, "status", "shipmentPackageStatus"),
        modified=str(doc.get("lastModifiedDate") or ""),
    )]


def hepsiburada_orders(doc: Any) -> list[OrderRef]:
    """Hepsiburada's "Create Order" webhook (``POST {baseUrl}/orders``, Basic auth; sent for its
    Market/Su/Çiçek sellers): ``{"items": [{"id", "orderNumber", "sku", "quantity", …}]}``, one
    item per order line. One ref per order number; Hepsiburada has no by-order read in Kervan's
    client, so the worker polls (which reads the new order)."""
    if not isinstance(doc, dict):
        raise BadWebhook("body must be a JSON object with items")
    items = doc.get("items")
    if not isinstance(items, list) or not items:
        raise BadWebhook("items must be a non-empty list")
    numbers: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadWebhook(f"items[{i}] must be an object")
        try:
            _text(item, "id")
            number = _text(item, "orderNumber")
        except BadWebhook as exc:
            raise BadWebhook(f"items[{i}]: {exc}") from None
        if number not in numbers:
            numbers.append(number)
    modified = str(items[0].get("lastStatusUpdateDate") or "")
    return [OrderRef(package_id="", order_number=n, status="Open", modified=modified) for n in numbers]


# channel → webhook kind (the path after the account: "" for Trendyol's one URL, "orders" for
# Hepsiburada's {baseUrl}/orders) → validator.
VALIDATORS: dict[str, dict[str, Callable[[Any], list[OrderRef]]]] = {
    "trendyol": {"": trendyol},
    "hepsiburada": {"orders": hepsiburada_orders},
}


def command(channel: str, account: str, refs: list[OrderRef], received_at: str | None = None) -> Event:
    """The targeted poll for these orders. Its id is derived from the delivery's content, so a
    duplicate delivery carries the same message id (visible as such in logs and parked rows)."""
    first = refs[0]
    key = "|".join([channel, account, *(f"{r.package_id}:{r.order_number}:{r.status}:{r.modified}" for r in refs)])
    payload: dict[str, Any] = {"channel": channel, "account": account, "source": "webhook",
                               "orders": [r.as_payload() for r in refs]}
    if received_at:
        payload["received_at"] = received_at
    return Event("cmd.poll_orders", "order", f"{channel}:{first.order_number}", payload,
                 id=str(uuid.uuid5(NAMESPACE, key)))
