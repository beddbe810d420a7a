"""OpenCart product → Amazon listings item (``putListingsItem`` body / JSON_LISTINGS_FEED message).
Only mapping: no HTTP, no database.

Amazon attributes are arrays of objects keyed by attribute name; text attributes carry
``language_tag`` and ``marketplace_id``. What cannot be mapped (no product type for the product's
categories, no brand, no image, a price of zero, a SKU Amazon would refuse) raises ``MappingError``
with a sentence for the merchant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.opencart import Product
from workers.stock import StockRules

MAX_SKU = 40
MAX_TITLE = 200
MAX_BULLETS = 5
MAX_BULLET = 500
MAX_DESCRIPTION = 2000
MAX_IMAGES = 8  # main + 7 others
CURRENCIES = {"A33AVAJ2PDY3EV": "TRY", "A1PA6795UKMFR9": "EUR"}
LANGUAGE_TAGS = {"A33AVAJ2PDY3EV": "tr_TR", "A1PA6795UKMFR9": "de_DE"}
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class MappingError(ValueError):
    """The product cannot be listed until the merchant fixes something; the text says what."""


@dataclass(frozen=True)
class AmazonMapping:
    """Per channel account: OpenCart category id → Amazon product type, extra fixed attributes per
    product type (e.g. ``batteries_required``), and settings."""

    marketplace_id: str = "A33AVAJ2PDY3EV"
    product_types: dict[int, str] = field(default_factory=dict)
    type_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # productType -> {attr: value}
    brands: dict[int, str] = field(default_factory=dict)  # manufacturer id -> brand name on Amazon
    default_brand: str = ""
    image_base_url: str = ""
    placeholder_image: str = ""  # used when a product has no image (Amazon requires a main image)
    language: str = "en-gb"
    condition: str = "new_new"
    currency: str | None = None  # defaults to the marketplace's
    price_factor: Decimal = Decimal(1)  # e.g. an exchange rate when the shop's currency differs
    stock: StockRules = field(default_factory=StockRules)  # buffer and maximum (workers/stock.py)
    requirements: str = "LISTING"


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _gross(net: Decimal, product: Product) -> Decimal:
    """Amazon EU prices include VAT: OpenCart's net price plus its taxes."""
    gross = net
    for rate in product.tax_rates:
        gross += net * rate.rate / 100 if rate.type == "P" else rate.rate
    return gross


def sku_of(product: Product) -> str:
    """The seller SKU: OpenCart's SKU, else the model, else ``OC-<product id>``."""
    sku = (product.codes.get("SKU") or product.model or f"OC-{product.product_id}").strip()
    if len(sku) > MAX_SKU:
        raise MappingError(
            f"The SKU {sku!r} of product {product.product_id} is longer than the {MAX_SKU} characters "
            "Amazon accepts; shorten the SKU or model."
        )
    return sku


def _texts(product: Product, language: str):
    for code in (language, product.language):
        if code in product.descriptions:
            return product.descriptions[code]
    if product.descriptions:
        return next(iter(product.descriptions.values()))
    raise MappingError(f"Product {product.product_id} has no name in any language.")


def _plain(html: str) -> str:
    import html as htmllib

    return _SPACE.sub(" ", _TAGS.sub(" ", htmllib.unescape(htmllib.unescape(html or "")))).strip()


def product_type_of(product: Product, mapping: AmazonMapping) -> str:
    """The deepest mapped category decides ("Desktops > Mac" beats "Desktops")."""
    for cat in sorted(product.categories, key=lambda c: len(c.path), reverse=True):
        if cat.category_id in mapping.product_types:
            return mapping.product_types[cat.category_id]
    names = ", ".join(" > ".join(c.path) or str(c.category_id) for c in product.categories) or "none"
    raise MappingError(
        f"No Amazon product type is mapped for the categories of product {product.product_id} ({names})."
    )


def _brand(product: Product, mapping: AmazonMapping) -> str:
    if product.manufacturer:
        return mapping.brands.get(product.manufacturer.manufacturer_id) or product.manufacturer.name
    if mapping.default_brand:
        return mapping.default_brand
    raise MappingError(
        f"Product {product.product_id} has no manufacturer; Amazon requires a brand. "
        "Set a manufacturer or a default brand for this channel."
    )


def _images(product: Product, mapping: AmazonMapping) -> list[str]:
    paths: list[str] = []
    for p in (product.image, *product.images):
        if p and p not in paths:
            paths.append(p)
    if not paths and mapping.placeholder_image:
        paths.append(mapping.placeholder_image)
    if not paths:
        raise MappingError(f"Product {product.product_id} has no image; Amazon requires a main image.")
    base = mapping.image_base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise MappingError("Set the shop's image URL for the Amazon channel; Amazon needs full image links.")
    return [base + "/" + p.lstrip("/") for p in paths[:MAX_IMAGES]]


def price_of(product: Product, mapping: AmazonMapping) -> float:
    net = product.special if product.special is not None else product.price
    price = _money(_gross(net, product) * mapping.price_factor)
    if price <= 0:
        raise MappingError(f"Product {product.product_id} has no price; Amazon needs a price above zero.")
    return price


def quantity_of(product: Product, mapping: AmazonMapping) -> int:
    return mapping.stock.sellable(product.quantity, enabled=bool(product.status))


def to_attributes(
    product: Product, mapping: AmazonMapping, product_type: str | None = None
) -> dict[str, Any]:
    """The listings item ``attributes`` for ``product``."""
    mid = mapping.marketplace_id
    tag = LANGUAGE_TAGS.get(mid, "en_US")
    texts = _texts(product, mapping.language)
    name = texts.name.strip()
    if not name:
        raise MappingError(f"Product {product.product_id} has an empty name.")
    product_type = product_type or product_type_of(product, mapping)
    description = _plain(texts.description) or name
    bullets = [b.strip() for b in re.split(r"(?<=[.!?])\s+", description) if b.strip()][:MAX_BULLETS] or [
        name
    ]
    images = _images(product, mapping)
    currency = mapping.currency or CURRENCIES.get(mid, "TRY")

    def text(value: str) -> dict[str, Any]:
        return {"value": value, "language_tag": tag, "marketplace_id": mid}

    attributes: dict[str, Any] = {
        "item_name": [text(name[:MAX_TITLE])],
        "brand": [text(_brand(product, mapping)[:100])],
        "bullet_point": [text(b[:MAX_BULLET]) for b in bullets],
        "product_description": [text(description[:MAX_DESCRIPTION])],
        "condition_type": [{"value": mapping.condition, "marketplace_id": mid}],
        "main_product_image_locator": [{"media_location": images[0], "marketplace_id": mid}],
        "purchasable_offer": [
            {
                "currency": currency,
                "marketplace_id": mid,
                "our_price": [{"schedule": [{"value_with_tax": price_of(product, mapping)}]}],
            }
        ],
        "fulfillment_availability": [
            {"fulfillment_channel_code": "DEFAULT", "quantity": quantity_of(product, mapping)}
        ],
    }
    list_price = _money(_gross(product.price, product) * mapping.price_factor)
    if product.special is not None and list_price > price_of(product, mapping):
        attributes["list_price"] = [
            {"currency": currency, "value_with_tax": list_price, "marketplace_id": mid}
        ]
    for i, url in enumerate(images[1:], start=1):
        attributes[f"other_product_image_locator_{i}"] = [{"media_location": url, "marketplace_id": mid}]
    mpn = product.codes.get("MPN")
    if mpn:
        attributes["part_number"] = [{"value": mpn, "marketplace_id": mid}]
    for attr, value in mapping.type_attributes.get(product_type, {}).items():
        attributes[attr] = value if isinstance(value, list) else [{"value": value, "marketplace_id": mid}]
    return attributes


def to_item(product: Product, mapping: AmazonMapping) -> dict[str, Any]:
    """``{"sku","productType","requirements","attributes"}`` — what ``AmazonClient.create_listings``
    and ``put_listings_item`` take."""
    product_type = product_type_of(product, mapping)
    return {
        "sku": sku_of(product),
        "productType": product_type,
        "requirements": mapping.requirements,
        "attributes": to_attributes(product, mapping, product_type),
    }


def to_price_stock(product: Product, mapping: AmazonMapping) -> dict[str, Any]:
    """``{"sku","productType","price","quantity","currency"}`` for ``AmazonClient.update_price_stock``."""
    return {
        "sku": sku_of(product),
        "productType": product_type_of(product, mapping),
        "price": price_of(product, mapping),
        "quantity": quantity_of(product, mapping),
        "currency": mapping.currency or CURRENCIES.get(mapping.marketplace_id, "TRY"),
    }


__all__ = [
    "AmazonMapping",
    "MappingError",
    "price_of",
    "product_type_of",
    "quantity_of",
    "sku_of",
    "to_attributes",
    "to_item",
    "to_price_stock",
]
