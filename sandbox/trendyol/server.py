"""HTTP layer: routing of Trendyol's paths (base path ``/integration``), the gateway checks in the
order a request meets them, fault injection, the envelope checks of write calls, and the request log.

Order per request: route (404/405) → User-Agent (403) → Basic auth and sellerId (401) → rate limit
(429) → injected faults → JSON envelope (400) → service. Everything under ``/__sandbox/`` bypasses
all of it (see admin.py); it is the sandbox's control surface, not part of Trendyol's contract.
Order routes (orders.py) pass the same gateway but answer errors in the order API's
``{"error", "message"}`` shape.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.common.http import DispatchHandler, SandboxServer
from sandbox.common.ratescale import scaled

from . import admin, auth, errors, orders, reference, views
from .batches import render_batch
from .faults import WRITE_ENDPOINTS

if TYPE_CHECKING:
    from .app import TrendyolSandbox

BASE_PATH = "/integration"
_SELLER = r"(?P<sellerId>[^/]+)"
_PACKAGE = r"(?P<packageId>[^/]+)"


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    pattern: re.Pattern[str]


def _route(name: str, method: str, path: str) -> Route:
    return Route(name, method, re.compile(path))


ROUTES: tuple[Route, ...] = (
    _route("create", "POST", rf"/product/sellers/{_SELLER}/v2/products"),
    _route("update_unapproved", "POST", rf"/product/sellers/{_SELLER}/products/unapproved-bulk-update"),
    _route("update_content", "POST", rf"/product/sellers/{_SELLER}/products/content-bulk-update"),
    _route("update_variant", "POST", rf"/product/sellers/{_SELLER}/products/variant-bulk-update"),
    _route("delete", "DELETE", rf"/product/sellers/{_SELLER}/products"),
    _route("archive", "PUT", rf"/product/sellers/{_SELLER}/products/archive-state"),
    _route("price_inventory", "POST", rf"/inventory/sellers/{_SELLER}/products/price-and-inventory"),
    _route("batch_result", "GET", rf"/product/sellers/{_SELLER}/products/batch-requests/(?P<batchId>[^/]+)"),
    _route("filter", "GET", rf"/product/sellers/{_SELLER}/products/approved"),
    _route(
        "filter_inventory_price", "GET", rf"/product/sellers/{_SELLER}/products/approved/inventory-and-price"
    ),
    _route("filter_unapproved", "GET", rf"/product/sellers/{_SELLER}/products/unapproved"),
    _route("product_base", "GET", rf"/product/sellers/{_SELLER}/product/(?P<barcode>[^/]+)"),
    _route("categories", "GET", r"/product/product-categories"),
    _route("category_attributes", "GET", r"/product/categories/(?P<categoryId>[^/]+)/attributes"),
    _route(
        "attribute_values",
        "GET",
        r"/product/categories/(?P<categoryId>[^/]+)/attributes/(?P<attributeId>[^/]+)/values",
    ),
    _route("brands", "GET", r"/product/brands"),
    _route("brands_by_name", "GET", r"/product/brands/by-name"),
    _route(orders.STREAM, "GET", rf"/order/sellers/{_SELLER}/orders/stream"),
    _route(orders.LIST, "GET", rf"/order/sellers/{_SELLER}/v2/orders"),
    _route(orders.PACKAGE_STATUS, "PUT", rf"/order/sellers/{_SELLER}/shipment-packages/{_PACKAGE}"),
    _route(
        orders.UNSUPPLIED, "PUT", rf"/order/sellers/{_SELLER}/shipment-packages/{_PACKAGE}/items/unsupplied"
    ),
    _route(
        orders.TRACKING,
        "PUT",
        rf"/order/sellers/{_SELLER}/shipment-packages/{_PACKAGE}/update-tracking-number",
    ),
    _route(orders.TEST_ORDER, "POST", r"/test/order/orders/core"),
    _route(orders.TEST_STATUS, "PUT", rf"/test/order/sellers/{_SELLER}/shipment-packages/{_PACKAGE}/status"),
)


class Reply(Exception):
    """Raised anywhere in request handling to answer at once with ``status`` and ``body``."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class SandboxHTTPServer(SandboxServer):
    def __init__(self, address: tuple[str, int], sandbox: TrendyolSandbox) -> None:
        super().__init__(address, sandbox, Handler)


class Handler(DispatchHandler):
    server: SandboxHTTPServer

    # --- plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, body: Any) -> None:
        # None = an empty body, as Trendyol's order actions answer 200.
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        """Close the connection without a response (a dropped connection, as the client sees it)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        try:
            n = int(length) if length else 0
        except ValueError:
            n = 0
        return self.rfile.read(n) if n > 0 else b""

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        body = self._read_body()
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if path.startswith("/__sandbox/") or path == "/__sandbox":
            status, reply = admin.handle(sandbox, self.command, path, query, body)
            self._send(status, reply)
            return
        entry: dict[str, Any] = {
            "at": sandbox.clock.ms(),
            "method": self.command,
            "path": path,
            "endpoint": "unknown",
            "sellerId": None,
            "status": None,
        }
        try:
            action, status, reply = self._serve(sandbox, path, query, body, entry)
        except Reply as r:
            action, status, reply = "send", r.status, r.body
            if entry["endpoint"] in orders.ORDER_ENDPOINTS:
                reply = orders.order_error(reply)
        except Exception:  # a sandbox bug must look like Trendyol's own 500, not kill the thread
            entry.update(status=500, error="sandbox exception")
            sandbox.store.log_request(entry)
            self._send(500, errors.system_error())
            raise
        # Log before answering: once the client has its response, the log must already show it.
        entry["status"] = status
        sandbox.store.log_request(entry)
        if action == "send":
            self._send(status, reply)
        elif action == "hang":
            sandbox.stop_event.wait(sandbox.settings.hang_seconds)
            self._drop()
        else:
            self._drop()

    def _serve(
        self,
        sandbox: TrendyolSandbox,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        entry: dict[str, Any],
    ) -> tuple[str, int | str, Any]:
        """Decide the answer: ("send", status, body), ("drop", "dropped", None) or ("hang", ...)."""
        route, params = _match(self.command, path)
        entry["endpoint"] = route.name

        ua_seller = auth.user_agent_seller(self.headers.get("User-Agent"))
        if ua_seller is None:
            raise Reply(
                403,
                errors.forbidden(
                    "User-Agent bilgisi eksik veya hatalı. Beklenen format: '{sellerId} - {EntegratörFirmaAdı}' "
                    "veya '{sellerId} - SelfIntegration'."
                ),
            )
        seller = auth.authenticate(self.headers.get("Authorization"), sandbox.sellers)
        path_seller = params.get("sellerId")
        if seller is None or (path_seller is not None and path_seller != seller.seller_id):
            raise Reply(401, errors.unauthorized())
        entry["sellerId"] = seller.seller_id
        if ua_seller != seller.seller_id:
            raise Reply(
                403,
                errors.forbidden("User-Agent içindeki satıcı ID bilgisi istek yapan satıcı ile uyuşmuyor."),
            )

        settings = sandbox.settings
        limit, window = sandbox.orders.rate_limit(route.name, settings.rate_limit, settings.rate_window)
        now = sandbox.clock.now()
        limit = scaled(limit, settings.rate_scale)
        if not sandbox.limiter.allow((seller.seller_id, route.name), limit, window, now):
            raise Reply(429, errors.too_many_requests())
        if route.name == orders.STREAM and not sandbox.orders.stream_spacing_ok(seller.seller_id, now):
            raise Reply(429, errors.too_many_requests())

        groups = orders.fault_groups(route.name) if route.name in orders.ORDER_ENDPOINTS else ()
        decision = sandbox.faults.decide(route.name, *groups)
        if decision.reasons:
            entry["fault"] = list(decision.reasons)
        if decision.delay > 0 and sandbox.stop_event.wait(decision.delay):
            raise Reply(503, errors.system_error())  # sandbox shutting down mid-delay
        if decision.action == "drop":
            return "drop", "dropped", None
        if decision.action == "timeout":
            return "hang", "timeout", None
        if decision.action == "error":
            raise Reply(decision.status, errors.system_error())
        if decision.action == "throttle":
            raise Reply(429, errors.too_many_requests())

        if route.name in orders.ORDER_ENDPOINTS:
            status, reply = self._order(sandbox, route.name, seller.seller_id, params, query, body, entry)
        elif route.name in WRITE_ENDPOINTS:
            status, reply = self._write(sandbox, route.name, seller.seller_id, body, entry)
        else:
            status, reply = _read(sandbox, route.name, seller.seller_id, params, query)
        if decision.lose_response:
            entry["responseLost"] = True
            return "drop", status, None
        return "send", status, reply

    def _order(
        self,
        sandbox: TrendyolSandbox,
        name: str,
        seller_id: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
        entry: dict[str, Any],
    ) -> tuple[int, Any]:
        if name not in orders.ORDER_READS and "json" not in (self.headers.get("Content-Type") or "").lower():
            raise Reply(
                400,
                orders.error_body(
                    "invalid.content.type",
                    "İstek gövdesi JSON formatında olmalıdır (Content-Type: application/json).",
                ),
            )
        try:
            return sandbox.orders.serve(name, seller_id, params, query, body, entry)
        except orders.OrderError as e:
            raise Reply(e.status, orders.error_body(e.error, e.message)) from None

    def _write(
        self, sandbox: TrendyolSandbox, name: str, seller_id: str, body: bytes, entry: dict[str, Any]
    ) -> tuple[int, Any]:
        content_type = self.headers.get("Content-Type") or ""
        if "json" not in content_type.lower():
            raise Reply(
                400,
                errors.bad_request(
                    "invalid.content.type",
                    "İstek gövdesi JSON formatında olmalıdır (Content-Type: application/json).",
                ),
            )
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Reply(
                400, errors.bad_request("invalid.request.body", "İstek gövdesi geçerli bir JSON değildir.")
            ) from None
        items = payload.get("items") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise Reply(
                400, errors.bad_request("items.required", "items alanı zorunludur ve liste olmalıdır.")
            )
        if not items:
            raise Reply(400, errors.bad_request("items.empty", "Gönderilen items bilgisi boş."))
        limit = sandbox.settings.max_items
        if len(items) > limit:
            raise Reply(
                400,
                errors.bad_request(
                    "max.item.count.exceeded",
                    f"Bir istekte en fazla {limit} adet item gönderilebilir. Gönderilen: {len(items)}",
                ),
            )
        if any(not isinstance(i, dict) for i in items):
            raise Reply(
                400,
                errors.bad_request(
                    "invalid.request.body", "items listesindeki her eleman bir nesne olmalıdır."
                ),
            )
        if name == "update_content":
            entry["contentIds"] = [i.get("contentId") for i in items]
        else:
            entry["barcodes"] = [i.get("barcode") for i in items]

        store = sandbox.store
        with store.lock:
            if name == "price_inventory":
                # "request body içerisinde değişiklik yapmadan aynı isteği tekrar atmanız halinde"
                # → compare the parsed body (key order and whitespace do not make a body "different").
                canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                key = (seller_id, canonical)
                now = sandbox.clock.now()
                last = store.price_bodies.get(key)
                if last is not None and now - last < sandbox.settings.duplicate_window:
                    raise Reply(400, errors.bad_request("duplicate.request", errors.DUPLICATE_PRICE_REQUEST))
                store.price_bodies[key] = now
                # Forget bodies older than the window so the register does not grow without bound.
                if len(store.price_bodies) > 10000:
                    horizon = now - sandbox.settings.duplicate_window
                    for k in [k for k, t in store.price_bodies.items() if t < horizon]:
                        del store.price_bodies[k]
            batch_id = sandbox.processor.submit(seller_id, name, items)
        entry["batchRequestId"] = batch_id
        entry["accepted"] = True
        return 200, {"batchRequestId": batch_id}


def _match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    if not path.startswith(BASE_PATH + "/"):
        raise Reply(404, errors.not_found())
    rel = path[len(BASE_PATH) :].rstrip("/") or "/"
    path_matches = False
    for route in ROUTES:
        m = route.pattern.fullmatch(rel)
        if m is None:
            continue
        path_matches = True
        if route.method == method:
            return route, m.groupdict()
    if path_matches:
        raise Reply(405, errors.method_not_allowed())
    raise Reply(404, errors.not_found())


def _read(
    sandbox: TrendyolSandbox, name: str, seller_id: str, params: dict[str, str], query: dict[str, list[str]]
) -> tuple[int, Any]:
    store = sandbox.store
    try:
        with store.lock:
            if name == "batch_result":
                batch = store.batches.get(params["batchId"])
                expired = batch is not None and (
                    sandbox.clock.ms() - batch["creationDate"] > sandbox.settings.batch_ttl * 1000
                )
                if batch is None or batch["sellerId"] != seller_id or expired:
                    raise Reply(
                        404,
                        errors.not_found(
                            "batch.request.not.found",
                            f"Batch request bulunamadı. batchRequestId: {params['batchId']}",
                        ),
                    )
                return 200, render_batch(batch)
            if name == "filter":
                return 200, views.approved_page(store.seller_products(seller_id), query)
            if name == "filter_inventory_price":
                return 200, views.inventory_page(store.seller_products(seller_id), query)
            if name == "filter_unapproved":
                return 200, views.unapproved_page(store.seller_products(seller_id), query)
            if name == "product_base":
                product = store.product(seller_id, params["barcode"])
                if product is None:
                    raise Reply(
                        404,
                        errors.not_found(
                            "product.not.found", f"Ürün bulunamadı. Barkod: {params['barcode']}"
                        ),
                    )
                return 200, views.product_base_view(product)
        return _reference(sandbox, name, params, query)
    except views.QueryError as e:
        raise Reply(400, errors.bad_request(e.key, e.message)) from None


def _reference(
    sandbox: TrendyolSandbox, name: str, params: dict[str, str], query: dict[str, list[str]]
) -> tuple[int, Any]:
    if name == "categories":
        tree = reference.category_tree(views.first(query, "name"))
        return 200, tree if sandbox.settings.category_tree_shape == "array" else {"categories": tree}
    if name in ("category_attributes", "attribute_values"):
        try:
            category_id = int(params["categoryId"])
        except ValueError:
            category_id = -1
        category = reference.category(category_id)
        if category is None:
            raise Reply(
                404,
                errors.not_found(
                    "category.not.found", f"Kategori bulunamadı. categoryId: {params['categoryId']}"
                ),
            )
        if name == "category_attributes":
            required = views.first(query, "required")
            attrs = reference.category_attributes(category_id)
            if required in ("true", "false"):
                attrs = tuple(a for a in attrs if a.required == (required == "true"))
            return 200, {
                "id": category.id,
                "name": category.name,
                "displayName": category.name,
                "categoryAttributes": [
                    {
                        "allowCustom": a.allow_custom,
                        "attribute": {"id": a.id, "name": a.name},
                        "categoryId": category.id,
                        "required": a.required,
                        "varianter": a.varianter,
                        "slicer": a.slicer,
                        "allowMultipleAttributeValues": a.allow_multiple,
                    }
                    for a in attrs
                ],
            }
        try:
            attribute_id = int(params["attributeId"])
        except ValueError:
            attribute_id = -1
        definition = reference.attribute(category_id, attribute_id)
        if definition is None:
            raise Reply(
                404,
                errors.not_found(
                    "category.attribute.not.found",
                    f"Kategori özelliği bulunamadı. categoryId: {category_id}, attributeId: {params['attributeId']}",
                ),
            )
        page_items, meta = views.paginate(
            [{"attributeValueId": vid, "attributeValueName": vname} for vid, vname in definition.values],
            query,
            default_size=1000,
            max_size=1000,
        )
        meta.pop("nextPageToken")
        return 200, {**meta, "content": page_items}
    if name == "brands":
        page = views.int_param(query, "page", 0) or 0
        size = views.int_param(query, "size", 1000) or 1000
        if page < 0 or size < 1:
            raise Reply(400, errors.bad_request("invalid.parameter", "page ve size parametreleri geçersiz."))
        brands = [{"id": bid, "name": bname} for bid, bname in reference.BRANDS]
        return 200, {"brands": brands[page * size : (page + 1) * size]}
    if name == "brands_by_name":
        wanted = views.first(query, "name")
        if not wanted:
            raise Reply(400, errors.bad_request("name.required", "name parametresi zorunludur."))
        # Case-sensitive exact match (the page warns "BÜYÜK/küçük harf ayrımına dikkat edilmelidir").
        return 200, [{"id": bid, "name": bname} for bid, bname in reference.BRANDS if bname == wanted]
    raise Reply(404, errors.not_found())
