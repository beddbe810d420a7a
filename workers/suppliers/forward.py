"""An OpenCart order's supplier lines forwarded to each supplier exactly once.

For one order: its lines are matched to suppliers through ``kervan_supplier_product``
(``order_product.product_id`` and, for a variant kept as an option value, the line's
``order_option.product_option_value_id``), grouped per supplier, and for every supplier whose
forward settings name the order's current status:

1. **reserve** — ``INSERT IGNORE`` a ``kervan_supplier_order`` row (unique on order + supplier)
   with a fresh idempotency key and the lines, committed on its own *before* any call;
2. **send** — under a per-row MariaDB lock (released by the server if this process dies), only
   while the row is still 'reserved', with the row's key: the supplier deduplicates by it;
3. **record** — state 'sent' and the supplier's id for the order.

A crash between 1 and 3 leaves the row 'reserved'; the redelivered event (or the worker's sweep)
sends again with the same key, so the supplier ends with one order. An "out of stock" answer puts
the row and the lines named on hold and tells the merchant in the order's history (not the
customer); a rejection (validation, auth, missing address) marks it failed, said the same way;
anything transient (timeouts, 5xx) is raised for the runtime to retry later.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from loguru import logger

from bridge.db import Database
from workers.channels.errors import PermanentError, TransientError
from workers.suppliers import forward_settings
from workers.suppliers.forward_settings import ForwardSettings, ForwardSettingsError
from workers.suppliers.forward_types import OutOfStockError, Sender

# States a forward waits in for the merchant or for tracking; only 'reserved' is ever sent.
RESERVED, SENT, SHIPPED, ON_HOLD, FAILED = "reserved", "sent", "shipped", "on_hold", "failed"


@dataclass(frozen=True)
class Supplier:
    supplier_id: int
    code: str
    name: str
    raw_forward: str
    settings: ForwardSettings | None
    settings_error: str | None = None


@dataclass(frozen=True)
class Outcome:
    supplier_id: int
    state: str  # the row's state after this call ("busy": another process is sending it now)
    sent_now: bool = False
    remote_id: str | None = None
    error: str | None = None


def reference(order_id: int, supplier_id: int) -> str:
    """Our PO number for the supplier: what it names the order by, in answers and tracking files."""
    return f"{order_id}-{supplier_id}"


def load_suppliers(db: Database, default_triggers: frozenset[int]) -> dict[int, Supplier]:
    out = {}
    for row in db.query("SELECT supplier_id, code, name, `forward` FROM {p}kervan_supplier WHERE enabled = 1"):
        raw = row["forward"] or ""
        try:
            settings, error = forward_settings.parse(raw, default_triggers), None
        except ForwardSettingsError as exc:
            settings, error = None, str(exc)
        if settings is None and error is None:
            continue  # takes no forwarded orders
        out[int(row["supplier_id"])] = Supplier(int(row["supplier_id"]), row["code"], row["name"], raw, settings,
                                                error)
    return out


def default_sender(supplier: Supplier) -> Sender:
    settings = supplier.settings
    assert settings is not None
    if settings.mode == "rest":
        from workers.suppliers.forward_rest import RestSender

        return RestSender(settings.rest, name=supplier.code)
    from workers.suppliers.forward_email import EmailSender

    return EmailSender(settings.email)


# -- reading the order --------------------------------------------------------------------------
def supplier_lines(db: Database, order_id: int, suppliers: set[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    """The order's lines that a supplier provides, per supplier. A link to the line's option value
    wins over a link to the whole product; between equal links the lower supplier id."""
    products = db.query("SELECT order_product_id, product_id, name, model, quantity FROM {p}order_product"
                        " WHERE order_id = %s ORDER BY order_product_id", (order_id,))
    if not products:
        return {}
    options: dict[int, list[dict[str, Any]]] = {}
    for opt in db.query("SELECT order_product_id, product_option_value_id, name, value FROM {p}order_option"
                        " WHERE order_id = %s ORDER BY order_option_id", (order_id,)):
        options.setdefault(int(opt["order_product_id"]), []).append(opt)
    ids = sorted({int(p["product_id"]) for p in products if p["product_id"]})
    if not ids:
        return {}
    marks = ",".join(["%s"] * len(ids))
    links = db.query(
        f"SELECT sp.supplier_id, sp.product_id, sp.product_option_value_id, sp.supplier_code, sp.barcode, sp.cost,"  # noqa: S608
        f" sp.currency"
        f" FROM {{p}}kervan_supplier_product sp JOIN {{p}}kervan_supplier s ON s.supplier_id = sp.supplier_id"
        f" AND s.enabled = 1 WHERE sp.product_id IN ({marks}) ORDER BY sp.supplier_id", tuple(ids))
    by_product: dict[int, list[dict[str, Any]]] = {}
    for link in links:
        if suppliers is None or int(link["supplier_id"]) in suppliers:
            by_product.setdefault(int(link["product_id"]), []).append(link)
    out: dict[int, list[dict[str, Any]]] = {}
    for line in products:
        opts = options.get(int(line["order_product_id"]), [])
        chosen_values = {int(o["product_option_value_id"]) for o in opts if o["product_option_value_id"]}
        candidates = by_product.get(int(line["product_id"]), [])
        specific = [c for c in candidates if int(c["product_option_value_id"]) in chosen_values]
        whole = [c for c in candidates if not int(c["product_option_value_id"])]
        link = (specific or whole or [None])[0]
        if link is None:
            continue
        out.setdefault(int(link["supplier_id"]), []).append({
            "line_ref": str(line["order_product_id"]),
            "product_id": int(line["product_id"]),
            "supplier_code": link["supplier_code"],
            "barcode": link["barcode"] or "",
            "name": line["name"],
            "model": line["model"],
            "options": ", ".join(f"{o['name']}: {o['value']}" for o in opts),
            "quantity": int(line["quantity"]),
            "unit_cost": str(Decimal(str(link["cost"])).normalize()) if link["cost"] is not None else "",
            "currency": link["currency"],
        })
    return out


def _store_phone(db: Database, store_id: int) -> str:
    row = db.one("SELECT value FROM {p}setting WHERE store_id = %s AND `key` = 'config_telephone'", (store_id,))
    return str((row or {}).get("value") or "").strip()


def _country_code(db: Database, country_id: int) -> str:
    row = db.one("SELECT iso_code_2 FROM {p}country WHERE country_id = %s", (country_id,)) if country_id else None
    return (row or {}).get("iso_code_2") or ""


def build_document(db: Database, order: dict[str, Any], lines: list[dict[str, Any]], supplier_id: int) -> dict[str, Any]:
    """What every way of forwarding needs (supplier-feeds.md §4.2): our PO number and order id,
    the date, ship-to with phone, and the lines with the supplier's codes and quantities."""
    # An order without shipping (all lines virtual) has no shipping address: fall back to payment's.
    side = "shipping" if (order.get("shipping_firstname") or order.get("shipping_address_1")) else "payment"

    def part(name: str) -> str:
        return str(order.get(f"{side}_{name}") or "").strip()

    address = ", ".join(x for x in (part("address_1"), part("address_2")) if x)
    ship_to = {
        "name": " ".join(x for x in (part("firstname"), part("lastname")) if x),
        "firstname": part("firstname"), "lastname": part("lastname"), "company": part("company"),
        "address": address, "address_1": part("address_1"), "address_2": part("address_2"),
        "city": part("city"), "zone": part("zone"), "postcode": part("postcode"), "country": part("country"),
        "country_code": _country_code(db, int(order.get(f"{side}_country_id") or 0)),
        # Marketplaces often withhold the customer's phone (Trendyol masks it); the supplier ships
        # in the merchant's name, so the store's own phone is the contact then.
        "telephone": str(order.get("telephone") or "").strip() or _store_phone(db, int(order.get("store_id") or 0)),
        "email": str(order.get("email") or "").strip(),
    }
    added = order.get("date_added")
    return {
        "reference": reference(int(order["order_id"]), supplier_id),
        "order_id": int(order["order_id"]),
        "order_date": added.strftime("%Y-%m-%dT%H:%M:%S") if hasattr(added, "strftime") else str(added or ""),
        "currency": lines[0].get("currency") or order.get("currency_code") or "TRY",
        "ship_to": ship_to,
        "comment": str(order.get("comment") or "")[:500],
        "lines": [{k: v for k, v in line.items() if k not in ("state", "currency")} for line in lines],
    }


def missing_fields(document: dict[str, Any]) -> list[str]:
    """What a supplier cannot ship without; checked before the call, so the merchant hears it at once."""
    ship = document["ship_to"]
    missing = [label for key, label in (("name", "recipient name"), ("address", "address"), ("city", "district/city"),
                                        ("telephone", "phone")) if not ship.get(key)]
    for line in document["lines"]:
        if not line.get("supplier_code"):
            missing.append(f"supplier code of line {line['name']!r}")
        if int(line.get("quantity") or 0) <= 0:
            missing.append(f"quantity of line {line['name']!r}")
    return missing


# -- forwarding ---------------------------------------------------------------------------------
class Forwarder:
    def __init__(self, db: Database, *, default_triggers: frozenset[int] = frozenset({2, 15}),
                 sender_factory: Callable[[Supplier], Sender] = default_sender) -> None:
        self.db = db
        self.default_triggers = default_triggers
        self.sender_factory = sender_factory
        self._senders: dict[tuple[int, str], Sender] = {}

    def suppliers(self) -> dict[int, Supplier]:
        return load_suppliers(self.db, self.default_triggers)

    def sender(self, supplier: Supplier) -> Sender:
        key = (supplier.supplier_id, supplier.raw_forward)  # new settings, new sender
        if key not in self._senders:
            self._senders[key] = self.sender_factory(supplier)
        return self._senders[key]

    def forward_order(self, order_id: int) -> list[Outcome]:
        """Forward what is due of ``order_id``; safe to call any number of times. Raises the first
        ``TransientError`` after every supplier had its turn (the runtime retries the event)."""
        order = self.db.one("SELECT * FROM {p}order WHERE order_id = %s", (order_id,))
        if order is None:
            return []
        suppliers = self.suppliers()
        status = int(order["order_status_id"])
        # A supplier whose settings cannot be read is told to the merchant at the usual moment.
        due = {sid for sid, s in suppliers.items()
               if status in (s.settings.trigger_status_ids if s.settings else self.default_triggers)}
        if not due:
            return []
        groups = supplier_lines(self.db, order_id, set(suppliers))
        outcomes: list[Outcome] = []
        transient: list[TransientError] = []
        for sid in sorted(groups):
            if sid not in due:
                continue
            try:
                outcomes.append(self._forward_one(order, suppliers[sid], groups[sid]))
            except TransientError as exc:
                transient.append(exc)
        if transient:
            raise transient[0]
        return outcomes

    def retry(self, order_id: int, supplier_id: int) -> list[Outcome]:
        """The merchant's "send again" for an on-hold or failed forward: a new key (the supplier
        made no order under the old one), the lines read afresh, then forwarded as usual."""
        self.db.execute("UPDATE {p}kervan_supplier_order SET state = %s, idempotency_key = %s, `lines` = NULL,"
                        " last_error = NULL WHERE order_id = %s AND supplier_id = %s AND state IN (%s, %s)",
                        (RESERVED, str(uuid.uuid4()), order_id, supplier_id, ON_HOLD, FAILED))
        return self.forward_order(order_id)

    # -- one supplier ---------------------------------------------------------------------------
    def _reserve(self, order_id: int, supplier_id: int, lines: list[dict[str, Any]]) -> dict[str, Any]:
        payload = json.dumps(lines, ensure_ascii=False)
        self.db.run_in_transaction(lambda cur: cur.execute(
            "INSERT IGNORE INTO {p}kervan_supplier_order (order_id, supplier_id, idempotency_key, state, `lines`)"
            " VALUES (%s, %s, %s, %s, %s)", (order_id, supplier_id, str(uuid.uuid4()), RESERVED, payload)))
        # A retry the merchant asked for cleared the lines: they are read afresh, then frozen.
        self.db.execute("UPDATE {p}kervan_supplier_order SET `lines` = %s WHERE order_id = %s AND supplier_id = %s"
                        " AND `lines` IS NULL", (payload, order_id, supplier_id))
        return self._row(order_id, supplier_id)

    def _row(self, order_id: int, supplier_id: int) -> dict[str, Any]:
        return self.db.one("SELECT * FROM {p}kervan_supplier_order WHERE order_id = %s AND supplier_id = %s",
                           (order_id, supplier_id))

    def _lock_name(self, row: dict[str, Any]) -> str:
        return f"kervan.fwd.{row['supplier_order_id']}.{self.db.dsn.database}"[:64]

    def _forward_one(self, order: dict[str, Any], supplier: Supplier, lines: list[dict[str, Any]]) -> Outcome:
        order_id, sid = int(order["order_id"]), supplier.supplier_id
        row = self._reserve(order_id, sid, lines)
        if row["state"] != RESERVED:
            return Outcome(sid, row["state"], remote_id=row["remote_id"])
        name = self._lock_name(row)
        # One sender per row at a time: an e-mail has no key the supplier could deduplicate by.
        if not self.db.one("SELECT GET_LOCK(%s, 0) AS got", (name,))["got"]:
            return Outcome(sid, "busy")
        try:
            row = self._row(order_id, sid)
            if row["state"] != RESERVED:
                return Outcome(sid, row["state"], remote_id=row["remote_id"])
            return self._send(order, supplier, row)
        finally:
            try:
                self.db.execute("DO RELEASE_LOCK(%s)", (name,))
            except Exception:  # noqa: BLE001 - a lost connection released it already
                self.db.reset()

    def _send(self, order: dict[str, Any], supplier: Supplier, row: dict[str, Any]) -> Outcome:
        sid = supplier.supplier_id
        if supplier.settings is None:
            return self._stop(row, FAILED, f"the supplier's forward settings cannot be used: {supplier.settings_error}",
                              supplier)
        lines = json.loads(row["lines"] or "[]")
        document = build_document(self.db, order, lines, sid)
        missing = missing_fields(document)
        if missing:
            return self._stop(row, FAILED, f"the order lacks {', '.join(missing)}", supplier)
        self.db.execute("UPDATE {p}kervan_supplier_order SET attempts = attempts + 1 WHERE supplier_order_id = %s",
                        (row["supplier_order_id"],))
        try:
            sent = self.sender(supplier).send(document, row["idempotency_key"])
        except OutOfStockError as exc:
            return self._stop(row, ON_HOLD, exc.message or str(exc), supplier, codes=exc.codes)
        except PermanentError as exc:
            return self._stop(row, FAILED, f"the supplier refused the order: {exc}", supplier)
        except TransientError as exc:
            self.db.execute("UPDATE {p}kervan_supplier_order SET last_error = %s WHERE supplier_order_id = %s",
                            (f"will retry: {exc}"[:2000], row["supplier_order_id"]))
            logger.warning("order {} to supplier {}: {} (will retry with the same key)", order["order_id"],
                           supplier.code, exc)
            raise
        self.db.execute(
            "UPDATE {p}kervan_supplier_order SET state = %s, remote_id = %s, last_error = NULL,"
            " sent_at = CURRENT_TIMESTAMP(6) WHERE supplier_order_id = %s AND state = %s",
            (SENT, sent.remote_id[:128], row["supplier_order_id"], RESERVED))
        logger.info("order {} forwarded to supplier {} as {}", order["order_id"], supplier.code, sent.remote_id)
        return Outcome(sid, SENT, sent_now=True, remote_id=sent.remote_id)

    def _stop(self, row: dict[str, Any], state: str, reason: str, supplier: Supplier,
              codes: tuple[str, ...] = ()) -> Outcome:
        """On hold or failed: recorded on the row and told to the merchant on the order (history
        comment, customer not notified), in one transaction."""
        lines = json.loads(row["lines"] or "[]")
        if state == ON_HOLD:
            for line in lines:
                if not codes or line.get("supplier_code") in codes:
                    line["state"] = ON_HOLD
            held = [f"{line['quantity']} x {line['name']} ({line['supplier_code']})" for line in lines
                    if line.get("state") == ON_HOLD]
            comment = (f"Supplier {supplier.name} is out of stock of {', '.join(held)}. These lines are on hold:"
                       f" nothing of this order was ordered from {supplier.name} yet. Send it again once the"
                       f" supplier has stock, or change the order. Supplier said: {reason}")
        else:
            comment = f"Not forwarded to supplier {supplier.name}: {reason}. Fix it, then send it again."

        def tx(cur: Any) -> None:
            cur.execute("UPDATE {p}kervan_supplier_order SET state = %s, `lines` = %s, last_error = %s"
                        " WHERE supplier_order_id = %s AND state = %s",
                        (state, json.dumps(lines, ensure_ascii=False), reason[:2000], row["supplier_order_id"],
                         RESERVED))
            if cur.rowcount != 1:
                return
            cur.execute("SELECT order_status_id FROM {p}order WHERE order_id = %s", (row["order_id"],))
            order = cur.fetchone()
            if order is not None:
                cur.execute("INSERT INTO {p}order_history (order_id, order_status_id, notify, comment, date_added)"
                            " VALUES (%s, %s, 0, %s, NOW())", (row["order_id"], order["order_status_id"], comment))

        self.db.run_in_transaction(tx)
        logger.warning("order {} to supplier {}: {} ({})", row["order_id"], supplier.code, state, reason)
        return Outcome(supplier.supplier_id, state, error=reason)

    # -- the sweep ------------------------------------------------------------------------------
    def due_orders(self, lookback_days: float, limit: int = 200) -> list[int]:
        """Orders in a forwarding status with supplier lines not forwarded yet (or left reserved by a
        crash): what the sweep forwards when an event was missed."""
        suppliers = self.suppliers()
        statuses = sorted({st for s in suppliers.values() if s.settings for st in s.settings.trigger_status_ids})
        if not statuses:
            return []
        marks = ",".join(["%s"] * len(statuses))
        rows = self.db.query(
            f"SELECT DISTINCT o.order_id FROM {{p}}order o"  # noqa: S608 - placeholders only
            f" JOIN {{p}}order_product op ON op.order_id = o.order_id"
            f" JOIN {{p}}kervan_supplier_product sp ON sp.product_id = op.product_id"
            f" JOIN {{p}}kervan_supplier s ON s.supplier_id = sp.supplier_id AND s.enabled = 1"
            f" LEFT JOIN {{p}}kervan_supplier_order so ON so.order_id = o.order_id AND so.supplier_id = s.supplier_id"
            f" WHERE o.order_status_id IN ({marks}) AND o.date_modified >= NOW() - INTERVAL %s SECOND"
            f" AND (so.supplier_order_id IS NULL OR so.state = %s) ORDER BY o.order_id LIMIT %s",
            (*statuses, int(lookback_days * 86400), RESERVED, limit))
        return [int(r["order_id"]) for r in rows]

    def sweep(self, lookback_days: float) -> int:
        done = 0
        for order_id in self.due_orders(lookback_days):
            try:
                done += sum(o.sent_now for o in self.forward_order(order_id))
            except TransientError as exc:
                logger.warning("sweep: order {} not forwarded yet: {}", order_id, exc)
        return done


__all__ = ["FAILED", "ON_HOLD", "RESERVED", "SENT", "SHIPPED", "Forwarder", "Outcome", "Supplier",
           "build_document", "load_suppliers", "missing_fields", "reference", "supplier_lines"]
