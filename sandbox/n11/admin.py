"""``/__sandbox/`` — inspection and control over HTTP (no auth, no limits, no faults).

GET    /__sandbox/health                  {"ok": true, "baseUrl": ...}
GET    /__sandbox/state                   config, products, tasks, packages, faults, request log
GET    /__sandbox/products[?account=]     stored products
GET    /__sandbox/tasks                   stored tasks (with request SKUs and per-SKU results)
GET    /__sandbox/packages[?account=]     stored shipment packages
POST   /__sandbox/orders                  {"lines":[{"stockCode","quantity","price"}], "status": "Created"}
POST   /__sandbox/ship                    {"packageId": 1, "trackingNumber": "..."}  (carrier hand-over)
GET    /__sandbox/orders/generate         the order generator's settings and counters
POST   /__sandbox/orders/generate         {"count": 20} → {"created": [packageId…], "generator"}; {"rate_per_minute": 6,
                                          "cancel_share": 0.1, "advance_share": 0.3, "cancel_after"?, "advance_after"?}
GET    /__sandbox/requests                request log
GET    /__sandbox/faults | POST {"endpoint": "...", ...} | DELETE [?endpoint=]
GET    /__sandbox/config | POST {...}
POST   /__sandbox/reset | /__sandbox/flush | /__sandbox/clock {"advance": s}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.common.orderfaker import handle_generate

if TYPE_CHECKING:
    from .app import N11Sandbox


def handle(
    sandbox: N11Sandbox, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> tuple[int, Any]:
    parts = [p for p in path.split("/") if p][1:]
    try:
        payload = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return 400, {"error": "body is not JSON"}
    if not isinstance(payload, dict):
        return 400, {"error": "body must be a JSON object"}
    account = (query.get("account") or [None])[0] or payload.pop("account", None)
    try:
        return _route(sandbox, method, parts, query, payload, account)
    except (KeyError, ValueError, TypeError) as e:
        return (404 if isinstance(e, KeyError) else 400), {"error": str(e.args[0]) if e.args else repr(e)}


def _route(
    sandbox: N11Sandbox,
    method: str,
    parts: list[str],
    query: dict[str, list[str]],
    payload: dict[str, Any],
    account: str | None,
) -> tuple[int, Any]:
    head = parts[0] if parts else ""
    if parts == ["orders", "generate"]:
        if method == "GET":
            return 200, sandbox.order_generator.status()
        if method == "POST":
            return 200, handle_generate(
                payload,
                sandbox.generate_orders,
                sandbox.configure_order_generator,
                sandbox.order_generator.status,
            )
    if method == "GET":
        if head == "health":
            return 200, {"ok": True, "baseUrl": sandbox.base_url}
        if head == "state":
            return 200, sandbox.state()
        if head == "products":
            return 200, sandbox.products(account)
        if head == "tasks":
            return 200, sandbox.tasks()
        if head == "packages":
            return 200, sandbox.packages(account)
        if head == "requests":
            return 200, sandbox.request_log()
        if head == "faults":
            return 200, sandbox.faults.snapshot()
        if head == "config":
            return 200, sandbox.settings.as_dict()
    if method == "POST":
        if head == "orders":
            return 200, sandbox.add_order(payload.pop("lines"), account=account, **payload)
        if head == "ship":
            return 200, sandbox.ship_package(int(payload["packageId"]), payload.get("trackingNumber"))
        if head == "faults":
            endpoint = payload.pop("endpoint", "*")
            return 200, {endpoint: sandbox.set_faults(endpoint, **payload)}
        if head == "config":
            return 200, sandbox.configure(**payload)
        if head == "reset":
            sandbox.reset()
            return 200, {"reset": True}
        if head == "flush":
            return 200, {"processed": sandbox.flush()}
        if head == "clock":
            return 200, {"now": sandbox.advance_clock(float(payload.get("advance", 0)))}
    if method == "DELETE" and head == "faults":
        sandbox.clear_faults((query.get("endpoint") or [None])[0])
        return 200, sandbox.faults.snapshot()
    return 404, {"error": f"no sandbox endpoint {method} /__sandbox/{'/'.join(parts)}"}
