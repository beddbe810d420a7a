"""Google Merchant Center feeds: RSS 2.0 (``rss/channel/item``) and Atom 1.0 (``feed/entry``)
with the ``g:`` namespace (supplier-feeds.md §1.1).

Read namespace-aware (Shopier re-declares ``xmlns:g`` on every element; prefixes mean nothing),
children iterated once per item. Variants are one item each, joined by ``item_group_id``. GMC
prices are retail and VAT-inclusive: ``list_price`` is ``g:price``; ``price`` is
``g:cost_of_goods_sold`` when given, else ``g:sale_price``, else ``g:price``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import FeedItem, ItemProblem
from ..numbers import NumberError, parse_decimal
from ..spec import FeedSpec
from .common import ItemBuilder, text
from .xml_source import iter_elements

G = "http://base.google.com/ns/1.0"
ATOM = "http://www.w3.org/2005/Atom"
_VARIANT_ATTRIBUTES = ("color", "size", "size_system", "material", "pattern", "age_group", "gender")


def _item_values(el: Any) -> dict[str, Any]:
    g: dict[str, list[str]] = {}
    plain: dict[str, str] = {}
    link_href = ""
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        ns, _, name = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
        value = child.text or ""
        if ns == G:
            g.setdefault(name, []).append(value)
        else:
            if name == "link" and child.get("href"):
                link_href = link_href or child.get("href", "")
            plain.setdefault(name, value)

    def first(name: str) -> str:
        return text(g.get(name))

    raw: dict[str, Any] = {
        "code": first("id"),
        "group": first("item_group_id"),
        "name": first("title") or plain.get("title", ""),
        "description": first("description") or plain.get("description", "") or plain.get("summary", ""),
        "url": first("link") or plain.get("link", "") or link_href,
        "brand": first("brand"),
        "barcode": first("gtin"),
        "sku": first("mpn"),
        "images": g.get("image_link", []) + g.get("additional_image_link", []),
        "list_price": first("price"),
        "price": first("cost_of_goods_sold") or first("sale_price") or first("price"),
        "in_stock": first("availability"),
        "quantity": first("quantity") or first("inventory") or plain.get("inventory", ""),
        "weight": "",
        "options": {a: first(a) for a in _VARIANT_ATTRIBUTES if first(a)},
    }
    ptype = first("product_type")
    gcat = first("google_product_category")
    raw["category_path"] = ptype or (gcat if gcat and not gcat.isdigit() else "")
    weight = first("shipping_weight")
    if weight:
        number, _, unit = weight.partition(" ")
        unit = unit.strip().lower()
        if unit in ("kg", ""):
            raw["weight"] = number
        elif unit == "g":
            raw["weight"] = _grams_to_kg(number)
    condition = first("condition")
    if condition:
        raw["attributes"] = {"condition": condition}
    return raw


def _grams_to_kg(number: str) -> str:
    try:
        return str(parse_decimal(number) / 1000)
    except NumberError:
        return number


def iter_gmc(path: Path, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    builder = ItemBuilder(spec)
    tags = ("{*}item", f"{{{ATOM}}}entry")
    for record, el in iter_elements(path, tags, fallback=spec.encoding, fix=spec.sanitize):
        raw = _item_values(el)
        raw["vat_included"] = "true"  # GMC prices are gross (no VAT field outside the US)
        yield builder.build(record, raw)
