"""Local simulator of a dropshipping supplier: its product feeds (feeds.py) in every shape of
../shared/docs/supplier-feeds.md, generated on the fly from a seed, with auth and faults, and its
order/tracking API (api.py) with idempotency keys, out-of-stock answers and faults."""

from .api import SupplierApiSandbox
from .feeds import DEFAULT_PORT as FEEDS_PORT
from .feeds import SupplierFeedSandbox

__all__ = ["FEEDS_PORT", "SupplierApiSandbox", "SupplierFeedSandbox"]
