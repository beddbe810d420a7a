"""The sandbox's state: merchants, settings, catalog imports, listings, listing uploads, order
lines and packages, and the request log. All mutation happens under ``Store.lock``.

Async work (catalog imports, price/stock/inventory uploads) is settled lazily: a job stays
in progress for ``processing_delay`` seconds and is applied by the first request (or ``flush``)
that comes after that, so no background thread is needed.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.common.orderfaker import FakeOrder, Offer
from sandbox.common.ratescale import check as check_scale

from . import reference

ISTANBUL = ZoneInfo("Europe/Istanbul")
UPLOAD_IN_PROGRESS = "InProgress"
UPLOAD_DONE = "Done"
TOO_MANY_UPLOADS = "There are too many ongoing/waiting inventory uploads at the moment."
_IMPORT_PRICE = re.compile(r"^\d+(,\d{1,2})?$")
_URL = re.compile(r"^https?://\S+$")
_BARCODE = re.compile(r"^[0-9A-Za-z._-]{1,40}$")

# Line and package statuses (HB documents the lifecycle, not the exact strings; see docs).
OPEN, PACKAGED, IN_TRANSIT, DELIVERED, CANCELLED = "Open", "Packaged", "InTransit", "Delivered", "Cancelled"
UNDELIVERED = "Undelivered"


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    username: str
    password: str
    user_agent: str


DEFAULT_MERCHANT = Merchant(
    "7c1e3b0a-5d2f-4e8b-9a61-0f3c2d4b5a69", "7c1e3b0a-5d2f-4e8b-9a61-0f3c2d4b5a69", "sandbox-service-key", "kervan_dev"
)


def coerce_merchants(merchants: list[Any] | None) -> tuple[Merchant, ...]:
    if not merchants:
        return (DEFAULT_MERCHANT,)
    out = []
    for m in merchants:
        if isinstance(m, Merchant):
            out.append(m)
        elif isinstance(m, dict):
            out.append(Merchant(**m))
        else:
            out.append(Merchant(*m))
    return tuple(out)


@dataclass
class Settings:
    processing_delay: float = 0.2  # seconds an import/upload stays in progress
    auto_approve: bool = True  # catalog imports become MATCHED listings at once
    catalog_rate_limit: int = 100  # requests per window per merchant (HB: 100 / 1 s, 403 above)
    catalog_rate_window: float = 1.0
    ip_block_after: float = 5.0  # seconds of sustained over-limit before the catalog blocks (0 = never)
    listing_rate_limit: int = 180  # SDK-reported 180 / min (undocumented officially)
    listing_rate_window: float = 60.0
    oms_rate_limit: int = 1000  # 1000 / 1 s → 429 TooManyRequest + X-RateLimit-*
    oms_rate_window: float = 1.0
    rate_scale: float = 1.0  # factor on every documented limit (sandbox/common/ratescale.py)
    max_concurrent_uploads: int = 5
    max_upload_items: int = 4000
    max_import_items: int = 1000
    max_order_limit: int = 100
    max_package_limit: int = 10
    hang_seconds: float = 30.0
    price_band: float = 5.0  # a new price outside [ref/band, ref*band] is a priceValidation and locks the SKU

    def update(self, **values: Any) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown setting {key}")
            current = getattr(self, key)
            if isinstance(current, bool):
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            elif isinstance(current, int):
                value = int(value)
            elif isinstance(current, float):
                value = check_scale(value) if key == "rate_scale" else float(value)
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hb_local(dt: datetime) -> str:
    """``yyyy-MM-dd HH:mm`` in Istanbul time, the format HB's order filters take."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(ISTANBUL).strftime("%Y-%m-%d %H:%M")


def hb_iso(ts: float) -> str:
    """How the thin status feeds date their rows (ASSUMED: ISO 8601 UTC, as HB's webhooks do)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_hb_local(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ISTANBUL)
    except (TypeError, ValueError):
        return None


def parse_import_price(text: Any) -> Decimal | None:
    if not isinstance(text, str) or not _IMPORT_PRICE.match(text.strip()):
        return None
    return Decimal(text.strip().replace(",", "."))


class Store:
    def __init__(self, settings: Settings, seed: int | None = None) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.RLock()):
            self.rng = random.Random(self._seed)
            self.products: dict[tuple[str, str], dict[str, Any]] = {}
            self.listings: dict[tuple[str, str], dict[str, Any]] = {}
            self.imports: dict[str, dict[str, Any]] = {}
            self.uploads: dict[str, dict[str, Any]] = {}
            self.lines: dict[str, dict[str, Any]] = {}
            self.packages: dict[str, dict[str, Any]] = {}
            self.counts: dict[str, dict[str, Any]] = {}
            self.requests: deque[dict[str, Any]] = deque(maxlen=2000)
            self.writes: list[dict[str, Any]] = []
            self._hb_counter = itertools.count(1)
            self._order_counter = itertools.count(1)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- request log -----------------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
            c = self.counts.setdefault(entry["endpoint"], {"total": 0, "byStatus": {}})
            c["total"] += 1
            key = str(entry["status"])
            c["byStatus"][key] = c["byStatus"].get(key, 0) + 1

    def request_log(self) -> dict[str, Any]:
        with self.lock:
            return {
                "counts": copy.deepcopy(self.counts),
                "writes": copy.deepcopy(self.writes),
                "requests": copy.deepcopy(list(self.requests)),
            }

    # -- async jobs --------------------------------------------------------------------------------

    def settle(self, force: bool = False) -> int:
        """Apply every import/upload whose processing delay has passed (all of them if ``force``)."""
        done = 0
        with self.lock:
            now = time.monotonic()
            for job in self.imports.values():
                if job["results"] is None and (force or now - job["t0"] >= self.settings.processing_delay):
                    self._process_import(job)
                    done += 1
            for job in self.uploads.values():
                if job["status"] == UPLOAD_IN_PROGRESS and (
                    force or now - job["t0"] >= self.settings.processing_delay
                ):
                    self._process_upload(job)
                    done += 1
        return done

    def ongoing_uploads(self, merchant_id: str) -> int:
        return sum(
            1 for j in self.uploads.values() if j["merchantId"] == merchant_id and j["status"] == UPLOAD_IN_PROGRESS
        )

    def submit_import(self, merchant_id: str, items: list[Any]) -> str:
        tracking_id = self.new_id()
        self.imports[tracking_id] = {
            "trackingId": tracking_id,
            "merchantId": merchant_id,
            "createdAt": now_iso(),
            "t0": time.monotonic(),
            "items": copy.deepcopy(items),
            "results": None,
        }
        self.writes.append({"kind": "import", "id": tracking_id, "merchantId": merchant_id, "count": len(items)})
        return tracking_id

    def submit_upload(self, merchant_id: str, kind: str, items: list[Any]) -> str:
        upload_id = self.new_id()
        self.uploads[upload_id] = {
            "id": upload_id,
            "kind": kind,
            "merchantId": merchant_id,
            "createdAt": now_iso(),
            "t0": time.monotonic(),
            "items": copy.deepcopy(items),
            "status": UPLOAD_IN_PROGRESS,
            "total": len(items),
            "errors": [],
            "priceValidations": [],
        }
        self.writes.append({"kind": kind, "id": upload_id, "merchantId": merchant_id, "count": len(items)})
        return upload_id

    # -- catalog import ------------------------------------------------------------------------

    def _process_import(self, job: dict[str, Any]) -> None:
        results = []
        seen: set[str] = set()
        for n, item in enumerate(job["items"]):
            problems = self._validate_import_item(job["merchantId"], item)
            attrs = item.get("attributes") if isinstance(item, dict) else None
            attrs = attrs if isinstance(attrs, dict) else {}
            sku = str(attrs.get("merchantSku") or "")
            if sku and sku in seen:
                problems.append(("merchantSku", f"Aynı dosyada tekrarlanan merchantSku: {sku}"))
            seen.add(sku)
            dto: dict[str, Any] = {
                "itemOrderID": n,
                "merchant": job["merchantId"],
                "merchantSku": sku or None,
                "barcode": attrs.get("Barcode"),
                "productName": attrs.get("UrunAdi"),
                "variantGroupId": attrs.get("VaryantGroupID"),
                "categoryId": item.get("categoryId") if isinstance(item, dict) else None,
                "taskDetails": [],
                "rejectReasonsMessages": [],
                "matchedHbProductInfo": [],
            }
            if problems:
                dto.update(
                    hbSku=None,
                    productStatus="MISSING_INFO",
                    importStatus="FAILED",
                    validationResults=[{"attributeName": a, "message": m} for a, m in problems],
                    importMessages=[{"severity": "ERROR", "message": m} for _, m in problems],
                )
            else:
                product = self._store_product(job["merchantId"], item, attrs)
                dto.update(
                    hbSku=product["hbSku"],
                    productStatus=product["productStatus"],
                    importStatus="SUCCESS",
                    validationResults=[],
                    importMessages=[{"severity": "INFORMATION", "message": "Ürün başarıyla alındı."}],
                )
            results.append(dto)
        job["results"] = results

    def _validate_import_item(self, merchant_id: str, item: Any) -> list[tuple[str, str]]:
        if not isinstance(item, dict):
            return [("item", "Ürün bilgisi bir JSON nesnesi olmalıdır.")]
        problems: list[tuple[str, str]] = []
        cat_id = item.get("categoryId")
        cat = reference.category(cat_id) if isinstance(cat_id, int) and not isinstance(cat_id, bool) else None
        if cat is None or not cat.leaf or cat.status != "ACTIVE" or not cat.available:
            problems.append(("categoryId", f"Kategori ürün girişine uygun değil (leaf, ACTIVE, available): {cat_id}"))
        if item.get("merchant") != merchant_id:
            problems.append(("merchant", "merchant alanı istek yapan satıcının merchantId bilgisi olmalıdır."))
        attrs = item.get("attributes")
        if not isinstance(attrs, dict):
            return problems + [("attributes", "attributes alanı zorunludur.")]
        for a in reference.BASE_ATTRIBUTES:
            value = attrs.get(a.id)
            if a.mandatory and (value is None or str(value).strip() == ""):
                problems.append((a.id, f"{a.name} ({a.id}) alanı zorunludur."))
        barcode = attrs.get("Barcode")
        if barcode not in (None, "") and not _BARCODE.match(str(barcode)):
            problems.append(("Barcode", f"Barkod geçersiz: {barcode}"))
        name = attrs.get("UrunAdi")
        if isinstance(name, str) and len(name) > 200:
            problems.append(("UrunAdi", "Ürün adı en fazla 200 karakter olabilir."))
        warranty = attrs.get("GarantiSuresi")
        if warranty not in (None, "") and not str(warranty).isdigit():
            problems.append(("GarantiSuresi", "Garanti süresi ay cinsinden bir tam sayı olmalıdır."))
        vat = attrs.get("tax_vat_rate")
        if vat not in (None, "") and str(vat) not in ("0", "1", "10", "20"):
            problems.append(("tax_vat_rate", f"KDV oranı geçersiz: {vat}"))
        price = attrs.get("price")
        if price not in (None, "") and parse_import_price(price) is None:
            problems.append(("price", "price virgül ile ayrılmış ondalık bir metin olmalıdır (ör. \"130,50\")."))
        stock = attrs.get("stock")
        if stock not in (None, "") and not str(stock).isdigit():
            problems.append(("stock", "stock sıfır veya pozitif bir tam sayı olmalıdır."))
        for i in range(1, 11):
            url = attrs.get(f"Image{i}")
            if url not in (None, "") and not _URL.match(str(url)):
                problems.append((f"Image{i}", f"Görsel adresi geçersiz: {url}"))
        if cat is not None:
            groups = reference.attributes(cat.categoryId)
            for a in (*groups["attributes"], *groups["variantAttributes"]):
                value = attrs.get(a.id)
                if a.mandatory and value in (None, ""):
                    problems.append((a.id, f"{a.name} ({a.id}) alanı zorunludur."))
                if a.type == "enum" and value not in (None, "") and str(value) not in a.values:
                    problems.append((a.id, f"{a.name} için geçersiz değer: {value}"))
        return problems

    def _store_product(self, merchant_id: str, item: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        sku = str(attrs["merchantSku"])
        key = (merchant_id, sku)
        existing = self.products.get(key)
        hb_sku = existing["hbSku"] if existing else f"HBV{next(self._hb_counter):011d}"
        status = "MATCHED" if self.settings.auto_approve else "WAITING"
        if existing and existing["productStatus"] == "MATCHED":
            status = "MATCHED"
        product = {
            "merchantId": merchant_id,
            "merchantSku": sku,
            "hbSku": hb_sku,
            "barcode": str(attrs.get("Barcode")),
            "productName": attrs.get("UrunAdi"),
            "categoryId": item["categoryId"],
            "variantGroupId": attrs.get("VaryantGroupID"),
            "productStatus": status,
            "attributes": copy.deepcopy(attrs),
        }
        self.products[key] = product
        if status == "MATCHED":
            self._open_listing(product)
        return product

    def _open_listing(self, product: dict[str, Any]) -> None:
        key = (product["merchantId"], product["merchantSku"])
        if key in self.listings:
            return
        attrs = product["attributes"]
        price = parse_import_price(attrs.get("price")) or Decimal(0)
        stock = int(attrs.get("stock") or 0)
        self.listings[key] = {
            "listingId": self.new_id(),
            "uniqueIdentifier": None,
            "hepsiburadaSku": product["hbSku"],
            "merchantSku": product["merchantSku"],
            "price": float(price),
            "referencePrice": float(price),
            "availableStock": stock,
            "dispatchTime": 3,
            "cargoCompany1": "Yurtiçi Kargo",
            "maximumPurchasableQuantity": 0,
            "minimumPurchasableQuantity": 1,
            "isSalable": price > 0 and stock > 0,
            "deactivationReasons": [],
            "isSuspended": False,
            "isLocked": False,
            "lockReasons": [],
            "isFrozen": False,
            "freezeReasons": [],
            "isFulfilledByHB": False,
            "productId": None,
            "hasVariant": bool(product.get("variantGroupId")),
            "updatedAt": now_iso(),
        }

    def approve(self, merchant_id: str, skus: list[str]) -> list[str]:
        done = []
        with self.lock:
            for sku in skus:
                p = self.products.get((merchant_id, sku))
                if p is not None and p["productStatus"] != "MATCHED":
                    p["productStatus"] = "MATCHED"
                    self._open_listing(p)
                    done.append(sku)
        return done

    # -- listing uploads -----------------------------------------------------------------------

    def find_listing(self, merchant_id: str, hb_sku: Any, merchant_sku: Any) -> dict[str, Any] | None:
        if merchant_sku not in (None, ""):
            listing = self.listings.get((merchant_id, str(merchant_sku)))
            if listing is not None and hb_sku not in (None, "") and listing["hepsiburadaSku"] != hb_sku:
                return None
            return listing
        if hb_sku not in (None, ""):
            for (mid, _), listing in self.listings.items():
                if mid == merchant_id and listing["hepsiburadaSku"] == hb_sku:
                    return listing
        return None

    def _process_upload(self, job: dict[str, Any]) -> None:
        errors: list[dict[str, Any]] = []
        validations: list[dict[str, Any]] = []
        kind = job["kind"]
        for n, row in enumerate(job["items"]):
            hb_sku = row.get("hepsiburadaSku") if isinstance(row, dict) else None
            m_sku = row.get("merchantSku") if isinstance(row, dict) else None

            def fail(message: str, n=n, hb_sku=hb_sku, m_sku=m_sku) -> None:
                errors.append({"elementNo": n, "hepsiburadaSku": hb_sku, "merchantSku": m_sku, "errors": [message]})

            if not isinstance(row, dict):
                fail("Invalid row.")
                continue
            listing = self.find_listing(job["merchantId"], hb_sku, m_sku)
            if listing is None:
                fail(f"Listing not found (hepsiburadaSku: {hb_sku}, merchantSku: {m_sku}).")
                continue
            changes: dict[str, Any] = {}
            if kind in ("price", "inventory") and "price" in row and row["price"] is not None:
                price = row["price"]
                if isinstance(price, bool) or not isinstance(price, (int, float)) or price <= 0:
                    fail(f"Price must be a positive number: {price!r}.")
                    continue
                ref = listing["referencePrice"] or listing["price"]
                band = self.settings.price_band
                if ref and not (ref / band <= price <= ref * band):
                    validations.append(
                        {
                            "elementNo": n,
                            "hepsiburadaSku": listing["hepsiburadaSku"],
                            "merchantSku": listing["merchantSku"],
                            "type": "PriceBand",
                            "minPrice": round(ref / band, 2),
                            "maxPrice": round(ref * band, 2),
                            "description": "Fiyat kategori fiyat aralığının dışında; listing kilitlendi.",
                        }
                    )
                    listing.update(isLocked=True, lockReasons=["PriceValidation"], isSalable=False)
                    continue
                changes["price"] = float(price)
            elif kind == "price":
                fail("Price is required.")
                continue
            if kind in ("stock", "inventory") and "availableStock" in row and row["availableStock"] is not None:
                stock = row["availableStock"]
                if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
                    fail(f"AvailableStock must be zero or a positive integer: {stock!r}.")
                    continue
                if listing["isFulfilledByHB"]:
                    fail("Stock of a listing fulfilled by Hepsiburada cannot be updated.")
                    continue
                changes["availableStock"] = stock
                mpq = row.get("maximumPurchasableQuantity")
                if isinstance(mpq, int) and not isinstance(mpq, bool) and mpq >= 0:
                    changes["maximumPurchasableQuantity"] = mpq
            elif kind == "stock":
                fail("AvailableStock is required.")
                continue
            if listing["isLocked"] and "price" in changes:
                fail("Listing is locked; unlock it before updating the price.")
                continue
            listing.update(changes)
            listing["isSalable"] = listing["price"] > 0 and listing["availableStock"] > 0 and not listing["isLocked"]
            listing["updatedAt"] = now_iso()
        job.update(status=UPLOAD_DONE, errors=errors, priceValidations=validations)

    # -- orders --------------------------------------------------------------------------------

    def add_order(
        self,
        merchant_id: str,
        lines: list[dict[str, Any]],
        order_date: datetime | None = None,
        order_number: str | None = None,
        *,
        customer: dict[str, Any] | None = None,
        decrement_stock: bool = True,
    ) -> dict[str, Any]:
        """A paid order: lines ``{merchantSku, quantity, price?, name?, barcode?, properties?}``;
        ``customer`` ``{customerId, name, shippingAddress}`` (HB's AddressRepresentation). The
        merchant's listings lose the ordered quantity, as HB reserves it at once."""
        with self.lock:
            order_id = self.new_id()
            number = order_number or f"{4000000000 + next(self._order_counter)}"
            when = order_date or datetime.now(UTC)
            buyer = customer or {}
            name = str(buyer.get("name") or "Ayşe Yılmaz")
            address = {
                "name": name,
                "address": "Örnek Mah. 1. Sok. No:2",
                "city": "İstanbul",
                "town": "Kadıköy",
                "countryCode": "TR",
                **(buyer.get("shippingAddress") or {}),
            }
            out = []
            for spec in lines:
                sku = spec.get("merchantSku") or spec.get("merchantSKU")
                listing = self.listings.get((merchant_id, str(sku))) if sku else None
                price = float(spec.get("price") or (listing["price"] if listing else 100.0))
                qty = int(spec.get("quantity", 1))
                line = {
                    "id": self.new_id(),
                    "orderId": order_id,
                    "orderNumber": number,
                    "orderDate": hb_local(when),
                    "_orderAt": when.timestamp(),
                    "merchantId": merchant_id,
                    "merchantSKU": sku,
                    "sku": spec.get("sku") or (listing["hepsiburadaSku"] if listing else None),
                    "productBarcode": spec.get("barcode"),
                    "name": spec.get("name") or f"Ürün {sku}",
                    "quantity": qty,
                    "unitPrice": {"amount": price, "currency": "TRY"},
                    "totalPrice": {"amount": round(price * qty, 2), "currency": "TRY"},
                    "vatRate": 20,
                    "vat": round(price * qty * 20 / 120, 2),
                    "status": OPEN,
                    "dueDate": hb_local(when + timedelta(days=2)),
                    "cargoCompany": "Yurtiçi Kargo",
                    "isCancellable": True,
                    "canCreatePackage": True,
                    "customerName": name,
                    "shippingAddress": copy.deepcopy(address),
                    "packageNumber": None,
                    "lastStatusUpdateDate": hb_local(when),
                }
                if buyer.get("customerId"):
                    line["customerId"] = str(buyer["customerId"])
                if spec.get("properties"):
                    line["properties"] = copy.deepcopy(spec["properties"])
                self.lines[line["id"]] = line
                out.append(line)
                if decrement_stock and listing is not None:
                    listing["availableStock"] = max(0, listing["availableStock"] - qty)
                    listing["isSalable"] = listing["price"] > 0 and listing["availableStock"] > 0 and not listing["isLocked"]
                    listing["updatedAt"] = now_iso()
            return {"orderId": order_id, "orderNumber": number, "lines": [public_line(x) for x in out]}

    def create_package(self, merchant_id: str, lines: list[dict[str, Any]], parcel_quantity: Any = 1,
                       deci: Any = None) -> dict[str, Any]:
        """Pack Open ``lines`` (checked by the caller) into a new package: the merchant's
        ``POST /packages`` or HB's own auto-packaging."""
        number = str(7000000000 + len(self.packages) + 1)
        for line in lines:
            line.update(status=PACKAGED, packageNumber=number, isCancellable=False, canCreatePackage=False)
        pkg = {
            "id": self.new_id(), "packageNumber": number, "barcode": f"HB{number}", "merchantId": merchant_id,
            "status": PACKAGED, "lineIds": [x["id"] for x in lines], "parcelQuantity": parcel_quantity,
            "deci": deci, "cargoCompany": lines[0]["cargoCompany"],
            "packagedAt": time.time(), "trackingNumber": None, "trackingUrl": None, "shippedDate": None,
        }
        self.packages[number] = pkg
        return pkg

    def ship_package(self, pkg: dict[str, Any], tracking_number: str, tracking_url: str | None = None,
                     shipped_date: str | None = None) -> None:
        """A Packaged package goes in transit: the merchant's ``intransit`` call (own carrier) or
        HB's contracted carrier picking it up."""
        if pkg["status"] != PACKAGED:
            raise ValueError(f"package {pkg['packageNumber']} is {pkg['status']}, not {PACKAGED}")
        shipped = parse_hb_local(str(shipped_date or ""))
        pkg.update(status=IN_TRANSIT, trackingNumber=tracking_number, trackingUrl=tracking_url, shippedDate=shipped_date,
                   _shippedAt=shipped.timestamp() if shipped else time.time())
        for line_id in pkg["lineIds"]:
            self.lines[line_id]["status"] = IN_TRANSIT

    def deliver(self, pkg: dict[str, Any], delivered: bool = True, reason: str | None = None) -> None:
        """The carrier delivers an in-transit package (or reports it undelivered, with ``reason``)."""
        if pkg["status"] != IN_TRANSIT:
            raise ValueError(f"package {pkg['packageNumber']} is {pkg['status']}, not {IN_TRANSIT}")
        status = DELIVERED if delivered else UNDELIVERED
        stamp = "_deliveredAt" if delivered else "_undeliveredAt"
        pkg.update({"status": status, stamp: time.time(), "undeliveredReason": None if delivered else reason})
        for line_id in pkg["lineIds"]:
            self.lines[line_id]["status"] = status

    # -- order generator hooks (sandbox/common/orderfaker.py) ------------------------------------

    def offers(self, merchant_id: str) -> list[Offer]:
        """Listings a customer can buy now (MATCHED product, salable, not locked, suspended or
        frozen, with stock), with the product's variant attributes (Renk)."""
        with self.lock:
            self.settle()
            out = []
            for (mid, sku), x in self.listings.items():
                product = self.products.get((mid, sku))
                if mid != merchant_id or product is None or product["productStatus"] != "MATCHED":
                    continue
                if not x["isSalable"] or x["isLocked"] or x["isSuspended"] or x["isFrozen"]:
                    continue
                if x["availableStock"] <= 0 or x["price"] <= 0:
                    continue
                attrs = product["attributes"]
                variant = tuple((a.name, str(attrs[a.id])) for a in reference.VARIANT_ATTRIBUTES
                                if attrs.get(a.id) not in (None, ""))
                out.append(Offer(sku, str(product["productName"] or sku), float(x["price"]),
                                 int(x["availableStock"]), variant))
            return out

    def place(self, merchant_id: str, order: FakeOrder) -> str:
        """A generated order through ``add_order``; its orderNumber."""
        c, a = order.customer, order.customer.address
        with self.lock:
            lines = []
            for line in order.lines:
                product = self.products[(merchant_id, line.offer.key)]
                lines.append({
                    "merchantSku": line.offer.key,
                    "quantity": line.quantity,
                    "name": line.offer.title,
                    "barcode": product["barcode"],
                    "properties": [{"name": n, "displayName": n, "value": v} for n, v in line.offer.variant],
                })
            customer = {
                "customerId": self.new_id(),
                "name": c.full_name,
                "shippingAddress": {
                    "addressId": self.new_id(),
                    "name": c.full_name,
                    "address": f"{a.neighbourhood} {a.line1}",
                    "district": a.neighbourhood,
                    "town": a.district,
                    "city": a.province,
                    "postalCode": a.postcode,
                    "countryCode": a.country_code,
                    "email": c.email,
                    "phoneNumber": c.phone,
                },
            }
            return self.add_order(merchant_id, lines, customer=customer)["orderNumber"]

    def _order_lines(self, order_number: str) -> list[dict[str, Any]]:
        found = [x for x in self.lines.values() if x["orderNumber"] == str(order_number)]
        if not found:
            raise KeyError(f"no order {order_number}")
        return found

    def customer_cancel(self, order_number: str) -> bool:
        """The customer cancels every line not yet in transit; False when none is left."""
        with self.lock:
            open_lines = [x for x in self._order_lines(order_number) if x["status"] in (OPEN, PACKAGED)]
            for line in open_lines:
                self.cancel_line(line, "Customer", "CustomerRequest")
            return bool(open_lines)

    def auto_step(self, order_number: str) -> bool | None:
        """One step without the merchant: HB auto-packages Open lines, its contracted carrier
        picks Packaged packages up, then delivers them. True while a step remains."""
        with self.lock:
            lines = [x for x in self._order_lines(order_number) if x["status"] != CANCELLED]
            open_lines = [x for x in lines if x["status"] == OPEN]
            if open_lines:
                self.create_package(open_lines[0]["merchantId"], open_lines)
                return True
            packages = [self.packages[n] for n in dict.fromkeys(x["packageNumber"] for x in lines)]
            packed = [p for p in packages if p["status"] == PACKAGED]
            if packed:
                for pkg in packed:
                    self.ship_package(pkg, pkg["barcode"])
                return True
            moving = [p for p in packages if p["status"] == IN_TRANSIT]
            if moving:
                for pkg in moving:
                    self.deliver(pkg)
                return False
            return None

    def cancel_line(self, line: dict[str, Any], by: str, reason: int | str) -> None:
        """A line cancelled by the merchant (cancelbymerchant) or the customer / HB (control surface)."""
        line.update(status=CANCELLED, isCancellable=False, canCreatePackage=False, cancelReasonId=reason,
                    cancelledBy=by, _cancelledAt=time.time())

    def cancelled_rows(self, merchant_id: str) -> list[dict[str, Any]]:
        """``/orders/merchantid/{m}/cancelled`` rows (CancelledOrderLineRepresentation), oldest first."""
        rows = [x for x in self.lines.values() if x["merchantId"] == merchant_id and x["status"] == CANCELLED]
        rows.sort(key=lambda x: (x.get("_cancelledAt") or 0, x["id"]))
        return [{"lineItemId": x["id"], "orderNumber": x["orderNumber"], "merchantId": x["merchantId"],
                 "merchantSku": x["merchantSKU"], "sku": x["sku"], "quantity": x["quantity"],
                 "cancelDate": hb_iso(x.get("_cancelledAt") or x["_orderAt"]),
                 "cancelReasonCode": str(x.get("cancelReasonId")), "cancelledBy": x.get("cancelledBy")}
                for x in rows]

    def status_rows(self, merchant_id: str, feed: str) -> list[dict[str, Any]]:
        """The thin, PascalCase ``/packages/merchantid/{m}/shipped|delivered|undelivered`` rows."""
        status, date_field, stamp = {
            "shipped": (IN_TRANSIT, "ShippedDate", "_shippedAt"),
            "delivered": (DELIVERED, "DeliveredDate", "_deliveredAt"),
            "undelivered": (UNDELIVERED, "UndeliveredDate", "_undeliveredAt"),
        }[feed]
        pkgs = [p for p in self.packages.values() if p["merchantId"] == merchant_id and p["status"] == status]
        pkgs.sort(key=lambda p: (p.get(stamp) or 0, p["packageNumber"]))
        out = []
        for p in pkgs:
            numbers = sorted({self.lines[i]["orderNumber"] for i in p["lineIds"]})
            row = {"Id": p["id"], "MerchantId": merchant_id, "PackageNumber": p["packageNumber"],
                   "Barcode": p["barcode"], "OrderNumber": numbers[0] if numbers else None, "OrderNumbers": numbers,
                   "EtgbNo": None, date_field: hb_iso(p.get(stamp) or p["packagedAt"])}
            if feed == "shipped":
                row["Deci"] = p.get("deci")
            if feed == "undelivered":
                row["UndeliveredReason"] = p.get("undeliveredReason")
            out.append(row)
        return out

    def open_lines(self, merchant_id: str, begin: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        rows = [
            x
            for x in self.lines.values()
            if x["merchantId"] == merchant_id
            and x["status"] == OPEN
            and (begin is None or x["_orderAt"] >= begin.timestamp())
            and (end is None or x["_orderAt"] < end.timestamp())
        ]
        rows.sort(key=lambda x: (x["_orderAt"], x["id"]))
        return rows


def public_line(line: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in line.items() if not k.startswith("_")}


def page_count(total: int, limit: int) -> int:
    return math.ceil(total / limit) if limit > 0 else 0


def decimal_or_none(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
