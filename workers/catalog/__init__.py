"""The catalog role: OpenCart products → marketplace listings. ``base`` holds the shared flow; one
module per marketplace holds what is particular to it."""

from __future__ import annotations

from bridge.channels import ChannelAccount
from bridge.db import Database
from bridge.replica import FreshReads
from workers.catalog.amazon import AmazonCatalog
from workers.catalog.base import Catalog
from workers.catalog.hepsiburada import HepsiburadaCatalog
from workers.catalog.n11 import N11Catalog
from workers.catalog.trendyol import (
    CreateInFlight,
    SameRequestTooSoon,
    TrendyolCatalog,
    load_mapping,
    remote_as_body,
)
from workers.channels.base import Channel

HANDLERS: dict[str, type[Catalog]] = {
    "trendyol": TrendyolCatalog,
    "hepsiburada": HepsiburadaCatalog,
    "n11": N11Catalog,
    "amazon": AmazonCatalog,
}


def handler_for(db: Database, account: ChannelAccount, client: Channel, *,
                coalesce_window: float | None = None, replica: FreshReads | None = None,
                shared_locks: bool = False) -> Catalog:
    """``coalesce_window``: seconds price/stock changes and new listings' creates gather before
    one request carries them (None: each change is its own request). ``replica``: where product
    reads may go instead of the primary (``bridge/replica.py``). ``shared_locks``: other processes
    sync this channel too (partitioned queues), so a product is locked across processes."""
    try:
        cls = HANDLERS[account.code]
    except KeyError:
        raise SystemExit(f"no catalog handler for marketplace {account.code!r}") from None
    return cls(db, account, client, coalesce_window=coalesce_window, replica=replica, shared_locks=shared_locks)


__all__ = [
    "HANDLERS",
    "AmazonCatalog",
    "Catalog",
    "CreateInFlight",
    "HepsiburadaCatalog",
    "N11Catalog",
    "SameRequestTooSoon",
    "TrendyolCatalog",
    "handler_for",
    "load_mapping",
    "remote_as_body",
]
