"""Order import: marketplace orders/s into OpenCart, against a naive one-INSERT-per-table loop.

Kervan: ``bridge.order_writer.OrderWriter.apply`` for ``n`` Trendyol-shaped orders (one to three
lines of demo products, a Turkish address, shipping, 20 % VAT), each in its own transaction, as
the orders worker does: claims the order in ``kervan_order_link``, resolves SKUs, writes
``order``, ``order_product``, ``order_total`` rows and ``order_history``, lowers stock of each
product (and its master), writes the ``order.created`` / ``stock.changed`` outbox rows.

Baseline (same run, same database): the very rows Kervan wrote, read back and written again by a
naive loop — one INSERT per table per order (multi-row where a table has several rows), one
UPDATE per product line, one commit per order — no claim, no lookups, no outbox. It is the floor
of "write an order into OpenCart's tables"; the ratio says what exactly-once and the events cost.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench.env import fresh
from bridge import channels
from bridge.order_writer import OrderWriter
from kervan.demo import DemoEnvironment
from workers.orders import model as m

PRODUCTS = (28, 33, 40, 43)  # demo products without options, subtract = 1
TABLES = ("order_product", "order_option", "order_total", "order_history")


def orders(db, n: int, seed: int = 7) -> list[m.MarketOrder]:
    rng = random.Random(seed)
    models = {int(r["product_id"]): r["model"] for r in db.query(
        "SELECT product_id, model FROM {p}product WHERE product_id IN %s", (PRODUCTS,))}
    out = []
    for i in range(n):
        a = m.Address("Ayşe", "Yılmaz", f"Atatürk Cd. {i}", city="Çankaya", zone="Ankara", postcode="06100",
                      telephone="05551234567")
        lines = tuple(
            m.OrderLine(str(j), models[pid], f"product {pid}", rng.randint(1, 3), Decimal(rng.randint(100, 900)),
                        Decimal(20))
            for j, pid in enumerate(rng.sample(PRODUCTS, rng.randint(1, 3))))
        out.append(m.MarketOrder(
            remote_id=f"BENCH-{i}", order_number=f"B-{i}", state=m.CREATED, remote_status="Created",
            created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC), currency="USD", customer_firstname="Ayşe",
            customer_lastname="Yılmaz", email="a@example.com", telephone="05551234567", shipping_address=a,
            payment_address=a, lines=lines, shipping=Decimal("29.90")))
    return out


def _copy_rows(db, order_ids: list[int]) -> list[dict[str, Any]]:
    """Every row Kervan wrote for each order, to be written again by the naive loop."""
    lo, hi = min(order_ids), max(order_ids)
    head = {int(r["order_id"]): r for r in db.query(
        "SELECT * FROM {p}order WHERE order_id BETWEEN %s AND %s", (lo, hi))}
    rest: dict[str, dict[int, list[dict]]] = {}
    for t in TABLES:
        rest[t] = {}
        for r in db.query(f"SELECT * FROM {{p}}{t} WHERE order_id BETWEEN %s AND %s", (lo, hi)):  # noqa: S608
            rest[t].setdefault(int(r["order_id"]), []).append(r)
    return [{"order": head[oid], **{t: rest[t].get(oid, []) for t in TABLES}} for oid in order_ids]


def _insert_many(cur, table: str, rows: list[dict[str, Any]], skip: str) -> None:
    if not rows:
        return
    cols = [c for c in rows[0] if c != skip]
    marks = "(" + ", ".join(["%s"] * len(cols)) + ")"
    cur.execute(f"INSERT INTO {{p}}{table} ({', '.join(f'`{c}`' for c in cols)}) VALUES "  # noqa: S608
                + ", ".join([marks] * len(rows)), [r[c] for r in rows for c in cols])


def naive(db, copies: list[dict[str, Any]]) -> float:
    """Seconds to write ``copies`` again: one INSERT per table, one UPDATE per line, one commit each."""
    keys = {"order_product": "order_product_id", "order_option": "order_option_id",
            "order_total": "order_total_id", "order_history": "order_history_id"}
    t0 = time.perf_counter()
    for c in copies:
        def write(cur, c=c) -> None:
            _insert_many(cur, "order", [c["order"]], "order_id")
            oid = cur.lastrowid
            for t in TABLES:
                _insert_many(cur, t, [dict(r, order_id=oid) for r in c[t]], keys[t])
            for line in c["order_product"]:
                cur.execute("UPDATE {p}product SET quantity = quantity - %s WHERE product_id = %s",
                            (line["quantity"], line["product_id"]))
        db.run_in_transaction(write)
    return time.perf_counter() - t0


def measure(env: DemoEnvironment, n: int) -> dict[str, Any]:
    db = env.db
    db.execute("UPDATE {p}product SET quantity = 1000000, subtract = 1 WHERE product_id IN %s", (PRODUCTS,))
    ty = channels.upsert(db, "trendyol", name="Trendyol", base_url="http://127.0.0.1:9", seller_id="1",
                         credentials={})
    writer = OrderWriter(db, ty.channel_id, "trendyol")
    todo = orders(db, n)
    stock0 = {int(r["product_id"]): int(r["quantity"]) for r in db.query(
        "SELECT product_id, quantity FROM {p}product WHERE product_id IN %s", (PRODUCTS,))}
    writer.apply(todo[0])  # warm: the store's settings and the schema's columns are read once
    t0 = time.perf_counter()
    results = [writer.apply(o) for o in todo[1:]]
    mine = time.perf_counter() - t0
    ids = [r.order_id for r in results]
    if not all(r.created and r.order_id for r in results):
        raise RuntimeError("an order was not created")
    sold = {int(r["product_id"]): int(r["q"]) for r in db.query(
        "SELECT product_id, SUM(quantity) AS q FROM {p}order_product GROUP BY product_id")}
    now = {int(r["product_id"]): int(r["quantity"]) for r in db.query(
        "SELECT product_id, quantity FROM {p}product WHERE product_id IN %s", (PRODUCTS,))}
    if any(stock0[p] - now[p] != sold.get(p, 0) for p in PRODUCTS):
        raise RuntimeError(f"stock not lowered once per line: {stock0} → {now}, sold {sold}")
    copies = _copy_rows(db, ids)
    rows_per_order = sum(1 + sum(len(c[t]) for t in TABLES) for c in copies) / len(ids)
    base = naive(db, copies)
    count = len(ids)
    return {"orders": count, "rows_per_order": rows_per_order, "kervan_per_s": count / mine,
            "baseline_per_s": count / base, "ratio": base / mine}


def run(quick: bool = False, tiny: bool = False) -> dict[str, Any]:
    n = 30 if tiny else 500 if quick else 2000
    env = fresh()
    try:
        return measure(env, n + 1)
    finally:
        env.close()


def report(r: dict[str, Any]) -> str:
    return (f"| order import into OpenCart, {int(r['orders']):,} orders ({r['rows_per_order']:.1f} rows each, stock,"
            f" outbox) | {r['kervan_per_s']:,.0f} orders/s | naive one-INSERT-per-table loop:"
            f" {r['baseline_per_s']:,.0f} orders/s | {r['ratio']:.2f} | — |")
