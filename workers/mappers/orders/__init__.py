"""Marketplace order documents → marketplace-neutral ``MarketOrder`` (``workers/orders/model.py``).

``orders_from(code, docs)`` takes what one poll's ``Channel.orders_changed_since`` yielded and
returns the orders to hand to the order writer, one per ``remote_id`` (the latest copy when a
poll saw an order twice). Each marketplace has its own module — the status table, which key a
line's sku is, how prices, VAT, addresses and dates read — and its docstring says what it
assumes. A document that cannot be mapped is skipped with a warning naming its remote id and
never personal data; the rest of the poll is still mapped. A line without a sku is mapped as it
is: the writer flags unknown skus for the merchant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from workers.mappers.orders import amazon, hepsiburada, n11, trendyol
from workers.orders.model import MarketOrder

FetchItems = Callable[[str], list[dict[str, Any]]]

MAPPERS: dict[str, Callable[..., list[MarketOrder]]] = {
    trendyol.CODE: trendyol.map_orders,
    hepsiburada.CODE: hepsiburada.map_orders,
    n11.CODE: n11.map_orders,
    amazon.CODE: amazon.map_orders,
}


def orders_from(code: str, docs: Iterable[dict[str, Any]], *,
                fetch_items: FetchItems | None = None) -> list[MarketOrder]:
    """The ``MarketOrder`` of every mappable document of marketplace ``code``. ``fetch_items``
    reads an order's items where the order documents carry none (Amazon: ``order_items``).
    Raises ``ValueError`` for a marketplace without a mapper, and lets a transient marketplace
    error from ``fetch_items`` through so that the poll is retried."""
    mapper = MAPPERS.get(code)
    if mapper is None:
        raise ValueError(f"no order mapper for marketplace {code!r}")
    return mapper(docs, fetch_items=fetch_items)


__all__ = ["MAPPERS", "FetchItems", "orders_from"]
