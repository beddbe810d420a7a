"""Orders: shipment packages, the two package lists (cursor stream and v2 pages), the seller's
package actions (Picking/Invoiced, cannot-supply, tracking number) and the stage-only test-order
endpoints. Sources: marketplace-apis.md §1.10–1.11, ref-getshipmentpackagesstream.md,
ref-getshipmentpackages.md and the updatePackageStatus / cancelOrderPackageItem operations of
specs/trendyol/lonca/marketplace.json.

Packages carry only the field names of the 08.12.2025 rename (``shipmentPackageId``,
``packageTotalPrice``, lines' ``lineId``, ``stockCode``, ``lineUnitPrice``…): the old names were
removed a month later, so a client still reading ``id`` or ``merchantSku`` must fail here as it
would in production. Order endpoints answer errors in the order OpenAPI's ``{"error","message"}``.

Decisions where the sources are silent (also listed in docs/channels/trendyol.md):

- Amounts: ``lineGrossAmount`` = unit price × quantity before discounts, ``lineTotalDiscount`` =
  seller + Trendyol discount, ``lineUnitPrice`` = (gross − discounts) / quantity; package amounts
  are the sums (``packageTotalPrice`` = gross − discounts).
- The stream refuses (400) a window wider than 14 days, one starting more than 3 months (90 days)
  back, and a start after the end; without dates it serves the last 14 days. The v2 list refuses a
  ``startDate`` older than 1 month and ``page × size`` ≥ 10,000; its dates filter
  ``lastModifiedDate`` when ``orderByField=PackageLastModifiedDate``, else ``orderDate``
  (default ``CreatedDate`` DESC).
- ``packageItemStatuses`` / ``status`` match a package whose status, or any of whose lines'
  status, is one of those given.
- updatePackage: ``lines`` optional (when given, each must belong to the package with
  1 ≤ quantity ≤ its quantity); Picking only from Created, Invoiced (``params.invoiceNumber``
  required) only from Picking; repeating the current status is accepted without change, so a
  client's retry after a lost response succeeds.
- Cannot-supply: allowed in Created/Picking/Invoiced. The old package becomes Cancelled, its
  unsupplied lines ``UnSupplied`` (with ``cancelledBy``, ``cancelReason``, ``cancelReasonCode``),
  its other lines ``UnPacked``; the quantities left over move, under the same lineIds, to a new
  package (Created, or Picking if the old one was past Created) on the same orderNumber.
- update-tracking-number takes the TR body ``{"trackingNumber": "..."}`` (the international v3
  API uses ``{"cargoSenderNumber", "providerCode"}`` instead) and is refused with Trendyol's
  message unless the package is Created, Picking or Invoiced.
- A new order decrements the stock of the sandbox products it names, as Trendyol does.
- Generated orders (``sandbox/common/orderfaker.py``): customers may cancel while the package is
  Awaiting or Created (before the seller starts picking); the carrier takes a package on from
  Created, Picking or Invoiced to Shipped, then Delivered. Both go through ``advance``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import zlib
from dataclasses import dataclass, fields
from typing import Any

from sandbox.common.orderfaker import FakeOrder, Offer

from . import reference
from .state import Clock, Store
from .views import QueryError, first, int_param, list_param
from .webhooks import WebhookSender

DAY_MS = 24 * 3600 * 1000

STREAM = "order_stream"
LIST = "order_list"
PACKAGE_STATUS = "package_status"
UNSUPPLIED = "package_unsupplied"
TRACKING = "package_tracking"
TEST_ORDER = "test_order_create"
TEST_STATUS = "test_package_status"
ORDER_READS = (STREAM, LIST)
ORDER_WRITES = (PACKAGE_STATUS, UNSUPPLIED, TRACKING)
ORDER_TEST = (TEST_ORDER, TEST_STATUS)
ORDER_ENDPOINTS = ORDER_READS + ORDER_WRITES + ORDER_TEST

# Package statuses accepted by the stream's packageItemStatuses and the v2 status filter.
STREAM_STATUSES = (
    "Created",
    "Picking",
    "Invoiced",
    "Shipped",
    "Cancelled",
    "Delivered",
    "UnDelivered",
    "Returned",
    "UnSupplied",
    "AtCollectionPoint",
    "UnPacked",
    "Awaiting",
)
LIST_STATUSES = (
    "Awaiting",
    "Created",
    "Picking",
    "Invoiced",
    "Shipped",
    "Cancelled",
    "Delivered",
    "UnDelivered",
    "Returned",
    "AtCollectionPoint",
    "UnSupplied",
)
UNSUPPLIED_REASONS = {
    500: "Stok tükendi",
    501: "Kusurlu/defolu ürün",
    502: "Hatalı fiyat",
    504: "Entegrasyon hatası",
    505: "Toplu alım",
    506: "Mücbir sebep",
}
SELLER_OPEN = ("Created", "Picking", "Invoiced")  # what a seller may still act on
TRACKING_REFUSED = "Shipment Update Edilebilir Bir Durumda Değil"
# What carriers, customers and Trendyol move a package to, and from where (the admin's "advance").
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "Created": ("Awaiting",),
    "Picking": ("Created",),
    "Invoiced": ("Picking",),
    "Shipped": ("Created", "Picking", "Invoiced"),
    "AtCollectionPoint": ("Shipped",),
    "Delivered": ("Shipped", "AtCollectionPoint"),
    "UnDelivered": ("Shipped", "AtCollectionPoint"),
    "Returned": ("Delivered", "UnDelivered"),
    "Cancelled": ("Awaiting", "Created", "Picking", "Invoiced"),
}
TEST_STATUS_TARGETS = ("Shipped", "AtCollectionPoint", "Delivered", "UnDelivered", "Returned")
CUSTOMER_CANCELLABLE = ("Awaiting", "Created")
# The next status a generated order moves to without the seller (payment check, carrier).
CARRIER_STEPS = {
    "Awaiting": "Created",
    "Created": "Shipped",
    "Picking": "Shipped",
    "Invoiced": "Shipped",
    "Shipped": "Delivered",
    "AtCollectionPoint": "Delivered",
}
CUSTOMER_CANCEL_REASON = "Müşteri siparişi iptal etti"
CARGO_PROVIDER = "Yurtiçi Kargo Marketplace"


class OrderError(ValueError):
    """An order-service refusal; the server answers ``status`` with ``{"error", "message"}``. A
    ValueError so that the admin surface answers 400 with the same message."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def error_body(error: str, message: str) -> dict[str, Any]:
    return {"error": error, "message": message}


def order_error(body: Any) -> Any:
    """A gateway error in the product envelope (``errors[{key, message}]``) re-shaped the way the
    order OpenAPI documents 400/401/429 (``{"error", "message"}``)."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        err = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
        return error_body(
            str(err.get("key") or body.get("exception") or "error"), str(err.get("message") or "")
        )
    return body


def fault_groups(endpoint: str) -> tuple[str, ...]:
    """Fault-injection names an order endpoint answers to besides its own: ``orders`` and the
    product-side ``read``/``write`` aliases (faults.py knows only product routes)."""
    if endpoint in ORDER_READS:
        return ("orders", "read")
    if endpoint in ORDER_WRITES:
        return ("orders", "write")
    return ("orders",)


@dataclass
class OrderSettings:
    """Order-side settings; ``TrendyolSandbox.configure`` routes these names here."""

    stream_window_days: float = 14.0
    stream_history_days: float = 90.0  # "son 3 ay"
    stream_default_size: int = 50
    stream_max_size: int = 200
    list_history_days: float = 30.0  # v2: "data scope last 1 month"
    list_max_size: int = 200
    list_window_cap: int = 10000
    orders_rate_limit: int = 0  # requests per window per seller and order endpoint; 0 = rate_limit
    orders_rate_window: float = 0.0  # 0 = rate_window
    stream_min_interval: float = 0.0  # > 0: stream calls closer than this get 429

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            if key not in self.names():
                raise ValueError(f"unknown sandbox setting {key!r}")
            setattr(self, key, type(getattr(self, key))(value))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _bad(message: str, error: str = "invalid.parameter") -> OrderError:
    return OrderError(400, error, message)


def _money(value: float) -> float:
    return round(float(value) + 0.0, 2)


class OrderBook:
    """Every seller's shipment packages. Guarded by the store's lock, so a stock decrement and the
    package it belongs to appear together."""

    def __init__(self, store: Store, clock: Clock, settings: OrderSettings | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings or OrderSettings()
        # Order webhooks (off until a URL is configured); they outlive reset() like settings do.
        self.webhooks = WebhookSender()
        self.reset()

    def reset(self) -> None:
        with self.store.lock:
            self._packages: dict[int, dict[str, Any]] = {}
            self._seller: dict[int, str] = {}
            self._last_stream: dict[str, float] = {}
            self._next_package = 3_200_000_001
            self._next_line = 5_100_000_001
            self._next_order = 10_400_000_001
            self._next_customer = 900_001
            self._next_tracking = 7_330_000_000_001

    # --- gateway hooks ------------------------------------------------------------------------

    def rate_limit(self, endpoint: str, limit: int, window: float) -> tuple[int, float]:
        """The (limit, window) of an endpoint's own bucket: order settings when set, else the
        gateway's."""
        if endpoint in ORDER_ENDPOINTS:
            s = self.settings
            return (s.orders_rate_limit or limit, s.orders_rate_window or window)
        return limit, window

    def stream_spacing_ok(self, seller_id: str, now: float) -> bool:
        """False when ``stream_min_interval`` is set and this seller's previous stream call was
        closer than that (integrators are advised ≥ 5 s; the sandbox enforces it only on demand)."""
        interval = self.settings.stream_min_interval
        with self.store.lock:
            last = self._last_stream.get(seller_id)
            if interval > 0 and last is not None and now - last < interval:
                return False
            self._last_stream[seller_id] = now
            return True

    # --- Python/admin API ---------------------------------------------------------------------

    def create_order(
        self,
        seller_id: str,
        lines: list[dict[str, Any]],
        *,
        status: str = "Created",
        customer: dict[str, Any] | None = None,
        shipment_address: dict[str, Any] | None = None,
        invoice_address: dict[str, Any] | None = None,
        order_number: str | None = None,
        order_date: int | None = None,
        last_modified: int | None = None,
        decrement_stock: bool = True,
        require_products: bool = False,
    ) -> dict[str, Any]:
        """One order in one package. ``lines``: ``{barcode, quantity}`` plus optional ``price``
        (unit, default the product's salePrice), ``discount`` (seller, whole line),
        ``tyDiscount``, ``discountPercentage``, ``stockCode``, ``productName``, ``vatRate``,
        ``productSize``, ``productColor``. ``order_date``/``last_modified`` (epoch ms) seed history."""
        if status not in ("Awaiting", "Created"):
            raise ValueError("a new order is Awaiting or Created; advance it afterwards")
        if not isinstance(lines, list) or not lines:
            raise ValueError("an order needs at least one line")
        with self.store.lock:
            now = self.clock.ms()
            created = int(order_date) if order_date is not None else now
            modified = int(last_modified) if last_modified is not None else max(created, now)
            built = [self._new_line(seller_id, raw, require_products) for raw in lines]
            first_name = str((customer or {}).get("firstName") or "Ayşe")
            last_name = str((customer or {}).get("lastName") or "Yılmaz")
            email = str((customer or {}).get("email") or f"pf+{self._next_customer}@trendyolmail.com")
            ship = _address(first_name, last_name, shipment_address)
            invoice = _address(first_name, last_name, invoice_address or shipment_address)
            number = str(order_number) if order_number else self._order_number()
            tracking = str(self._next_tracking)
            self._next_tracking += 1
            pkg: dict[str, Any] = {
                "shipmentPackageId": self._package_id(),
                "orderNumber": number,
                "orderDate": created,
                "supplierId": int(seller_id) if seller_id.isdigit() else seller_id,
                "customerId": self._next_customer,
                "customerFirstName": first_name,
                "customerLastName": last_name,
                "customerEmail": email,
                "taxNumber": None,
                "shipmentAddress": ship,
                "invoiceAddress": invoice,
                "status": status,
                "shipmentPackageStatus": status,
                "currencyCode": "TRY",
                "cargoTrackingNumber": tracking,
                "cargoTrackingLink": f"https://kargotakip.trendyol.com/?orderNumber={number}",
                "cargoSenderNumber": None,
                "cargoProviderName": CARGO_PROVIDER,
                "deliveryType": "normal",
                "deliveryAddressType": "Shipment",
                "agreedDeliveryDate": created + 2 * DAY_MS,
                "agreedDeliveryDateExtendible": True,
                "fastDelivery": False,
                "commercial": False,
                "micro": False,
                "giftBoxRequested": False,
                "3pByTrendyol": False,
                "containsDangerousProduct": False,
                "channelId": 1,
                "invoiceNumber": None,
                "originPackageIds": None,
                "createdBy": "order-creation",
                "lines": built,
                "packageHistory": [{"createdDate": created, "status": status}],
                "lastModifiedDate": modified,
            }
            self._next_customer += 1
            for line in built:
                line["orderLineItemStatusName"] = status
            _totals(pkg)
            _sync_histories(pkg)
            self._packages[pkg["shipmentPackageId"]] = pkg
            self._seller[pkg["shipmentPackageId"]] = seller_id
            if decrement_stock:
                self._take_stock(seller_id, pkg)
            self.webhooks.notify(public(pkg))
            return public(pkg)

    def packages(self, seller_id: str | None = None, order_number: str | None = None) -> list[dict[str, Any]]:
        """Every package (newest change first), optionally of one seller or one orderNumber."""
        with self.store.lock:
            out = [
                p
                for pid, p in self._packages.items()
                if (seller_id is None or self._seller[pid] == seller_id)
                and (order_number is None or p["orderNumber"] == str(order_number))
            ]
            out.sort(key=lambda p: (p["lastModifiedDate"], p["shipmentPackageId"]), reverse=True)
            return [public(p) for p in out]

    def package(self, package_id: int | str) -> dict[str, Any] | None:
        with self.store.lock:
            p = self._packages.get(_package_key(package_id))
            return public(p) if p is not None else None

    def advance(
        self, package_id: int | str, status: str, *, force: bool = False, **details: Any
    ) -> dict[str, Any]:
        """Move a package the way carriers, customers or Trendyol do (Shipped, Delivered,
        Cancelled…). ``force`` skips the transition check; ``details`` may set
        ``cargoTrackingNumber`` or ``cancelReason``."""
        with self.store.lock:
            pkg = self._packages.get(_package_key(package_id))
            if pkg is None:
                raise KeyError(f"no shipment package {package_id}")
            if status not in TRANSITIONS and not (force and status in STREAM_STATUSES):
                raise ValueError(f"cannot advance a package to {status!r}")
            allowed = TRANSITIONS.get(status, ())
            if not force and pkg["status"] not in allowed:
                raise ValueError(
                    f"package {pkg['shipmentPackageId']} is {pkg['status']}; {status} needs one of "
                    f"{', '.join(allowed)}"
                )
            unknown = set(details) - {"cargoTrackingNumber", "cancelReason"}
            if unknown:
                raise ValueError(f"unknown detail(s): {', '.join(sorted(unknown))}")
            if details.get("cargoTrackingNumber"):
                pkg["cargoTrackingNumber"] = str(details["cargoTrackingNumber"])
            if status == "Cancelled":
                for line in pkg["lines"]:
                    if line["orderLineItemStatusName"] not in ("UnSupplied", "UnPacked", "Cancelled"):
                        line.update(
                            cancelledBy="customer",
                            cancelReason=details.get("cancelReason") or CUSTOMER_CANCEL_REASON,
                            cancelReasonCode=None,
                        )
            self._set_status(pkg, status)
            return public(pkg)

    def snapshot(self) -> list[dict[str, Any]]:
        return self.packages()

    # --- order generator hooks (sandbox/common/orderfaker.py) ---------------------------------

    def offers(self, seller_id: str) -> list[Offer]:
        """What a customer can buy from the seller now: approved, not archived, locked or
        blacklisted, with a sale price and stock; slicer/varianter values (Renk, Beden) attached."""
        with self.store.lock:
            out = []
            for p in self.store.seller_products(seller_id):
                if not p["approved"] or p["archived"] or p.get("locked") or p.get("blacklisted"):
                    continue
                if p["quantity"] <= 0 or not p.get("salePrice"):
                    continue
                out.append(
                    Offer(p["barcode"], p["title"], float(p["salePrice"]), int(p["quantity"]), _variant(p))
                )
            return out

    def place(self, seller_id: str, order: FakeOrder) -> int:
        """A generated order as one package (``create_order``, which takes the stock); its id."""
        c, a = order.customer, order.customer.address
        lines = []
        for line in order.lines:
            variant = dict(line.offer.variant)
            lines.append(
                {
                    "barcode": line.offer.key,
                    "quantity": line.quantity,
                    "productColor": variant.get("Renk"),
                    "productSize": variant.get("Beden"),
                }
            )
        pkg = self.create_order(
            seller_id,
            lines,
            customer={"firstName": c.first_name, "lastName": c.last_name},
            shipment_address={
                "address1": a.line1,
                "neighborhood": a.neighbourhood,
                "neighborhoodId": _place_id(a.province, a.district, a.neighbourhood),
                "district": a.district,
                "districtId": _place_id(a.province, a.district),
                "city": a.province,
                "cityCode": a.province_code,
                "postalCode": a.postcode,
            },
            require_products=True,
        )
        return pkg["shipmentPackageId"]

    def customer_cancel(self, package_id: int | str) -> bool:
        """The customer cancels; False once the seller has started picking (or later)."""
        with self.store.lock:
            pkg = self._packages.get(_package_key(package_id))
            if pkg is None:
                raise KeyError(f"no shipment package {package_id}")
            if pkg["status"] not in CUSTOMER_CANCELLABLE:
                return False
            self.advance(package_id, "Cancelled", cancelReason=CUSTOMER_CANCEL_REASON)
            return True

    def carrier_step(self, package_id: int | str) -> bool | None:
        """One step of ``CARRIER_STEPS``; True while Delivered is still ahead, None when the
        package cannot move (cancelled, returned, split away)."""
        with self.store.lock:
            pkg = self._packages.get(_package_key(package_id))
            if pkg is None:
                raise KeyError(f"no shipment package {package_id}")
            target = CARRIER_STEPS.get(pkg["status"])
            if target is None:
                return None
            self.advance(package_id, target)
            return target != "Delivered"

    # --- HTTP ---------------------------------------------------------------------------------

    def serve(
        self,
        endpoint: str,
        seller_id: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
        entry: dict[str, Any],
    ) -> tuple[int, Any]:
        """Answer one order request: (status, body); ``None`` body = empty 200. Raises OrderError."""
        try:
            if endpoint == STREAM:
                entry["params"] = {k: v[0] for k, v in query.items() if v}
                return 200, self._stream(seller_id, query)
            if endpoint == LIST:
                entry["params"] = {k: ",".join(v) for k, v in query.items() if v}
                return 200, self._list(seller_id, query)
        except QueryError as e:
            raise _bad(e.message, e.key) from None
        payload = _json_body(body)
        if endpoint == TEST_ORDER:
            return 200, self._test_order(seller_id, payload)
        package_id = params.get("packageId", "")
        entry["packageId"] = package_id
        with self.store.lock:
            pkg = self._own(seller_id, package_id)
            if endpoint == PACKAGE_STATUS:
                self._update_status(pkg, payload)
            elif endpoint == UNSUPPLIED:
                entry["newPackageId"] = self._unsupplied(pkg, payload)
            elif endpoint == TRACKING:
                self._tracking(pkg, payload)
            elif endpoint == TEST_STATUS:
                target = payload.get("status")
                if target not in TEST_STATUS_TARGETS:
                    raise _bad(f"status şunlardan biri olmalıdır: {', '.join(TEST_STATUS_TARGETS)}")
                try:
                    self.advance(pkg["shipmentPackageId"], target)
                except ValueError as e:
                    raise _bad(str(e), "invalid.status.transition") from None
            return 200, None

    # --- lists --------------------------------------------------------------------------------

    def _visible(self, seller_id: str, horizon: int, field: str) -> list[dict[str, Any]]:
        return [
            p for pid, p in self._packages.items() if self._seller[pid] == seller_id and p[field] >= horizon
        ]

    def _stream(self, seller_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        s = self.settings
        size = int_param(query, "size", s.stream_default_size)
        assert size is not None
        if not 1 <= size <= s.stream_max_size:
            raise _bad(f"size parametresi 1 ile {s.stream_max_size} arasında olmalıdır.")
        statuses = _statuses(first(query, "packageItemStatuses"), STREAM_STATUSES, "packageItemStatuses")
        start = int_param(query, "lastModifiedStartDate")
        end = int_param(query, "lastModifiedEndDate")
        filters = {"s": ",".join(statuses), "a": start, "b": end}
        now = self.clock.ms()
        window_ms = int(s.stream_window_days * DAY_MS)
        horizon = now - int(s.stream_history_days * DAY_MS)
        raw_cursor = first(query, "nextCursor")
        position: tuple[int, int] | None = None
        if raw_cursor:
            cursor = _decode_cursor(raw_cursor)
            if cursor.get("seller") != seller_id:
                raise _bad("Geçersiz nextCursor değeri.", "invalid.cursor")
            if cursor.get("f") != filters:
                raise _bad(
                    "nextCursor, oluşturulduğu istekten farklı filtrelerle kullanılamaz. Filtreleri "
                    "değiştirdiyseniz nextCursor göndermeden yeniden başlayınız.",
                    "cursor.filter.mismatch",
                )
            start, end = cursor["w"]
            position = (int(cursor["p"][0]), int(cursor["p"][1]))
        else:
            if start is None and end is None:
                start, end = now - window_ms, now
            elif start is None:
                assert end is not None
                start = end - window_ms
            elif end is None:
                end = now
            if start > end:
                raise _bad("lastModifiedStartDate, lastModifiedEndDate'ten sonra olamaz.")
            if end - start > window_ms:
                raise _bad(
                    f"lastModifiedStartDate ile lastModifiedEndDate arası en fazla {s.stream_window_days:g} gün "
                    "olabilir.",
                    "date.range.exceeded",
                )
            if start < horizon:
                raise _bad("Son 3 aydan daha eski sipariş paketleri sorgulanamaz.", "date.range.exceeded")
        assert start is not None and end is not None
        wanted = set(statuses)
        matches = [
            p
            for p in self._visible(seller_id, horizon, "lastModifiedDate")
            if start <= p["lastModifiedDate"] <= end and (not wanted or _status_match(p, wanted))
        ]
        matches.sort(key=lambda p: (p["lastModifiedDate"], p["shipmentPackageId"]), reverse=True)
        if position is not None:
            matches = [p for p in matches if (p["lastModifiedDate"], p["shipmentPackageId"]) < position]
        page = matches[:size]
        has_more = len(matches) > size
        next_cursor = None
        if has_more:
            last = page[-1]
            next_cursor = _encode_cursor(
                {
                    "seller": seller_id,
                    "f": filters,
                    "w": [start, end],
                    "p": [last["lastModifiedDate"], last["shipmentPackageId"]],
                }
            )
        return {
            "content": [public(p) for p in page],
            "size": len(page),
            "hasMore": has_more,
            "nextCursor": next_cursor,
        }

    def _list(self, seller_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        s = self.settings
        page = int_param(query, "page", 0)
        size = int_param(query, "size", s.list_max_size)
        assert page is not None and size is not None
        if page < 0:
            raise _bad("page parametresi 0 veya daha büyük olmalıdır.")
        if not 1 <= size <= s.list_max_size:
            raise _bad(f"size parametresi 1 ile {s.list_max_size} arasında olmalıdır.")
        if page * size >= s.list_window_cap:
            raise _bad(
                f"En fazla {s.list_window_cap} pakete erişilebilir (page x size). Tarih aralığını daraltınız.",
                "max.window.exceeded",
            )
        order_by = first(query, "orderByField") or "CreatedDate"
        if order_by not in ("PackageLastModifiedDate", "CreatedDate"):
            raise _bad("orderByField PackageLastModifiedDate veya CreatedDate olmalıdır.")
        direction = (first(query, "orderByDirection") or "DESC").upper()
        if direction not in ("ASC", "DESC"):
            raise _bad("orderByDirection ASC veya DESC olmalıdır.")
        status = first(query, "status")
        if status and status not in LIST_STATUSES:
            raise _bad(f"Geçersiz status değeri: {status}")
        raw_ids = list_param(query, "shipmentPackageIds")
        if len(raw_ids) > 50:
            raise _bad("En fazla 50 shipmentPackageIds gönderilebilir.")
        try:
            ids = {int(i) for i in raw_ids}
        except ValueError:
            raise _bad("shipmentPackageIds sayı olmalıdır.") from None
        start = int_param(query, "startDate")
        end = int_param(query, "endDate")
        now = self.clock.ms()
        horizon = now - int(s.list_history_days * DAY_MS)
        if start is not None and start < horizon:
            raise _bad("Son 1 aydan daha eski sipariş paketleri sorgulanamaz.", "date.range.exceeded")
        if start is not None and end is not None and start > end:
            raise _bad("startDate, endDate'ten sonra olamaz.")
        field = "lastModifiedDate" if order_by == "PackageLastModifiedDate" else "orderDate"
        order_number = first(query, "orderNumber")
        matches = [
            p
            for p in self._visible(seller_id, horizon, field)
            if (start is None or p[field] >= start)
            and (end is None or p[field] <= end)
            and (not status or _status_match(p, {status}))
            and (not order_number or p["orderNumber"] == order_number)
            and (not ids or p["shipmentPackageId"] in ids)
        ]
        matches.sort(key=lambda p: (p[field], p["shipmentPackageId"]), reverse=direction == "DESC")
        total = len(matches)
        return {
            "totalElements": total,
            "totalPages": math.ceil(total / size) if total else 0,
            "page": page,
            "size": size,
            "content": [public(p) for p in matches[page * size : (page + 1) * size]],
        }

    # --- actions ------------------------------------------------------------------------------

    def _own(self, seller_id: str, package_id: str) -> dict[str, Any]:
        pkg = self._packages.get(_package_key(package_id))
        if pkg is None or self._seller[pkg["shipmentPackageId"]] != seller_id:
            raise OrderError(
                404, "shipment.package.not.found", f"Paket bulunamadı. shipmentPackageId: {package_id}"
            )
        return pkg

    def _update_status(self, pkg: dict[str, Any], payload: dict[str, Any]) -> None:
        status = payload.get("status")
        if status not in ("Picking", "Invoiced"):
            raise _bad(
                "Paket statüsü yalnızca Picking veya Invoiced olarak güncellenebilir.", "invalid.status"
            )
        if payload.get("lines") is not None:
            _requested(pkg, payload.get("lines"))
        extra = payload.get("params") or {}
        if not isinstance(extra, dict):
            raise _bad("params bir nesne olmalıdır.", "invalid.request.body")
        invoice = extra.get("invoiceNumber")
        current = pkg["status"]
        if status == "Picking":
            if invoice:
                raise _bad("invoiceNumber yalnızca Invoiced statüsü için gönderilebilir.")
            if current == "Picking":
                return
            if current != "Created":
                raise _bad(
                    f"{current} statüsündeki paket Picking statüsüne alınamaz.", "invalid.status.transition"
                )
        else:
            if not invoice or not str(invoice).strip():
                raise _bad("Invoiced statüsü için params.invoiceNumber zorunludur.")
            if current == "Invoiced" and pkg["invoiceNumber"] == str(invoice):
                return
            if current == "Created":
                raise _bad(
                    "Paket Invoiced statüsüne alınmadan önce Picking statüsüne alınmalıdır.",
                    "invalid.status.transition",
                )
            if current not in ("Picking", "Invoiced"):
                raise _bad(
                    f"{current} statüsündeki paket Invoiced statüsüne alınamaz.", "invalid.status.transition"
                )
            pkg["invoiceNumber"] = str(invoice)
        self._set_status(pkg, status)

    def _unsupplied(self, pkg: dict[str, Any], payload: dict[str, Any]) -> int | None:
        reason = payload.get("reasonId")
        if isinstance(reason, bool) or not isinstance(reason, int) or reason not in UNSUPPLIED_REASONS:
            raise _bad(
                f"reasonId şunlardan biri olmalıdır: {', '.join(map(str, UNSUPPLIED_REASONS))}",
                "invalid.reason",
            )
        lines = payload.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _bad("lines alanı zorunludur.", "invalid.request.body")
        if pkg["status"] not in SELLER_OPEN:
            raise _bad(
                f"{pkg['status']} statüsündeki paket için tedarik edememe bildirimi yapılamaz.",
                "invalid.status.transition",
            )
        requested = _requested(pkg, lines)
        now = self._bump(pkg)
        remaining = []
        for line in pkg["lines"]:
            left = line["quantity"] - requested.get(line["lineId"], 0)
            if left > 0:
                moved = copy.deepcopy(line)
                _line_amounts(moved, left)
                remaining.append(moved)
            if line["lineId"] in requested:
                line.update(
                    orderLineItemStatusName="UnSupplied",
                    cancelledBy="seller",
                    cancelReason=UNSUPPLIED_REASONS[reason],
                    cancelReasonCode=reason,
                )
            else:
                line["orderLineItemStatusName"] = "UnPacked"
        old_status = pkg["status"]
        self._set_status(pkg, "Cancelled", lines_too=False, at=now)
        if not remaining:
            return None
        new = copy.deepcopy(pkg)
        new_status = "Created" if old_status == "Created" else "Picking"
        new.update(
            shipmentPackageId=self._package_id(),
            lines=remaining,
            status=new_status,
            shipmentPackageStatus=new_status,
            invoiceNumber=None,
            packageHistory=[{"createdDate": now, "status": "Created"}],
            lastModifiedDate=now,
        )
        if new_status != "Created":
            new["packageHistory"].append({"createdDate": now, "status": new_status})
        for line in remaining:
            line["orderLineItemStatusName"] = new_status
        _totals(new)
        _sync_histories(new)
        self._packages[new["shipmentPackageId"]] = new
        self._seller[new["shipmentPackageId"]] = self._seller[pkg["shipmentPackageId"]]
        return new["shipmentPackageId"]

    def _tracking(self, pkg: dict[str, Any], payload: dict[str, Any]) -> None:
        number = payload.get("trackingNumber")
        if isinstance(number, bool) or not isinstance(number, (str, int)) or not str(number).strip():
            raise _bad("trackingNumber alanı zorunludur.", "invalid.request.body")
        if pkg["status"] not in SELLER_OPEN:
            raise _bad(TRACKING_REFUSED, "shipment.not.updatable")
        pkg["cargoTrackingNumber"] = str(number).strip()
        self._bump(pkg)

    def _test_order(self, seller_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        seller = payload.get("seller") if isinstance(payload.get("seller"), dict) else {}
        if str(seller.get("sellerId", "")) != seller_id:
            raise _bad("seller.sellerId istek yapan satıcı ile aynı olmalıdır.")
        lines = payload.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _bad("lines alanı zorunludur.", "invalid.request.body")
        customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
        ship = payload.get("shippingAddress") if isinstance(payload.get("shippingAddress"), dict) else {}
        invoice = payload.get("invoiceAddress") if isinstance(payload.get("invoiceAddress"), dict) else {}
        try:
            pkg = self.create_order(
                seller_id,
                [item if isinstance(item, dict) else {} for item in lines],
                customer={
                    "firstName": customer.get("customerFirstName"),
                    "lastName": customer.get("customerLastName"),
                    "email": ship.get("email") or invoice.get("email"),
                },
                shipment_address=_test_address(ship, "shipping"),
                invoice_address=_test_address(invoice, "invoice"),
                require_products=True,
            )
        except OrderError:
            raise  # already in the order API's terms; only plain ValueErrors need wrapping
        except ValueError as e:
            raise _bad(str(e)) from None
        return {"orderNumber": pkg["orderNumber"]}

    # --- helpers ------------------------------------------------------------------------------

    def _package_id(self) -> int:
        pid = self._next_package
        self._next_package += 1
        return pid

    def _order_number(self) -> str:
        number = self._next_order
        self._next_order += 1
        return str(number)

    def _bump(self, pkg: dict[str, Any]) -> int:
        # Strictly increasing, so a change always sorts above the package's previous state.
        pkg["lastModifiedDate"] = max(self.clock.ms(), pkg["lastModifiedDate"] + 1)
        return pkg["lastModifiedDate"]

    def _set_status(
        self, pkg: dict[str, Any], status: str, *, lines_too: bool = True, at: int | None = None
    ) -> None:
        at = at if at is not None else self._bump(pkg)
        pkg["status"] = pkg["shipmentPackageStatus"] = status
        if lines_too:
            for line in pkg["lines"]:
                if line["orderLineItemStatusName"] not in ("UnSupplied", "UnPacked"):
                    line["orderLineItemStatusName"] = status
        pkg["packageHistory"].append({"createdDate": at, "status": status})
        _sync_histories(pkg)
        self.webhooks.notify(public(pkg))

    def _new_line(self, seller_id: str, raw: dict[str, Any], require_product: bool) -> dict[str, Any]:
        barcode = raw.get("barcode")
        if not barcode or not isinstance(barcode, str):
            raise ValueError("every line needs a barcode")
        quantity = raw.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"line {barcode}: quantity must be a positive integer")
        product = self.store.product(seller_id, barcode)
        if require_product and (product is None or not product.get("approved")):
            raise ValueError(f"Satışta olan ürün bulunamadı. Barkod: {barcode}")
        if require_product and product is not None and product["quantity"] < quantity:
            raise ValueError(f"Yetersiz stok. Barkod: {barcode}")
        product = product or {}
        unit = float(raw.get("price") if raw.get("price") is not None else product.get("salePrice") or 100.0)
        gross = unit * quantity
        discount = float(raw.get("discount") or 0.0)
        if raw.get("discountPercentage"):
            discount += gross * float(raw["discountPercentage"]) / 100
        line = {
            "lineId": self._next_line,
            "sellerId": int(seller_id) if seller_id.isdigit() else seller_id,
            "barcode": barcode,
            "stockCode": raw.get("stockCode") or product.get("stockCode") or barcode,
            "productName": raw.get("productName") or product.get("title") or barcode,
            "contentId": product.get("contentId"),
            "productCategoryId": product.get("categoryId"),
            "productSize": raw.get("productSize"),
            "productColor": raw.get("productColor"),
            "productOrigin": "TR",
            "quantity": quantity,
            "currencyCode": "TRY",
            "vatRate": raw.get("vatRate") if raw.get("vatRate") is not None else product.get("vatRate", 20),
            "salesCampaignId": 0,
            "fastDeliveryOptions": [],
            "orderLineItemStatusName": "Created",
            "cancelledBy": None,
            "cancelReason": None,
            "cancelReasonCode": None,
            "_unit": unit,
            "_sellerDiscountPerUnit": discount / quantity,
            "_tyDiscountPerUnit": float(raw.get("tyDiscount") or 0.0) / quantity,
        }
        self._next_line += 1
        _line_amounts(line, quantity)
        return line

    def _take_stock(self, seller_id: str, pkg: dict[str, Any]) -> None:
        for line in pkg["lines"]:
            product = self.store.product(seller_id, line["barcode"])
            if product is None:
                continue
            product["quantity"] = max(0, product["quantity"] - line["quantity"])
            product["stockModifiedAt"] = product["modifiedAt"] = self.clock.ms()
            self.store.record_effect(
                "order",
                seller_id,
                line["barcode"],
                None,
                quantity=-line["quantity"],
                orderNumber=pkg["orderNumber"],
            )


# --- module helpers -------------------------------------------------------------------------------


def _variant(product: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for a in product.get("attributes") or []:
        d = reference.attribute(product["categoryId"], a["attributeId"])
        if d is None or not (d.slicer or d.varianter):
            continue
        value = d.value_name(a["valueIds"][0]) if a["valueIds"] else a["customValue"]
        if value:
            out.append((d.name, str(value)))
    return tuple(out)


def _place_id(*names: str) -> int:
    # Trendyol's district/neighbourhood ids are its own; a stable number per name stands in.
    return zlib.crc32("/".join(names).encode("utf-8")) % 90_000 + 10_000


def _package_key(package_id: int | str) -> int:
    try:
        return int(package_id)
    except (TypeError, ValueError):
        return -1


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _bad("İstek gövdesi geçerli bir JSON değildir.", "invalid.request.body") from None
    if not isinstance(payload, dict):
        raise _bad("İstek gövdesi bir JSON nesnesi olmalıdır.", "invalid.request.body")
    return payload


def _statuses(raw: str | None, allowed: tuple[str, ...], name: str) -> list[str]:
    out = [s.strip() for s in (raw or "").split(",") if s.strip()]
    for s in out:
        if s not in allowed:
            raise _bad(f"Geçersiz {name} değeri: {s}. Geçerli değerler: {', '.join(allowed)}")
    return out


def _status_match(pkg: dict[str, Any], wanted: set[str]) -> bool:
    return pkg["status"] in wanted or any(line["orderLineItemStatusName"] in wanted for line in pkg["lines"])


def _requested(pkg: dict[str, Any], lines: Any) -> dict[int, int]:
    """``{lineId: quantity}`` of a request's lines, each checked against the package."""
    if not isinstance(lines, list):
        raise _bad("lines bir liste olmalıdır.", "invalid.request.body")
    own = {line["lineId"]: line for line in pkg["lines"]}
    out: dict[int, int] = {}
    for item in lines:
        line_id = item.get("lineId") if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if isinstance(line_id, bool) or not isinstance(line_id, int) or line_id not in own:
            raise _bad(
                f"{line_id} id'li sipariş satırı {pkg['shipmentPackageId']} paketine ait değil.",
                "line.not.in.package",
            )
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise _bad(f"{line_id} id'li satır için quantity pozitif bir tam sayı olmalıdır.")
        out[line_id] = out.get(line_id, 0) + quantity
        if out[line_id] > own[line_id]["quantity"]:
            raise _bad(
                f"{line_id} id'li satırın miktarı {own[line_id]['quantity']}; daha fazlası gönderilemez."
            )
    return out


def _line_amounts(line: dict[str, Any], quantity: int) -> None:
    line["quantity"] = quantity
    gross = line["_unit"] * quantity
    seller = line["_sellerDiscountPerUnit"] * quantity
    ty = line["_tyDiscountPerUnit"] * quantity
    line["lineGrossAmount"] = _money(gross)
    line["lineSellerDiscount"] = _money(seller)
    line["lineTyDiscount"] = _money(ty)
    line["lineTotalDiscount"] = _money(seller + ty)
    line["lineUnitPrice"] = _money((gross - seller - ty) / quantity)


def _totals(pkg: dict[str, Any]) -> None:
    lines = pkg["lines"]
    gross = sum(line["lineGrossAmount"] for line in lines)
    seller = sum(line["lineSellerDiscount"] for line in lines)
    ty = sum(line["lineTyDiscount"] for line in lines)
    pkg["packageGrossAmount"] = _money(gross)
    pkg["packageSellerDiscount"] = _money(seller)
    pkg["packageTyDiscount"] = _money(ty)
    pkg["packageTotalDiscount"] = _money(seller + ty)
    pkg["packageTotalPrice"] = _money(gross - seller - ty)


def _sync_histories(pkg: dict[str, Any]) -> None:
    # The published schema names the history packageHistory; production responses were seen
    # with packageHistories. Both carry the same entries.
    pkg["packageHistories"] = copy.deepcopy(pkg["packageHistory"])


def _address(first_name: str, last_name: str, given: dict[str, Any] | None) -> dict[str, Any]:
    address = {
        "id": 80_000_001,
        "firstName": first_name,
        "lastName": last_name,
        "company": "",
        "address1": "Büyükdere Cd. No:237",
        "address2": "",
        "city": "İstanbul",
        "cityCode": 34,
        "district": "Şişli",
        "districtId": 54,
        "neighborhoodId": 32126,
        "neighborhood": "Esentepe Mah.",
        "postalCode": "34394",
        "countryCode": "TR",
        "phone": None,
    }
    address.update({k: v for k, v in (given or {}).items() if v is not None})
    address["fullName"] = f"{address['firstName']} {address['lastName']}"
    address["fullAddress"] = (
        f"{address['address1']} {address['neighborhood']} {address['district']}/{address['city']}"
    )
    return address


def _test_address(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    """The test-order body's address (``addressText``, ``shippingFirstName``…) in package form."""
    return {
        "firstName": raw.get(f"{kind}FirstName"),
        "lastName": raw.get(f"{kind}LastName"),
        "address1": raw.get("addressText"),
        "city": raw.get("city"),
        "district": raw.get("district"),
        "neighborhood": raw.get("neighborhood"),
        "postalCode": raw.get("postalCode"),
        "phone": raw.get("phone"),
        "company": raw.get("company"),
    }


def _encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("w"), list)
            or not isinstance(data.get("p"), list)
        ):
            raise ValueError
        return data
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad("Geçersiz nextCursor değeri.", "invalid.cursor") from None


def public(pkg: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a package as served: without the sandbox's own ``_`` keys on its lines."""
    out = copy.deepcopy(pkg)
    out["lines"] = [{k: v for k, v in line.items() if not k.startswith("_")} for line in out["lines"]]
    return out
