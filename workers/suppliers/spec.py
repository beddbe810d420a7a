"""A supplier's feed spec: where the feed is, how to log in, what shape it has and how its
elements or columns become FeedItem fields. Stored as JSON in ``kervan_supplier.feed``.

Field mapping paths (``fields`` and, for nested variants, ``variant_fields``; keys are FeedItem
field names):

- XML (``xml``): element local names relative to the record, ``/`` between levels
  (``Resimler/Resim``), ``@name`` for an attribute of the record, ``Path@name`` for an attribute of
  the element at Path, ``.`` for the record's own text. Namespaces are ignored.
- CSV (``csv``): the column header.
- JSON (``json``): keys joined with ``.``; a list on the way is walked element by element.

A value is one path, or a list of paths: the first that gives a non-empty value wins, except for
``images``, which collects every non-empty value of every path in order. ``category_path`` with a
list takes one level per path (IdeaSoft ``mainCategory``/``category``/``subCategory``) — when only
one of them is present, its text is the whole path; text is split on ``category_separator``. ``options``/``attributes`` take either
``{"Renk": "path"}`` or ``"path|name-path|value-path"`` (one option per element at ``path``:
``"EkSecenekOzellik/Ozellik|@Tanim|@Deger"``).

Variants: nested (``variants`` = path of the repeated variant element inside the record; each
becomes one FeedItem, record fields overlaid by ``variant_fields``; ``group`` defaults to the
record's ``code``) or flat rows sharing a key (map ``group``, or set ``group_by``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .encoding import DEFAULT_FALLBACK, normalise_label
from .model import FeedItem
from .numbers import NumberError, currency_code
from .redact import redact_url

FORMATS = ("gmc", "xml", "csv", "json")
AUTH_KINDS = ("none", "basic", "header", "query")
ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(FeedItem) if f.name != "record")
MAPPED_DICT_FIELDS = ("options", "attributes")

MiB = 1 << 20
GiB = 1 << 30


class SpecError(ValueError):
    """The feed spec itself is wrong (a typo in the admin's Suppliers page); plain words."""


@dataclass
class FeedAuth:
    """``basic`` (username/password), ``header`` (``header: token``, e.g. ``Authorization: Bearer x``)
    or ``query`` (``?param=token``). Tokens that live in the URL's path need no setting here; the URL
    is redacted wherever it is logged."""

    kind: str = "none"
    username: str = ""
    password: str = field(default="", repr=False)  # secrets stay out of every repr and log line
    header: str = "Authorization"
    token: str = field(default="", repr=False)
    param: str = "key"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.token) if s)


@dataclass
class FeedSpec:
    url: str = ""
    format: str = "xml"
    preset: str = ""
    auth: FeedAuth = field(default_factory=FeedAuth)
    timeout: float = 30.0  # seconds to connect and between two reads
    max_seconds: float = 900.0  # the whole download
    max_bytes: int = 1 * GiB  # as downloaded
    max_inflated: int = 4 * GiB  # after gunzip/unzip: a decompression bomb stops here
    max_json_bytes: int = 64 * MiB  # JSON is read whole (no streaming JSON parser in the deps)
    conditional: bool = True  # send If-None-Match / If-Modified-Since when validators are known
    record: str = ""  # XML: the record element's local name; JSON: dot path to the array ("" = top level)
    fields: dict[str, Any] = field(default_factory=dict)
    variants: str = ""  # XML/JSON: path of the nested variant element/list inside a record
    variant_fields: dict[str, Any] = field(default_factory=dict)
    group_by: str = ""  # flat variants: path/column whose value joins rows of one product
    encoding: str = DEFAULT_FALLBACK  # used only when the bytes are not valid UTF-8 and have no BOM
    thousands_dot: bool = False  # whether "1.500" means 1500 (it means 1.5 otherwise)
    delimiter: str = ""  # CSV; "" = sniffed among , ; TAB |
    quotechar: str = '"'
    headers: dict[str, str] = field(default_factory=dict)  # CSV: translated header → the layout's name
    currencies: dict[str, str] = field(default_factory=dict)  # extra currency tokens → ISO 4217
    currency: str = "TRY"  # when the feed names none
    category_separator: str = ""  # "" = the first of "->", ">", "/" found in the text
    sanitize: bool = True  # XML: escape bare "&", map HTML entities, drop C0 controls (streaming)

    def __repr__(self) -> str:
        return (f"FeedSpec(url={redact_url(self.url, self.secrets())!r}, format={self.format!r}, "
                f"preset={self.preset!r}, record={self.record!r}, auth={self.auth.kind!r})")

    # --- (de)serialisation ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> FeedSpec:
        """Validate and build from the stored JSON (a dict or its text). A ``preset`` fills in
        format, record, mapping and variants; keys given beside it win (``fields`` per field)."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise SpecError(f"feed settings are not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SpecError("feed settings must be a JSON object")
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"unknown feed setting(s): {', '.join(unknown)}")
        preset_name = str(data.get("preset") or "").strip().lower()
        merged: dict[str, Any] = {}
        if preset_name:
            if preset_name not in PRESETS:
                raise SpecError(f"unknown preset {preset_name!r}; known: {', '.join(sorted(PRESETS))}")
            merged = json.loads(json.dumps(PRESETS[preset_name]))  # deep copy
        for key, value in data.items():
            if key in ("fields", "variant_fields", "headers", "currencies") and key in merged:
                if not isinstance(value, dict):
                    raise SpecError(f"{key} must be an object")
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        merged["preset"] = preset_name
        auth = merged.pop("auth", None) or {}
        if isinstance(auth, FeedAuth):
            auth = dataclasses.asdict(auth)
        if not isinstance(auth, dict):
            raise SpecError("auth must be an object")
        bad_auth = sorted(set(auth) - {f.name for f in dataclasses.fields(FeedAuth)})
        if bad_auth:
            raise SpecError(f"unknown auth setting(s): {', '.join(bad_auth)}")
        try:
            spec = cls(auth=FeedAuth(**auth), **merged)
        except TypeError as exc:  # pragma: no cover - unknown keys are caught above
            raise SpecError(str(exc)) from exc
        spec.validate()
        return spec

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def secrets(self) -> tuple[str, ...]:
        return self.auth.secrets()

    # --- validation ----------------------------------------------------------------------------

    def validate(self) -> None:
        for name in ("url", "format", "record", "variants", "group_by", "delimiter", "quotechar", "encoding",
                     "currency", "category_separator"):
            if not isinstance(getattr(self, name), str):
                raise SpecError(f"{name} must be text")
        for name in ("headers", "currencies"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in value.items()):
                raise SpecError(f"{name} must be an object of text → text")
        self.format = self.format.strip().lower()
        if self.format not in FORMATS:
            raise SpecError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SpecError("the feed URL must start with http:// or https:// and name a host")
        self._validate_auth()
        for name in ("timeout", "max_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise SpecError(f"{name} must be a positive number of seconds")
        for name in ("max_bytes", "max_inflated", "max_json_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise SpecError(f"{name} must be a positive whole number of bytes")
        for name in ("conditional", "thousands_dot", "sanitize"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"{name} must be true or false")
        try:
            self.encoding = normalise_label(self.encoding or DEFAULT_FALLBACK)
        except ValueError as exc:
            raise SpecError(str(exc)) from exc
        try:
            self.currency = currency_code(self.currency, self.currencies)
            for token, code in self.currencies.items():
                if not (isinstance(code, str) and len(code) == 3 and code.isalpha()):
                    raise SpecError(f"currency token {token!r} must map to a 3-letter ISO code, not {code!r}")
        except NumberError as exc:
            raise SpecError(str(exc)) from exc
        if self.format == "csv":
            if self.delimiter not in ("", ",", ";", "\t", "|"):
                raise SpecError("delimiter must be one of , ; TAB | (or empty to detect it)")
            if len(self.quotechar) != 1:
                raise SpecError("quotechar must be one character")
        if self.group_by:
            self.fields = {**self.fields, "group": self.group_by}
        self._validate_mapping("fields", self.fields)
        self._validate_mapping("variant_fields", self.variant_fields)
        if self.variant_fields and not self.variants:
            raise SpecError("variant_fields needs variants (the path of the nested variant element)")
        if self.format == "xml" and not self.record:
            raise SpecError("record (the element that holds one product) is required for XML feeds")
        if self.format in ("xml", "csv", "json") and self.preset not in LAYOUT_PRESETS:
            if "code" not in self.fields and "code" not in self.variant_fields:
                raise SpecError("the mapping needs a code (the supplier's stock code or variant id)")

    def _validate_auth(self) -> None:
        a = self.auth
        a.kind = str(a.kind or "none").strip().lower()
        if a.kind not in AUTH_KINDS:
            raise SpecError(f"auth kind must be one of {', '.join(AUTH_KINDS)}, not {a.kind!r}")
        if a.kind == "basic" and not a.username:
            raise SpecError("basic auth needs a username")
        if a.kind == "header" and not (a.header and a.token):
            raise SpecError("header auth needs a header name and a token")
        if a.kind == "query" and not (a.param and a.token):
            raise SpecError("query auth needs a parameter name and a token")

    def _validate_mapping(self, name: str, mapping: Any) -> None:
        if not isinstance(mapping, dict):
            raise SpecError(f"{name} must be an object of FeedItem field → path")
        for key, value in mapping.items():
            if key not in ITEM_FIELDS:
                raise SpecError(f"{name}: {key!r} is not an item field; known: {', '.join(ITEM_FIELDS)}")
            if key in MAPPED_DICT_FIELDS:
                if isinstance(value, dict):
                    if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
                        raise SpecError(f"{name}.{key} must map option names to paths")
                elif not (isinstance(value, str) and value.count("|") == 2 and all(value.split("|"))):
                    raise SpecError(f'{name}.{key} must be {{"Name": "path"}} or "path|name-path|value-path"')
            elif isinstance(value, list):
                if not value or not all(isinstance(v, str) and v.strip() for v in value):
                    raise SpecError(f"{name}.{key} must be a path or a non-empty list of paths")
            elif not (isinstance(value, str) and value.strip()):
                raise SpecError(f"{name}.{key} must be a path or a list of paths")


# --- presets (shapes from supplier-feeds.md §1) --------------------------------------------------

def _numbered(prefix: str, suffix: str = "", n: int = 10, start: int = 1) -> list[str]:
    return [f"{prefix}{i}{suffix}" for i in range(start, start + n)]


LAYOUT_PRESETS = ("shopify", "woocommerce")  # CSV layouts with their own row logic (csv_feed.py)

PRESETS: dict[str, dict[str, Any]] = {
    # Ticimax: Root/Urunler/Urun, one UrunSecenek/Secenek per variant (simple products too).
    "ticimax": {
        "format": "xml",
        "record": "Urun",
        "fields": {
            "group": "UrunKartiID", "code": "UrunKartiID", "name": "UrunAdi", "brand": "Marka",
            "description": "Aciklama", "category_path": "KategoriTree", "images": "Resimler/Resim",
            "url": "UrunUrl",
        },
        "variants": "UrunSecenek/Secenek",
        "variant_fields": {
            "code": ["VaryasyonID", "StokKodu"], "sku": "StokKodu", "barcode": "Barkod",
            "quantity": ["StokAdedi", "StokDurumu"], "price": ["AlisFiyati", "SatisFiyati"],
            "list_price": "SatisFiyati", "vat_rate": "KdvOrani", "vat_included": "KDVDahil",
            "currency": ["ParaBirimiKodu", "ParaBirimi"], "options": "EkSecenekOzellik/Ozellik|@Tanim|@Deger",
        },
        "category_separator": "/",
    },
    # IdeaSoft standard export: root/item, variants/variant with options/option.
    "ideasoft": {
        "format": "xml",
        "record": "item",
        "fields": {
            "code": "stockCode", "sku": "stockCode", "name": "label", "brand": "brand", "barcode": "barcode",
            "category_path": ["mainCategory", "category", "subCategory"], "price": ["buyingPrice", "price1"],
            "list_price": "price1", "vat_rate": "tax", "currency": "currencyAbbr", "quantity": "stockAmount",
            "description": "details", "images": _numbered("picture", "Path"),
            "attributes": "specs/spec|specName|specValue",
        },
        "variants": "variants/variant",
        "variant_fields": {
            "code": "vStockCode", "sku": "vStockCode", "barcode": "vBarcode", "quantity": "vStockAmount",
            "price": ["vBuyingPrice", "vPrice1"], "list_price": "vPrice1",
            "options": "options/option|variantName|variantValue",
        },
    },
    # T-Soft style (no primary source found, supplier-feeds.md §1.3): products/product with
    # SubProducts/SubProduct. A starting point to adjust per supplier.
    "tsoft": {
        "format": "xml",
        "record": "Product",
        "fields": {
            "code": ["ProductCode", "StockCode"], "sku": ["ProductCode", "StockCode"], "name": "ProductName",
            "brand": "Brand", "barcode": "Barcode", "category_path": "Category",
            "price": ["BuyingPrice", "SellingPrice"], "list_price": "SellingPrice", "vat_rate": "Vat",
            "currency": "Currency", "quantity": "Stock", "description": "Details", "images": "Images/Image",
        },
        "variants": "SubProducts/SubProduct",
        "variant_fields": {
            "code": "SubProductCode", "sku": "SubProductCode", "barcode": "Barcode", "quantity": "Stock",
            "price": ["BuyingPrice", "SellingPrice"], "list_price": "SellingPrice",
            "options": {"Renk": "Color", "Beden": "Size"},
        },
    },
    # Ad-hoc <urun> supplier feeds (zeyneptass66/vgr-xml, motosikletsepeti): lower-case Turkish
    # tags; motosikletsepeti has no code at all, so the name is the last resort identity.
    "urun": {
        "format": "xml",
        "record": "urun",
        "fields": {
            "code": ["urunkodu", "urun_kodu", "stokkodu", "stok_kodu", "kod", "urun_ad"],
            "group": ["model", "modelkodu", "model_kodu", "grupkodu"],
            "name": ["urunadi", "urun_adi", "urun_ad", "ad", "adi"], "brand": ["marka", "urun_marka_ad"],
            "barcode": ["barkod", "urun_barkod"], "quantity": ["stok", "urun_stok", "miktar"],
            "price": ["fiyat", "urun_fiyat", "alisfiyati"], "list_price": ["satisfiyati", "psf"],
            "vat_rate": ["kdv", "urun_kdv"], "currency": ["parabirimi", "doviz", "para_birimi"],
            "description": ["aciklama", "urun_aciklama"],
            "images": ["resim", *_numbered("resim", n=10), *_numbered("urun_resim", n=10)],
            "category_path": ["kategori", "urun_kategori_ad"], "options": {"Renk": "renk", "Beden": "beden"},
        },
    },
    "gmc": {"format": "gmc"},
    "shopify": {"format": "csv", "delimiter": ","},
    "woocommerce": {"format": "csv", "delimiter": ","},
}
