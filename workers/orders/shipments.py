"""OpenCart → marketplace order statuses. Shipment back: when the merchant marks a marketplace
order shipped in OpenCart with a tracking number, the marketplace the order came from is told
carrier and tracking number, once. Cancellation: when the merchant cancels it in OpenCart (which
restocks it there, as OpenCart does), the marketplace is told to cancel its lines, once, with the
reason "out of stock" — the usual reason a seller cancels — or the channel's ``cancel_reason``.

The trigger is the extension's ``order.status_changed`` event (admin "Add history"). The
tracking number is read from the order's history comments — what a merchant types there, e.g.
"Kargo: Yurtiçi Kargo, Takip No: YK123456789" or "Carrier: DHL Tracking: 1Z999AA10123456784".
``kervan_order_link.shipped_at`` records that it was reported; the marketplace's own refusal
(a validation error, or a marketplace without a tracking upload) lands in the link's flags
for the admin instead of being retried.
"""

from __future__ import annotations

import json
import re
from typing import Any

from loguru import logger

from bridge.channels import ChannelAccount
from bridge.db import Database
from workers.channels.base import Channel, OrderRef, Shipment
from workers.channels.errors import PermanentError

TRACKING = re.compile(
    r"(?i)(?:tracking(?:\s*(?:no|number|#))?|takip(?:\s*(?:no|numarası|kodu))?)\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{5,39})")
CARRIER = re.compile(r"(?i)(?:carrier|kargo\s*firmas[ıi]|kargo)\s*:\s*([^\n,;]{2,40}?)\s*(?:[,;\n]|$|takip|tracking)")
SHIPPED_STATUSES = (3,)  # OpenCart's "Shipped"; a channel's settings may list others
CANCELLED_STATUSES = (7,)  # OpenCart's "Canceled"; a channel's settings may list others


def parse_shipment(comment: str, default_carrier: str = "") -> Shipment | None:
    """The carrier and tracking number a merchant wrote in a history comment, if any."""
    found = TRACKING.search(comment or "")
    if not found:
        return None
    carrier = CARRIER.search(comment)
    return Shipment(carrier=(carrier.group(1).strip() if carrier else "") or default_carrier,
                    tracking_number=found.group(1))


class ShipmentReporter:
    def __init__(self, db: Database, account: ChannelAccount, client: Channel) -> None:
        self.db = db
        self.account = account
        self.client = client
        settings = account.settings
        self.shipped = {int(x) for x in settings.get("shipped_status_ids") or SHIPPED_STATUSES}
        self.cancelled = {int(x) for x in settings.get("cancelled_status_ids") or CANCELLED_STATUSES}
        self.cancel_reason = str(settings.get("cancel_reason") or "out_of_stock")
        self.default_carrier = str(settings.get("default_carrier") or "")

    def on_status_changed(self, order_id: int) -> bool:
        """Report the shipment of ``order_id`` if it is this channel's, shipped, with a tracking
        number, and not reported yet. True when reported now."""
        link = self.db.one(
            "SELECT order_link_id, ref, shipped_at, cancelled_at, flags FROM {p}kervan_order_link"
            " WHERE channel_id = %s AND order_id = %s", (self.account.channel_id, order_id))
        if link is None or not link["ref"]:
            return False
        order = self.db.one("SELECT order_status_id FROM {p}order WHERE order_id = %s", (order_id,))
        if order is not None and int(order["order_status_id"]) in self.cancelled:
            return self._cancel(order_id, link)
        if link["shipped_at"] is not None or order is None or int(order["order_status_id"]) not in self.shipped:
            return False
        shipment = None
        for row in self.db.query("SELECT comment FROM {p}order_history WHERE order_id = %s"
                                 " ORDER BY order_history_id DESC", (order_id,)):
            shipment = parse_shipment(row["comment"] or "", self.default_carrier)
            if shipment:
                break
        if shipment is None:
            logger.info("{} order {} is shipped without a tracking number in its history; nothing reported",
                        self.account.code, order_id)
            return False
        try:
            self.client.ship_order(_ref(link), shipment)
        except (PermanentError, NotImplementedError) as exc:
            # The marketplace will not take it as it is: show why in the admin, don't retry.
            message = getattr(exc, "message", None) or str(exc)
            self._flag(link, f"ship_failed: {message}"[:200])
            logger.warning("{} refused the shipment of order {}: {}", self.account.code, order_id, message)
            return False
        # A crash between the call and this update sends the same tracking number once more on
        # redelivery, which the marketplaces accept as a repeat.
        self.db.execute("UPDATE {p}kervan_order_link SET shipped_at = CURRENT_TIMESTAMP(6), tracking_number = %s"
                        " WHERE order_link_id = %s AND shipped_at IS NULL",
                        (shipment.tracking_number, link["order_link_id"]))
        logger.info("{} order {}: shipment {} {} reported", self.account.code, order_id, shipment.carrier,
                    shipment.tracking_number)
        return True

    def _cancel(self, order_id: int, link: dict[str, Any]) -> bool:
        if link["cancelled_at"] is not None or link["shipped_at"] is not None:
            return False  # told already, or on its way to the customer: nothing to cancel
        try:
            self.client.cancel_order_lines(_ref(link), self.cancel_reason)
        except (PermanentError, NotImplementedError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            self._flag(link, f"cancel_failed: {message}"[:200])
            logger.warning("{} refused to cancel order {}: {}", self.account.code, order_id, message)
            return False
        self.db.execute("UPDATE {p}kervan_order_link SET cancelled_at = CURRENT_TIMESTAMP(6)"
                        " WHERE order_link_id = %s AND cancelled_at IS NULL", (link["order_link_id"],))
        logger.info("{} order {}: cancelled on the marketplace ({})", self.account.code, order_id, self.cancel_reason)
        return True

    def _flag(self, link: dict[str, Any], flag: str) -> None:
        kind = flag.split(":", 1)[0]
        flags = [f for f in (link["flags"] or "").split(",") if f and not f.startswith(kind)]
        self.db.execute("UPDATE {p}kervan_order_link SET flags = %s WHERE order_link_id = %s",
                        (",".join([*flags, flag.replace(",", ";")])[:255], link["order_link_id"]))


__all__ = ["ShipmentReporter", "parse_shipment"]


def _ref(link: dict[str, Any]) -> OrderRef:
    raw = json.loads(link["ref"])
    return OrderRef(order_id=str(raw["order_id"]), package_id=raw.get("package_id"),
                    lines=tuple((str(line), int(qty)) for line, qty in raw.get("lines") or []))
