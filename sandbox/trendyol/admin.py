"""``/__sandbox/`` — inspection and control over HTTP for other processes (workers, benchmarks,
the demo). No auth, no rate limit, no faults; deliberately outside ``/integration`` so a Trendyol
client can never reach it by accident. Each endpoint maps onto one ``TrendyolSandbox`` method.

    GET    /__sandbox/health                      {"ok": true, "baseUrl": ...}
    GET    /__sandbox/state                       everything below in one document
    GET    /__sandbox/products[?sellerId=]        stored products (all fields)
    GET    /__sandbox/products/{barcode}[?sellerId=]
    POST   /__sandbox/products/{barcode}          patch stored fields, e.g. {"quantity": 3}
    GET    /__sandbox/batches                     stored batches
    GET    /__sandbox/batches/{batchRequestId}
    GET    /__sandbox/requests                    request log: counts, writes, effects, requests
    GET    /__sandbox/faults
    POST   /__sandbox/faults                      {"endpoint": "create", "error_rate": 1, ...}
    DELETE /__sandbox/faults[?endpoint=]
    GET    /__sandbox/config
    POST   /__sandbox/config                      {"rate_limit": 500, "batch_delay": 0, ...}
    POST   /__sandbox/reset
    POST   /__sandbox/flush                       process queued batches now
    POST   /__sandbox/clock                       {"advance": 900}
    POST   /__sandbox/approve                     {"barcodes": [...], "sellerId": "1001"}
    POST   /__sandbox/reject                      {"barcodes": [...], "reason": "...", "sellerId": ...}
    GET    /__sandbox/orders[?sellerId=&orderNumber=] shipment packages, newest change first
    POST   /__sandbox/orders                      {"lines": [{"barcode", "quantity", "price"?}], "status"?,
                                                   "customer"?, "order_date"?, "last_modified"?, ...}
    GET    /__sandbox/orders/{shipmentPackageId}
    POST   /__sandbox/orders/{shipmentPackageId}/status   {"status": "Shipped", "force"?, "cargoTrackingNumber"?}
    GET    /__sandbox/orders/generate             the order generator's settings and counters
    POST   /__sandbox/orders/generate             {"count": 20} → {"created": [shipmentPackageId…], "generator"};
                                                   {"rate_per_minute": 6, "cancel_share": 0.1, "advance_share": 0.3,
                                                    "cancel_after"?, "advance_after"?} configures the background
    GET    /__sandbox/webhooks                    order webhook settings, counters, last deliveries
    POST   /__sandbox/webhooks                    {"url", "auth": basic|api_key|none, "username", "password",
                                                   "api_key", "duplicate_rate", "reorder_rate", ...} (webhooks.py)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.common.orderfaker import handle_generate

from .webhooks import handle_admin

if TYPE_CHECKING:
    from .app import TrendyolSandbox


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": message}


def handle(
    sandbox: TrendyolSandbox, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> tuple[int, Any]:
    parts = [p for p in path.split("/") if p][1:]  # drop "__sandbox"
    try:
        payload = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, "body is not JSON")
    if not isinstance(payload, dict):
        return _error(400, "body must be a JSON object")
    seller_id = (query.get("sellerId") or [None])[0] or payload.pop("sellerId", None)
    try:
        return _route(sandbox, method, parts, query, payload, seller_id)
    except (KeyError, ValueError, TypeError) as e:
        return _error(400 if not isinstance(e, KeyError) else 404, str(e.args[0]) if e.args else repr(e))


def _route(
    sandbox: TrendyolSandbox,
    method: str,
    parts: list[str],
    query: dict[str, list[str]],
    payload: dict[str, Any],
    seller_id: str | None,
) -> tuple[int, Any]:
    head = parts[0] if parts else ""
    rest = parts[1:]
    if head == "health" and method == "GET":
        return 200, {"ok": True, "baseUrl": sandbox.base_url}
    if head == "state" and method == "GET":
        return 200, sandbox.state()
    if head == "products":
        if not rest and method == "GET":
            return 200, sandbox.products(seller_id)
        if len(rest) == 1 and method == "GET":
            p = sandbox.product(rest[0], seller_id)
            return (200, p) if p is not None else _error(404, f"no product {rest[0]}")
        if len(rest) == 1 and method in ("POST", "PATCH"):
            return 200, sandbox.patch_product(rest[0], seller_id, **payload)
    if head == "batches" and method == "GET":
        if not rest:
            return 200, sandbox.batches()
        b = sandbox.batch(rest[0])
        return (200, b) if b is not None else _error(404, f"no batch {rest[0]}")
    if head == "requests" and method == "GET":
        return 200, sandbox.request_log()
    if head == "faults":
        if method == "GET":
            return 200, sandbox.faults.snapshot()
        if method == "POST":
            endpoint = payload.pop("endpoint", "*")
            return 200, {endpoint: sandbox.set_faults(endpoint, **payload)}
        if method == "DELETE":
            sandbox.clear_faults((query.get("endpoint") or [None])[0])
            return 200, sandbox.faults.snapshot()
    if head == "orders":
        if rest == ["generate"] and method == "GET":
            return 200, sandbox.order_generator.status()
        if rest == ["generate"] and method == "POST":
            return 200, handle_generate(
                payload,
                sandbox.generate_orders,
                sandbox.configure_order_generator,
                sandbox.order_generator.status,
            )
        if not rest and method == "GET":
            order_number = (query.get("orderNumber") or [None])[0]
            return 200, sandbox.packages(seller_id, order_number)
        if not rest and method == "POST":
            return 200, sandbox.create_order(payload.pop("lines", None), seller_id, **payload)
        if len(rest) == 1 and method == "GET":
            pkg = sandbox.package(rest[0])
            return (200, pkg) if pkg is not None else _error(404, f"no shipment package {rest[0]}")
        if len(rest) == 2 and rest[1] == "status" and method == "POST":
            return 200, sandbox.advance_package(rest[0], payload.pop("status", ""), **payload)
    if head == "webhooks" and not rest:
        return handle_admin(sandbox.orders.webhooks, method, payload)
    if head == "config":
        if method == "GET":
            return 200, sandbox.config()
        if method == "POST":
            return 200, sandbox.configure(**payload)
    if method == "POST":
        if head == "reset":
            sandbox.reset()
            return 200, {"reset": True}
        if head == "flush":
            return 200, {"processed": sandbox.flush()}
        if head == "clock":
            return 200, {"now": sandbox.advance_clock(float(payload.get("advance", 0)))}
        if head == "approve":
            return 200, {"approved": sandbox.approve(payload.get("barcodes", []), seller_id)}
        if head == "reject":
            reason = payload.get("reason") or "Zorunlu Ürün Özellik Değeri Eksik/Yanlış"
            return 200, {"rejected": sandbox.reject(payload.get("barcodes", []), reason, seller_id)}
    return _error(404, f"no sandbox endpoint {method} /__sandbox/{'/'.join(parts)}")
