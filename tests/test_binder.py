"""The binder's claims: a hash is "in flight" only while a batch carrying that very hash is open —
not merely because the listing names some (older) batch."""

from __future__ import annotations

from bridge import channels
from workers import batches
from workers.batches import Entry
from workers.binder import ListingBinder


def test_a_failed_send_is_released_even_when_an_older_batch_was_recorded_meanwhile(store41):
    cid = channels.upsert(store41, "trendyol", name="T", base_url="http://x", seller_id="1", credentials={}).channel_id
    binder = ListingBinder(store41, cid)
    binder.ensure(40, "BC-40")
    # Quantity 5 claimed and sent in a coalesced request that is still on its way…
    assert binder.claim(40, "h1", "e1")
    # …while quantity 4 is claimed for the next request.
    assert binder.claim(40, "h2", "e2")
    # The first request's batch is recorded late, then the second request fails.
    batches.record(store41, cid, "B1", "price_stock", [Entry(40, "BC-40", "price_stock", {"quantity": 5}, "h1")])
    binder.release(40, "h2")
    assert store41.one("SELECT pending_hash FROM {p}kervan_listing WHERE product_id = 40")["pending_hash"] is None
    # The retry of the second change may claim again (before, it was taken for "in flight" and
    # dropped, leaving the listing "submitted" with the old quantity for good).
    assert binder.claim(40, "h2", "e2")


def test_a_hash_whose_batch_is_open_stays_claimed(store41):
    cid = channels.upsert(store41, "trendyol", name="T", base_url="http://x", seller_id="1", credentials={}).channel_id
    binder = ListingBinder(store41, cid)
    binder.ensure(40, "BC-40")
    assert binder.claim(40, "h1", "e1")
    batches.record(store41, cid, "B1", "price_stock", [Entry(40, "BC-40", "price_stock", {"quantity": 5}, "h1")])
    binder.release(40, "h1")  # too late: the batch is recorded, its outcome will come
    assert store41.one("SELECT pending_hash FROM {p}kervan_listing WHERE product_id = 40")["pending_hash"] == "h1"
    assert not binder.claim(40, "h1", "e1")  # the same content is not sent twice
    assert not binder.claim(40, "h1", "e9")
    assert binder.claim(40, "h3", "e3")  # newer content is
