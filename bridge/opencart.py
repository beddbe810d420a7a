"""The OpenCart product read model: the current truth of a product, read from OpenCart's tables.

Kervan's workers call this when an event says that a product changed. It reads OpenCart 4.1.x,
4.0.x (and, best effort, 3.0) and hides their differences (see ``docs/opencart.md`` §10/§11):

* barcodes and SKUs: ``{p}product_code`` rows on 4.1, the ``sku/upc/ean/jan/isbn/mpn`` columns of
  ``{p}product`` before;
* specials: ``{p}product_discount`` rows with ``special=1`` and a ``type`` (F/P/S) on 4.1,
  ``{p}product_special`` (absolute prices) before;
* NULL on 4.1 where 4.0 stores ``''``/0/zero dates.

Text columns are stored the way OpenCart's request cleaning leaves them (``htmlspecialchars``),
so ``Apple Cinema 30&quot;`` is returned as ``Apple Cinema 30"`` and descriptions as real HTML.

``ProductReader.load`` reads any number of products with a fixed handful of queries (one per
table, ``IN (...)`` with parameters, in chunks of ``CHUNK`` ids); it never issues a query per
product. This module knows nothing about marketplaces.
"""

from __future__ import annotations

import html
import json
import re
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from bridge.db import Database
from bridge.grouped import GroupedReads

VERSION_41 = "4.1"
VERSION_40 = "4.0"
VERSION_30 = "3.0"

# The identifiers OpenCart knows (4.1 `oc_identifier.code`, and the 4.0/3.0 product columns).
CODE_KEYS: tuple[str, ...] = ("SKU", "UPC", "EAN", "JAN", "ISBN", "MPN")

# Ids per IN (...) list; load() issues one query per table per chunk.
CHUNK = 500

_CENT4 = Decimal("0.0001")
_ZERO = Decimal("0")


# -- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Description:
    """One language's texts of a product (HTML entities decoded as OpenCart does on output)."""

    name: str
    description: str  # HTML
    meta_title: str
    tag: str  # comma separated, as entered
    meta_description: str = ""
    meta_keyword: str = ""


@dataclass(frozen=True)
class Manufacturer:
    manufacturer_id: int
    name: str


@dataclass(frozen=True)
class Category:
    category_id: int
    name: str  # in the shop's default language ('' when that language has no name)
    path: tuple[str, ...]  # names from the root down to this category, e.g. ("Desktops", "Mac")
    path_ids: tuple[int, ...]  # the matching category ids, e.g. (20, 27)


@dataclass(frozen=True)
class OptionValue:
    product_option_value_id: int
    option_value_id: int
    name: str  # default language
    quantity: int
    subtract: bool
    price: Decimal  # amount added to / subtracted from the product price, see price_prefix
    price_prefix: str  # '+' or '-'
    weight: Decimal = _ZERO
    weight_prefix: str = "+"


@dataclass(frozen=True)
class ProductOption:
    product_option_id: int
    option_id: int
    name: str  # default language
    type: str  # select, radio, checkbox, text, textarea, file, date, time, datetime
    required: bool
    values: tuple[OptionValue, ...]  # empty for the free-text types
    value: str = ""  # default value of a text/date/time option


class TaxRate(NamedTuple):
    name: str
    rate: Decimal
    type: str  # 'P' percent, 'F' fixed amount


@dataclass(frozen=True)
class Variant:
    """A 4.x variant product of a master: its id and its decoded ``variant`` JSON
    (``{"<product_option_id>": "<product_option_value_id>" | [..] | "text"}`` as OpenCart stores it)."""

    product_id: int
    variant: dict[str, Any]


@dataclass(frozen=True)
class Product:
    product_id: int
    master_id: int  # 0 when the product is not a variant (and always 0 on 3.0)
    model: str
    codes: dict[str, str]  # "SKU"/"UPC"/"EAN"/"JAN"/"ISBN"/"MPN" -> value; empty values left out
    quantity: int
    price: Decimal  # oc_product.price (ex tax)
    special: Decimal | None  # effective special price now, default customer group; None if none
    status: bool
    subtract: bool
    minimum: int
    weight: Decimal
    weight_class: str | None  # unit, e.g. "kg"; None if the class is unknown
    length: Decimal
    width: Decimal
    height: Decimal
    length_class: str | None  # unit, e.g. "cm"
    tax_class_id: int
    tax_rates: tuple[TaxRate, ...]  # rules of tax_class_id by priority, one per tax rate
    manufacturer: Manufacturer | None
    descriptions: dict[str, Description]  # language code ("en-gb") -> texts
    image: str | None  # main image, path relative to image/ (None when there is none)
    images: tuple[str, ...]  # additional images by sort_order
    categories: tuple[Category, ...]
    options: tuple[ProductOption, ...]
    variants: tuple[Variant, ...]  # products whose master_id is this product (4.x)
    date_modified: datetime | None
    # Further facts, less often needed.
    language: str = ""  # the shop's default language code when this was read
    weight_class_id: int = 0
    length_class_id: int = 0
    stock_status_id: int = 0
    shipping: bool = True
    date_available: date | None = None
    date_added: datetime | None = None
    variant: dict[str, Any] = field(default_factory=dict)  # this product's own variant JSON
    override: dict[str, Any] = field(default_factory=dict)  # master fields a variant overrides
    store_ids: tuple[int, ...] = ()

    @property
    def description(self) -> Description | None:
        """The texts in the shop's default language (or the first language there is)."""
        if self.language in self.descriptions:
            return self.descriptions[self.language]
        return next(iter(self.descriptions.values()), None)

    @property
    def name(self) -> str:
        d = self.description
        return d.name if d else ""

    @property
    def effective_price(self) -> Decimal:
        """What the storefront charges for one unit (ex tax, without options): the special if any."""
        return self.special if self.special is not None else self.price


@dataclass(frozen=True)
class StoreSettings:
    """The few shop settings the read model depends on (store 0)."""

    language_id: int
    language_code: str
    customer_group_id: int
    timezone: str
    languages: dict[int, str]  # language_id -> code, all languages


# -- version detection -----------------------------------------------------------------------

_versions: weakref.WeakKeyDictionary[Database, str] = weakref.WeakKeyDictionary()


def detect_version(db: Database, *, refresh: bool = False) -> str:
    """"4.1" when ``{p}product_code`` exists, "4.0" when ``{p}product`` has ``master_id``,
    "3.0" otherwise. Cached per Database object."""
    if not refresh and db in _versions:
        return _versions[db]
    row = db.one(
        "SELECT"
        " (SELECT COUNT(*) FROM information_schema.tables"
        "   WHERE table_schema = DATABASE() AND table_name = %s) AS has_code,"
        " (SELECT COUNT(*) FROM information_schema.columns"
        "   WHERE table_schema = DATABASE() AND table_name = %s AND column_name = 'master_id') AS has_master",
        (db.prefix + "product_code", db.prefix + "product"),
    )
    if row and row["has_code"]:
        version = VERSION_41
    elif row and row["has_master"]:
        version = VERSION_40
    else:
        version = VERSION_30
    _versions[db] = version
    return version


# -- value helpers ---------------------------------------------------------------------------

_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def decode_html(value: Any) -> str:
    """PHP ``html_entity_decode(.., ENT_QUOTES, 'UTF-8')``: only complete entities (``&...;``) are
    decoded, in one pass, so ``&amp;lt;`` becomes ``&lt;`` and a bare ``&`` stays."""
    if value is None:
        return ""
    text = str(value)
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def _int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return bool(_int(value))


def _dec(value: Any) -> Decimal:
    if value is None or value == "":
        return _ZERO
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return _ZERO


def _datetime(value: Any) -> datetime | None:
    # Zero dates come back from pymysql as the string '0000-00-00 00:00:00'.
    return value if isinstance(value, datetime) else None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _json_object(value: Any) -> dict[str, Any]:
    if not value:
        return {}
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return {}
    if isinstance(decoded, dict):
        return decoded
    if isinstance(decoded, list):  # PHP json_encode of an array with keys 0..n-1
        return {str(i): v for i, v in enumerate(decoded)}
    return {}


def _is_zero_date(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("0000-00-00")


def _starts_ok(value: Any, now: datetime) -> bool:
    # OpenCart: (date_start = '0000-00-00' OR date_start < NOW()). NULL satisfies neither.
    if _is_zero_date(value):
        return True
    d = _date(value)
    return d is not None and datetime.combine(d, time()) < now


def _ends_ok(value: Any, now: datetime) -> bool:
    # OpenCart: (date_end = '0000-00-00' OR date_end > NOW()), so a special ending today is over.
    if _is_zero_date(value):
        return True
    d = _date(value)
    return d is not None and datetime.combine(d, time()) > now


def _special_order(row: dict[str, Any]) -> tuple[Any, ...]:
    # ORDER BY priority ASC, price ASC (MySQL sorts NULL first); the id makes ties deterministic.
    priority, price = row.get("priority"), row.get("price")
    return (
        priority is not None,
        _int(priority),
        price is not None,
        _dec(price),
        _int(row.get("product_discount_id", row.get("product_special_id"))),
    )


def special_price(base: Decimal, rows: Iterable[dict[str, Any]], now: datetime, *, typed: bool) -> Decimal | None:
    """The special OpenCart's storefront applies, from the special rows of one product that are
    already filtered to the customer group. ``typed`` (4.1): rows carry ``type`` and ``quantity``,
    and only ``quantity = 1`` rows count; F = fixed price, P = percent off, S = amount off.
    Before 4.1 the price is absolute. OpenCart picks the row by (priority, raw price column), not
    by the resulting price; this does the same."""
    live = [r for r in rows if _starts_ok(r.get("date_start"), now) and _ends_ok(r.get("date_end"), now)]
    if typed:
        live = [r for r in live if _int(r.get("quantity"), -1) == 1]
    if not live:
        return None
    row = min(live, key=_special_order)
    amount = _dec(row.get("price"))
    if not typed:
        return amount
    kind = (row.get("type") or "").upper()
    if kind == "P":
        value = base - base * amount / Decimal(100)
    elif kind == "S":
        value = base - amount
    else:  # 'F' and anything else: OpenCart's CASE ... ELSE price
        value = amount
    return value.quantize(_CENT4, rounding=ROUND_HALF_UP)


# -- the reader ------------------------------------------------------------------------------


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


class ProductReader:
    """Reads products from one OpenCart database.

    ``clock`` returns the shop's local time as a naive datetime (used to decide which specials are
    running); by default it is the current time in the shop's ``config_timezone``, which is the
    time zone OpenCart gives its own MySQL session.
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self._clock = clock
        self._settings: StoreSettings | None = None
        self._grouped: GroupedReads[int, Product] = GroupedReads(self.load)

    # -- settings ------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return detect_version(self.db)

    @property
    def settings(self) -> StoreSettings:
        if self._settings is None:
            self._settings = self._load_settings()
        return self._settings

    def refresh(self) -> None:
        """Forget the cached settings and version (after the shop's configuration changed)."""
        self._settings = None
        detect_version(self.db, refresh=True)

    def _load_settings(self) -> StoreSettings:
        rows = self.db.query(
            "SELECT `key`, `value` FROM `{p}setting` WHERE `store_id` = 0 AND `key` IN (%s, %s, %s, %s, %s)",
            (
                "config_language_id",
                "config_language_catalog",  # 4.1
                "config_language",  # 4.0, 3.0
                "config_customer_group_id",
                "config_timezone",
            ),
        )
        values = {r["key"]: r["value"] for r in rows}
        languages = self.db.query(
            "SELECT `language_id`, `code`, `status` FROM `{p}language` ORDER BY `sort_order`, `language_id`"
        )
        by_id = {_int(r["language_id"]): r["code"] or "" for r in languages}
        by_code = {r["code"]: _int(r["language_id"]) for r in languages if r["code"]}

        language_id = _int(values.get("config_language_id"))
        if language_id not in by_id:
            code = values.get("config_language_catalog") or values.get("config_language") or ""
            language_id = by_code.get(code, 0)
        if language_id not in by_id:
            enabled = [r for r in languages if _bool(r["status"], True)] or languages
            language_id = _int(enabled[0]["language_id"]) if enabled else 0
        return StoreSettings(
            language_id=language_id,
            language_code=by_id.get(language_id, ""),
            customer_group_id=_int(values.get("config_customer_group_id"), 1),
            timezone=values.get("config_timezone") or "UTC",
            languages=by_id,
        )

    def now(self) -> datetime:
        if self._clock is not None:
            return self._clock()
        try:
            zone = ZoneInfo(self.settings.timezone)
        except (ValueError, KeyError, OSError):
            zone = ZoneInfo("UTC")
        return datetime.now(zone).replace(tzinfo=None)

    # -- reading -------------------------------------------------------------------------------
    def get(self, product_id: int | str) -> Product | None:
        return self.load([product_id]).get(_int(product_id))

    def get_grouped(self, product_id: int) -> Product | None:
        """``get`` for threads reading at the same time: those that ask while a read runs are
        read together next (``bridge/grouped.py``). Not inside a transaction of the caller's:
        another thread's connection may do the reading."""
        return self._grouped.get(int(product_id))

    def load(self, product_ids: Iterable[int | str]) -> dict[int, Product]:
        """The products among ``product_ids`` that exist, keyed by id, in the order asked for.
        Ids may be ints or numeric strings (OpenCart event args often are strings)."""
        wanted: list[int] = []
        seen: set[int] = set()
        for raw in product_ids:
            pid = _int(raw, -1)
            if pid > 0 and pid not in seen:
                seen.add(pid)
                wanted.append(pid)
        found: dict[int, Product] = {}
        for start in range(0, len(wanted), CHUNK):
            found.update(self._load_chunk(wanted[start : start + CHUNK]))
        return {pid: found[pid] for pid in wanted if pid in found}

    def _in(self, sql: str, ids: Sequence[int], *before: Any) -> list[dict[str, Any]]:
        """Run ``sql`` with ``{ids}`` expanded to one %s per id; ``before`` are the parameters that
        come before the id list in the statement."""
        return self.db.query(sql.replace("{ids}", _marks(len(ids))), [*before, *ids])

    def _load_chunk(self, ids: list[int]) -> dict[int, Product]:
        version = self.version
        s = self.settings
        lang = s.language_id
        has_master = version in (VERSION_41, VERSION_40)

        rows = self._in(
            "SELECT p.*, m.`name` AS kervan_manufacturer_name,"
            " wcd.`unit` AS kervan_weight_unit, lcd.`unit` AS kervan_length_unit"
            " FROM `{p}product` p"
            " LEFT JOIN `{p}manufacturer` m ON m.`manufacturer_id` = p.`manufacturer_id`"
            " LEFT JOIN `{p}weight_class_description` wcd"
            "   ON wcd.`weight_class_id` = p.`weight_class_id` AND wcd.`language_id` = %s"
            " LEFT JOIN `{p}length_class_description` lcd"
            "   ON lcd.`length_class_id` = p.`length_class_id` AND lcd.`language_id` = %s"
            " WHERE p.`product_id` IN ({ids})",
            ids,
            lang,
            lang,
        )
        if not rows:
            return {}
        ids = [_int(r["product_id"]) for r in rows]

        descriptions: dict[int, dict[str, Description]] = defaultdict(dict)
        for r in self._in(
            "SELECT * FROM `{p}product_description` WHERE `product_id` IN ({ids}) ORDER BY `language_id`", ids
        ):
            lid = _int(r["language_id"])
            code = s.languages.get(lid) or str(lid)
            descriptions[_int(r["product_id"])][code] = Description(
                name=decode_html(r.get("name")),
                description=decode_html(r.get("description")),
                meta_title=decode_html(r.get("meta_title")),
                tag=decode_html(r.get("tag")),
                meta_description=decode_html(r.get("meta_description")),
                meta_keyword=decode_html(r.get("meta_keyword")),
            )

        codes: dict[int, dict[str, str]] = defaultdict(dict)
        if version == VERSION_41:
            for r in self._in(
                "SELECT `product_id`, `code`, `value` FROM `{p}product_code`"
                " WHERE `product_id` IN ({ids}) ORDER BY `product_code_id`",
                ids,
            ):
                key = (r["code"] or "").strip().upper()
                value = decode_html(r["value"]).strip()
                if key and value:
                    codes[_int(r["product_id"])].setdefault(key, value)
        else:
            for r in rows:
                for key in CODE_KEYS:
                    value = decode_html(r.get(key.lower())).strip()
                    if value:
                        codes[_int(r["product_id"])][key] = value

        specials: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if version == VERSION_41:
            special_rows = self._in(
                "SELECT * FROM `{p}product_discount`"
                " WHERE `special` = 1 AND `customer_group_id` = %s AND `product_id` IN ({ids})",
                ids,
                s.customer_group_id,
            )
        else:
            special_rows = self._in(
                "SELECT * FROM `{p}product_special` WHERE `customer_group_id` = %s AND `product_id` IN ({ids})",
                ids,
                s.customer_group_id,
            )
        for r in special_rows:
            specials[_int(r["product_id"])].append(r)

        images: dict[int, list[str]] = defaultdict(list)
        for r in self._in(
            "SELECT `product_id`, `image` FROM `{p}product_image` WHERE `product_id` IN ({ids})"
            " ORDER BY `product_id`, `sort_order`, `product_image_id`",
            ids,
        ):
            path = decode_html(r["image"])
            if path:
                images[_int(r["product_id"])].append(path)

        categories = self._categories(ids, lang)
        options = self._options(ids, lang)

        tax_class_ids = sorted({_int(r.get("tax_class_id")) for r in rows} - {0})
        tax_rates: dict[int, list[TaxRate]] = defaultdict(list)
        if tax_class_ids:
            seen_rates: set[tuple[int, int]] = set()
            for r in self._in(
                "SELECT tr.`tax_class_id`, tr.`tax_rate_id`, r.`name`, r.`rate`, r.`type`"
                " FROM `{p}tax_rule` tr JOIN `{p}tax_rate` r ON r.`tax_rate_id` = tr.`tax_rate_id`"
                " WHERE tr.`tax_class_id` IN ({ids}) ORDER BY tr.`tax_class_id`, tr.`priority`, tr.`tax_rule_id`",
                tax_class_ids,
            ):
                # OpenCart keys the applied rates by tax_rate_id: one rate counts once per class.
                key = (_int(r["tax_class_id"]), _int(r["tax_rate_id"]))
                if key in seen_rates:
                    continue
                seen_rates.add(key)
                tax_rates[key[0]].append(
                    TaxRate(decode_html(r["name"]), _dec(r["rate"]), (r["type"] or "P").upper())
                )

        variants: dict[int, list[Variant]] = defaultdict(list)
        if has_master:
            for r in self._in(
                "SELECT `product_id`, `master_id`, `variant` FROM `{p}product`"
                " WHERE `master_id` IN ({ids}) ORDER BY `master_id`, `product_id`",
                ids,
            ):
                variants[_int(r["master_id"])].append(Variant(_int(r["product_id"]), _json_object(r["variant"])))

        stores: dict[int, list[int]] = defaultdict(list)
        for r in self._in(
            "SELECT `product_id`, `store_id` FROM `{p}product_to_store` WHERE `product_id` IN ({ids})"
            " ORDER BY `store_id`",
            ids,
        ):
            stores[_int(r["product_id"])].append(_int(r["store_id"]))

        now = self.now()
        typed = version == VERSION_41
        result: dict[int, Product] = {}
        for r in rows:
            pid = _int(r["product_id"])
            price = _dec(r.get("price"))
            manufacturer_id = _int(r.get("manufacturer_id"))
            manufacturer = None
            if manufacturer_id and r.get("kervan_manufacturer_name") is not None:
                manufacturer = Manufacturer(manufacturer_id, decode_html(r["kervan_manufacturer_name"]))
            image = decode_html(r.get("image"))
            result[pid] = Product(
                product_id=pid,
                master_id=_int(r.get("master_id")),
                model=decode_html(r.get("model")),
                codes=dict(codes.get(pid, {})),
                quantity=_int(r.get("quantity")),
                price=price,
                special=special_price(price, specials.get(pid, []), now, typed=typed),
                status=_bool(r.get("status")),
                subtract=_bool(r.get("subtract"), True),
                minimum=_int(r.get("minimum"), 1),
                weight=_dec(r.get("weight")),
                weight_class=r.get("kervan_weight_unit"),
                length=_dec(r.get("length")),
                width=_dec(r.get("width")),
                height=_dec(r.get("height")),
                length_class=r.get("kervan_length_unit"),
                tax_class_id=_int(r.get("tax_class_id")),
                tax_rates=tuple(tax_rates.get(_int(r.get("tax_class_id")), ())),
                manufacturer=manufacturer,
                descriptions=dict(descriptions.get(pid, {})),
                image=image or None,
                images=tuple(images.get(pid, ())),
                categories=tuple(categories.get(pid, ())),
                options=tuple(options.get(pid, ())),
                variants=tuple(variants.get(pid, ())),
                date_modified=_datetime(r.get("date_modified")),
                language=s.language_code,
                weight_class_id=_int(r.get("weight_class_id")),
                length_class_id=_int(r.get("length_class_id")),
                stock_status_id=_int(r.get("stock_status_id")),
                shipping=_bool(r.get("shipping"), True),
                date_available=_date(r.get("date_available")),
                date_added=_datetime(r.get("date_added")),
                variant=_json_object(r.get("variant")),
                override=_json_object(r.get("override")),
                store_ids=tuple(stores.get(pid, ())),
            )
        return result

    def _categories(self, ids: list[int], lang: int) -> dict[int, list[Category]]:
        rows = self._in(
            "SELECT p2c.`product_id`, p2c.`category_id`, cp.`path_id`, cp.`level`,"
            " cd.`name` AS path_name, own.`name` AS own_name"
            " FROM `{p}product_to_category` p2c"
            " LEFT JOIN `{p}category_path` cp ON cp.`category_id` = p2c.`category_id`"
            " LEFT JOIN `{p}category_description` cd ON cd.`category_id` = cp.`path_id` AND cd.`language_id` = %s"
            " LEFT JOIN `{p}category_description` own"
            "   ON own.`category_id` = p2c.`category_id` AND own.`language_id` = %s"
            " WHERE p2c.`product_id` IN ({ids})"
            " ORDER BY p2c.`product_id`, p2c.`category_id`, cp.`level`",
            ids,
            lang,
            lang,
        )
        grouped: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            grouped[(_int(r["product_id"]), _int(r["category_id"]))].append(r)
        result: dict[int, list[Category]] = defaultdict(list)
        for (pid, cid), parts in grouped.items():
            name = decode_html(parts[0]["own_name"])
            path_rows = [p for p in parts if p["path_id"] is not None]
            if path_rows:
                path = tuple(decode_html(p["path_name"]) for p in path_rows)
                path_ids = tuple(_int(p["path_id"]) for p in path_rows)
            else:  # no oc_category_path rows (repair not run): the category on its own
                path, path_ids = (name,), (cid,)
            result[pid].append(Category(cid, name, path, path_ids))
        return result

    def _options(self, ids: list[int], lang: int) -> dict[int, list[ProductOption]]:
        option_rows = self._in(
            "SELECT po.`product_option_id`, po.`product_id`, po.`option_id`, po.`value`, po.`required`,"
            " o.`type`, od.`name`"
            " FROM `{p}product_option` po"
            " LEFT JOIN `{p}option` o ON o.`option_id` = po.`option_id`"
            " LEFT JOIN `{p}option_description` od ON od.`option_id` = po.`option_id` AND od.`language_id` = %s"
            " WHERE po.`product_id` IN ({ids})"
            " ORDER BY po.`product_id`, o.`sort_order`, po.`product_option_id`",
            ids,
            lang,
        )
        value_rows = self._in(
            "SELECT pov.`product_option_value_id`, pov.`product_option_id`, pov.`option_value_id`,"
            " pov.`quantity`, pov.`subtract`, pov.`price`, pov.`price_prefix`, pov.`weight`,"
            " pov.`weight_prefix`, ovd.`name`"
            " FROM `{p}product_option_value` pov"
            " LEFT JOIN `{p}option_value` ov ON ov.`option_value_id` = pov.`option_value_id`"
            " LEFT JOIN `{p}option_value_description` ovd"
            "   ON ovd.`option_value_id` = pov.`option_value_id` AND ovd.`language_id` = %s"
            " WHERE pov.`product_id` IN ({ids})"
            " ORDER BY pov.`product_option_id`, ov.`sort_order`, pov.`product_option_value_id`",
            ids,
            lang,
        )
        values: dict[int, list[OptionValue]] = defaultdict(list)
        for r in value_rows:
            values[_int(r["product_option_id"])].append(
                OptionValue(
                    product_option_value_id=_int(r["product_option_value_id"]),
                    option_value_id=_int(r["option_value_id"]),
                    name=decode_html(r["name"]),
                    quantity=_int(r["quantity"]),
                    subtract=_bool(r["subtract"]),
                    price=_dec(r["price"]),
                    price_prefix=r["price_prefix"] or "+",
                    weight=_dec(r["weight"]),
                    weight_prefix=r["weight_prefix"] or "+",
                )
            )
        result: dict[int, list[ProductOption]] = defaultdict(list)
        for r in option_rows:
            poid = _int(r["product_option_id"])
            result[_int(r["product_id"])].append(
                ProductOption(
                    product_option_id=poid,
                    option_id=_int(r["option_id"]),
                    name=decode_html(r["name"]),
                    type=r["type"] or "",
                    required=_bool(r["required"]),
                    values=tuple(values.get(poid, ())),
                    value=decode_html(r["value"]),
                )
            )
        return result


def load_products(db: Database, product_ids: Iterable[int | str]) -> dict[int, Product]:
    """One-off convenience: ``ProductReader(db).load(product_ids)``."""
    return ProductReader(db).load(product_ids)
