"""OpenCart product → Hepsiburada catalog import item and listing price/stock rows. Only mapping:
no HTTP, no database.

HB's import item is ``{categoryId, merchant, attributes{merchantSku, VaryantGroupID, Barcode,
UrunAdi, UrunAciklamasi, Marka, GarantiSuresi, kg, tax_vat_rate, price, stock, Image1..Image10,
<category attributes>}}``. Note the two price formats: the import takes a **string with a decimal
comma** (``"130,50"``), the listing price upload a **number with a dot** (``130.5``).

What cannot be mapped raises ``MappingError`` with a sentence for the merchant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.opencart import Product
from workers.stock import StockRules

MAX_IMAGES = 10
MAX_NAME = 200
VAT_RATES = {0, 1, 10, 20}
_BARCODE = re.compile(r"^[0-9A-Za-z._-]{1,40}$")
_WEIGHT_TO_KG = {"kg": Decimal(1), "g": Decimal("0.001"), "lb": Decimal("0.45359237"), "oz": Decimal("0.0283495")}
_LENGTH_TO_CM = {"cm": Decimal(1), "mm": Decimal("0.1"), "in": Decimal("2.54"), "m": Decimal(100)}


class MappingError(ValueError):
    """The product cannot be listed until the merchant fixes something; the text says what."""


@dataclass(frozen=True)
class HepsiburadaCategory:
    """A mapped HB leaf category and the fixed category attributes to send with it
    (e.g. ``{"islemci_tipi": "Intel"}``)."""

    remote_id: int
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HepsiburadaMapping:
    """Per channel: category mappings (OpenCart category id → HB category), brand names and
    settings. ``categories`` values may be plain HB ids or ``HepsiburadaCategory``."""

    merchant_id: str
    categories: dict[int, int | HepsiburadaCategory] = field(default_factory=dict)
    brands: dict[int, str] = field(default_factory=dict)  # OpenCart manufacturer id → HB brand name
    default_brand: str = ""  # used when a product has no (mapped) manufacturer
    image_base_url: str = ""
    placeholder_image: str = ""  # used when a product has no image (HB requires Image1)
    language: str = "tr-tr"
    warranty_months: int = 24
    stock: StockRules = field(default_factory=StockRules)  # buffer and maximum (workers/stock.py)
    default_desi: Decimal = Decimal(1)


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _gross(net: Decimal, product: Product) -> Decimal:
    """HB prices are what the customer pays: OpenCart's net price plus its taxes."""
    gross = net
    for rate in product.tax_rates:
        gross += net * rate.rate / 100 if rate.type == "P" else rate.rate
    return gross


def gross_price(product: Product) -> Decimal:
    net = product.special if product.special is not None else product.price
    return _money(_gross(net, product))


def import_price(value: Decimal) -> str:
    """``Decimal("130.5")`` → ``"130,50"`` (the catalog import's format)."""
    return f"{_money(value):.2f}".replace(".", ",")


def merchant_sku(product: Product) -> str:
    """SKU, else the model, else the product id: HB's ``merchantSku`` (the seller's key)."""
    sku = (product.codes.get("SKU") or product.model or str(product.product_id)).strip()
    if len(sku) > 100:
        raise MappingError(f"SKU {sku[:20]!r}… of product {product.product_id} is longer than 100 characters.")
    return sku


def barcode_of(product: Product) -> str:
    raw = product.codes.get("EAN") or product.codes.get("UPC") or product.codes.get("SKU") or product.model
    barcode = re.sub(r"\s+", "", raw or "")
    if not barcode:
        raise MappingError(f"Product {product.product_id} has no EAN, UPC, SKU or model to use as its barcode.")
    if not _BARCODE.match(barcode):
        raise MappingError(
            f"Barcode {barcode!r} of product {product.product_id} is not accepted by Hepsiburada "
            "(at most 40 letters, digits, '.', '-' or '_')."
        )
    return barcode


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
            f"Product {product.product_id} has a VAT rate of {rate}%; Hepsiburada accepts only 0, 1, 10 or 20%."
        )
    return rate


def _desi(product: Product, default: Decimal) -> str:
    kg = product.weight * _WEIGHT_TO_KG.get((product.weight_class or "kg").lower(), Decimal(1))
    cm = _LENGTH_TO_CM.get((product.length_class or "cm").lower(), Decimal(1))
    volume = product.length * cm * product.width * cm * product.height * cm / 3000
    desi = max(kg, volume)
    desi = desi if desi > 0 else default
    return f"{desi.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP).normalize():f}"


def _category(product: Product, mapping: HepsiburadaMapping) -> HepsiburadaCategory:
    for cat in sorted(product.categories, key=lambda c: len(c.path), reverse=True):
        if cat.category_id in mapping.categories:
            found = mapping.categories[cat.category_id]
            return found if isinstance(found, HepsiburadaCategory) else HepsiburadaCategory(int(found))
    names = ", ".join(" > ".join(c.path) or str(c.category_id) for c in product.categories) or "none"
    raise MappingError(
        f"No Hepsiburada category is mapped for the categories of product {product.product_id} ({names})."
    )


def _brand(product: Product, mapping: HepsiburadaMapping) -> str:
    if product.manufacturer is not None:
        mapped = mapping.brands.get(product.manufacturer.manufacturer_id)
        if mapped:
            return mapped
        if product.manufacturer.name.strip():
            return product.manufacturer.name.strip()
    if mapping.default_brand:
        return mapping.default_brand
    raise MappingError(
        f"Product {product.product_id} has no manufacturer; set one, or a default brand for Hepsiburada."
    )


def _images(product: Product, mapping: HepsiburadaMapping) -> list[str]:
    paths = [p for p in (product.image, *product.images) if p]
    if not paths and mapping.placeholder_image:
        paths = [mapping.placeholder_image]
    if not paths:
        raise MappingError(
            f"Product {product.product_id} has no image; Hepsiburada requires at least one. "
            "Add an image, or set a placeholder image for this channel."
        )
    base = mapping.image_base_url.rstrip("/")
    out: list[str] = []
    for p in paths:
        url = p if re.match(r"^https?://", p) else f"{base}/{p.lstrip('/')}"
        if not re.match(r"^https?://", url):
            raise MappingError(
                "Hepsiburada needs full image addresses; set the image base URL of this channel "
                "(e.g. https://shop.example.com/image/)."
            )
        if url not in out:
            out.append(url)
    return out[:MAX_IMAGES]


def quantity_of(product: Product, mapping: HepsiburadaMapping) -> int:
    return mapping.stock.sellable(product.quantity, enabled=bool(product.status))


def to_import_item(product: Product, mapping: HepsiburadaMapping, *, master: Product | None = None) -> dict[str, Any]:
    """The catalog import item. Variants of one master share its model as ``VaryantGroupID``."""
    texts = _texts(product, mapping.language)
    name = texts.name.strip()
    if not name:
        raise MappingError(f"Product {product.product_id} has an empty name.")
    cat = _category(product, mapping)
    attributes: dict[str, Any] = {
        "merchantSku": merchant_sku(product),
        "VaryantGroupID": ((master.model if master else product.model) or str(product.product_id))[:100],
        "Barcode": barcode_of(product),
        "UrunAdi": name[:MAX_NAME],
        "UrunAciklamasi": (texts.description or name),
        "Marka": _brand(product, mapping),
        "GarantiSuresi": int(mapping.warranty_months),
        "kg": _desi(product, mapping.default_desi),
        "tax_vat_rate": str(_vat_rate(product)),
        "price": import_price(gross_price(product)),
        "stock": str(quantity_of(product, mapping)),
    }
    for n, url in enumerate(_images(product, mapping), start=1):
        attributes[f"Image{n}"] = url
    attributes.update(cat.attributes)
    return {"categoryId": cat.remote_id, "merchant": mapping.merchant_id, "attributes": attributes}


def to_price_stock(product: Product, mapping: HepsiburadaMapping, *, hepsiburada_sku: str | None = None) -> dict[str, Any]:
    """A row for ``HepsiburadaClient.update_price_stock``: ``{merchantSku, [hepsiburadaSku], price,
    availableStock}`` with the price as a number (dot decimal)."""
    row: dict[str, Any] = {"merchantSku": merchant_sku(product)}
    if hepsiburada_sku:
        row["hepsiburadaSku"] = hepsiburada_sku
    row["price"] = float(gross_price(product))
    row["availableStock"] = quantity_of(product, mapping)
    return row


__all__ = [
    "HepsiburadaCategory",
    "HepsiburadaMapping",
    "MappingError",
    "barcode_of",
    "gross_price",
    "import_price",
    "merchant_sku",
    "to_import_item",
    "to_price_stock",
]
