"""Helpers for the dropship tests: suppliers with forward settings, product links, and OpenCart
orders written the way the order import writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bridge import channels
from bridge.db import Database
from bridge.order_writer import OrderWriter
from sandbox.supplier.api import DEFAULT_TOKEN, SupplierApiSandbox
from workers.orders import model as m

IPHONE, CANON, PALM = 40, 30, 29  # demo products: models "product 11", "Product 3", "Product 2"


def rest_forward(sb: SupplierApiSandbox, **extra: Any) -> dict[str, Any]:
    rest = {"base_url": sb.base_url, "auth": {"type": "bearer", "token": DEFAULT_TOKEN}, "timeout": 5,
            **extra.pop("rest", {})}
    return {"mode": "rest", "trigger_status_ids": [2], "rest": rest, **extra}


def add_supplier(db: Database, code: str, forward: dict[str, Any] | str | None) -> int:
    raw = forward if isinstance(forward, str) or forward is None else json.dumps(forward)
    db.execute("INSERT INTO {p}kervan_supplier (code, name, `forward`) VALUES (%s, %s, %s)",
               (code, f"{code.capitalize()} Toptan", raw))
    return int(db.one("SELECT supplier_id FROM {p}kervan_supplier WHERE code = %s", (code,))["supplier_id"])


def link(db: Database, supplier_id: int, product_id: int, code: str, pov: int = 0, cost: str = "10.50") -> None:
    db.execute("INSERT INTO {p}kervan_supplier_product (supplier_id, item_key, product_id, product_option_value_id,"
               " supplier_code, cost) VALUES (%s, %s, %s, %s, %s, %s)", (supplier_id, code, product_id, pov, code, cost))


def channel(db: Database, code: str = "trendyol") -> int:
    account = channels.get(db, code)
    if account is not None:
        return account.channel_id
    return channels.upsert(db, code, name=code, base_url="http://127.0.0.1:1", seller_id="1",
                           credentials={}).channel_id


def market_order(db: Database, lines: list[tuple[str, int]], remote_id: str = "PKG-1", telephone: str = "05321234567",
                 channel_code: str = "trendyol") -> int:
    """A marketplace order in OpenCart (status Processing), lines given as (model/SKU, quantity)."""
    a = m.Address("Şükrü", "Öztürk", "İnönü Cd. No:5 D:3", city="Kadıköy", zone="İstanbul", postcode="34710",
                  telephone=telephone)
    order = m.MarketOrder(
        remote_id=remote_id, order_number="ORD-" + remote_id, state=m.CREATED, remote_status="Created",
        created_at=datetime.now(UTC), currency="TRY", customer_firstname="Şükrü", customer_lastname="Öztürk",
        email="s@example.com", telephone=telephone, shipping_address=a, payment_address=a,
        lines=tuple(m.OrderLine(f"L{n}", sku, f"Ürün {sku}", qty, Decimal("120.00"), Decimal(20))
                    for n, (sku, qty) in enumerate(lines, start=1)))
    return OrderWriter(db, channel(db, channel_code), channel_code).apply(order).order_id


def supplier_orders(db: Database) -> dict[int, dict[str, Any]]:
    return {int(r["supplier_id"]): r for r in db.query("SELECT * FROM {p}kervan_supplier_order")}


def history(db: Database, order_id: int) -> list[dict[str, Any]]:
    return db.query("SELECT order_status_id, notify, comment FROM {p}order_history WHERE order_id = %s"
                    " ORDER BY order_history_id", (order_id,))
