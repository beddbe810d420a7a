"""A finished batch's outcome written for every item at once (workers/batches.apply_result): each
item gets its own outcome, each listing its own state, whatever mix of outcomes the batch holds."""

from __future__ import annotations

import json

from bridge import channels
from workers import batches
from workers.batches import Entry
from workers.binder import ListingBinder, digest
from workers.channels.base import BatchItem, BatchResult


def _listing(db, pid: int) -> dict:
    return db.one("SELECT * FROM {p}kervan_listing WHERE product_id = %s", (pid,))


def test_a_batch_of_mixed_outcomes_writes_each_item_and_listing(store41):
    cid = channels.upsert(store41, "trendyol", name="T", base_url="http://x", seller_id="1", credentials={}).channel_id
    binder = ListingBinder(store41, cid)
    bodies = {pid: {"barcode": f"BC-{pid}", "quantity": pid, "salePrice": 10.0} for pid in (40, 41, 42, 43)}
    for pid, body in bodies.items():
        binder.ensure(pid, f"BC-{pid}")
        assert binder.claim(pid, digest(body), f"e{pid}")
    batches.record(store41, cid, "B1", "create",
                   [Entry(pid, f"BC-{pid}", "create", body, digest(body)) for pid, body in bodies.items()])
    batch = store41.one("SELECT * FROM {p}kervan_batch WHERE remote_batch_id = 'B1'")
    result = BatchResult("B1", "COMPLETED", "ProductCreate", items=[
        BatchItem("BC-40", "SUCCESS"),
        BatchItem("BC-41", "FAILED", ["Barkod zaten mevcut"]),
        BatchItem("BC-42", "FAILED", ["Kategori İçin zorunlu özellik eksik"]),
        BatchItem("BC-43", "SUCCESS"),
    ])

    created = batches.apply_result(store41, batch, result)

    assert sorted(created) == [40, 43]
    items = {r["product_id"]: r for r in store41.query(
        "SELECT product_id, status, message FROM {p}kervan_batch_item WHERE batch_id = %s", (batch["batch_id"],))}
    assert {pid: r["status"] for pid, r in items.items()} == {40: "success", 41: "failed", 42: "failed", 43: "success"}
    assert items[41]["message"] == "Barkod zaten mevcut"
    assert items[42]["message"] == "Kategori İçin zorunlu özellik eksik"
    assert items[40]["message"] is None
    for pid in (40, 43):
        row = _listing(store41, pid)
        assert row["status"] == "synced" and row["pending_hash"] is None
        assert json.loads(row["confirmed_body"]) == bodies[pid]
        assert row["content_hash"] == digest(bodies[pid])
    # Already on the marketplace: looked at again, not failed.
    assert _listing(store41, 41)["status"] == "reconcile"
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE aggregate_id = '41'"
                       " AND event_type = 'product.saved'")["n"] == 1
    failed = _listing(store41, 42)
    assert failed["status"] == "failed" and failed["last_error"] == "Kategori İçin zorunlu özellik eksik"
    done = store41.one("SELECT status, failed_count FROM {p}kervan_batch WHERE batch_id = %s", (batch["batch_id"],))
    assert done == {"status": "completed", "failed_count": 2}


def test_two_parts_of_one_product_in_a_batch_merge_in_order(store41):
    """Merged one after the other over the same locked listing row: the second part's fields go
    over the first's, and the listing is synced with the pending hash of both."""
    cid = channels.upsert(store41, "n11", name="N", base_url="http://x", seller_id="1", credentials={}).channel_id
    binder = ListingBinder(store41, cid)
    binder.ensure(40, "SK-40")
    created = {"stockCode": "SK-40", "quantity": 5, "salePrice": 10.0}
    final = {**created, "quantity": 4}
    assert binder.claim(40, digest(final), "e1")
    batches.record(store41, cid, "B2", "mixed", [
        Entry(40, "SK-40", "create", created, digest(created)),
        Entry(40, "SK-40#stock", "price_stock", {"quantity": 4}, digest(final)),
    ])
    batch = store41.one("SELECT * FROM {p}kervan_batch WHERE remote_batch_id = 'B2'")
    batches.apply_result(store41, batch, BatchResult("B2", "COMPLETED", None, items=[
        BatchItem("SK-40", "SUCCESS"), BatchItem("SK-40#stock", "SUCCESS")]))
    row = _listing(store41, 40)
    assert json.loads(row["confirmed_body"]) == final
    assert row["status"] == "synced" and row["pending_hash"] is None
