"""What every feed parser yields and every later step (rules, apply) consumes.

A parser knows the feed's shape and nothing of OpenCart; the apply step knows OpenCart and
nothing of the feed's shape. This module is the contract between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


class FeedError(Exception):
    """The feed as a whole cannot be trusted (unreadable, hostile, truncated, an HTML error page,
    too large). The run is quarantined: nothing is zeroed or disabled. ``reason`` is plain words
    for the merchant."""

    def __init__(self, reason: str, *, record: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record = record


@dataclass(frozen=True)
class ItemProblem:
    """One record that could not become a FeedItem (no code, no price...). The run goes on; the
    merchant sees the record number and the reason."""

    record: int
    reason: str
    code: str = ""


@dataclass
class FeedItem:
    """One sellable unit from a supplier: a simple product, or one variant of a product.

    ``code`` is the supplier's identity for the unit (variant id when the feed has one, else the
    stock code); ``group`` joins the variants of one product (model code, item_group_id, Handle,
    parent SKU) and is empty for a simple product. Money is ``Decimal`` as parsed, never float.
    """

    record: int
    code: str
    name: str = ""
    group: str = ""
    sku: str = ""
    barcode: str = ""
    brand: str = ""
    description: str = ""  # the supplier's HTML, unescaped; the apply step escapes it as OpenCart does
    category_path: tuple[str, ...] = ()
    price: Decimal | None = None  # what the supplier charges the merchant (cost), in ``currency``
    list_price: Decimal | None = None  # the supplier's suggested retail price, when given
    currency: str = "TRY"  # ISO 4217 after token mapping (TL, ₺, YTL → TRY)
    vat_rate: Decimal | None = None  # a fraction: 0.20 for 20 % KDV
    vat_included: bool | None = None  # whether ``price`` includes VAT, when the feed says
    quantity: int | None = None  # None: the feed gives no stock figure
    in_stock: bool | None = None  # "var/yok", availability; stock rules turn it into a quantity
    images: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)  # variant attributes: {"Renk": "Kırmızı"}
    attributes: dict[str, str] = field(default_factory=dict)
    weight: Decimal | None = None
    url: str = ""

    @property
    def key(self) -> str:
        """The identity rules and links use: group and code together, since a code alone is not
        unique in real feeds (variants sharing a stock code)."""
        return f"{self.group}\x1f{self.code}" if self.group else self.code
