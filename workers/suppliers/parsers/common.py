"""Raw values of one record (strings, as the feed wrote them) → a FeedItem, or an ItemProblem
saying which value was wrong. Every format-specific parser ends here, so numbers, currencies,
VAT, stock words, barcodes, categories and images are read the same way whatever the format."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..model import FeedItem, ItemProblem
from ..numbers import (
    NumberError,
    currency_code,
    parse_decimal,
    parse_flag,
    parse_money,
    parse_quantity,
    parse_vat,
)
from ..spec import FeedSpec

_WS = re.compile(r"\s+")
_LIST_SPLIT = re.compile(r"\s*[;|]\s*|,\s+|,(?=\s*(?:https?:)?//)")  # not on commas inside a URL
_CATEGORY_SEPARATORS = ("->", ">", "/")


def text(value: Any) -> str:
    """A single raw value as stripped text ('' for None/empty lists: the first item of a list)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        for v in value:
            t = text(v)
            if t:
                return t
        return ""
    return str(value).strip()


def clean_line(value: Any) -> str:
    """One-line text (names, brands): whitespace runs and line breaks become one space."""
    return _WS.sub(" ", text(value))


def clean_barcode(value: Any) -> str:
    """Barcodes lose Excel's ``'`` text guard and any whitespace."""
    return _WS.sub("", text(value)).lstrip("'")


def split_list(value: Any) -> list[str]:
    """A list column (``a.jpg, b.jpg`` / ``a;b``) or repeated values → the non-empty items, in order."""
    if isinstance(value, list | tuple):
        out: list[str] = []
        for v in value:
            out.extend(split_list(v))
        return out
    t = text(value)
    return [p for p in (_LIST_SPLIT.split(t) if t else []) if p]


def normalise_image(url: str) -> str:
    """Scheme-less image URLs (``//cdn…``, ``ideacdn.net/…``) get https; others stay as written."""
    u = url.strip()
    if u.startswith("//"):
        return "https:" + u
    if "://" not in u and re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+/", u):
        return "https://" + u
    return u


def images_of(value: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for u in split_list(value):
        seen.setdefault(normalise_image(u), None)
    return tuple(seen)


def category_of(value: Any, separator: str) -> tuple[str, ...]:
    """``"Elektronik > Telefon"`` → ('Elektronik', 'Telefon'); a list is one level per entry."""
    if isinstance(value, list | tuple):
        return tuple(p for p in (clean_line(v).strip("|").strip() for v in value) if p)
    t = clean_line(value).strip("|").strip()
    if not t:
        return ()
    sep = separator
    if not sep:
        sep = next((s for s in _CATEGORY_SEPARATORS if s in t), "")
    parts = t.split(sep) if sep else [t]
    return tuple(p for p in (clean_line(x).strip("|").strip() for x in parts) if p)


def _pairs(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {clean_line(k): clean_line(v) for k, v in value.items() if clean_line(k) and clean_line(v)}


class ItemBuilder:
    """Turns raw values into FeedItems with one FeedSpec's number and currency settings."""

    def __init__(self, spec: FeedSpec) -> None:
        self.spec = spec
        self.dot = spec.thousands_dot

    def build(self, record: int, raw: Mapping[str, Any]) -> FeedItem | ItemProblem:
        code = clean_line(raw.get("code"))
        if not code:
            return ItemProblem(record, "no code: the record has no stock code or variant id")
        try:
            return self._build(record, code, raw)
        except NumberError as exc:
            return ItemProblem(record, str(exc), code)

    def _money(self, raw: Mapping[str, Any], key: str) -> tuple[Decimal | None, str | None]:
        t = text(raw.get(key))
        if not t:
            return None, None
        try:
            value, cur = parse_money(t, thousands_dot=self.dot, currencies=self.spec.currencies)
        except NumberError as exc:
            raise NumberError(f"{key.replace('_', ' ')} {t!r} is not a price ({exc})") from exc
        if value < 0:
            raise NumberError(f"{key.replace('_', ' ')} {t!r} is negative")
        return value, cur

    def _build(self, record: int, code: str, raw: Mapping[str, Any]) -> FeedItem | ItemProblem:
        price, cur1 = self._money(raw, "price")
        list_price, cur2 = self._money(raw, "list_price")
        if price is None and list_price is None:
            return ItemProblem(record, "no price", code)
        cur_text = text(raw.get("currency"))
        currency = (
            currency_code(cur_text, self.spec.currencies) if cur_text else (cur1 or cur2 or self.spec.currency)
        )
        quantity: int | None = None
        in_stock: bool | None = None
        q = text(raw.get("quantity"))
        if q:
            try:
                quantity, in_stock = parse_quantity(q, thousands_dot=self.dot)
            except NumberError as exc:
                raise NumberError(f"stock {q!r} is neither a number nor a yes/no word") from exc
        s = text(raw.get("in_stock"))
        if s:
            in_stock = parse_flag(s)
        vat = text(raw.get("vat_rate"))
        incl = text(raw.get("vat_included"))
        weight = text(raw.get("weight"))
        return FeedItem(
            record=record,
            code=code,
            name=clean_line(raw.get("name")),
            group=clean_line(raw.get("group")),
            sku=clean_line(raw.get("sku")),
            barcode=clean_barcode(raw.get("barcode")),
            brand=clean_line(raw.get("brand")),
            description=text(raw.get("description")),
            category_path=category_of(raw.get("category_path"), self.spec.category_separator),
            price=price if price is not None else list_price,
            list_price=list_price,
            currency=currency,
            vat_rate=parse_vat(vat, thousands_dot=self.dot) if vat else None,
            vat_included=parse_flag(incl) if incl else None,
            quantity=quantity,
            in_stock=in_stock,
            images=images_of(raw.get("images")),
            options=_pairs(raw.get("options")),
            attributes=_pairs(raw.get("attributes")),
            weight=parse_decimal(weight, thousands_dot=self.dot) if weight else None,
            url=text(raw.get("url")),
        )


def overlay(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """A variant's values over its product's: a variant value wins only when it is non-empty."""
    out = dict(parent)
    for k, v in child.items():
        if isinstance(v, Mapping):
            if v:
                out[k] = {**(parent.get(k) or {}), **v}
        elif isinstance(v, list | tuple):
            if any(text(x) for x in v):
                out[k] = v
        elif text(v):
            out[k] = v
    return out


def as_list(paths: str | Iterable[str]) -> list[str]:
    return [paths] if isinstance(paths, str) else list(paths)
