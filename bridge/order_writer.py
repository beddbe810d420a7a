"""Marketplace orders into OpenCart's own order tables, exactly once.

OpenCart's signed catalog API would price lines from OpenCart's catalogue, not at the price the
customer paid on the marketplace (opencart.md §5), so the order is written the way
``catalog/model/checkout/order.php`` stores one: ``order`` (status 0), ``order_product``,
``order_option``, ``order_total`` (sub_total, shipping, one tax row per rate, total), then the
status, ``order_history`` and the stock UPDATEs of ``addHistory`` (product, master product, each only
where ``subtract = 1``).

All of it is one transaction that begins by claiming the marketplace order in
``kervan_order_link`` (unique on channel + remote id) with ``INSERT IGNORE``: a second poller
importing the same order waits on that row and then sees it taken, a crash anywhere rolls the
whole order back, so an order is created once and lowers stock once. A later poll with a new
marketplace state moves the OpenCart status and, like ``addHistory``, restocks when the order
leaves OpenCart's processing/complete statuses (cancellation) and subtracts when it enters them.

The same transaction writes ``stock.changed`` outbox rows for every product whose stock moved,
so every other channel gets the new stock within seconds, and ``order.created`` /
``order.status_changed`` as the extension does for a storefront order (dropshipping forwards
supplier lines from them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge import outbox
from bridge.db import Database
from bridge.envelope import Event
from workers.orders import model as m

# Neutral state → OpenCart order_status_id (OpenCart's installed statuses: 1 Pending,
# 2 Processing, 3 Shipped, 5 Complete, 7 Canceled, 11 Refunded, 15 Processed). A channel's
# settings may override any of them with "order_statuses": {"cancelled": 7, ...}.
DEFAULT_STATUSES: dict[str, int] = {
    m.AWAITING: 1,
    m.CREATED: 2,
    m.PICKING: 2,
    m.INVOICED: 15,
    m.SHIPPED: 3,
    m.DELIVERED: 5,
    m.UNDELIVERED: 3,
    m.CANCELLED: 7,
    m.RETURNED: 11,
}

CENT = Decimal("0.0001")  # OpenCart stores decimal(15,4)
FLAG_UNKNOWN_SKU = "unknown_sku"
FLAG_UNKNOWN_CURRENCY = "unknown_currency"
FLAG_TOTAL_MISMATCH = "total_mismatch"
# The marketplace sent the order with data no shop can store; nothing of it was written.
FLAG_INVALID = "invalid_order"


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class WriteResult:
    order_id: int
    created: bool = False
    status_changed: bool = False
    flags: list[str] = field(default_factory=list)
    stock_moved: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Store:
    name: str
    url: str
    customer_group_id: int
    language_id: int
    language_code: str
    active_statuses: frozenset[int]  # config_processing_status ∪ config_complete_status


class OrderWriter:
    """Writes one channel account's marketplace orders into OpenCart."""

    def __init__(self, db: Database, channel_id: int, channel_code: str, settings: dict[str, Any] | None = None,
                 *, label: str | None = None) -> None:
        self.db = db
        self.channel_id = channel_id
        self.code = channel_code
        self.label = label or channel_code.capitalize()
        settings = settings or {}
        self.statuses = {**DEFAULT_STATUSES, **{k: int(v) for k, v in (settings.get("order_statuses") or {}).items()}}
        self._store: _Store | None = None
        self._columns: dict[str, dict[str, str]] = {}

    # -- OpenCart facts, read once ------------------------------------------------------------
    def store(self) -> _Store:
        if self._store is None:
            rows = self.db.query(
                "SELECT `key`, value, serialized FROM {p}setting WHERE store_id = 0 AND `key` IN"
                " ('config_name', 'config_url', 'config_customer_group_id', 'config_language',"
                "  'config_processing_status', 'config_complete_status')")
            conf = {r["key"]: (json.loads(r["value"]) if r["serialized"] else r["value"]) for r in rows}
            code = conf.get("config_language") or "en-gb"
            lang = self.db.one("SELECT language_id FROM {p}language WHERE code = %s", (code,)) or self.db.one(
                "SELECT MIN(language_id) AS language_id FROM {p}language")
            active = {int(x) for x in (conf.get("config_processing_status") or []) + (conf.get(
                "config_complete_status") or [])}
            self._store = _Store(
                name=conf.get("config_name") or "", url=conf.get("config_url") or "",
                customer_group_id=int(conf.get("config_customer_group_id") or 1),
                language_id=int(lang["language_id"] or 1), language_code=code,
                active_statuses=frozenset(active or {1, 2, 3, 5, 12, 15}),
            )
        return self._store

    def columns(self, table: str) -> dict[str, str]:
        """Column → data type for columns that need a value on insert (NOT NULL without default):
        4.0.2.3 declares nearly every column so, and runs OpenCart's own loose sql_mode, which an
        external writer does not have (opencart.md §11)."""
        if table not in self._columns:
            rows = self.db.query(
                "SELECT column_name AS name, data_type AS type FROM information_schema.columns"
                " WHERE table_schema = DATABASE() AND table_name = %s AND is_nullable = 'NO'"
                " AND column_default IS NULL AND extra NOT LIKE %s",
                (self.db.prefix + table, "%auto_increment%"),
            )
            self._columns[table] = {r["name"]: r["type"] for r in rows}
        return self._columns[table]

    def insert_row(self, cur: Any, table: str, row: dict[str, Any]) -> int:
        """Insert one row into an OpenCart table, filling the NOT NULL columns this version
        declares without a default (so one row shape serves 4.0.2.3 and 4.1)."""
        existing = self._existing_columns(table)  # 4.0.2.3 and 4.1 differ in a few columns
        full = {k: v for k, v in row.items() if k in existing}
        for name, kind in self.columns(table).items():
            if name not in full:
                full[name] = 0 if kind in ("int", "tinyint", "smallint", "bigint", "decimal", "float", "double") else (
                    "2000-01-01 00:00:00" if kind in ("datetime", "date", "timestamp") else "")
        names = ", ".join(f"`{k}`" for k in full)
        marks = ", ".join(["%s"] * len(full))
        cur.execute(f"INSERT INTO {{p}}{table} ({names}) VALUES ({marks})",  # noqa: S608
                    tuple(_storable(v) for v in full.values()))
        return int(cur.lastrowid)

    # -- public -------------------------------------------------------------------------------
    def apply(self, order: m.MarketOrder) -> WriteResult:
        """Create the OpenCart order, or move its status; safe to call any number of times.
        Raises ``InvalidOrder`` (nothing written) for lines no shop could store."""
        _check(order)
        self.store()
        return self.db.run_in_transaction(lambda cur: self._apply(cur, order))

    def _apply(self, cur: Any, order: m.MarketOrder) -> WriteResult:
        if not [line for line in order.lines if line.state != m.CANCELLED] and order.state != m.CANCELLED:
            # A status-only document (e.g. a Hepsiburada delivery feed row) of an order we have not
            # seen with its lines: nothing to create; the order comes with its lines later.
            cur.execute("SELECT order_link_id, order_id, remote_status, flags, ref FROM {p}kervan_order_link"
                        " WHERE channel_id = %s AND remote_order_id = %s FOR UPDATE",
                        (self.channel_id, order.remote_id))
            link = cur.fetchone()
            return self._update(cur, order, link) if link else WriteResult(order_id=0)
        cur.execute(
            "INSERT IGNORE INTO {p}kervan_order_link (channel_id, remote_order_id, order_id, remote_status)"
            " VALUES (%s, %s, 0, %s)",
            (self.channel_id, order.remote_id, order.remote_status[:64]),
        )
        if cur.rowcount == 1:
            return self._create(cur, order)
        cur.execute(
            "SELECT order_link_id, order_id, remote_status, flags, ref FROM {p}kervan_order_link"
            " WHERE channel_id = %s AND remote_order_id = %s FOR UPDATE",
            (self.channel_id, order.remote_id),
        )
        link = cur.fetchone()
        if not link["order_id"]:
            # Refused before (``refuse``), and valid now: the marketplace corrected it.
            return self._create(cur, order)
        return self._update(cur, order, link)

    def refuse(self, order: m.MarketOrder, reason: str) -> None:
        """Remember an order ``apply`` refused (``InvalidOrder``), with the reason on its link, so the
        merchant sees it on the Orders page and the poll moves on; a later valid version of the
        same order is created as usual."""
        flag = f"{FLAG_INVALID}: {reason}".replace(",", ";")[:255]
        self.db.execute(
            "INSERT INTO {p}kervan_order_link (channel_id, remote_order_id, order_id, remote_status, flags)"
            " VALUES (%s, %s, 0, %s, %s) ON DUPLICATE KEY UPDATE flags = IF(order_id = 0, VALUES(flags), flags)",
            (self.channel_id, order.remote_id, order.remote_status[:64], flag))

    # -- creating -----------------------------------------------------------------------------
    def _resolve(self, cur: Any, skus: list[str]) -> dict[str, int]:
        """Marketplace SKU → OpenCart product: the listing Kervan made for it on this channel, else
        a product whose model is that SKU (stock codes are often the model)."""
        if not skus:
            return {}
        marks = ",".join(["%s"] * len(skus))
        cur.execute(
            f"SELECT remote_sku, product_id FROM {{p}}kervan_listing WHERE channel_id = %s"  # noqa: S608
            f" AND remote_sku IN ({marks})", (self.channel_id, *skus))
        found = {r["remote_sku"]: int(r["product_id"]) for r in cur.fetchall()}
        rest = [s for s in skus if s not in found]
        if rest:
            marks = ",".join(["%s"] * len(rest))
            cur.execute(f"SELECT model, MIN(product_id) AS product_id FROM {{p}}product"  # noqa: S608
                        f" WHERE model IN ({marks}) GROUP BY model", tuple(rest))
            found.update({r["model"]: int(r["product_id"]) for r in cur.fetchall()})
        return found

    def _address(self, cur: Any, a: m.Address) -> dict[str, Any]:
        lang = self.store().language_id
        # 4.1 moved country and zone names into *_description tables.
        if "name" in self._existing_columns("country"):
            cur.execute("SELECT country_id, name FROM {p}country WHERE iso_code_2 = %s", (a.country_code,))
        else:
            cur.execute("SELECT c.country_id, d.name FROM {p}country c LEFT JOIN {p}country_description d"
                        " ON d.country_id = c.country_id AND d.language_id = %s WHERE c.iso_code_2 = %s",
                        (lang, a.country_code))
        country = cur.fetchone() or {}
        zone_id = 0
        if country and a.zone:
            if "name" in self._existing_columns("zone"):
                cur.execute("SELECT zone_id FROM {p}zone WHERE country_id = %s AND name = %s",
                            (country["country_id"], a.zone))
            else:
                cur.execute("SELECT z.zone_id FROM {p}zone z JOIN {p}zone_description d ON d.zone_id = z.zone_id"
                            " WHERE z.country_id = %s AND d.name = %s", (country["country_id"], a.zone))
            zone_id = int((cur.fetchone() or {}).get("zone_id") or 0)
        return {
            "firstname": a.firstname[:32], "lastname": a.lastname[:32], "company": a.company[:60],
            "address_1": a.address_1[:128], "address_2": a.address_2[:128], "city": a.city[:128],
            "postcode": a.postcode[:10], "country": country.get("name") or a.country_code,
            "country_id": int(country.get("country_id") or 0), "zone": a.zone[:128], "zone_id": zone_id,
            "address_format": "", "custom_field": "[]",
        }

    def _create(self, cur: Any, order: m.MarketOrder) -> WriteResult:
        store = self.store()
        flags: list[str] = []
        products = self._resolve(cur, sorted({line.sku for line in order.lines if line.sku}))
        cur.execute("SELECT currency_id, value FROM {p}currency WHERE code = %s", (order.currency,))
        currency = cur.fetchone()
        if currency is None:
            flags.append(FLAG_UNKNOWN_CURRENCY)
        # OpenCart keeps amounts in the store's default currency and the order's rate beside them.
        rate = Decimal(str(currency["value"])) if currency and currency["value"] else Decimal(1)

        lines, sub_total, taxes = [], Decimal(0), {}
        # Lines already cancelled when the order is first seen were never sold: not written.
        live = [line for line in order.lines if line.state != m.CANCELLED]
        for line in live:
            vat = line.vat_rate
            net_unit = line.unit_price / (1 + vat / 100)
            tax_unit = line.unit_price - net_unit
            pid = products.get(line.sku, 0)
            if not pid:
                flags.append(FLAG_UNKNOWN_SKU)
            lines.append((line, pid, _q(net_unit / rate), _q(tax_unit / rate)))
            sub_total += net_unit * line.quantity
            taxes[vat] = taxes.get(vat, Decimal(0)) + tax_unit * line.quantity
        shipping = order.shipping
        live_total = sum((line.unit_price * line.quantity for line in live), Decimal(0))
        total = order.total if order.total is not None else live_total + shipping
        if abs((live_total + shipping) - total) > Decimal("0.01"):
            # The marketplace's total differs from its own lines (a discount it funds, say): the
            # marketplace's figure is what the merchant is paid, so it is kept and flagged.
            flags.append(FLAG_TOTAL_MISMATCH)

        payment = self._address(cur, order.payment_address)
        shipping_addr = self._address(cur, order.shipping_address)
        method = {"name": self.label, "code": f"kervan.{self.code}"}
        row: dict[str, Any] = {
            "invoice_prefix": "", "store_id": 0, "store_name": store.name, "store_url": store.url,
            "customer_id": 0, "customer_group_id": store.customer_group_id,
            "firstname": order.customer_firstname[:32], "lastname": order.customer_lastname[:32],
            "email": order.email[:96], "telephone": order.telephone[:32], "custom_field": "[]",
            **{f"payment_{k}": v for k, v in payment.items()},
            "payment_method": json.dumps(method, ensure_ascii=False),
            **{f"shipping_{k}": v for k, v in shipping_addr.items()},
            "shipping_method": json.dumps({**method, "name": order.carrier or self.label, "cost": str(shipping)},
                                          ensure_ascii=False),
            "comment": f"{self.label} order {order.order_number}",
            "total": _q(total / rate), "order_status_id": 0, "affiliate_id": 0, "commission": 0,
            "marketing_id": 0, "tracking": "", "language_id": store.language_id,
            "language_code": store.language_code, "currency_id": int(currency["currency_id"]) if currency else 0,
            "currency_code": order.currency[:3], "currency_value": rate, "ip": "", "forwarded_ip": "",
            "user_agent": f"Kervan {self.code}", "accept_language": "",
            "date_added": order.created_at.replace(tzinfo=None), "date_modified": order.created_at.replace(tzinfo=None),
        }
        order_id = self.insert_row(cur, "order", row)

        for line, pid, net_unit, tax_unit in lines:
            op_id = self.insert_row(cur, "order_product", {
                "order_id": order_id, "product_id": pid, "master_id": self._master(cur, pid),
                "name": line.name[:255], "model": (line.model or line.sku)[:64], "quantity": line.quantity,
                "price": net_unit, "total": _q(net_unit * line.quantity), "tax": tax_unit, "reward": 0,
            })
            if line.variant:
                self.insert_row(cur, "order_option", {
                    "order_id": order_id, "order_product_id": op_id, "product_option_id": 0,
                    "product_option_value_id": 0, "name": "Varyant", "value": line.variant[:255], "type": "text",
                })
        totals = [("sub_total", "Sub-Total", sub_total, 1)]
        if shipping:
            totals.append(("shipping", order.carrier or f"{self.label} kargo", shipping, 3))
        for vat, amount in sorted(taxes.items()):
            if amount:
                totals.append(("tax", f"KDV %{vat.normalize():f}", amount, 5))
        totals.append(("total", "Total", total, 9))
        for code, title, value, sort in totals:
            self.insert_row(cur, "order_total", {"order_id": order_id, "extension": "opencart", "code": code,
                                              "title": title[:255], "value": _q(value / rate), "sort_order": sort})

        result = WriteResult(order_id=order_id, created=True, flags=sorted(set(flags)))
        ref = self._ref(order)
        cur.execute("UPDATE {p}kervan_order_link SET order_id = %s, flags = %s, ref = %s WHERE channel_id = %s"
                    " AND remote_order_id = %s",
                    (order_id, ",".join(result.flags) or None, json.dumps(ref, ensure_ascii=False), self.channel_id,
                     order.remote_id))
        # What the extension writes for a storefront order: dropshipping forwards supplier lines
        # from it, the catalog resends the order's products.
        outbox.write(cur, Event("order.created", "order", str(order_id), {"order_id": order_id, "channel": self.code},
                                source=f"kervan:{self.code}"))
        # Lines cancelled before we saw the order were sold on the marketplace all the same: it
        # took their stock when the customer ordered, so those listings are resent too.
        gone = {p for line in order.lines if line.state == m.CANCELLED and (pid := products.get(line.sku))
                for p in (pid, self._master(cur, pid)) if p}
        self._set_status(cur, order_id, 0, self.statuses[order.state], order, result, also=gone)
        return result

    @staticmethod
    def _ref(order: m.MarketOrder) -> dict[str, Any]:
        """What a later action on the marketplace needs (an ``OrderRef``)."""
        package = order.package_id or (order.remote_id if order.remote_id != order.order_number else None)
        return {"order_id": order.order_number, "package_id": package,
                "lines": [[line.remote_line_id, line.quantity] for line in order.lines if line.state != m.CANCELLED]}

    def _existing_columns(self, table: str) -> set[str]:
        key = f"*{table}"
        if key not in self._columns:
            rows = self.db.query("SELECT column_name AS name FROM information_schema.columns"
                                 " WHERE table_schema = DATABASE() AND table_name = %s", (self.db.prefix + table,))
            if not rows:
                raise RuntimeError(f"cannot read the columns of {self.db.prefix}{table}")
            self._columns[key] = {r["name"]: "" for r in rows}
        return set(self._columns[key])

    def _master(self, cur: Any, product_id: int) -> int:
        if not product_id:
            return 0
        cur.execute("SELECT master_id FROM {p}product WHERE product_id = %s", (product_id,))
        return int((cur.fetchone() or {}).get("master_id") or 0)

    # -- status and stock ---------------------------------------------------------------------
    def _update(self, cur: Any, order: m.MarketOrder, link: dict[str, Any]) -> WriteResult:
        order_id = int(link["order_id"])
        result = WriteResult(order_id=order_id, flags=[f for f in (link["flags"] or "").split(",") if f])
        if order.lines and order.package_id:
            # Hepsiburada names the package only once the order is packaged.
            ref = self._ref(order)
            if json.loads(link.get("ref") or "{}").get("package_id") != ref["package_id"]:
                cur.execute("UPDATE {p}kervan_order_link SET ref = %s WHERE order_link_id = %s",
                            (json.dumps(ref, ensure_ascii=False), link["order_link_id"]))
        if link["remote_status"] == order.remote_status[:64]:
            return result
        cur.execute("SELECT order_status_id FROM {p}order WHERE order_id = %s FOR UPDATE", (order_id,))
        row = cur.fetchone()
        if row is None:  # the merchant deleted the order in OpenCart: leave it deleted
            return result
        cur.execute("UPDATE {p}kervan_order_link SET remote_status = %s WHERE order_link_id = %s",
                    (order.remote_status[:64], link["order_link_id"]))
        new = self.statuses[order.state]
        if new != int(row["order_status_id"]):
            self._set_status(cur, order_id, int(row["order_status_id"]), new, order, result)
        return result

    def _set_status(self, cur: Any, order_id: int, old: int, new: int, order: m.MarketOrder,
                    result: WriteResult, also: set[int] | None = None) -> None:
        """What ``addHistory`` does: the status, a history row, and stock when the order enters or
        leaves the processing/complete statuses. ``also``: products the order touched on the
        marketplace without an OpenCart line (lines cancelled before it was first seen)."""
        active = self.store().active_statuses
        cur.execute("UPDATE {p}order SET order_status_id = %s, date_modified = NOW() WHERE order_id = %s",
                    (new, order_id))
        self.insert_row(cur, "order_history", {
            "order_id": order_id, "order_status_id": new, "notify": 0,
            "comment": f"{self.label}: {order.remote_status}"[:1000], "date_added": _now(cur)})
        result.status_changed = True
        outbox.write(cur, Event("order.status_changed", "order", str(order_id),
                                {"order_id": order_id, "old_status_id": old, "new_status_id": new, "channel": self.code},
                                source=f"kervan:{self.code}"))
        sign = -1 if (old not in active and new in active) else 1 if (old in active and new not in active) else 0
        # A new order took the marketplace's own stock whatever OpenCart's status does with it.
        if not sign and old:
            return
        cur.execute("SELECT product_id, master_id, quantity FROM {p}order_product WHERE order_id = %s AND product_id > 0",
                    (order_id,))
        moved: set[int] = set()
        touched: set[int] = set(also or ())
        for line in cur.fetchall():
            qty = sign * int(line["quantity"])
            for pid in (int(line["product_id"]), int(line.get("master_id") or 0)):
                if not pid:
                    continue
                touched.add(pid)
                if sign and cur.execute("UPDATE {p}product SET quantity = quantity + %s WHERE product_id = %s"
                                        " AND subtract = 1", (qty, pid)):
                    moved.add(pid)
        if sign:
            cur.execute("SELECT oo.product_option_value_id, op.quantity FROM {p}order_option oo JOIN {p}order_product op"
                        " ON op.order_product_id = oo.order_product_id WHERE oo.order_id = %s"
                        " AND oo.product_option_value_id > 0", (order_id,))
            for opt in cur.fetchall():
                cur.execute("UPDATE {p}product_option_value SET quantity = quantity + %s"
                            " WHERE product_option_value_id = %s AND subtract = 1",
                            (sign * int(opt["quantity"]), opt["product_option_value_id"]))
        # Every product of the order, moved or not: the marketplace the order came from changed its
        # own stock by itself, so that listing is resent even where OpenCart's stock stays (subtract = 0).
        for pid in sorted(touched):
            outbox.write(cur, Event("stock.changed", "product", str(pid),
                                    {"product_id": pid, "reason": "order", "channel": self.code,
                                     "order_id": order_id, "moved": pid in moved}, source=f"kervan:{self.code}"))
        result.stock_moved = sorted(moved)


class InvalidOrder(ValueError):
    """A marketplace order no shop could store as it is (a negative quantity, a price that is not
    a number): refused whole, with the line named, before anything is written."""


def _check(order: m.MarketOrder) -> None:
    for line in order.lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity <= 0:
            raise InvalidOrder(f"order {order.remote_id}: line {line.remote_line_id} has quantity {line.quantity!r}")
        for what, value in (("price", line.unit_price), ("VAT rate", line.vat_rate)):
            if not Decimal(value).is_finite() or Decimal(value) < 0:
                raise InvalidOrder(f"order {order.remote_id}: line {line.remote_line_id} has {what} {value}")
    for what, value in (("total", order.total), ("shipping", order.shipping)):
        if value is not None and (not Decimal(value).is_finite() or Decimal(value) < 0):
            raise InvalidOrder(f"order {order.remote_id}: {what} {value}")


def _storable(value: Any) -> Any:
    # A lone surrogate (legal in JSON, "\ud800") cannot be encoded for MariaDB: shown as U+FFFD.
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _now(cur: Any) -> Any:
    cur.execute("SELECT NOW() AS now")
    return cur.fetchone()["now"]


__all__ = ["DEFAULT_STATUSES", "InvalidOrder", "OrderWriter", "WriteResult"]
