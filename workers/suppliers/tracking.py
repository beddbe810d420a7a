"""Tracking back from suppliers into OpenCart, and on to the marketplace the order came from.

Tracking arrives by polling the supplier's API for its 'sent' orders, or from a tracking CSV the
supplier sends (import it with ``import_tracking_csv``). Either way ``apply_tracking`` does, in one
transaction and once per supplier order (state 'shipped'):

- the supplier order: state, carrier, tracking number and link;
- an OpenCart ``order_history`` row whose comment the shipment path reads
  (``workers/orders/shipments.parse_shipment``: "Kargo: <carrier>, Takip No: <number>");
- when every supplier part of the order has shipped, ``order.order_status_id`` becomes the shipped
  status (OpenCart's "Shipped", 3, unless configured) and an ``order.status_changed`` event goes to
  the outbox — the orders worker of the order's marketplace then reports the tracking number there.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from bridge import outbox
from bridge.db import Database
from bridge.envelope import Event
from workers.channels.errors import ChannelError, TransientError
from workers.suppliers.forward import ON_HOLD, RESERVED, SENT, SHIPPED, Supplier, reference
from workers.suppliers.forward_types import TrackingInfo

DEFAULT_SHIPPED_STATUS = 3  # OpenCart's "Shipped"


def shipment_comment(info: TrackingInfo, supplier_name: str) -> str:
    """Tracking first, in the words ``parse_shipment`` reads; the link and who shipped after."""
    text = f"Kargo: {info.carrier or 'Kargo'}, Takip No: {info.tracking_number}"
    if info.tracking_url:
        text += f"\nLink: {info.tracking_url}"
    return text + f"\n({supplier_name} tedarikçi gönderisi / shipped by supplier {supplier_name})"


def apply_tracking(db: Database, supplier_order_id: int, info: TrackingInfo, *, supplier_name: str = "",
                   shipped_status_id: int = DEFAULT_SHIPPED_STATUS) -> bool:
    """Record one supplier order's shipment; False when it was recorded before (or is unknown)."""

    def tx(cur: Any) -> bool:
        cur.execute("SELECT supplier_order_id, order_id, state FROM {p}kervan_supplier_order"
                    " WHERE supplier_order_id = %s FOR UPDATE", (supplier_order_id,))
        row = cur.fetchone()
        if row is None or row["state"] == SHIPPED:
            return False
        order_id = int(row["order_id"])
        cur.execute("UPDATE {p}kervan_supplier_order SET state = %s, carrier = %s, tracking_number = %s,"
                    " tracking_url = %s, shipped_at = CURRENT_TIMESTAMP(6), last_error = NULL"
                    " WHERE supplier_order_id = %s",
                    (SHIPPED, info.carrier[:64], info.tracking_number[:128], info.tracking_url[:512] or None,
                     supplier_order_id))
        cur.execute("SELECT order_status_id FROM {p}order WHERE order_id = %s FOR UPDATE", (order_id,))
        order = cur.fetchone()
        if order is None:  # the merchant deleted the order: the supplier's side is still recorded
            return True
        old = int(order["order_status_id"])
        cur.execute("SELECT COUNT(*) AS n FROM {p}kervan_supplier_order WHERE order_id = %s AND state IN (%s, %s, %s)",
                    (order_id, RESERVED, SENT, ON_HOLD))
        # A part still on its way from another supplier: the order is not shipped yet, only noted.
        new = shipped_status_id if int(cur.fetchone()["n"]) == 0 else old
        if new != old:
            cur.execute("UPDATE {p}order SET order_status_id = %s, date_modified = NOW() WHERE order_id = %s",
                        (new, order_id))
        cur.execute("INSERT INTO {p}order_history (order_id, order_status_id, notify, comment, date_added)"
                    " VALUES (%s, %s, 0, %s, NOW())", (order_id, new, shipment_comment(info, supplier_name)))
        if new != old:
            outbox.write(cur, Event("order.status_changed", "order", str(order_id),
                                    {"order_id": order_id, "old_status_id": old, "new_status_id": new},
                                    source="kervan:dropship"))
        return True

    applied = db.run_in_transaction(tx)
    if applied:
        logger.info("supplier order {} shipped: {} {}", supplier_order_id, info.carrier, info.tracking_number)
    return applied


class TrackingPoller:
    """Asks each supplier with a tracking API about its 'sent' orders, each at most once per interval."""

    def __init__(self, db: Database, suppliers: Callable[[], dict[int, Supplier]],
                 tracker: Callable[[Supplier], Any], *, interval: float = 300.0,
                 shipped_status_id: int = DEFAULT_SHIPPED_STATUS, batch: int = 200) -> None:
        self.db = db
        self.suppliers = suppliers
        self.tracker = tracker  # supplier → object with tracking(remote_id, reference)
        self.interval = interval
        self.shipped_status_id = shipped_status_id
        self.batch = batch

    def poll_once(self) -> int:
        shipped = 0
        for supplier in self.suppliers().values():
            if supplier.settings is None or not supplier.settings.poll_tracking:
                continue
            interval = supplier.settings.tracking_interval or self.interval
            rows = self.db.query(
                "SELECT supplier_order_id, order_id, remote_id FROM {p}kervan_supplier_order WHERE supplier_id = %s"
                " AND state = %s AND remote_id IS NOT NULL AND (tracking_checked_at IS NULL OR tracking_checked_at"
                " <= CURRENT_TIMESTAMP(6) - INTERVAL %s MICROSECOND) ORDER BY tracking_checked_at, supplier_order_id"
                " LIMIT %s", (supplier.supplier_id, SENT, int(interval * 1e6), self.batch))
            client = self.tracker(supplier) if rows else None
            for row in rows:
                try:
                    info = client.tracking(row["remote_id"], reference(int(row["order_id"]), supplier.supplier_id))
                except TransientError as exc:
                    # The supplier is down: its other orders wait for the next round too.
                    logger.warning("tracking of supplier {} unavailable: {}", supplier.code, exc)
                    break
                except ChannelError as exc:
                    self.db.execute("UPDATE {p}kervan_supplier_order SET last_error = %s,"
                                    " tracking_checked_at = CURRENT_TIMESTAMP(6) WHERE supplier_order_id = %s",
                                    (f"tracking: {exc}"[:2000], row["supplier_order_id"]))
                    continue
                self.db.execute("UPDATE {p}kervan_supplier_order SET tracking_checked_at = CURRENT_TIMESTAMP(6)"
                                " WHERE supplier_order_id = %s", (row["supplier_order_id"],))
                if info is not None:
                    shipped += apply_tracking(self.db, int(row["supplier_order_id"]), info,
                                              supplier_name=supplier.name, shipped_status_id=self.shipped_status_id)
        return shipped

    def loop(self, every: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - the database may be away; next round
                logger.warning("tracking poll failed: {}", exc)
                self.db.reset()
            stop.wait(every)


# -- tracking files -------------------------------------------------------------------------------
_HEADERS = {
    "reference": ("reference", "ref", "po", "po number", "siparis", "siparis no", "sipariş no", "siparis numarasi",
                  "sipariş numarası", "order", "order no", "order id", "order_id", "referans"),
    "carrier": ("carrier", "kargo", "kargo firmasi", "kargo firması", "shipping company"),
    "tracking_number": ("tracking", "tracking number", "tracking_number", "tracking no", "takip", "takip no",
                        "takip numarasi", "takip numarası", "kargo takip no", "gonderi no", "gönderi no"),
    "tracking_url": ("tracking url", "tracking_url", "url", "link", "takip linki"),
}


@dataclass
class CsvImport:
    applied: int = 0
    already: int = 0
    unknown: list[str] = field(default_factory=list)  # references that match no forward of this supplier
    problems: list[str] = field(default_factory=list)  # row number and reason, in plain words


def _norm(header: str) -> str:
    return " ".join(header.replace("İ", "i").replace("I", "ı").lower().replace("ı", "i").replace("_", " ").split())


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1254")  # Turkish Excel's default when not UTF-8


def import_tracking_csv(db: Database, supplier: Supplier, data: bytes | str, *,
                        shipped_status_id: int = DEFAULT_SHIPPED_STATUS) -> CsvImport:
    """A supplier's fulfilment file: one row per shipment, matched by our reference
    (``<order id>-<supplier id>``), our order id, or the supplier's own order id."""
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    result = CsvImport()
    header = next(reader, None)
    if not header:
        result.problems.append("the file is empty")
        return result
    aliases = {_norm(a): key for key, names in _HEADERS.items() for a in names}
    columns = {aliases[_norm(h)]: i for i, h in enumerate(header) if _norm(h) in aliases}
    lacking = [k for k in ("reference", "tracking_number") if k not in columns]
    if lacking:
        result.problems.append(f"no {' or '.join(lacking)} column among {', '.join(header)}")
        return result
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key: str, row: list[str] = row) -> str:
            i = columns.get(key)
            return row[i].strip().lstrip("'") if i is not None and i < len(row) else ""

        ref, tracking = cell("reference"), cell("tracking_number")
        if not ref or not tracking:
            result.problems.append(f"row {number}: no reference or no tracking number")
            continue
        found = _find(db, supplier.supplier_id, ref)
        if found is None:
            result.unknown.append(ref)
            continue
        info = TrackingInfo(carrier=cell("carrier"), tracking_number=tracking, tracking_url=cell("tracking_url"))
        if apply_tracking(db, found, info, supplier_name=supplier.name, shipped_status_id=shipped_status_id):
            result.applied += 1
        else:
            result.already += 1
    return result


def _find(db: Database, supplier_id: int, ref: str) -> int | None:
    order_part, _, supplier_part = ref.partition("-")
    if order_part.isdigit() and (not supplier_part or supplier_part == str(supplier_id)):
        row = db.one("SELECT supplier_order_id FROM {p}kervan_supplier_order WHERE order_id = %s AND supplier_id = %s",
                     (int(order_part), supplier_id))
        if row:
            return int(row["supplier_order_id"])
    row = db.one("SELECT supplier_order_id FROM {p}kervan_supplier_order WHERE supplier_id = %s AND remote_id = %s",
                 (supplier_id, ref))
    return int(row["supplier_order_id"]) if row else None


__all__ = ["CsvImport", "TrackingPoller", "apply_tracking", "import_tracking_csv", "shipment_comment"]


def main(argv: list[str] | None = None) -> int:
    """``python -m workers.suppliers.tracking SUPPLIER_CODE FILE.csv``: import a tracking file."""
    import argparse
    from pathlib import Path

    from bridge import config
    from bridge.db import from_config
    from workers.suppliers.forward import load_suppliers

    p = argparse.ArgumentParser(prog="python -m workers.suppliers.tracking",
                                description="import a supplier's tracking CSV (reference, carrier, tracking number)")
    p.add_argument("supplier", help="the supplier's code")
    p.add_argument("file", type=Path)
    p.add_argument("--config")
    args = p.parse_args(argv)
    cfg = config.load(args.config)
    db = from_config(cfg)
    found = [s for s in load_suppliers(db, frozenset()).values() if s.code == args.supplier]
    if not found:
        raise SystemExit(f"no enabled supplier {args.supplier!r} with forward settings")
    result = import_tracking_csv(db, found[0], args.file.read_bytes(),
                                 shipped_status_id=cfg.getint("dropship", "shipped_status_id"))
    print(f"{result.applied} shipped, {result.already} already known, {len(result.unknown)} unknown"
          + "".join(f"\n  unknown reference {u}" for u in result.unknown)
          + "".join(f"\n  {p}" for p in result.problems))
    return 0 if not result.problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
