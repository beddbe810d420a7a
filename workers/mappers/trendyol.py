"""OpenCart product → Trendyol v2 product item. Only mapping: no HTTP, no database.

What cannot be mapped (no category or brand mapping, a VAT rate Trendyol does not take, a barcode
with characters Trendyol refuses) raises ``MappingError`` with a sentence for the merchant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.opencart import Product
from workers.stock import StockRules

MAX_QUANTITY = 20_000  # Trendyol's stock cap per product
MAX_IMAGES = 8
VAT_RATES = {0, 1, 10, 20}
_BARCODE = re.compile(r"^[0-9A-Za-zÇĞİÖŞÜçğıöşü._-]{1,40}$")

# The three parts of a listing that Trendyol updates through different endpoints once approved.
CONTENT_FIELDS = ("title", "description", "images", "attributes")
VARIANT_FIELDS = ("stockCode", "vatRate", "dimensionalWeight")
PRICE_STOCK_FIELDS = ("quantity", "salePrice", "listPrice")
FIXED_FIELDS = ("productMainId", "brandId", "categoryId")  # cannot change after approval

_WEIGHT_TO_KG = {"kg": Decimal(1), "g": Decimal("0.001"), "lb": Decimal("0.45359237"), "oz": Decimal("0.0283495")}
_LENGTH_TO_CM = {"cm": Decimal(1), "mm": Decimal("0.1"), "in": Decimal("2.54"), "m": Decimal(100)}


class MappingError(ValueError):
    """The product cannot be listed until the merchant fixes something; the text says what."""


@dataclass(frozen=True)
class CategoryMapping:
    remote_id: int
    attributes: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TrendyolMapping:
    """Per channel: mappings (from ``kervan_mapping``) and settings (``kervan_channel.settings``)."""

    categories: dict[int, CategoryMapping] = field(default_factory=dict)
    brands: dict[int, int] = field(default_factory=dict)
    image_base_url: str = ""
    language: str = "tr-tr"
    default_brand_id: int | None = None
    placeholder_image: str = ""  # used when a product has no image (Trendyol requires one)
    stock: StockRules = field(default_factory=StockRules)  # buffer and maximum (workers/stock.py)
    default_dimensional_weight: Decimal = Decimal(1)


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _gross(net: Decimal, product: Product) -> Decimal:
    """Trendyol prices are what the customer pays: OpenCart's net price plus its taxes."""
    gross = net
    for rate in product.tax_rates:
        gross += net * rate.rate / 100 if rate.type == "P" else rate.rate
    return gross


def barcode_of(product: Product) -> str:
    """EAN, else SKU, else the model: the first the merchant filled in. Trendyol removes inner
    spaces itself and later updates must use the normalised form, so we send that form."""
    raw = product.codes.get("EAN") or product.codes.get("SKU") or product.model
    barcode = re.sub(r"\s+", "", raw or "")
    if not barcode:
        raise MappingError(f"Product {product.product_id} has no EAN, SKU or model to use as its Trendyol barcode.")
    if not _BARCODE.match(barcode):
        raise MappingError(
            f"Barcode {barcode!r} of product {product.product_id} is not accepted by Trendyol "
            "(at most 40 letters, digits, '.', '-' or '_')."
        )
    return barcode


def _texts(product: Product, language: str):
    if language in product.descriptions:
        return product.descriptions[language]
    if product.language in product.descriptions:
        return product.descriptions[product.language]
    if product.descriptions:
        return next(iter(product.descriptions.values()))
    raise MappingError(f"Product {product.product_id} has no name in any language.")


def _vat_rate(product: Product) -> int:
    percents = [r.rate for r in product.tax_rates if r.type == "P"]
    rate = int(sum(percents, Decimal(0))) if percents else 0
    if rate not in VAT_RATES:
        raise MappingError(
            f"Product {product.product_id} has a VAT rate of {rate}%; Trendyol accepts only 0, 1, 10 or 20%."
        )
    return rate


def _desi(product: Product, default: Decimal) -> float:
    """Trendyol's dimensional weight: the larger of the weight in kg and L×W×H(cm)/3000."""
    kg = product.weight * _WEIGHT_TO_KG.get((product.weight_class or "kg").lower(), Decimal(1))
    cm = _LENGTH_TO_CM.get((product.length_class or "cm").lower(), Decimal(1))
    volume = product.length * cm * product.width * cm * product.height * cm / 3000
    desi = max(kg, volume)
    return float((desi if desi > 0 else default).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _category(product: Product, mapping: TrendyolMapping) -> CategoryMapping:
    # The deepest mapped category wins: "Desktops > Mac" is more precise than "Desktops".
    for cat in sorted(product.categories, key=lambda c: len(c.path), reverse=True):
        if cat.category_id in mapping.categories:
            return mapping.categories[cat.category_id]
    names = ", ".join(" > ".join(c.path) or str(c.category_id) for c in product.categories) or "none"
    raise MappingError(
        f"No Trendyol category is mapped for the categories of product {product.product_id} ({names})."
    )


def _brand(product: Product, mapping: TrendyolMapping) -> int:
    if product.manufacturer and product.manufacturer.manufacturer_id in mapping.brands:
        return mapping.brands[product.manufacturer.manufacturer_id]
    if mapping.default_brand_id:
        return mapping.default_brand_id
    who = product.manufacturer.name if product.manufacturer else "no manufacturer"
    raise MappingError(f"No Trendyol brand is mapped for {who} (product {product.product_id}).")


def _images(product: Product, mapping: TrendyolMapping) -> list[dict[str, str]]:
    paths = [p for p in (product.image, *product.images) if p] or (
        [mapping.placeholder_image] if mapping.placeholder_image else [])
    if not paths:
        raise MappingError(
            f"Product {product.product_id} has no image; Trendyol requires at least one. "
            "Add an image, or set a placeholder image for this channel."
        )
    seen: list[str] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    base = mapping.image_base_url.rstrip("/")
    return [{"url": base + "/" + p.lstrip("/")} for p in seen[:MAX_IMAGES]]


def to_item(product: Product, mapping: TrendyolMapping, *, master: Product | None = None) -> dict[str, Any]:
    """The full v2 create item for ``product``. Variants of one master share its model as
    ``productMainId`` so Trendyol groups them on one content page."""
    texts = _texts(product, mapping.language)
    net = product.special if product.special is not None else product.price
    quantity = mapping.stock.sellable(product.quantity, enabled=bool(product.status), cap=MAX_QUANTITY)
    cat = _category(product, mapping)
    item = {
        "barcode": barcode_of(product),
        "title": texts.name.strip()[:100],
        "productMainId": ((master.model if master else product.model) or str(product.product_id))[:40],
        "brandId": _brand(product, mapping),
        "categoryId": cat.remote_id,
        "quantity": quantity,
        "stockCode": (product.codes.get("SKU") or product.model or str(product.product_id))[:100],
        "dimensionalWeight": _desi(product, mapping.default_dimensional_weight),
        "description": (texts.description or texts.name)[:30000],
        "listPrice": _money(_gross(max(product.price, net), product)),
        "salePrice": _money(_gross(net, product)),
        "vatRate": _vat_rate(product),
        "images": _images(product, mapping),
        "attributes": [dict(a) for a in cat.attributes],
    }
    return item


def part(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: item[k] for k in fields if k in item}


def changed_parts(desired: dict[str, Any], confirmed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Which update endpoints must be called to turn ``confirmed`` into ``desired``, and with what."""
    out: dict[str, dict[str, Any]] = {}
    for name, fields in (("content", CONTENT_FIELDS), ("variant", VARIANT_FIELDS), ("price_stock", PRICE_STOCK_FIELDS)):
        diff = {k: desired[k] for k in fields if desired.get(k) != confirmed.get(k)}
        if diff:
            # Trendyol replaces all attributes when any is sent, so attributes go whole.
            out[name] = diff
    return out
