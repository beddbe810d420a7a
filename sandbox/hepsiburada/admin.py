"""``/__sandbox/`` — inspection and control over HTTP (no auth, no limits, no faults).

    GET    /__sandbox/health | state | products | listings | imports | uploads | orders | requests
    GET    /__sandbox/faults            POST {"endpoint": "import", "error_rate": 1, ...}   DELETE [?endpoint=]
    GET    /__sandbox/config            POST {"processing_delay": 0, "catalog_rate_limit": 5, ...}
    POST   /__sandbox/reset | flush | unblock
    POST   /__sandbox/orders            {"lines": [{"merchantSku": "SKU-1", "quantity": 1, "price": 10}]}
    POST   /__sandbox/cancel            {"lineId": "..."}                 (customer cancels a line)
    POST   /__sandbox/deliver           {"packageNumber": "...", "delivered": true, "reason": "..."}
    POST   /__sandbox/approve           {"skus": ["SKU-1"]}
    GET    /__sandbox/orders/generate   the order generator's settings and counters
    POST   /__sandbox/orders/generate   {"count": 20} → {"created": [orderNumber…], "generator"}; {"rate_per_minute": 6,
                                        "cancel_share": 0.1, "advance_share": 0.3, "cancel_after"?, "advance_after"?}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.common.orderfaker import handle_generate

if TYPE_CHECKING:
    from .app import HepsiburadaSandbox


def handle(sandbox: HepsiburadaSandbox, method: str, path: str, query: dict[str, list[str]],
           body: bytes) -> tuple[int, Any]:
    parts = [p for p in path.split("/") if p][1:]
    try:
        payload = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return 400, {"error": "body is not JSON"}
    if not isinstance(payload, dict):
        return 400, {"error": "body must be a JSON object"}
    head = parts[0] if parts else ""
    try:
        if parts == ["orders", "generate"]:
            if method == "GET":
                return 200, sandbox.order_generator.status()
            if method == "POST":
                return 200, handle_generate(payload, sandbox.generate_orders, sandbox.configure_order_generator,
                                            sandbox.order_generator.status)
        if method == "GET":
            views = {
                "health": lambda: {"ok": True, "baseUrl": sandbox.base_url, "baseUrls": sandbox.base_urls},
                "state": sandbox.state,
                "products": sandbox.products,
                "listings": sandbox.listings,
                "imports": sandbox.imports,
                "uploads": sandbox.uploads,
                "orders": sandbox.order_lines,
                "requests": sandbox.request_log,
                "faults": sandbox.faults.snapshot,
                "config": sandbox.settings.as_dict,
            }
            if head in views and len(parts) == 1:
                return 200, views[head]()
        if method == "POST":
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
            if head == "unblock":
                sandbox.unblock()
                return 200, {"unblocked": True}
            if head == "orders":
                return 200, sandbox.add_order(payload.get("lines") or [], merchant_id=payload.get("merchantId"))
            if head == "cancel":
                return 200, sandbox.cancel_by_customer(str(payload["lineId"]))
            if head == "deliver":
                return 200, sandbox.deliver(str(payload["packageNumber"]), bool(payload.get("delivered", True)),
                                            payload.get("reason"))
            if head == "approve":
                return 200, {"approved": sandbox.approve(payload.get("skus") or [], payload.get("merchantId"))}
        if method == "DELETE" and head == "faults":
            sandbox.clear_faults((query.get("endpoint") or [None])[0])
            return 200, sandbox.faults.snapshot()
    except (KeyError, ValueError, TypeError) as e:
        return (404 if isinstance(e, KeyError) else 400), {"error": str(e.args[0]) if e.args else repr(e)}
    return 404, {"error": f"no sandbox endpoint {method} {path}"}
