"""Generated products for the benchmarks, written into OpenCart's own schema.

Each generated product is a copy of one demo product (by default 40, "iPhone": no options, no
variants, mapped on every sandbox) with its own id, model (``KB0000001`` …, which becomes its
barcode / merchant SKU / stock code on the marketplaces), name, price and quantity — the rows
OpenCart itself keeps for a product: ``product``, ``product_description`` (every language),
``product_to_category``, ``product_to_store``, ``product_image``, ``product_attribute``.
Rows are written with multi-row INSERTs in chunks, so 100,000 products take seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.db import Database

TEMPLATE = 40
MODEL_PREFIX = "KB"
# Tables whose rows are copied per generated product; the product table itself comes first.
COPIED = ("product_description", "product_to_category", "product_to_store", "product_image", "product_attribute")
CHUNK = 2000


def _columns(db: Database, table: str) -> tuple[list[str], str | None]:
    """Column names of ``table`` and its auto-increment column (not copied), if any."""
    rows = db.query(
        "SELECT column_name AS c, extra AS x FROM information_schema.columns WHERE table_schema = DATABASE()"
        " AND table_name = %s ORDER BY ordinal_position", (db.prefix + table,))
    auto = next((r["c"] for r in rows if "auto_increment" in (r["x"] or "")), None)
    # product_id is given (the generated ids); other auto-increment keys are left to the table.
    return [r["c"] for r in rows if r["c"] != auto or r["c"] == "product_id"], auto


def _copy(db: Database, table: str, template: int, ids: list[int],
          change: Callable[[dict[str, Any], int, int], None]) -> None:
    columns, _auto = _columns(db, table)
    if not columns:
        return
    names = ", ".join(f"`{c}`" for c in columns)
    source = db.query(f"SELECT {names} FROM `{{p}}{table}` WHERE product_id = %s", (template,))  # noqa: S608
    if not source:
        return
    rows = []
    for n, pid in enumerate(ids, start=1):
        for r in source:
            row = dict(r, product_id=pid)
            change(row, pid, n)
            rows.append(tuple(row[c] for c in columns))
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i:i + CHUNK]
        sql = f"INSERT INTO `{{p}}{table}` ({names}) VALUES " + ", ".join([marks] * len(chunk))  # noqa: S608
        db.run_in_transaction(lambda cur, sql=sql, chunk=chunk: cur.execute(sql, [v for row in chunk for v in row]))


def generate(db: Database, count: int, *, template: int = TEMPLATE, quantity: int = 1000,
             first_number: int = 1) -> list[int]:
    """Write ``count`` products like ``template``; returns their product ids (ascending)."""
    start = int(db.one("SELECT COALESCE(MAX(product_id), 0) AS m FROM {p}product")["m"]) + 1
    ids = list(range(start, start + count))
    number = {pid: first_number + i for i, pid in enumerate(ids)}

    def product(row: dict[str, Any], pid: int, n: int) -> None:
        row["model"] = f"{MODEL_PREFIX}{number[pid]:07d}"
        row["quantity"] = quantity
        row["price"] = round(100 + (number[pid] % 900) + 0.5, 4)
        for code in ("sku", "upc", "ean", "jan", "isbn", "mpn"):  # 4.0 keeps codes here; 4.1 has none
            if code in row:
                row[code] = ""
        if "master_id" in row:
            row["master_id"] = 0

    def description(row: dict[str, Any], pid: int, n: int) -> None:
        row["name"] = f"Kervan bench {number[pid]:07d}"

    _copy(db, "product", template, ids, product)
    for table in COPIED:
        _copy(db, table, template, ids, description if table == "product_description" else lambda r, p, n: None)
    return ids
