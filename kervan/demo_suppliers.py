"""The demo's dropshipping part: a supplier's feed imported into OpenCart by ``kervan worker
feeds`` (its products then listed on the marketplaces like any other), a truncated download of
the same feed quarantined with nothing zeroed, and a Trendyol order of a supplier product
forwarded to the supplier by ``kervan worker dropship``, with the supplier's tracking number
coming back to OpenCart and to Trendyol.

The supplier (feed server and order API) is the sandbox in ``sandbox/supplier``, run inside the
demo process; everything else is the fleet's real processes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from bridge import outbox
from bridge.db import Database
from bridge.heartbeat import wait_until
from kervan.procs import Proc
from sandbox.supplier import SupplierApiSandbox, SupplierFeedSandbox
from sandbox.supplier.api import DEFAULT_TOKEN
from workers.suppliers import store as suppliers
from workers.suppliers.feeds_worker import import_command

CODE = "tedarik"
TRACKING = "YK900100200"
# The demo store sells in US dollars; the supplier quotes lira at the rate below. Every supplier
# category lands in Desktops (mapped on all four marketplaces in the demo).
RULES = {"price": {"markups": [{"percent": "30"}], "rounding": "0.99", "currency": "TRY", "rates": {"TRY": "0.03"}},
         "categories": {"default": 20}, "new_products": "create_enabled", "missing_products": "zero_stock"}


def config_overrides(log_dir: Path) -> dict[str, dict[str, str]]:
    """What the fleet's processes need for the supplier roles (set before any process starts)."""
    return {"suppliers": {"roles": "feeds,dropship"}, "feeds": {"workdir": str(log_dir / "feeds")},
            "dropship": {"tracking_interval": "1", "tracking_poll_every": "1", "sweep_interval": "5"}}


def _run_outcome(db: Database, after: int) -> dict[str, Any] | None:
    return db.one("SELECT * FROM {p}kervan_feed_run WHERE run_id > %s AND outcome <> 'running' ORDER BY run_id"
                  " LIMIT 1", (after,))


def _import(db: Database, timeout: float = 60) -> dict[str, Any] | None:
    last = int(db.one("SELECT COALESCE(MAX(run_id), 0) AS n FROM {p}kervan_feed_run")["n"])
    outbox.write_many(db, [import_command(CODE, manual=True, source="admin")])
    wait_until(lambda: _run_outcome(db, last) is not None, timeout, interval=0.3)
    return _run_outcome(db, last)


def _quantities(db: Database) -> dict[int, int]:
    return {int(r["product_id"]): int(r["quantity"]) for r in db.query(
        "SELECT DISTINCT p.product_id, p.quantity FROM {p}kervan_supplier_product sp JOIN {p}product p"
        " ON p.product_id = sp.product_id")}


def supplier_part(cfg: Any, db: Database, ports: dict[str, int], procs: list[Proc], log_dir: Path) -> bool:
    feeds_sb, api_sb = SupplierFeedSandbox(seed=7).start(), SupplierApiSandbox(tracking_delay=None).start()
    try:
        return _run(cfg, db, ports, procs, log_dir, feeds_sb, api_sb)
    finally:
        feeds_sb.stop()
        api_sb.stop()


def _run(cfg: Any, db: Database, ports: dict[str, int], procs: list[Proc], log_dir: Path,
         feeds_sb: SupplierFeedSandbox, api_sb: SupplierApiSandbox) -> bool:
    spec = feeds_sb.feed_spec("urun", "basic", items=6, variants=1)
    forward = {"mode": "rest", "trigger_status_ids": [2],
               "rest": {"base_url": api_sb.base_url, "auth": {"type": "bearer", "token": DEFAULT_TOKEN}, "timeout": 5}}
    suppliers.save(db, suppliers.Supplier(code=CODE, name="Tedarik A.Ş. (sandbox)", feed=spec, rules_raw=RULES,
                                          forward=forward))
    procs.append(Proc(cfg, "worker", "feeds", log_dir=log_dir))
    procs.append(Proc(cfg, "worker", "dropship", log_dir=log_dir))
    print(f"\nsupplier  Tedarik A.Ş. feed {feeds_sb.base_url}/… (ad-hoc <urun> XML), order API {api_sb.base_url}")

    run = _import(db)
    if run is None or run["outcome"] != "applied":
        print("feed import did not apply: " + (run["reason"] if run else "no run finished"))
        return False
    names = [r["name"] for r in db.query(
        "SELECT DISTINCT pd.name FROM {p}kervan_supplier_product sp JOIN {p}product_description pd"
        " ON pd.product_id = sp.product_id ORDER BY pd.name LIMIT 3")]
    print(f"feed run  {run['items']} items → {run['created']} created, {run['updated']} updated, "
          f"{run['unchanged']} unchanged (e.g. {', '.join(names)})")
    before = _quantities(db)

    # The same feed cut off mid-download: quarantined, nothing zeroed or disabled.
    suppliers.save(db, suppliers.Supplier(code=CODE, name="Tedarik A.Ş. (sandbox)",
                                          feed=feeds_sb.feed_spec("urun", "basic", items=6, variants=1,
                                                                  fault="truncate"),
                                          rules_raw=RULES, forward=forward))
    bad = _import(db)
    quarantined = bad is not None and bad["outcome"] == "quarantined" and _quantities(db) == before
    print("truncated " + (f"quarantined: {bad['reason'][:150]}" if bad else "no run finished")
          + ("" if quarantined else "  ← STOCK CHANGED"))
    suppliers.save(db, suppliers.Supplier(code=CODE, name="Tedarik A.Ş. (sandbox)", feed=spec, rules_raw=RULES,
                                          forward=forward))

    # A supplier product sells on Trendyol: the order goes to the supplier, the tracking comes back.
    def listed() -> dict[str, Any] | None:
        return db.one("SELECT l.product_id, l.remote_sku FROM {p}kervan_listing l JOIN {p}kervan_channel c"
                      " ON c.channel_id = l.channel_id JOIN {p}kervan_supplier_product sp ON sp.product_id ="
                      " l.product_id WHERE c.code = 'trendyol' AND l.status = 'synced' ORDER BY l.product_id LIMIT 1")

    if not wait_until(lambda: listed() is not None, 60, interval=0.5):
        failed = db.one("SELECT l.last_error FROM {p}kervan_listing l JOIN {p}kervan_supplier_product sp"
                        " ON sp.product_id = l.product_id WHERE l.status = 'failed' LIMIT 1")
        print("no supplier product got listed on Trendyol" + (f": {failed['last_error']}" if failed else ""))
        return False
    product = listed()
    answer = requests.post(f"http://127.0.0.1:{ports['trendyol']}/__sandbox/orders",
                           json={"lines": [{"barcode": product["remote_sku"], "quantity": 1}]}, timeout=10)
    answer.raise_for_status()
    package = answer.json()["shipmentPackageId"]
    t0 = time.monotonic()

    def supplier_order() -> dict[str, Any] | None:
        return db.one("SELECT so.*, l.order_id AS oc_order FROM {p}kervan_supplier_order so JOIN {p}kervan_order_link l"
                      " ON l.order_id = so.order_id WHERE l.remote_order_id = %s", (str(package),))

    if not wait_until(lambda: (supplier_order() or {}).get("state") == "sent", 60, interval=0.3):
        print(f"Trendyol order {package} was not forwarded to the supplier: {supplier_order()}")
        return False
    sent = supplier_order()
    print(f"order     Trendyol package {package} → OpenCart order {sent['oc_order']} → supplier order "
          f"{sent['remote_id']} ({time.monotonic() - t0:.1f}s; {len(api_sb.orders())} order at the supplier)")
    api_sb.ship(sent["remote_id"], "Yurtiçi Kargo", TRACKING)

    def on_trendyol() -> bool:
        pkg = requests.get(f"http://127.0.0.1:{ports['trendyol']}/__sandbox/orders/{package}", timeout=5).json()
        return pkg.get("cargoTrackingNumber") == TRACKING

    back = wait_until(on_trendyol, 60, interval=0.5)
    status = db.one("SELECT order_status_id FROM {p}order WHERE order_id = %s", (sent["oc_order"],))
    print(f"tracking  supplier shipped with {TRACKING} → OpenCart order status {status['order_status_id']} → "
          + ("Trendyol holds the tracking number" if back else "NOT on Trendyol"))
    return quarantined and back and len(api_sb.orders()) == 1
