"""One feed item under the supplier's rules: the state it should have in OpenCart, and its hash.

This is the step between a parsed ``FeedItem`` and the apply step: prices and stock through the
rules, categories through the mapping table, the barcode checked as a GTIN, image URLs turned into
the paths OpenCart stores. The result is plain JSON (it is staged on disk between the parse and
the apply phases) and carries a hash in two halves, content and offer, so the apply step rewrites
texts only when texts changed and a stock-only change stays a stock-only write.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from workers.suppliers import rules as r
from workers.suppliers.model import FeedItem

MODEL_MAX = 64  # oc_product.model varchar(64)
_DIGITS = re.compile(r"^\d+$")
_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".webp"}


def gtin_kind(raw: str) -> tuple[str, str] | None:
    """``("EAN"|"UPC", digits)`` when ``raw`` is a GTIN-8/12/13/14 with a correct GS1 check digit
    (Excel's leading apostrophe and spaces ignored); None otherwise."""
    code = raw.strip().lstrip("'").replace(" ", "")
    if len(code) not in (8, 12, 13, 14) or not _DIGITS.match(code):
        return None
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        return None
    return ("UPC" if len(code) == 12 else "EAN"), code


def image_path(url: str, supplier: str) -> str | None:
    """Where OpenCart keeps the image (relative to ``image/``): named by the URL without its query,
    since exports add a cache-busting ``?v=`` that changes every time (supplier-feeds §3.6)."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url:
        url = "https://" + url.lstrip("/")  # scheme-less exports (ideacdn.net/...)
    parts = urlsplit(url)
    if not parts.netloc:
        return None
    ext = posixpath.splitext(parts.path)[1].lower()
    digest = hashlib.sha1(f"{parts.netloc.lower()}{parts.path}".encode()).hexdigest()[:20]
    safe_supplier = re.sub(r"[^a-z0-9_-]", "_", supplier.lower())
    return f"catalog/kervan/{safe_supplier}/{digest}{ext if ext in _IMAGE_EXT else '.jpg'}"


@dataclass
class Desired:
    """What one item should look like in OpenCart (store currency, net prices, mapped ids)."""

    key: str
    code: str
    group: str
    record: int
    name: str
    description: str
    brand: str
    model: str
    sku: str
    barcode: str  # a valid GTIN, or ''
    barcode_kind: str  # "EAN" / "UPC" / ''
    raw_barcode: str  # as the supplier sent it, kept for order forwarding
    categories: list[int]
    images: list[tuple[str, str]]  # (OpenCart path, source URL)
    options: dict[str, str]
    price: str  # net, decimal(15,4) as text
    list_price: str  # net, '' when none
    cost: str  # what the supplier charges, as the feed says it (for order forwarding)
    currency: str  # the currency of ``cost``
    quantity: int
    weight: str
    problems: list[str] = field(default_factory=list)
    hash: str = ""

    @property
    def content_hash(self) -> str:
        return self.hash[:32]

    @property
    def offer_hash(self) -> str:
        return self.hash[32:]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Desired:
        data = json.loads(text)
        data["images"] = [tuple(x) for x in data["images"]]
        return cls(**data)


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]


def prepare(item: FeedItem, rules: r.Rules, supplier: str) -> Desired:
    """The item under the rules. Raises ``rules.ItemRejected`` when it cannot be sold as it is
    (no price, no exchange rate...); smaller defects ride along in ``problems``."""
    if not item.code.strip():
        raise r.ItemRejected("no product code")
    if not item.name.strip():
        raise r.ItemRejected("no product name")
    price = r.price(item, rules.price)
    qty = r.quantity(item, rules.stock)
    problems = []
    cats, known = rules.categories.map(item.category_path)
    if item.category_path and not known:
        problems.append(f"category {' > '.join(item.category_path)!r} is not mapped")
    barcode, kind = "", ""
    if item.barcode.strip():
        checked = gtin_kind(item.barcode)
        if checked is None:
            problems.append(f"barcode {item.barcode.strip()!r} is not a valid GTIN; kept only with the supplier link")
        else:
            kind, barcode = checked
    sku = (item.sku or item.code).strip()
    model = (item.group or sku).strip()[:MODEL_MAX]
    images = []
    seen = set()
    for url in item.images:
        path = image_path(url, supplier)
        if path and path not in seen:
            seen.add(path)
            images.append((path, url.strip()))
    d = Desired(
        key=item.key, code=item.code.strip(), group=item.group.strip(), record=item.record,
        name=" ".join(item.name.split()), description=item.description.strip(), brand=item.brand.strip(),
        model=model, sku=sku, barcode=barcode, barcode_kind=kind, raw_barcode=item.barcode.strip()[:64],
        categories=list(cats), images=images, options=dict(item.options),
        price=str(price.net), list_price=str(price.list_net) if price.list_net and price.list_net > price.net else "",
        cost=str(item.price if item.price is not None else ""), currency=item.currency.upper()[:3], quantity=qty, weight=str(item.weight or 0), problems=problems,
    )
    content = {k: v for k, v in asdict(d).items()
               if k not in ("price", "list_price", "cost", "currency", "quantity", "problems", "hash", "record",
                            "images")}
    content["images"] = [path for path, _url in images]  # a new ?v= on the same image changes nothing
    offer = {"price": d.price, "list_price": d.list_price, "cost": d.cost, "currency": d.currency, "quantity": d.quantity,
             "tax": rules.price.tax_class_id}
    d.hash = _digest(content) + _digest(offer)
    return d


__all__ = ["Desired", "gtin_kind", "image_path", "prepare"]
