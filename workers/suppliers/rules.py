"""A supplier's rules: from what the feed says to what the shop sells, as pure functions.

``Rules.from_dict`` reads the JSON the admin's Suppliers page stores in ``kervan_supplier.rules``::

    {"categories": {"map": {"Elektronik > Telefon": 20}, "default": null},
     "price": {"source": "cost", "markups": [{"up_to": "100", "percent": "40"}, {"percent": "25"}],
               "fixed": "0", "rounding": ".99", "min_margin_percent": "10", "min_margin_amount": "0",
               "rates": {"USD": "34.50"}, "vat_included": true, "vat_rate": "0.20",
               "tax_class_id": 9, "round_gross": true},
     "stock": {"buffer": 1, "in_stock_quantity": 10, "unknown_quantity": 0, "max": null},
     "new_products": "create_disabled", "missing_products": "zero_stock", "store_ids": [0]}

Prices are converted into the store's default currency (``config_currency``; ``price.currency``
overrides it) at the rules' ``rates``, else at OpenCart's own currency table. Money is ``Decimal``
from end to end; OpenCart stores ``decimal(15,4)`` and a net price with a tax
class, so the rules work out the net price, round the price the customer sees (gross when a VAT
rate is known) to the configured ending, and give back the net price for that gross.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from workers.suppliers.model import FeedItem

NEW_POLICIES = ("create_disabled", "create_enabled", "ignore")
MISSING_POLICIES = ("zero_stock", "disable", "ignore")
ENDINGS = {"": None, ".99": Decimal("0.99"), ".90": Decimal("0.90"), "0.99": Decimal("0.99"),
           "0.90": Decimal("0.90")}
PRICE_SOURCES = ("cost", "list")
CENT4 = Decimal("0.0001")
CENT = Decimal("0.01")


class RulesError(ValueError):
    """The merchant's rules are not usable as written (said in plain words)."""


class ItemRejected(ValueError):
    """One item cannot be priced or stocked under these rules; the run goes on without it."""


def _dec(value: Any, what: str, *, allow_none: bool = False) -> Decimal | None:
    if value is None or value == "":
        if allow_none:
            return None
        raise RulesError(f"{what} is missing")
    try:
        d = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise RulesError(f"{what} must be a number, not {value!r}") from None
    if not d.is_finite():
        raise RulesError(f"{what} must be a number, not {value!r}")
    return d


def _int(value: Any, what: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        raise RulesError(f"{what} must be a whole number, not {value!r}") from None


# -- categories -----------------------------------------------------------------------------

_TR_LOWER = str.maketrans({"I": "ı", "İ": "i"})


def fold(text: str) -> str:
    """Turkish-aware comparison form: NFC, trimmed, inner spaces collapsed, ``I``→``ı`` and
    ``İ``→``i`` before lower-casing (``str.lower`` would turn ``I`` into ``i``)."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(text.translate(_TR_LOWER).lower().split())


def split_path(text: str) -> tuple[str, ...]:
    """``Elektronik > Telefon`` (also ``->``) into its folded segments."""
    parts = text.replace("->", ">").split(">")
    return tuple(fold(p) for p in parts if p.strip())


@dataclass(frozen=True)
class CategoryRules:
    mapping: dict[tuple[str, ...], tuple[int, ...]] = field(default_factory=dict)
    default: tuple[int, ...] = ()

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> CategoryRules:
        raw = raw or {}
        mapping: dict[tuple[str, ...], tuple[int, ...]] = {}
        for path, target in (raw.get("map") or {}).items():
            key = split_path(str(path))
            if not key:
                raise RulesError(f"category path {path!r} is empty")
            mapping[key] = _ids(target, f"category mapping for {path!r}")
        return cls(mapping=mapping, default=_ids(raw.get("default"), "default category"))

    def map(self, path: tuple[str, ...]) -> tuple[tuple[int, ...], bool]:
        """OpenCart category ids for a supplier path and whether the mapping table knew it. The
        longest mapped prefix wins, so mapping ``Elektronik`` covers ``Elektronik > Telefon``."""
        segments: list[str] = []
        for part in path:
            segments.extend(split_path(part))
        key = tuple(segments)
        for n in range(len(key), 0, -1):
            if key[:n] in self.mapping:
                return self.mapping[key[:n]], True
        return self.default, False


def _ids(value: Any, what: str) -> tuple[int, ...]:
    if value is None or value == "" or value == []:
        return ()
    values = value if isinstance(value, list | tuple) else [value]
    out = []
    for v in values:
        n = _int(v, what)
        if n is None or n <= 0:
            raise RulesError(f"{what} must be a category id, not {v!r}")
        out.append(n)
    return tuple(out)


# -- price ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Markup:
    up_to: Decimal | None  # cost (net, store currency) up to and including this; None: any above
    percent: Decimal


@dataclass(frozen=True)
class PriceRules:
    source: str = "cost"
    markups: tuple[Markup, ...] = ()
    fixed: Decimal = Decimal(0)
    rounding: Decimal | None = None
    min_margin_percent: Decimal = Decimal(0)
    min_margin_amount: Decimal = Decimal(0)
    rates: dict[str, Decimal] = field(default_factory=dict)
    currency: str = "TRY"  # the store's currency, which prices are converted into
    currency_set: bool = False  # the rules name it; otherwise the store's default currency is used
    vat_included: bool = True  # whether supplier prices include VAT when the feed does not say
    vat_rate: Decimal = Decimal("0.20")  # the rate when the feed gives none (a fraction)
    tax_class_id: int = 0
    round_gross: bool = True  # round the price the customer sees (with VAT), not the net one

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> PriceRules:
        raw = raw or {}
        source = str(raw.get("source") or "cost")
        if source not in PRICE_SOURCES:
            raise RulesError(f"price source must be one of {', '.join(PRICE_SOURCES)}, not {source!r}")
        markups = []
        for i, m in enumerate(raw.get("markups") or []):
            up_to = _dec(m.get("up_to"), f"markup {i + 1} upper bound", allow_none=True)
            markups.append(Markup(up_to, _dec(m.get("percent"), f"markup {i + 1} percent")))
        bounded = [m for m in markups if m.up_to is not None]
        if [m.up_to for m in bounded] != sorted(m.up_to for m in bounded) or any(
                m.up_to is None for m in markups[:-1]):
            raise RulesError("markup ranges must go up in order, with the open-ended one last")
        rounding = str(raw.get("rounding") or "")
        if rounding not in ENDINGS:
            raise RulesError(f"price rounding must be .99 or .90, not {rounding!r}")
        rates = {}
        for cur, rate in (raw.get("rates") or {}).items():
            r = _dec(rate, f"exchange rate for {cur}")
            if r is None or r <= 0:
                raise RulesError(f"exchange rate for {cur} must be above zero")
            rates[str(cur).upper()] = r
        vat = _dec(raw.get("vat_rate"), "VAT rate", allow_none=True)
        if vat is not None and vat >= 1:
            vat = vat / 100  # 20 means 20 %
        return cls(
            source=source, markups=tuple(markups), fixed=_dec(raw.get("fixed") or 0, "fixed amount"),
            rounding=ENDINGS[rounding],
            min_margin_percent=_dec(raw.get("min_margin_percent") or 0, "minimum margin percent"),
            min_margin_amount=_dec(raw.get("min_margin_amount") or 0, "minimum margin amount"),
            rates=rates, currency=str(raw.get("currency") or "TRY").upper(), currency_set=bool(raw.get("currency")),
            vat_included=bool(raw.get("vat_included", True)),
            vat_rate=vat if vat is not None else Decimal("0.20"),
            tax_class_id=_int(raw.get("tax_class_id"), "tax class", 0) or 0,
            round_gross=bool(raw.get("round_gross", True)),
        )

    def for_store(self, currency: str, rates: dict[str, Decimal]) -> PriceRules:
        """These rules in a store whose default currency is ``currency`` and whose own currency
        table gives ``rates`` (store units per one foreign unit): the rules' own currency and rates
        win where they are set."""
        return replace(self, currency=self.currency if self.currency_set else currency.upper(),
                       rates={**{k.upper(): v for k, v in rates.items()}, **self.rates})

    def markup_for(self, cost: Decimal) -> Decimal:
        for m in self.markups:
            if m.up_to is None or cost <= m.up_to:
                return m.percent
        return Decimal(0)

    def convert(self, amount: Decimal, currency: str) -> Decimal:
        """Into the store's currency at the configured rate (store units per one foreign unit)."""
        currency = (currency or self.currency).upper()
        if currency == self.currency:
            return amount
        rate = self.rates.get(currency)
        if rate is None:
            raise ItemRejected(f"no exchange rate from {currency} to {self.currency} in the supplier's rules"
                               " or OpenCart's currencies")
        return amount * rate


@dataclass(frozen=True)
class Price:
    net: Decimal  # OpenCart's product.price (without VAT), decimal(15,4)
    gross: Decimal  # what the customer pays, for the merchant's eyes
    cost_net: Decimal  # what the supplier charges, net, in the store's currency
    list_net: Decimal | None  # the supplier's suggested retail price, net, store currency


def round_to_ending(value: Decimal, ending: Decimal | None) -> Decimal:
    """The smallest ``x.99`` (or ``x.90``) at or above ``value``; cents otherwise."""
    value = value.quantize(CENT, rounding=ROUND_CEILING)
    if ending is None:
        return value
    candidate = value.to_integral_value(rounding=ROUND_FLOOR) + ending
    if candidate < value:
        candidate += 1
    return candidate


def price(item: FeedItem, rules: PriceRules) -> Price:
    """The shop's net price for an item: cost (or list price) → net of VAT → store currency →
    markup by cost range + fixed amount → at least the minimum margin → rounded ending."""
    base = item.price if rules.source == "cost" else (item.list_price or item.price)
    if base is None:
        raise ItemRejected("no price")
    if base <= 0:
        raise ItemRejected(f"price {base} is not above zero")
    rate = item.vat_rate if item.vat_rate is not None else rules.vat_rate
    if rate < 0 or rate >= 1:
        raise ItemRejected(f"VAT rate {rate} is not a fraction between 0 and 1")
    included = item.vat_included if item.vat_included is not None else rules.vat_included
    divisor = 1 + rate if included else Decimal(1)
    net_base = rules.convert(base, item.currency) / divisor
    cost_net = rules.convert(item.price, item.currency) / divisor if item.price is not None else net_base
    list_net = rules.convert(item.list_price, item.currency) / divisor if item.list_price else None
    net = net_base * (1 + rules.markup_for(net_base) / 100) + rules.fixed
    floor = cost_net * (1 + rules.min_margin_percent / 100) + rules.min_margin_amount
    net = max(net, floor)
    taxed = rules.round_gross and rules.tax_class_id and rate > 0
    if taxed:
        gross = round_to_ending(net * (1 + rate), rules.rounding)
        net = (gross / (1 + rate)).quantize(CENT4, rounding=ROUND_HALF_UP)
        if net < floor:  # the 4-place net of a rounded gross may sit a hair under the floor
            net += CENT4
    else:
        net = round_to_ending(net, rules.rounding)
        gross = (net * (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP) if rules.tax_class_id else net
    return Price(net=net.quantize(CENT4), gross=gross, cost_net=cost_net.quantize(CENT4, rounding=ROUND_HALF_UP),
                 list_net=list_net.quantize(CENT4, rounding=ROUND_HALF_UP) if list_net else None)


# -- stock ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockRules:
    buffer: int = 0
    in_stock_quantity: int = 10  # what "var" / in stock means when the feed gives no figure
    unknown_quantity: int = 0  # neither a figure nor a yes/no
    max: int | None = None  # caps placeholder stocks such as 999

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> StockRules:
        raw = raw or {}
        rules = cls(
            buffer=_int(raw.get("buffer"), "stock buffer", 0) or 0,
            in_stock_quantity=_int(raw.get("in_stock_quantity"), "in-stock quantity", 10) or 0,
            unknown_quantity=_int(raw.get("unknown_quantity"), "unknown-stock quantity", 0) or 0,
            max=_int(raw.get("max"), "stock maximum", None),
        )
        if min(rules.buffer, rules.in_stock_quantity, rules.unknown_quantity, rules.max or 0) < 0:
            raise RulesError("stock numbers cannot be negative")
        return rules


def quantity(item: FeedItem, rules: StockRules) -> int:
    """What the shop may sell: the feed's figure (or var/yok → N/0), capped, minus the buffer,
    never below zero."""
    if item.quantity is not None:
        q = item.quantity
    elif item.in_stock is not None:
        q = rules.in_stock_quantity if item.in_stock else 0
    else:
        q = rules.unknown_quantity
    if rules.max is not None:
        q = min(q, rules.max)
    return max(q - rules.buffer, 0)


# -- the whole set --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    categories: CategoryRules = field(default_factory=CategoryRules)
    price: PriceRules = field(default_factory=PriceRules)
    stock: StockRules = field(default_factory=StockRules)
    new_products: str = "create_disabled"
    missing_products: str = "zero_stock"
    store_ids: tuple[int, ...] = (0,)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Rules:
        raw = raw or {}
        if not isinstance(raw, dict):
            raise RulesError("rules must be a JSON object")
        new = str(raw.get("new_products") or "create_disabled")
        if new not in NEW_POLICIES:
            raise RulesError(f"new products: choose one of {', '.join(NEW_POLICIES)}, not {new!r}")
        missing = str(raw.get("missing_products") or "zero_stock")
        if missing not in MISSING_POLICIES:
            raise RulesError(f"missing products: choose one of {', '.join(MISSING_POLICIES)}, not {missing!r}")
        stores = tuple(_int(s, "store id", 0) or 0 for s in (raw.get("store_ids") or [0]))
        return cls(
            categories=CategoryRules.from_dict(raw.get("categories")),
            price=PriceRules.from_dict(raw.get("price")),
            stock=StockRules.from_dict(raw.get("stock")),
            new_products=new, missing_products=missing, store_ids=stores,
        )


__all__ = [
    "CategoryRules", "ItemRejected", "MISSING_POLICIES", "NEW_POLICIES", "Price", "PriceRules", "Rules",
    "RulesError", "StockRules", "fold", "price", "quantity", "round_to_ending", "split_path",
]
