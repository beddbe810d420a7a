"""A guest checkout in the OpenCart storefront, written the way OpenCart 4 writes it, for load and
chaos runs on a machine where no PHP OpenCart runs.

What is simulated: the shop's own PHP. ``catalog/model/checkout/order.addOrder`` inserts the order
(status 0), its products and totals; ``addHistory(order_id, 1)`` (cash on delivery) sets the status,
adds a history row and lowers the stock of each product and its master where ``subtract = 1``
(opencart.md §5). The Kervan extension's hooks add ``order.created`` and ``order.status_changed``
{0 → 1} to the outbox, as the real hooks do (tests/php/HooksTest.php). Here all of it is one
transaction, keyed by a caller's tag so a retried checkout never becomes two orders.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bridge import outbox
from bridge.db import Database
from bridge.envelope import Event
from bridge.order_writer import OrderWriter

PENDING = 1  # OpenCart's default order status for cash on delivery
USER_AGENT = "Mozilla/5.0 (Kervan storefront simulation)"


class Storefront:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The order writer knows each OpenCart version's NOT NULL columns and the store's settings.
        self.rows = OrderWriter(db, 0, "storefront", label="Storefront")

    def checkout(self, lines: list[tuple[int, int]], *, tag: str) -> int:
        """Place a guest order of ``(product_id, quantity)`` lines; returns its order id. ``tag`` goes
        in the order comment and makes the call idempotent."""
        if not lines or any(q <= 0 for _, q in lines):
            raise ValueError("a storefront order needs lines with positive quantities")
        store = self.rows.store()
        return self.db.run_in_transaction(lambda cur: self._checkout(cur, store, lines, tag))

    def _checkout(self, cur: Any, store: Any, lines: list[tuple[int, int]], tag: str) -> int:
        cur.execute("SELECT order_id FROM {p}order WHERE comment = %s", (tag,))
        done = cur.fetchone()
        if done:
            return int(done["order_id"])
        priced = []
        for pid, qty in lines:
            cur.execute("SELECT p.product_id, p.master_id, p.model, p.price, d.name FROM {p}product p"
                        " JOIN {p}product_description d ON d.product_id = p.product_id AND d.language_id = %s"
                        " WHERE p.product_id = %s", (store.language_id, pid))
            row = cur.fetchone()
            if row is None:
                raise ValueError(f"product {pid} is not in the shop")
            priced.append((row, qty))
        total = sum((Decimal(str(r["price"])) * q for r, q in priced), Decimal(0))
        method = json.dumps({"name": "Cash On Delivery", "code": "cod.cod"})
        order_id = self.rows.insert_row(cur, "order", {
            "invoice_prefix": "INV-", "store_id": 0, "store_name": store.name, "store_url": store.url,
            "customer_id": 0, "customer_group_id": store.customer_group_id, "firstname": "Zeynep",
            "lastname": "Şahin", "email": "zeynep@example.com", "telephone": "05321234567", "custom_field": "[]",
            "payment_firstname": "Zeynep", "payment_lastname": "Şahin", "payment_address_1": "İstiklal Cd. 5",
            "payment_city": "Beyoğlu", "payment_method": method, "shipping_firstname": "Zeynep",
            "shipping_lastname": "Şahin", "shipping_address_1": "İstiklal Cd. 5", "shipping_city": "Beyoğlu",
            "shipping_method": json.dumps({"name": "Flat Shipping Rate", "code": "flat.flat", "cost": "0"}),
            "comment": tag, "total": total, "order_status_id": 0, "language_id": store.language_id,
            "language_code": store.language_code, "currency_code": "USD", "currency_value": 1,
            "ip": "127.0.0.1", "user_agent": USER_AGENT, "date_added": _now(cur), "date_modified": _now(cur),
        })
        for row, qty in priced:
            price = Decimal(str(row["price"]))
            self.rows.insert_row(cur, "order_product", {
                "order_id": order_id, "product_id": row["product_id"], "master_id": row["master_id"] or 0,
                "name": row["name"], "model": row["model"], "quantity": qty, "price": price, "total": price * qty,
                "tax": 0, "reward": 0})
        for code, title, sort in (("sub_total", "Sub-Total", 1), ("total", "Total", 9)):
            self.rows.insert_row(cur, "order_total", {"order_id": order_id, "extension": "opencart", "code": code,
                                                      "title": title, "value": total, "sort_order": sort})
        outbox.write(cur, Event("order.created", "order", str(order_id), {"order_id": order_id},
                                source="storefront"))
        # addHistory(order_id, 1): the status, its history row, the stock.
        cur.execute("UPDATE {p}order SET order_status_id = %s WHERE order_id = %s", (PENDING, order_id))
        self.rows.insert_row(cur, "order_history", {"order_id": order_id, "order_status_id": PENDING, "notify": 0,
                                                    "comment": "", "date_added": _now(cur)})
        for row, qty in priced:
            for pid in (row["product_id"], row["master_id"]):
                if pid:
                    cur.execute("UPDATE {p}product SET quantity = quantity - %s WHERE product_id = %s"
                                " AND subtract = 1", (qty, pid))
        outbox.write(cur, Event("order.status_changed", "order", str(order_id),
                                {"order_id": order_id, "old_status_id": 0, "new_status_id": PENDING},
                                source="storefront"))
        return order_id


def _now(cur: Any) -> Any:
    cur.execute("SELECT NOW() AS t")
    return cur.fetchone()["t"]


__all__ = ["Storefront"]
