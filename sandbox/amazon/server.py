"""HTTP layer of the Amazon sandbox: routing of the SP-API paths, LWA's token endpoint, the presigned
document URLs, and ``/__sandbox/`` control.

Order per SP-API request: route (404) → ``x-amz-access-token`` (403) → token bucket of the operation
(429 QuotaExceeded, no ``x-amzn-RateLimit-Limit``) → injected faults → the operation. Every answer
carries ``x-amzn-RequestId``; non-429 answers of an operation carry ``x-amzn-RateLimit-Limit``.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.common.http import DispatchHandler, SandboxServer
from sandbox.common.orderfaker import handle_generate

from .service import ApiError, error_list, quota_exceeded

if TYPE_CHECKING:
    from .app import AmazonSandbox

_SELLER = r"(?P<sellerId>[^/]+)"
_SKU = r"(?P<sku>[^/]+)"


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    pattern: re.Pattern[str]


def _route(name: str, method: str, path: str) -> Route:
    return Route(name, method, re.compile(path))


ROUTES: tuple[Route, ...] = (
    _route("putListingsItem", "PUT", rf"/listings/2021-08-01/items/{_SELLER}/{_SKU}"),
    _route("patchListingsItem", "PATCH", rf"/listings/2021-08-01/items/{_SELLER}/{_SKU}"),
    _route("getListingsItem", "GET", rf"/listings/2021-08-01/items/{_SELLER}/{_SKU}"),
    _route("deleteListingsItem", "DELETE", rf"/listings/2021-08-01/items/{_SELLER}/{_SKU}"),
    _route("createFeedDocument", "POST", r"/feeds/2021-06-30/documents"),
    _route("getFeedDocument", "GET", r"/feeds/2021-06-30/documents/(?P<documentId>[^/]+)"),
    _route("createFeed", "POST", r"/feeds/2021-06-30/feeds"),
    _route("getFeed", "GET", r"/feeds/2021-06-30/feeds/(?P<feedId>[^/]+)"),
    _route("cancelFeed", "DELETE", r"/feeds/2021-06-30/feeds/(?P<feedId>[^/]+)"),
    _route("getOrders", "GET", r"/orders/v0/orders"),
    _route("searchOrders", "GET", r"/orders/2026-01-01/orders"),
    _route("getOrderItems", "GET", r"/orders/v0/orders/(?P<orderId>[^/]+)/orderItems"),
    _route("confirmShipment", "POST", r"/orders/v0/orders/(?P<orderId>[^/]+)/shipmentConfirmation"),
    _route("searchDefinitionsProductTypes", "GET", r"/definitions/2020-09-01/productTypes"),
    _route(
        "getDefinitionsProductType", "GET", r"/definitions/2020-09-01/productTypes/(?P<productType>[^/]+)"
    ),
)


class SandboxHTTPServer(SandboxServer):
    def __init__(self, address: tuple[str, int], sandbox: AmazonSandbox) -> None:
        super().__init__(address, sandbox, Handler)


class Handler(DispatchHandler):
    server: SandboxHTTPServer

    # --- plumbing -------------------------------------------------------------------------------

    def _send_bytes(self, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, payload, "application/json", headers or {})

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        return self.rfile.read(n) if n > 0 else b""

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        body = self._read_body()
        url = urlsplit(self.path)
        raw_path = url.path
        query = parse_qs(url.query, keep_blank_values=True)
        if raw_path == "/__sandbox" or raw_path.startswith("/__sandbox/"):
            status, reply = admin(sandbox, self.command, unquote(raw_path), query, body)
            self._send(status, reply)
            return
        if raw_path == "/auth/o2/token":
            self._token(sandbox, body)
            return
        if raw_path.startswith("/__amzn-docs/"):
            self._document(sandbox, unquote(raw_path[len("/__amzn-docs/") :]), query, body)
            return
        if raw_path.startswith("/__amzn-schemas/"):
            self._schema(raw_path[len("/__amzn-schemas/") :])
            return
        request_id = str(uuid.uuid4())
        entry: dict[str, Any] = {"method": self.command, "path": raw_path, "operation": None, "status": None}
        headers = {"x-amzn-RequestId": request_id}
        try:
            action, status, reply = self._serve(sandbox, raw_path, query, body, entry, headers)
        except ApiError as e:
            action, status, reply = "send", e.status, e.body
        except Exception:
            entry["status"] = 500
            sandbox.service.record(entry)
            self._send(
                500,
                error_list("InternalFailure", "We encountered an internal error. Please try again."),
                headers,
            )
            raise
        entry["status"] = status
        sandbox.service.record(entry)
        if action == "send":
            self._send(int(status), reply, headers)
        elif action == "hang":
            sandbox.stop_event.wait(sandbox.settings.hang_seconds)
            self._drop()
        else:
            self._drop()

    def _serve(
        self,
        sandbox: AmazonSandbox,
        raw_path: str,
        query: dict[str, list[str]],
        body: bytes,
        entry: dict[str, Any],
        headers: dict[str, str],
    ) -> tuple[str, Any, Any]:
        route, params = _match(self.command, raw_path)
        entry["operation"] = route.name
        service = sandbox.service
        seller = service.authenticate(self.headers.get("x-amz-access-token"))
        entry["sellerId"] = seller.seller_id
        admitted, rate = service.throttle(seller, route.name)
        if not admitted:
            return "send", 429, quota_exceeded()
        headers["x-amzn-RateLimit-Limit"] = f"{rate:g}"
        decision = sandbox.faults.decide(route.name)
        if decision.reasons:
            entry["fault"] = list(decision.reasons)
        if decision.delay > 0 and sandbox.stop_event.wait(decision.delay):
            return "send", 503, error_list("ServiceUnavailable", "Service temporarily unavailable.")
        if decision.action == "drop":
            return "drop", "dropped", None
        if decision.action == "timeout":
            return "hang", "timeout", None
        if decision.action == "error":
            code = "InternalFailure" if decision.status == 500 else "ServiceUnavailable"
            return (
                "send",
                decision.status,
                error_list(code, "We encountered an internal error. Please try again."),
            )
        if decision.action == "throttle":
            headers.pop("x-amzn-RateLimit-Limit", None)
            return "send", 429, quota_exceeded()
        if route.name in (
            "putListingsItem",
            "patchListingsItem",
            "createFeedDocument",
            "createFeed",
            "confirmShipment",
        ):
            ctype = (self.headers.get("Content-Type") or "").lower()
            if "json" not in ctype:
                return (
                    "send",
                    415,
                    error_list(
                        "UnsupportedMediaType",
                        "The request's Content-Type header is invalid; expected application/json.",
                    ),
                )
        status, reply = _operation(sandbox, route.name, seller, params, query, body)
        if decision.lose_response:
            entry["responseLost"] = True
            return "drop", status, None
        return "send", status, reply

    def _token(self, sandbox: AmazonSandbox, body: bytes) -> None:
        entry: dict[str, Any] = {"method": self.command, "path": "/auth/o2/token", "operation": "lwaToken"}
        if self.command != "POST":
            status, reply = 405, {"error": "invalid_request", "error_description": "Method not allowed"}
        elif "x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
            status, reply = (
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Content-Type must be application/x-www-form-urlencoded",
                },
            )
        else:
            decision = sandbox.faults.decide("lwaToken")
            if decision.action == "error":
                status, reply = 500, {"error": "server_error", "error_description": "Internal error"}
            else:
                form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
                status, reply = sandbox.service.issue_token(form)
        entry["status"] = status
        sandbox.service.record(entry)
        self._send(status, reply, {"x-amzn-RequestId": str(uuid.uuid4())})

    def _document(
        self, sandbox: AmazonSandbox, doc_id: str, query: dict[str, list[str]], body: bytes
    ) -> None:
        entry: dict[str, Any] = {"method": self.command, "path": "/__amzn-docs/…", "operation": "document"}
        try:
            if self.command == "PUT":
                entry["operation"] = "uploadDocument"
                status = sandbox.service.upload(doc_id, query, self.headers.get("Content-Type"), body)
                entry["status"] = status
                sandbox.service.record(entry)
                self._send_bytes(status, b"", "text/plain", {"ETag": f'"{uuid.uuid4().hex}"'})
            elif self.command == "GET":
                entry["operation"] = "downloadDocument"
                content = sandbox.service.download(doc_id, query)
                entry["status"] = 200
                sandbox.service.record(entry)
                self._send_bytes(200, content, "application/octet-stream", {})
            else:
                raise ApiError(
                    405, "MethodNotAllowed", "The specified method is not allowed against this resource."
                )
        except ApiError as e:
            entry["status"] = e.status
            sandbox.service.record(entry)
            err = e.body["errors"][0]
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{err["code"]}</Code>'
                f"<Message>{err['message']}</Message></Error>"
            ).encode()
            self._send_bytes(e.status, xml, "application/xml", {})

    def _schema(self, name: str) -> None:
        from . import reference

        product_type = name.removesuffix(".json")
        if product_type in reference.PRODUCT_TYPES:
            self._send(200, reference.product_type_schema(product_type))
        elif product_type == "meta-schema":
            self._send(200, {"$schema": "https://json-schema.org/draft/2019-09/schema"})
        else:
            self._send(404, error_list("NoSuchKey", "The specified key does not exist."))


def _match(method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
    path = raw_path.rstrip("/") or "/"
    path_matches = False
    for route in ROUTES:
        m = route.pattern.fullmatch(path)
        if m is None:
            continue
        path_matches = True
        if route.method == method:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    if path_matches:
        raise ApiError(405, "MethodNotAllowed", f"Method {method} is not allowed on this resource.")
    raise ApiError(404, "NotFound", "Resource not found.")


def _operation(
    sandbox: AmazonSandbox,
    name: str,
    seller: Any,
    params: dict[str, str],
    query: dict[str, list[str]],
    body: bytes,
) -> tuple[int, Any]:
    s = sandbox.service
    base = sandbox.base_url
    if name == "putListingsItem":
        return s.put_listings_item(seller, params["sellerId"], params["sku"], query, body)
    if name == "patchListingsItem":
        return s.patch_listings_item(seller, params["sellerId"], params["sku"], query, body)
    if name == "getListingsItem":
        return s.get_listings_item(seller, params["sellerId"], params["sku"], query, body)
    if name == "deleteListingsItem":
        return s.delete_listings_item(seller, params["sellerId"], params["sku"], query, body)
    if name == "createFeedDocument":
        return s.create_feed_document(seller, body, base)
    if name == "getFeedDocument":
        return s.get_feed_document(seller, params["documentId"], base)
    if name == "createFeed":
        return s.create_feed(seller, body)
    if name == "getFeed":
        return s.get_feed(seller, params["feedId"])
    if name == "cancelFeed":
        return s.cancel_feed(seller, params["feedId"])
    if name == "getOrders":
        return s.get_orders(seller, query)
    if name == "searchOrders":
        return s.search_orders(seller, query)
    if name == "getOrderItems":
        return s.get_order_items(seller, params["orderId"])
    if name == "confirmShipment":
        return s.confirm_shipment(seller, params["orderId"], body)
    if name == "searchDefinitionsProductTypes":
        return s.search_product_types(seller, query, base)
    if name == "getDefinitionsProductType":
        return s.get_product_type(seller, params["productType"], query, base)
    raise ApiError(404, "NotFound", "Resource not found.")


# --- /__sandbox/ control surface ------------------------------------------------------------------


def admin(
    sandbox: AmazonSandbox, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> tuple[int, Any]:
    """``/__sandbox/`` — health, state, listings, feeds, orders, requests, faults, config, reset,
    clock, expire-tokens, orders seeding (``POST orders {"count", "days"}``: plain orders over
    the last days) and generation (``GET|POST orders/generate``: realistic orders from the
    listings, ``{"count"}`` and/or generator settings, see ``orderfaker.handle_generate``).
    No auth, no limits, no faults."""
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
                return 200, handle_generate(
                    payload,
                    sandbox.generate_orders,
                    sandbox.configure_order_generator,
                    sandbox.order_generator.status,
                )
        if method == "GET":
            if head == "health":
                return 200, {"ok": True, "baseUrl": sandbox.base_url, "lwaUrl": sandbox.lwa_url}
            if head == "state":
                return 200, sandbox.state()
            if head == "listings":
                return 200, sandbox.products()
            if head == "feeds":
                return 200, sandbox.feeds()
            if head == "orders":
                return 200, sandbox.orders()
            if head == "requests":
                return 200, sandbox.request_log()
            if head == "faults":
                return 200, sandbox.faults.snapshot()
            if head == "config":
                return 200, sandbox.settings.as_dict()
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
            if head == "clock":
                return 200, {"now": sandbox.advance_clock(float(payload.get("advance", 0)))}
            if head == "expire-tokens":
                return 200, {"expired": sandbox.expire_tokens()}
            if head == "orders":
                return 200, {
                    "created": sandbox.seed_orders(
                        int(payload.get("count", 1)), days=float(payload.get("days", 10))
                    )
                }
        if method == "DELETE" and head == "faults":
            sandbox.clear_faults((query.get("endpoint") or [None])[0])
            return 200, sandbox.faults.snapshot()
    except (KeyError, ValueError, TypeError) as e:
        return 400, {"error": str(e)}
    return 404, {"error": f"no sandbox endpoint {method} /__sandbox/{'/'.join(parts)}"}
