"""The sandbox's state: accounts, products, product tasks, shipment packages, the request log.

Everything is guarded by ``Store.lock``. Tasks are processed lazily: a task becomes due
``task_delay`` seconds after it was accepted and is processed by the first request (or inspection)
that comes after that — no background thread, so tests stay deterministic.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sandbox.common.orderfaker import FakeOrder, Offer
from sandbox.common.ratescale import check as check_scale

from . import reference

CURRENCIES = ("TL", "USD", "EUR")
VAT_RATES = (0, 1, 10, 20)
MAX_QUANTITY = 999_999
MAX_STOCK_CODE = 255
MIN_TITLE = 15
ORDER_STATUSES = ("Created", "Picking", "Shipped", "Delivered", "Cancelled", "UnSupplied", "Unpacked")
CANCEL_REASONS = (61, 62, 63, 64, 65)
TASK_TYPES = {
    "product_create": "PRODUCT_CREATE",
    "product_update": "PRODUCT_UPDATE",  # ASSUMED name (only PRODUCT_CREATE/SKU_UPDATE documented)
    "price_stock": "SKU_UPDATE",
    "product_delete": "PRODUCT_DELETE",  # ASSUMED name
}


@dataclass
class Settings:
    task_delay: float = 0.2  # seconds a task stays IN_QUEUE
    max_skus: int = 1000  # SKUs per task
    task_page_max: int = 1000  # pageable.size cap of task-details/page-query (ASSUMED)
    product_page_max: int = 250  # size cap of /ms/product-query
    order_page_max: int = 100  # size cap of shipmentPackages
    order_window_days: float = 15.0  # wider shipmentPackages windows are silently clipped
    orders_rate_limit: int = 1000  # shipmentPackages requests per window per account
    orders_rate_window: float = 60.0
    rate_limit: int = 0  # other endpoints: UNKNOWN in the docs; 0 = unlimited
    rate_window: float = 60.0
    rate_scale: float = 1.0  # factor on every documented limit (sandbox/common/ratescale.py)
    auto_approve: bool = True  # created products go Active at once instead of InCatalogApproval
    status_noise: bool = False  # emit " Shipped"/"Canceled" spellings as the real API sometimes does
    hang_seconds: float = 30.0

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown setting: {key}")
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


@dataclass(frozen=True)
class Account:
    app_key: str
    app_secret: str
    name: str = "Kervan Demo Mağaza"
    shipment_templates: tuple[str, ...] = reference.DEFAULT_SHIPMENT_TEMPLATES


DEFAULT_ACCOUNTS = (
    Account("sandbox-appkey", "sandbox-appsecret"),
    Account("sandbox-appkey-2", "sandbox-appsecret-2", "İkinci Mağaza"),
)


def coerce_accounts(accounts: Any) -> tuple[Account, ...]:
    if not accounts:
        return DEFAULT_ACCOUNTS
    out = []
    for a in accounts:
        if isinstance(a, Account):
            out.append(a)
        elif isinstance(a, dict):
            out.append(Account(**a))
        else:
            out.append(Account(*a))
    return tuple(out)


class Clock:
    """Wall clock plus an offset tests can advance (task due times, order windows, rate windows)."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> float:
        self._offset += float(seconds)
        return self._offset

    def reset(self) -> None:
        self._offset = 0.0


class RequestError(Exception):
    """A request the service refuses synchronously (HTTP status + the service's body)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def decimals_ok(value: Any) -> bool:
    """At most 2 decimals, dot decimal (values are parsed with ``parse_float=Decimal``)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return False
    if isinstance(value, int):
        return True
    return value.is_finite() and value.as_tuple().exponent >= -2


def _num(value: Any) -> Any:
    """Decimal → float for JSON output (ints stay ints)."""
    return float(value) if isinstance(value, Decimal) else value


def _variant(product: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for a in product["attributes"]:
        d = reference.attribute(product["categoryId"], a.get("id")) if isinstance(a, dict) else None
        if d is None or not d.variant:
            continue
        value = dict(d.values).get(a.get("valueId")) if a.get("valueId") is not None else a.get("customValue")
        if value:
            out.append((d.name, str(value)))
    return tuple(out)


class Store:
    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.settings = settings
        self.accounts: dict[str, Account] = {}  # app key → account (set by the sandbox)
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.products: dict[tuple[str, str], dict[str, Any]] = {}
            self.tasks: dict[int, dict[str, Any]] = {}
            self.packages: dict[int, dict[str, Any]] = {}
            self.next_task_id = 1000
            self.next_product_id = 500_000_000
            self.next_package_id = 300_000_000
            self.next_line_id = 426_000_000
            self.next_order_number = 204_000_000_000
            self.counts: dict[str, dict[str, Any]] = {}
            self.requests: deque[dict[str, Any]] = deque(maxlen=1000)
            self.effects: list[dict[str, Any]] = []

    # -- request log ---------------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            c = self.counts.setdefault(entry["endpoint"], {"total": 0, "byStatus": {}})
            c["total"] += 1
            key = str(entry.get("status"))
            c["byStatus"][key] = c["byStatus"].get(key, 0) + 1
            self.requests.append(dict(entry))

    def request_log(self) -> dict[str, Any]:
        with self.lock:
            return {
                "counts": copy.deepcopy(self.counts),
                "effects": copy.deepcopy(self.effects),
                "requests": list(copy.deepcopy(list(self.requests))),
            }

    def _effect(self, kind: str, app_key: str, key: Any, detail: Any = None) -> None:
        self.effects.append(
            {"at": self.clock.ms(), "kind": kind, "account": app_key, "key": key, "detail": detail}
        )

    # -- tasks -----------------------------------------------------------------------------------

    def submit(self, app_key: str, endpoint: str, payload: Any) -> dict[str, Any]:
        """Accept (IN_QUEUE) or reject (REJECT) a product task; returns the public task answer."""
        with self.lock:
            reasons: list[str] = []
            skus = None
            if not isinstance(payload, dict) or not isinstance(payload.get("payload"), dict):
                reasons.append("payload alanı zorunludur.")
            else:
                inner = payload["payload"]
                integrator = inner.get("integrator")
                if not isinstance(integrator, str) or not integrator.strip():
                    reasons.append("payload.integrator alanı zorunludur.")
                skus = inner.get("skus")
                if not isinstance(skus, list) or not skus:
                    reasons.append("payload.skus alanı zorunludur ve boş olamaz.")
                    skus = None
                elif len(skus) > self.settings.max_skus:
                    reasons.append(
                        f"Bir task içinde en fazla {self.settings.max_skus} sku gönderilebilir. Gönderilen: {len(skus)}"
                    )
                elif any(not isinstance(s, dict) for s in skus):
                    reasons.append("payload.skus listesindeki her eleman bir nesne olmalıdır.")
            task_id = self.next_task_id
            self.next_task_id += 1
            now = self.clock.now()
            task = {
                "id": task_id,
                "type": TASK_TYPES[endpoint],
                "endpoint": endpoint,
                "account": app_key,
                "status": "REJECT" if reasons else "IN_QUEUE",
                "reasons": reasons or [f"{len(skus or [])} sku işlenmeye alındı."],
                "createdAt": int(now * 1000),
                "dueAt": now + self.settings.task_delay,
                "skus": copy.deepcopy(skus) if skus and not reasons else [],
                "results": [],
            }
            self.tasks[task_id] = task
            return {
                "id": task_id,
                "type": task["type"],
                "status": task["status"],
                "reasons": list(task["reasons"]),
            }

    def process_due(self) -> int:
        with self.lock:
            now = self.clock.now()
            due = [t for t in self.tasks.values() if t["status"] == "IN_QUEUE" and t["dueAt"] <= now]
            for task in sorted(due, key=lambda t: t["id"]):
                self._process(task)
            return len(due)

    def flush(self) -> int:
        with self.lock:
            queued = [t for t in self.tasks.values() if t["status"] == "IN_QUEUE"]
            for task in sorted(queued, key=lambda t: t["id"]):
                self._process(task)
            return len(queued)

    def _process(self, task: dict[str, Any]) -> None:
        handler = {
            "product_create": self._create_sku,
            "product_update": self._update_sku,
            "price_stock": self._price_stock_sku,
            "product_delete": self._delete_sku,
        }[task["endpoint"]]
        seen: set[str] = set()
        for sku in task["skus"]:
            code = sku.get("stockCode")
            reasons: list[str] = []
            if isinstance(code, str) and code in seen:
                reasons.append(f"stockCode {code} aynı task içinde birden fazla kez gönderildi.")
            else:
                reasons = handler(task["account"], sku)
            if isinstance(code, str):
                seen.add(code)
            stored = self.products.get((task["account"], code)) if isinstance(code, str) else None
            task["results"].append(
                {
                    "itemCode": code,
                    "status": "FAIL" if reasons else "SUCCESS",
                    "sku": {
                        "salePrice": _num(stored["salePrice"]) if stored else _num(sku.get("salePrice")),
                        "listPrice": _num(stored["listPrice"]) if stored else _num(sku.get("listPrice")),
                        "stock": stored["quantity"] if stored else sku.get("quantity"),
                    },
                    "reasons": reasons,
                }
            )
        task["status"] = "PROCESSED"
        task["processedAt"] = self.clock.ms()

    # -- per-SKU validation and effects ---------------------------------------------------------

    def _account(self, app_key: str) -> Account | None:
        return self.accounts.get(app_key)

    def _price_reasons(self, sku: dict[str, Any], required: bool) -> list[str]:
        reasons = []
        has_list, has_sale = "listPrice" in sku, "salePrice" in sku
        if required and not (has_list and has_sale):
            reasons.append("listPrice ve salePrice zorunludur.")
        elif has_list != has_sale:
            reasons.append("listPrice ve salePrice birlikte gönderilmelidir.")
        if has_list and has_sale:
            lp, sp = sku["listPrice"], sku["salePrice"]
            if not decimals_ok(lp) or not decimals_ok(sp):
                reasons.append("Fiyat alanları nokta ile ayrılmış en fazla 2 ondalık basamak içermelidir.")
            elif sp <= 0 or lp <= 0:
                reasons.append("Fiyat 0'dan büyük olmalıdır.")
            elif lp < sp:
                reasons.append("listPrice, salePrice değerinden küçük olamaz.")
        if "currencyType" in sku and sku["currencyType"] not in CURRENCIES:
            reasons.append("currencyType TL, USD veya EUR olmalıdır.")
        return reasons

    @staticmethod
    def _quantity_reasons(sku: dict[str, Any], required: bool) -> list[str]:
        if "quantity" not in sku:
            return ["quantity alanı zorunludur."] if required else []
        q = sku["quantity"]
        if isinstance(q, bool) or not isinstance(q, int) or q < 0 or q > MAX_QUANTITY:
            return [f"quantity 0 ile {MAX_QUANTITY} arasında bir tam sayı olmalıdır."]
        return []

    @staticmethod
    def _vat_reasons(sku: dict[str, Any]) -> list[str]:
        if sku.get("vatRate") not in VAT_RATES or isinstance(sku.get("vatRate"), bool):
            return ["vatRate 0, 1, 10 veya 20 olmalıdır."]
        return []

    def _attribute_reasons(self, category_id: int, attributes: Any) -> list[str]:
        if not isinstance(attributes, list):
            return ["attributes bir liste olmalıdır."]
        reasons = []
        given: set[int] = set()
        for a in attributes:
            if not isinstance(a, dict) or not isinstance(a.get("id"), int):
                reasons.append("Her özellik bir id içermelidir.")
                continue
            definition = reference.attribute(category_id, a["id"])
            if definition is None:
                reasons.append(f"{a['id']} id'li özellik {category_id} kategorisinde bulunamadı.")
                continue
            value_id, custom = a.get("valueId"), a.get("customValue")
            if value_id is not None:
                if not definition.has_value(value_id):
                    reasons.append(f"{definition.name} özelliği için geçersiz değer: {value_id}")
                    continue
            elif custom not in (None, ""):
                if not definition.custom:
                    reasons.append(f"{definition.name} özelliği için özel değer girilemez.")
                    continue
            else:
                reasons.append(f"{definition.name} özelliği için değer girilmelidir.")
                continue
            given.add(definition.id)
        for definition in reference.category_attributes(category_id):
            if definition.mandatory and definition.id not in given:
                reasons.append(f"Zorunlu özellik eksik: {definition.name}")
        return reasons

    def _create_sku(self, app_key: str, sku: dict[str, Any]) -> list[str]:
        reasons: list[str] = []
        code = sku.get("stockCode")
        if not isinstance(code, str) or not code.strip():
            return ["stockCode alanı zorunludur."]
        if len(code) > MAX_STOCK_CODE:
            reasons.append(f"stockCode en fazla {MAX_STOCK_CODE} karakter olabilir.")
        if (app_key, code) in self.products:
            reasons.append(f"{code} stok kodlu ürün zaten mevcut.")
        title = sku.get("title")
        if not isinstance(title, str) or len(title.strip()) < MIN_TITLE:
            reasons.append(f"Ürün başlığı en az {MIN_TITLE} karakter olmalıdır.")
        if not isinstance(sku.get("description"), str) or not sku["description"].strip():
            reasons.append("description alanı zorunludur.")
        category_id = sku.get("categoryId")
        if not isinstance(category_id, int) or not reference.is_leaf(category_id):
            reasons.append(f"Kategori bulunamadı veya son seviye (leaf) kategori değil: {category_id}")
        else:
            reasons += self._attribute_reasons(category_id, sku.get("attributes") or [])
        if sku.get("currencyType") not in CURRENCIES:
            reasons.append("currencyType TL, USD veya EUR olmalıdır.")
        if not isinstance(sku.get("productMainId"), str) or not sku["productMainId"].strip():
            reasons.append("productMainId alanı zorunludur.")
        pd = sku.get("preparingDay")
        if isinstance(pd, bool) or not isinstance(pd, int) or pd < 0:
            reasons.append("preparingDay alanı zorunludur ve 0 veya daha büyük olmalıdır.")
        account = self._account(app_key)
        templates = account.shipment_templates if account else reference.DEFAULT_SHIPMENT_TEMPLATES
        if sku.get("shipmentTemplate") not in templates:
            reasons.append(f"Teslimat şablonu bulunamadı: {sku.get('shipmentTemplate')}")
        images = sku.get("images")
        if (
            not isinstance(images, list)
            or not images
            or any(
                not isinstance(i, dict) or not isinstance(i.get("url"), str) or not i["url"] for i in images
            )
        ):
            reasons.append("En az bir ürün görseli (url) gönderilmelidir.")
        reasons += self._quantity_reasons(sku, required=True)
        reasons += self._price_reasons(sku, required=True)
        reasons += self._vat_reasons(sku)
        if reasons:
            return reasons
        now = self.clock.ms()
        self.next_product_id += 1
        self.products[(app_key, code)] = {
            "n11ProductId": self.next_product_id,
            "stockCode": code,
            "productMainId": sku["productMainId"],
            "title": sku["title"],
            "description": sku["description"],
            "categoryId": category_id,
            "barcode": sku.get("barcode"),
            "catalogId": sku.get("catalogId"),
            "currencyType": sku["currencyType"],
            "preparingDay": pd,
            "shipmentTemplate": sku["shipmentTemplate"],
            "quantity": sku["quantity"],
            "salePrice": sku["salePrice"],
            "listPrice": sku["listPrice"],
            "vatRate": sku["vatRate"],
            "images": copy.deepcopy(images),
            "attributes": copy.deepcopy(sku.get("attributes") or []),
            "productStatus": "Active" if self.settings.auto_approve else "InCatalogApproval",
            "saleStatus": "OnSale" if self.settings.auto_approve else "BeforeSale",
            "sender": "SELLER",
            "createdAt": now,
            "modifiedAt": now,
        }
        self._effect("create", app_key, code)
        return []

    def _update_sku(self, app_key: str, sku: dict[str, Any]) -> list[str]:
        code = sku.get("stockCode")
        product = self.products.get((app_key, code)) if isinstance(code, str) else None
        if product is None:
            return [f"{code} stok kodlu ürün bulunamadı."]
        reasons = self._vat_reasons(sku)  # vatRate is required on product-update
        if "status" in sku and sku["status"] not in ("Active", "Suspended"):
            reasons.append("status Active veya Suspended olmalıdır.")
        if "preparingDay" in sku and (not isinstance(sku["preparingDay"], int) or sku["preparingDay"] < 0):
            reasons.append("preparingDay 0 veya daha büyük olmalıdır.")
        if "shipmentTemplate" in sku:
            account = self._account(app_key)
            templates = account.shipment_templates if account else reference.DEFAULT_SHIPMENT_TEMPLATES
            if sku["shipmentTemplate"] not in templates:
                reasons.append(f"Teslimat şablonu bulunamadı: {sku['shipmentTemplate']}")
        if "attributes" in sku:
            reasons += self._attribute_reasons(product["categoryId"], sku["attributes"])
        if reasons:
            return reasons
        for key in (
            "vatRate",
            "preparingDay",
            "shipmentTemplate",
            "productMainId",
            "description",
            "attributes",
        ):
            if key in sku:
                product[key] = copy.deepcopy(sku[key])
        if "status" in sku:
            product["productStatus"] = sku["status"]
            product["saleStatus"] = "OnSale" if sku["status"] == "Active" else "Suspended"
        product["modifiedAt"] = self.clock.ms()
        self._effect("update", app_key, code)
        return []

    def _price_stock_sku(self, app_key: str, sku: dict[str, Any]) -> list[str]:
        code = sku.get("stockCode")
        product = self.products.get((app_key, code)) if isinstance(code, str) else None
        if product is None:
            return [f"{code} stok kodlu ürün bulunamadı."]
        reasons = self._price_reasons(sku, required=False) + self._quantity_reasons(sku, required=False)
        if not reasons and not any(k in sku for k in ("listPrice", "salePrice", "quantity", "currencyType")):
            reasons.append("Güncellenecek alan gönderilmedi.")
        if reasons:
            return reasons
        for key in ("listPrice", "salePrice", "quantity", "currencyType"):
            if key in sku:
                product[key] = sku[key]
        product["modifiedAt"] = self.clock.ms()
        self._effect("price_stock", app_key, code, {k: _num(sku[k]) for k in sku if k != "stockCode"})
        return []

    def _delete_sku(self, app_key: str, sku: dict[str, Any]) -> list[str]:
        code = sku.get("stockCode")
        if not isinstance(code, str) or (app_key, code) not in self.products:
            return [f"{code} stok kodlu ürün bulunamadı."]
        del self.products[(app_key, code)]
        self._effect("delete", app_key, code)
        return []

    # -- views -------------------------------------------------------------------------------------

    def task_details(self, app_key: str, task_id: Any, page: int, size: int) -> dict[str, Any]:
        task = self.tasks.get(task_id) if isinstance(task_id, int) else None
        if task is None or task["account"] != app_key:
            raise RequestError(
                404, {"@type": "TaskNotFoundException", "message": f"Task bulunamadı. taskId: {task_id}"}
            )
        results = task["results"]
        total_pages = (len(results) + size - 1) // size if results else 0
        content = results[page * size : (page + 1) * size]
        body = {
            "taskId": task["id"],
            "type": task["type"],
            "status": task["status"],
            "createdDate": task["createdAt"],
            "skus": {
                "content": copy.deepcopy(content),
                "totalElements": len(results),
                "totalPages": total_pages,
                "number": page,
                "size": size,
                "last": page >= total_pages - 1,
            },
        }
        if task["status"] == "REJECT":
            body["reasons"] = list(task["reasons"])
        return body

    def product_view(self, p: dict[str, Any]) -> dict[str, Any]:
        out = {k: _num(v) for k, v in p.items() if k not in ("createdAt", "modifiedAt")}
        out["images"] = copy.deepcopy(p["images"])
        out["attributes"] = copy.deepcopy(p["attributes"])
        out["lastModifiedDate"] = p["modifiedAt"]
        return out

    # -- orders ----------------------------------------------------------------------------------

    def add_order(
        self,
        app_key: str,
        lines: list[dict[str, Any]],
        *,
        status: str = "Created",
        order_number: str | None = None,
        created_at_ms: int | None = None,
        customer: dict[str, Any] | None = None,
        decrement_stock: bool = True,
    ) -> dict[str, Any]:
        """One package: lines ``{stockCode, quantity, price?, productId?, productName?,
        variantAttributes?, totalSellerDiscountPrice?}``; ``customer`` ``{customerId, fullName,
        email, shippingAddress, billingAddress}`` (addresses ``{name, address, neighborhood,
        district, city, postalCode, gsm}``, N11's names — ASSUMED from third-party clients, the
        docs list only the package's order fields). Products named by the lines lose the ordered
        quantity, as N11 takes it at the sale."""
        with self.lock:
            if status not in ORDER_STATUSES:
                raise ValueError(f"unknown package status {status}")
            now = created_at_ms if created_at_ms is not None else self.clock.ms()
            if order_number is None:
                self.next_order_number += 1
                order_number = str(self.next_order_number)
            buyer = customer or {}
            full_name = str(buyer.get("fullName") or "Test Müşteri")
            default_address = {
                "name": full_name,
                "address": "Örnek Mah. Atatürk Cd. No:1",
                "neighborhood": "Örnek Mah.",
                "district": "Kadıköy",
                "city": "İstanbul",
                "postalCode": "34710",
                "gsm": None,
            }
            shipping = {**default_address, **(buyer.get("shippingAddress") or {})}
            out_lines = []
            for line in lines:
                self.next_line_id += 1
                qty = int(line.get("quantity", 1))
                price = Decimal(str(line.get("price", "100.00")))
                discount = Decimal(str(line.get("totalSellerDiscountPrice", "0")))
                out_lines.append(
                    {
                        "orderLineId": self.next_line_id,
                        "stockCode": line["stockCode"],
                        "productId": line.get("productId", 0),
                        "productName": line.get("productName", line["stockCode"]),
                        "variantAttributes": copy.deepcopy(line.get("variantAttributes") or []),
                        "quantity": qty,
                        "price": float(price),
                        "totalSellerDiscountPrice": float(discount),
                        "sellerInvoiceAmount": float(price * qty - discount),
                        "orderItemLineItemStatusName": status,
                    }
                )
                product = self.products.get((app_key, line["stockCode"]))
                if decrement_stock and product is not None:
                    product["quantity"] = max(0, product["quantity"] - qty)
                    product["modifiedAt"] = self.clock.ms()
                    self._effect(
                        "order", app_key, line["stockCode"], {"quantity": -qty, "orderNumber": order_number}
                    )
            self.next_package_id += 1
            package = {
                "id": self.next_package_id,
                "account": app_key,
                "orderNumber": order_number,
                "shipmentPackageStatus": status,
                "createdDate": now,
                "lastModifiedDate": now,
                "cargoProviderName": "Yurtiçi Kargo",
                "cargoTrackingNumber": f"7{self.next_package_id}",  # n11 campaign code
                "cargoSenderNumber": None,  # the carrier's tracking number, once shipped
                "customerfullName": full_name,
                "customerEmail": buyer.get("email"),
                "customerId": buyer.get("customerId"),
                "shippingAddress": shipping,
                "billingAddress": {**shipping, **(buyer.get("billingAddress") or {})},
                "lines": out_lines,
            }
            self.packages[package["id"]] = package
            return copy.deepcopy(package)

    def approve_line(self, app_key: str, package: dict[str, Any], line: dict[str, Any]) -> None:
        """A Created line approved (Picking): the seller's ``order/v1/update`` or its panel."""
        line["orderItemLineItemStatusName"] = "Picking"
        package["lastModifiedDate"] = self.clock.ms()
        if all(x["orderItemLineItemStatusName"] == "Picking" for x in package["lines"]):
            package["shipmentPackageStatus"] = "Picking"
        self._effect("picking", app_key, line["orderLineId"])

    def ship(self, package: dict[str, Any], tracking_number: str | None = None) -> None:
        """The carrier scanned a Picking package (N11 sets Shipped itself; no seller API call)."""
        if package["shipmentPackageStatus"] != "Picking":
            raise ValueError(f"package {package['id']} is {package['shipmentPackageStatus']}, not Picking")
        self.set_package_status(package, "Shipped")
        package["cargoSenderNumber"] = tracking_number or f"YK{package['id']}"

    # -- order generator hooks (sandbox/common/orderfaker.py) ------------------------------------

    def offers(self, app_key: str) -> list[Offer]:
        """Products a customer can buy now (Active and OnSale, with a price and stock), with their
        variant attributes (Renk)."""
        with self.lock:
            self.process_due()
            out = []
            for (key, code), p in self.products.items():
                if key != app_key or p["productStatus"] != "Active" or p["saleStatus"] != "OnSale":
                    continue
                if p["quantity"] <= 0 or p["salePrice"] <= 0:
                    continue
                out.append(Offer(code, p["title"], float(p["salePrice"]), int(p["quantity"]), _variant(p)))
            return out

    def place(self, app_key: str, order: FakeOrder) -> int:
        """A generated order as one Created package (``add_order``); its package id."""
        c, a = order.customer, order.customer.address
        with self.lock:
            lines = []
            for line in order.lines:
                product = self.products[(app_key, line.offer.key)]
                lines.append(
                    {
                        "stockCode": line.offer.key,
                        "quantity": line.quantity,
                        "price": str(product["salePrice"]),
                        "productId": product["n11ProductId"],
                        "productName": product["title"],
                        "variantAttributes": [{"name": n, "value": v} for n, v in line.offer.variant],
                    }
                )
            address = {
                "name": c.full_name,
                "address": f"{a.neighbourhood} {a.line1}",
                "neighborhood": a.neighbourhood,
                "district": a.district,
                "city": a.province,
                "postalCode": a.postcode,
                "gsm": c.phone,
            }
            customer = {
                "customerId": c.customer_id,
                "fullName": c.full_name,
                "email": c.email,
                "shippingAddress": address,
                "billingAddress": address,
            }
            return self.add_order(app_key, lines, customer=customer)["id"]

    def customer_cancel(self, package_id: int) -> bool:
        """The customer cancels a package N11 has not yet seen approved (Created); False otherwise,
        also when the package id is gone (split or partly cancelled by the seller)."""
        with self.lock:
            package = self.packages.get(package_id)
            if package is None or package["shipmentPackageStatus"] != "Created":
                return False
            self.set_package_status(package, "Cancelled")
            self._effect("customer_cancel", package["account"], package_id)
            return True

    def auto_step(self, package_id: int) -> bool | None:
        """One step without the integration: the seller approves in N11's panel (Created →
        Picking), the carrier scans it (Shipped), then delivers it. True while a step remains."""
        with self.lock:
            package = self.packages.get(package_id)
            status = package["shipmentPackageStatus"] if package is not None else None
            if package is None or status not in ("Created", "Picking", "Shipped"):
                return None
            if status == "Created":
                for line in package["lines"]:
                    if line["orderItemLineItemStatusName"] == "Created":
                        self.approve_line(package["account"], package, line)
                return True
            if status == "Picking":
                self.ship(package)
                return True
            self.set_package_status(package, "Delivered")
            return False

    def package_of_line(self, app_key: str, line_id: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for p in self.packages.values():
            if p["account"] != app_key:
                continue
            for line in p["lines"]:
                if line["orderLineId"] == line_id:
                    return p, line
        return None

    def set_package_status(self, package: dict[str, Any], status: str) -> None:
        package["shipmentPackageStatus"] = status
        package["lastModifiedDate"] = self.clock.ms()
        for line in package["lines"]:
            line["orderItemLineItemStatusName"] = status

    def renumber(self, package: dict[str, Any]) -> dict[str, Any]:
        """Give a package a new id (N11 does on split/partial cancel)."""
        del self.packages[package["id"]]
        self.next_package_id += 1
        package["id"] = self.next_package_id
        package["lastModifiedDate"] = self.clock.ms()
        self.packages[package["id"]] = package
        return package

    def snapshot(self, account: str | None = None) -> dict[str, Any]:
        with self.lock:
            return {
                "products": [
                    self.product_view(p) | {"account": k[0]}
                    for k, p in self.products.items()
                    if account is None or k[0] == account
                ],
                "tasks": [
                    {k: v for k, v in copy.deepcopy(t).items()}
                    for t in self.tasks.values()
                    if account is None or t["account"] == account
                ],
                "packages": [
                    copy.deepcopy(p)
                    for p in self.packages.values()
                    if account is None or p["account"] == account
                ],
            }
