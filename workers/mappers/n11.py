"""OpenCart product → N11 product-task SKU and price/stock item. Only mapping: no HTTP, no database.

What cannot be mapped (no category mapping, no brand, a VAT rate N11 does not take, a title that
stays under N11's 15 characters, no image) raises ``MappingError`` with a sentence for the merchant.

N11 facts used (marketplace-apis.md §3.2): title ≥ 15 characters; leaf ``categoryId``;
``currencyType`` TL/USD/EUR; ``shipmentTemplate`` is the template's NAME; ``stockCode`` ≤ 255;
``quantity`` ≤ 999,999; ``vatRate`` 0/1/10/20; listPrice ≥ salePrice, sent together, 2 decimals;
brand is attribute id 1 (``{"id": 1, "valueId": …}`` or ``{"id": 1, "customValue": "…"}``).
ASSUMED: prices are what the customer pays (gross, as on Trendyol); at most 8 images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.opencart import Product
from workers.stock import StockRules

MAX_QUANTITY = 999_999
MAX_STOCK_CODE = 255
MIN_TITLE = 15
MAX_TITLE = 255  # ASSUMED: the docs give no maximum
MAX_IMAGES = 8  # ASSUMED
VAT_RATES = {0, 1, 10, 20}
CURRENCIES = ("TL", "USD", "EUR")
BRAND_ATTRIBUTE_ID = 1


class MappingError(ValueError):
    """The product cannot be listed until the merchant fixes something; the text says what."""


@dataclass(frozen=True)
class N11Mapping:
    """Per channel: mappings (from ``kervan_mapping``) and settings (``kervan_channel.settings``).

    ``categories``: OpenCart category id → N11 leaf category id. ``category_attributes``: N11
    category id → extra attribute entries sent as they are (``{"id", "valueId", "customValue"}``).
    ``brands``: OpenCart manufacturer id → value id of N11's brand attribute; an unmapped
    manufacturer is sent by name as a custom value, else ``default_brand``."""

    categories: dict[int, int] = field(default_factory=dict)
    category_attributes: dict[int, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    brands: dict[int, int] = field(default_factory=dict)
    default_brand: str = ""
    image_base_url: str = ""
    placeholder_image: str = ""  # used when a product has no image
    shipment_template: str = "Standart"
    preparing_day: int = 3
    currency: str = "TL"
    language: str = "tr-tr"
    stock: StockRules = field(default_factory=StockRules)  # buffer and maximum (workers/stock.py)


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _gross(net: Decimal, product: Product) -> Decimal:
    gross = net
    for rate in product.tax_rates:
        gross += net * rate.rate / 100 if rate.type == "P" else rate.rate
    return gross


def stock_code_of(product: Product) -> str:
    """SKU, else the model, else the product id: N11's key for the listing."""
    code = (product.codes.get("SKU") or product.model or str(product.product_id)).strip()
    if len(code) > MAX_STOCK_CODE:
        raise MappingError(
            f"The SKU/model of product {product.product_id} is {len(code)} characters long; "
            f"N11 accepts stock codes of at most {MAX_STOCK_CODE}."
        )
    return code


def _texts(product: Product, language: str):
    for code in (language, product.language):
        if code in product.descriptions:
            return product.descriptions[code]
    if product.descriptions:
        return next(iter(product.descriptions.values()))
    raise MappingError(f"Product {product.product_id} has no name in any language.")


def _vat_rate(product: Product) -> int:
    percents = [r.rate for r in product.tax_rates if r.type == "P"]
    rate = int(sum(percents, Decimal(0))) if percents else 0
    if rate not in VAT_RATES:
        raise MappingError(
            f"Product {product.product_id} has a VAT rate of {rate}%; N11 accepts only 0, 1, 10 or 20%."
        )
    return rate


def _category(product: Product, mapping: N11Mapping) -> int:
    for cat in sorted(product.categories, key=lambda c: len(c.path), reverse=True):
        if cat.category_id in mapping.categories:
            return mapping.categories[cat.category_id]
    names = ", ".join(" > ".join(c.path) or str(c.category_id) for c in product.categories) or "none"
    raise MappingError(
        f"No N11 category is mapped for the categories of product {product.product_id} ({names})."
    )


def _brand(product: Product, mapping: N11Mapping) -> tuple[dict[str, Any], str]:
    m = product.manufacturer
    if m is not None and m.manufacturer_id in mapping.brands:
        return {
            "id": BRAND_ATTRIBUTE_ID,
            "valueId": mapping.brands[m.manufacturer_id],
            "customValue": None,
        }, m.name
    name = (m.name.strip() if m else "") or mapping.default_brand.strip()
    if not name:
        raise MappingError(
            f"Product {product.product_id} has no manufacturer and this N11 channel has no default brand; "
            "N11 requires a brand."
        )
    return {"id": BRAND_ATTRIBUTE_ID, "valueId": None, "customValue": name}, name


def _title(product: Product, name: str, brand: str) -> str:
    """The product name; when shorter than N11's 15 characters, brand and model are added."""
    title = " ".join(name.split())
    if len(title) < MIN_TITLE:
        parts = [brand] if brand and brand.casefold() not in title.casefold() else []
        parts.append(title)
        if product.model and product.model.casefold() not in title.casefold():
            parts.append(product.model)
        title = " ".join(p for p in parts if p)
    if len(title) < MIN_TITLE:
        raise MappingError(
            f"The name of product {product.product_id} ({name!r}) is too short for N11, which needs at least "
            f"{MIN_TITLE} characters; use a longer product name."
        )
    return title[:MAX_TITLE]


def _images(product: Product, mapping: N11Mapping) -> list[dict[str, Any]]:
    paths = [p for p in (product.image, *product.images) if p] or (
        [mapping.placeholder_image] if mapping.placeholder_image else []
    )
    if not paths:
        raise MappingError(
            f"Product {product.product_id} has no image; N11 requires at least one. "
            "Add an image, or set a placeholder image for this channel."
        )
    seen: list[str] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    base = mapping.image_base_url.rstrip("/")
    return [
        {"url": p if p.startswith(("http://", "https://")) else base + "/" + p.lstrip("/"), "order": i + 1}
        for i, p in enumerate(seen[:MAX_IMAGES])
    ]


def _prices(product: Product) -> tuple[float, float]:
    net = product.special if product.special is not None else product.price
    sale = _money(_gross(net, product))
    listed = _money(_gross(max(product.price, net), product))
    if sale <= 0:
        raise MappingError(f"Product {product.product_id} has no price; N11 needs a price above 0.")
    return listed, sale


def _quantity(product: Product, mapping: N11Mapping) -> int:
    return mapping.stock.sellable(product.quantity, enabled=bool(product.status), cap=MAX_QUANTITY)


def _check_mapping(mapping: N11Mapping) -> None:
    if mapping.currency not in CURRENCIES:
        raise MappingError(f"The N11 currency of this channel is {mapping.currency!r}; use TL, USD or EUR.")
    if not mapping.shipment_template.strip():
        raise MappingError(
            "Set the N11 shipment template name of this channel (N11 requires one per product)."
        )


def to_sku(product: Product, mapping: N11Mapping, *, master: Product | None = None) -> dict[str, Any]:
    """The product-create SKU for ``product``. Variants of one master share its model as
    ``productMainId`` so N11 groups them."""
    _check_mapping(mapping)
    texts = _texts(product, mapping.language)
    category_id = _category(product, mapping)
    brand_attr, brand_name = _brand(product, mapping)
    listed, sale = _prices(product)
    attributes = [brand_attr] + [
        dict(a) for a in mapping.category_attributes.get(category_id, ()) if a.get("id") != BRAND_ATTRIBUTE_ID
    ]
    sku: dict[str, Any] = {
        "title": _title(product, texts.name, brand_name),
        "description": (texts.description or texts.name).strip(),
        "categoryId": category_id,
        "currencyType": mapping.currency,
        "productMainId": ((master.model if master else product.model) or str(product.product_id))[:255],
        "preparingDay": int(mapping.preparing_day),
        "shipmentTemplate": mapping.shipment_template,
        "stockCode": stock_code_of(product),
        "quantity": _quantity(product, mapping),
        "images": _images(product, mapping),
        "attributes": attributes,
        "salePrice": sale,
        "listPrice": listed,
        "vatRate": _vat_rate(product),
    }
    if product.codes.get("EAN"):
        sku["barcode"] = product.codes["EAN"]
    return sku


def price_stock_item(product: Product, mapping: N11Mapping) -> dict[str, Any]:
    """The price-stock-update item: stockCode, both prices, quantity and currency."""
    _check_mapping(mapping)
    listed, sale = _prices(product)
    return {
        "stockCode": stock_code_of(product),
        "listPrice": listed,
        "salePrice": sale,
        "quantity": _quantity(product, mapping),
        "currencyType": mapping.currency,
    }


def task_body(skus: list[dict[str, Any]], integrator: str = "Kervan") -> dict[str, Any]:
    """The full request body of a product task (what ``N11Client`` sends)."""
    return {"payload": {"integrator": integrator, "skus": skus}}


__all__ = ["MappingError", "N11Mapping", "price_stock_item", "stock_code_of", "task_body", "to_sku"]
