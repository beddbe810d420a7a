"""HTTP layer: the three Hepsiburada hosts as path prefixes of one local server.

    /mpop/product/...  → catalog (MPOP)   prod https://mpop.hepsiburada.com/product
    /listing/...       → listing          prod https://listing-external.hepsiburada.com
    /oms/...           → orders (OMS)     prod https://oms-external.hepsiburada.com
    /__sandbox/...     → control surface (no auth, no limits; see admin.py)

Order per request: route (404/405) → Basic auth + registered User-Agent (401, in each host's own
shape) → merchant id in the path (401) → the host's rate limit (catalog 403, listing/OMS 429) →
injected faults → the service. Errors are answered in each host's documented shape: catalog a
Spring JSON error or a 200 ``{success:false,code,message}`` envelope; listing ``text/plain``
("Missing Credentials!" on 401); OMS an empty 401 and bare JSON strings otherwise.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import json
import re
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.common.http import DispatchHandler, SandboxServer
from sandbox.common.ratescale import scaled

from . import admin, reference
from .state import (
    OPEN,
    PACKAGED,
    TOO_MANY_UPLOADS,
    Merchant,
    page_count,
    parse_hb_local,
    public_line,
)

if TYPE_CHECKING:
    from .app import HepsiburadaSandbox

PREFIXES = {"catalog": "/mpop/product", "listing": "/listing", "oms": "/oms"}
_M = r"(?P<merchantId>[^/]+)"


@dataclass(frozen=True)
class Route:
    name: str
    host: str
    method: str
    pattern: re.Pattern[str]


def _r(name: str, host: str, method: str, path: str) -> Route:
    return Route(name, host, method, re.compile(path))


ROUTES: tuple[Route, ...] = (
    _r("categories", "catalog", "GET", r"/api/categories/get-all-categories"),
    _r("category_attributes", "catalog", "GET", r"/api/categories/(?P<categoryId>[^/]+)/attributes"),
    _r(
        "attribute_values",
        "catalog",
        "GET",
        r"/api/categories/(?P<categoryId>[^/]+)/attribute/(?P<attributeId>[^/]+)/values",
    ),
    _r("import", "catalog", "POST", r"/api/products/import"),
    _r("import_status", "catalog", "GET", r"/api/products/status/(?P<trackingId>[^/]+)"),
    _r("listings", "listing", "GET", rf"/listings/merchantid/{_M}"),
    _r("price_upload", "listing", "POST", rf"/listings/merchantid/{_M}/price-uploads"),
    _r("stock_upload", "listing", "POST", rf"/listings/merchantid/{_M}/stock-uploads"),
    _r("inventory_upload", "listing", "POST", rf"/listings/merchantid/{_M}/inventory-uploads"),
    _r("price_upload_result", "listing", "GET", rf"/listings/merchantid/{_M}/price-uploads/id/(?P<id>[^/]+)"),
    _r("stock_upload_result", "listing", "GET", rf"/listings/merchantid/{_M}/stock-uploads/id/(?P<id>[^/]+)"),
    _r(
        "inventory_upload_result",
        "listing",
        "GET",
        rf"/listings/merchantid/{_M}/inventory-uploads/id/(?P<id>[^/]+)",
    ),
    _r("orders", "oms", "GET", rf"/orders/merchantid/{_M}"),
    _r("cancelled", "oms", "GET", rf"/orders/merchantid/{_M}/cancelled"),
    _r("packages", "oms", "GET", rf"/packages/merchantid/{_M}"),
    _r("shipped", "oms", "GET", rf"/packages/merchantid/{_M}/shipped"),
    _r("delivered", "oms", "GET", rf"/packages/merchantid/{_M}/delivered"),
    _r("undelivered", "oms", "GET", rf"/packages/merchantid/{_M}/undelivered"),
    _r("create_package", "oms", "POST", rf"/packages/merchantid/{_M}"),
    _r("intransit", "oms", "POST", rf"/packages/merchantid/{_M}/packagenumber/(?P<packageNumber>[^/]+)/intransit"),
    _r("cancel_line", "oms", "POST", rf"/lineitems/merchantid/{_M}/id/(?P<lineId>[^/]+)/cancelbymerchant"),
)
UPLOAD_KINDS = {"price_upload": "price", "stock_upload": "stock", "inventory_upload": "inventory"}
STATUS_FEEDS = ("cancelled", "shipped", "delivered", "undelivered")
STATUS_FEED_LIMIT = 50  # order.json: "at most and by default 50"
PACKAGE_WINDOW = 24 * 3600  # /packages: begin/end windows longer than 24 h are cut to begin + 24 h


class Reply(Exception):
    """Answer at once: ``body`` is JSON-encoded unless ``text`` (sent as text/plain) is set."""

    def __init__(self, status: int, body: Any = None, *, text: str | None = None, headers: dict | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.text = text
        self.headers = headers or {}


# -- error shapes per host ------------------------------------------------------------------------


def spring_error(status: int, error: str, message: str, path: str) -> dict[str, Any]:
    return {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()), "status": status,
            "error": error, "message": message, "path": path}


def catalog_failure(code: int, message: str) -> Reply:
    """The catalog's business failure: HTTP 200 with ``success:false`` and a non-zero code."""
    return Reply(200, {"success": False, "code": code, "version": 1, "message": message, "data": None})


def host_error(host: str, status: int, message: str, path: str) -> Reply:
    if host == "catalog":
        reasons = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}
        return Reply(status, spring_error(status, reasons.get(status, "Error"), message, path))
    if host == "listing":
        return Reply(status, text=message)
    return Reply(status, message)  # OMS (Go): a bare JSON string


def unauthorized(host: str, path: str) -> Reply:
    if host == "catalog":
        return Reply(401, spring_error(401, "Unauthorized", "Full authentication is required", path))
    if host == "listing":
        return Reply(401, text="Missing Credentials!")
    return Reply(401)  # OMS: empty body


def throttled(host: str, path: str, limit: int, reset: float) -> Reply:
    if host == "catalog":
        # HB documents 403 (not 429) above 100 req/s on the catalog host; body unspecified.
        return Reply(403, spring_error(403, "Forbidden", "Access Denied", path))
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(max(1, round(reset))),
    }
    if host == "listing":
        return Reply(429, text="Too Many Requests", headers=headers)
    return Reply(429, "TooManyRequest", headers=headers)


# -- server -----------------------------------------------------------------------------------------


class SandboxHTTPServer(SandboxServer):
    def __init__(self, address: tuple[str, int], sandbox: HepsiburadaSandbox) -> None:
        super().__init__(address, sandbox, Handler)


class Handler(DispatchHandler):
    server: SandboxHTTPServer

    def _send(self, r: Reply) -> None:
        if r.text is not None:
            payload, ctype = r.text.encode("utf-8"), "text/plain; charset=utf-8"
        elif r.body is None:
            payload, ctype = b"", None
        else:
            payload, ctype = json.dumps(r.body, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
        self.send_response(r.status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in r.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

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
        path = unquote(url.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if path == "/__sandbox" or path.startswith("/__sandbox/"):
            status, reply = admin.handle(sandbox, self.command, path, query, body)
            self._send(Reply(status, reply))
            return
        entry: dict[str, Any] = {"at": time.time(), "method": self.command, "path": path,
                                 "endpoint": "unknown", "host": None, "merchantId": None, "status": None}
        action = "send"
        try:
            action, reply = self._serve(sandbox, path, query, body, entry)
        except Reply as r:
            reply = r
        except Exception:  # a sandbox bug answers like the service's own 500
            entry.update(status=500, error="sandbox exception")
            sandbox.store.log_request(entry)
            self._send(Reply(500, text="Internal Server Error"))
            raise
        entry["status"] = reply.status if action == "send" else action
        sandbox.store.log_request(entry)
        if action == "send":
            self._send(reply)
        else:  # "timeout": hold the connection, then close it unanswered
            sandbox.stop_event.wait(sandbox.settings.hang_seconds)
            self._drop()

    def _serve(self, sandbox: HepsiburadaSandbox, path: str, query: dict[str, list[str]], body: bytes,
               entry: dict[str, Any]) -> tuple[str, Reply]:
        host, rel = _split_host(path)
        route, params = _match(host, self.command, rel, path)
        entry.update(endpoint=route.name, host=host)
        merchant = _authenticate(sandbox, self.headers.get("Authorization"), self.headers.get("User-Agent"))
        if merchant is None:
            raise unauthorized(host, path)
        path_merchant = params.get("merchantId")
        if path_merchant is not None and path_merchant != merchant.merchant_id:
            raise unauthorized(host, path)
        entry["merchantId"] = merchant.merchant_id
        self._rate_limit(sandbox, host, merchant, path)

        decision = sandbox.faults.decide(route.name, host)
        if decision.reasons:
            entry["fault"] = list(decision.reasons)
        if decision.delay > 0 and sandbox.stop_event.wait(decision.delay):
            raise host_error(host, 503, "Service Unavailable", path)
        if decision.action == "timeout":
            return "timeout", Reply(0)
        if decision.action == "error":
            raise host_error(host, decision.status, "Internal Server Error", path)
        if decision.action == "throttle":
            raise throttled(host, path, 1, 1.0)

        store = sandbox.store
        with store.lock:
            store.settle()
            if host == "catalog":
                return "send", self._catalog(sandbox, route.name, merchant, params, query, body, entry)
            if host == "listing":
                return "send", self._listing(sandbox, route.name, merchant, params, query, body, entry, path)
            return "send", self._oms(sandbox, route.name, merchant, params, query, body, entry, path)

    def _rate_limit(self, sandbox: HepsiburadaSandbox, host: str, merchant: Merchant, path: str) -> None:
        s = sandbox.settings
        limit, window = {
            "catalog": (s.catalog_rate_limit, s.catalog_rate_window),
            "listing": (s.listing_rate_limit, s.listing_rate_window),
            "oms": (s.oms_rate_limit, s.oms_rate_window),
        }[host]
        limit = scaled(limit, s.rate_scale)
        key = (merchant.merchant_id, host)
        if host == "catalog" and key in sandbox.blocked:
            raise throttled(host, path, limit, window)
        ok, _remaining, reset = sandbox.limiter.allow(key, limit, window, time.monotonic())
        if ok:
            return
        if host == "catalog" and s.ip_block_after > 0:
            since = sandbox.limiter.over_since.get(key)
            if since is not None and time.monotonic() - since >= s.ip_block_after:
                sandbox.blocked.add(key)
        raise throttled(host, path, limit, reset)

    # -- catalog ---------------------------------------------------------------------------------

    def _catalog(self, sandbox, name, merchant, params, query, body, entry) -> Reply:
        store = sandbox.store
        if name == "categories":
            page, size = _int(query, "page", 0), _int(query, "size", 1000)
            if page is None or size is None or page < 0 or size < 1:
                return catalog_failure(400, "page ve size parametreleri geçersiz.")
            leaf = _first(query, "leaf", "true")
            status = _first(query, "status", "ACTIVE")
            available = _first(query, "available", "true")
            cats = [c for c in reference.CATEGORIES
                    if (leaf == "" or c.leaf == (leaf == "true"))
                    and (not status or c.status == status)
                    and (available == "" or c.available == (available == "true"))]
            chunk = cats[page * size:(page + 1) * size]
            total_pages = page_count(len(cats), size)
            return Reply(200, {"success": True, "code": 0, "version": 1, "message": None,
                               "totalElements": len(cats), "totalPages": total_pages, "number": page,
                               "numberOfElements": len(chunk), "first": page == 0,
                               "last": page >= total_pages - 1,
                               "data": [reference.category_dto(c) for c in chunk]})
        if name in ("category_attributes", "attribute_values"):
            try:
                cat = reference.category(int(params["categoryId"]))
            except ValueError:
                cat = None
            if cat is None or not cat.leaf or not cat.available:
                return catalog_failure(404, f"Kategori bulunamadı: {params['categoryId']}")
            if name == "category_attributes":
                groups = reference.attributes(cat.categoryId)
                return Reply(200, {"success": True, "code": 0, "version": 2, "message": None,
                                   "data": {k: [a.public() for a in v] for k, v in groups.items()}})
            attr = reference.attribute(cat.categoryId, params["attributeId"])
            if attr is None or attr.type != "enum":
                return catalog_failure(404, f"Özellik bulunamadı: {params['attributeId']}")
            page, size = _int(query, "page", 0) or 0, _int(query, "size", 1000) or 1000
            values = [{"id": f"{attr.id}-{i}", "value": v} for i, v in enumerate(attr.values)]
            chunk = values[page * size:(page + 1) * size]
            total_pages = page_count(len(values), size)
            return Reply(200, {"success": True, "code": 0, "version": 1, "message": None,
                               "totalElements": len(values), "totalPages": total_pages, "number": page,
                               "numberOfElements": len(chunk), "first": page == 0,
                               "last": page >= total_pages - 1, "data": chunk})
        if name == "import":
            items = _multipart_file(self.headers.get("Content-Type") or "", body)
            if items is None:
                return catalog_failure(400, "Dosya bulunamadı: multipart/form-data 'file' alanı zorunludur.")
            try:
                items = json.loads(items.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return catalog_failure(400, "Dosya geçerli bir JSON değil.")
            if not isinstance(items, list) or not items:
                return catalog_failure(400, "Dosya ürün bilgilerinden oluşan boş olmayan bir JSON dizisi olmalıdır.")
            limit = sandbox.settings.max_import_items
            if len(items) > limit:
                return catalog_failure(400, f"Bir dosyada en fazla {limit} ürün gönderilebilir. Gönderilen: {len(items)}")
            tracking_id = store.submit_import(merchant.merchant_id, items)
            entry["trackingId"] = tracking_id
            return Reply(200, {"success": True, "code": 0, "version": 1, "message": None,
                               "data": {"trackingId": tracking_id}})
        if name == "import_status":
            job = store.imports.get(params["trackingId"])
            if job is None or job["merchantId"] != merchant.merchant_id:
                return catalog_failure(404, f"trackingId bulunamadı: {params['trackingId']}")
            if job["results"] is None:
                rows = [{"itemOrderID": n, "merchant": merchant.merchant_id,
                         "merchantSku": (i.get("attributes") or {}).get("merchantSku") if isinstance(i, dict) else None,
                         "importStatus": "PROCESSING", "productStatus": None, "validationResults": [],
                         "importMessages": []} for n, i in enumerate(job["items"])]
            else:
                rows = job["results"]
            page, size = _int(query, "page", 0) or 0, _int(query, "size", 1000) or 1000
            chunk = rows[page * size:(page + 1) * size]
            total_pages = page_count(len(rows), size)
            return Reply(200, {"success": True, "code": 0, "version": 1, "message": None,
                               "totalElements": len(rows), "totalPages": total_pages, "number": page,
                               "numberOfElements": len(chunk), "first": page == 0,
                               "last": page >= total_pages - 1, "data": chunk})
        raise host_error("catalog", 404, "Not Found", name)

    # -- listing ---------------------------------------------------------------------------------

    def _listing(self, sandbox, name, merchant, params, query, body, entry, path) -> Reply:
        store = sandbox.store
        mid = merchant.merchant_id
        if name == "listings":
            offset, limit = _int(query, "offset", None), _int(query, "limit", None)
            if offset is None or limit is None or offset < 0 or limit < 1:
                raise host_error("listing", 400, "offset and limit are required.", path)
            rows = [x for (m, _), x in store.listings.items() if m == mid]
            skus = _csv(query, "merchantSkuList")
            hb = _csv(query, "hbSkuList")
            if len(skus) > 50 or len(hb) > 50:
                raise host_error("listing", 400, "At most 50 SKUs can be queried at once.", path)
            if skus:
                rows = [x for x in rows if x["merchantSku"] in skus]
            if hb:
                rows = [x for x in rows if x["hepsiburadaSku"] in hb]
            public = [{k: v for k, v in x.items() if k not in ("referencePrice", "updatedAt")} for x in rows]
            return Reply(200, {"listings": public[offset:offset + limit], "totalCount": len(rows),
                               "limit": limit, "offset": offset})
        if name in UPLOAD_KINDS:
            ctype = (self.headers.get("Content-Type") or "").lower()
            if "json" not in ctype:
                raise host_error("listing", 415, "Unsupported Media Type", path)
            try:
                items = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise host_error("listing", 400, "The request body is not valid JSON.", path) from None
            if not isinstance(items, list) or not items:
                raise host_error("listing", 400, "The request body must be a non-empty JSON array.", path)
            if len(items) > sandbox.settings.max_upload_items:
                raise host_error(
                    "listing", 400,
                    f"At most {sandbox.settings.max_upload_items} items can be uploaded at once.", path)
            if store.ongoing_uploads(mid) >= sandbox.settings.max_concurrent_uploads:
                entry["refused"] = "too many uploads"
                return Reply(200, {"id": None, "message": TOO_MANY_UPLOADS})
            upload_id = store.submit_upload(mid, UPLOAD_KINDS[name], items)
            entry["uploadId"] = upload_id
            return Reply(200, {"id": upload_id})
        if name.endswith("_upload_result"):
            kind = name[: -len("_upload_result")]
            job = store.uploads.get(params["id"])
            if job is None or job["merchantId"] != mid or job["kind"] != kind:
                return Reply(404)
            out = {k: job[k] for k in ("id", "status", "createdAt", "total", "errors")}
            if kind in ("price", "inventory"):
                out["priceValidations"] = job["priceValidations"]
            return Reply(200, out)
        raise host_error("listing", 404, "Not Found", path)

    # -- OMS -------------------------------------------------------------------------------------

    def _oms(self, sandbox, name, merchant, params, query, body, entry, path) -> Reply:
        store = sandbox.store
        mid = merchant.merchant_id
        if name == "orders":
            offset, limit = _int(query, "offset", None), _int(query, "limit", None)
            if offset is None or limit is None or offset < 0 or limit < 1:
                raise Reply(400, "Bad Request limit and offset parameters are required")
            limit = min(limit, sandbox.settings.max_order_limit)
            begin_text, end_text = _first(query, "begindate", ""), _first(query, "enddate", "")
            begin = parse_hb_local(begin_text) if begin_text else None
            end = parse_hb_local(end_text) if end_text else None
            if (begin_text and begin is None) or (end_text and end is None):
                rows = []  # HB silently answers nothing for dates not in "yyyy-MM-dd HH:mm"
            else:
                rows = store.open_lines(mid, begin, end)
            return Reply(200, {"items": [public_line(x) for x in rows[offset:offset + limit]], "limit": limit,
                               "offset": offset, "pageCount": page_count(len(rows), limit),
                               "totalCount": len(rows)})
        if name == "create_package":
            payload = _json(body)
            reqs = payload.get("lineItemRequests") if isinstance(payload, dict) else None
            if not isinstance(reqs, list) or not reqs:
                raise Reply(400, "lineItemRequests is required")
            lines = []
            for r in reqs:
                line = store.lines.get(str(r.get("id"))) if isinstance(r, dict) else None
                if line is None or line["merchantId"] != mid:
                    raise Reply(404, f"Line item not found: {r.get('id') if isinstance(r, dict) else r}")
                if line["status"] != OPEN:
                    raise Reply(400, f"Line item {line['id']} is not packageable (status {line['status']})")
                if r.get("quantity") != line["quantity"]:
                    raise Reply(400, f"Quantity of line item {line['id']} must be {line['quantity']}")
                lines.append(line)
            pkg = store.create_package(mid, lines, payload.get("parcelQuantity", 1), payload.get("deci"))
            number = pkg["packageNumber"]
            store.writes.append({"kind": "package", "id": number, "merchantId": mid, "count": len(lines)})
            return Reply(201, {"packageNumber": number, "barcode": pkg["barcode"]})
        if name in STATUS_FEEDS:
            # Declared in order.json, yet production answers 400 WrongDateFormat to any date
            # (marketplace-apis.md §2.5): these feeds can only be paged.
            if _first(query, "begindate", "") or _first(query, "enddate", ""):
                raise Reply(400, "WrongDateFormat")
            offset, limit = _int(query, "offset", 0), _int(query, "limit", STATUS_FEED_LIMIT)
            if offset is None or limit is None or offset < 0 or limit < 1:
                raise Reply(400, "offset and limit must be positive integers")
            limit = min(limit, STATUS_FEED_LIMIT)
            rows = store.cancelled_rows(mid) if name == "cancelled" else store.status_rows(mid, name)
            return Reply(200, {"items": rows[offset:offset + limit], "limit": limit, "offset": offset,
                               "pageCount": page_count(len(rows), limit), "totalCount": len(rows)})
        if name == "packages":
            limit, offset = _int(query, "limit", 10) or 10, _int(query, "Offset", 0) or 0
            if limit > sandbox.settings.max_package_limit:
                raise Reply(400, f"limit can be at most {sandbox.settings.max_package_limit}")
            begin_text, end_text = _first(query, "begindate", ""), _first(query, "enddate", "")
            if query.get("timespan") or not (begin_text or end_text):
                timespan = _int(query, "timespan", 24) or 24
                lo, hi = time.time() - timespan * 3600, float("inf")
            else:
                begin = parse_hb_local(begin_text) if begin_text else None
                end = parse_hb_local(end_text) if end_text else None
                if (begin_text and begin is None) or (end_text and end is None):
                    lo, hi = 1.0, 0.0  # like /orders: a date HB cannot read matches nothing
                elif begin is None:
                    hi = end.timestamp()  # type: ignore[union-attr]
                    lo = hi - PACKAGE_WINDOW
                else:
                    lo = begin.timestamp()
                    hi = min(end.timestamp() if end else lo + PACKAGE_WINDOW, lo + PACKAGE_WINDOW)
            pkgs = [p for p in store.packages.values()
                    if p["merchantId"] == mid and p["status"] == PACKAGED and lo <= p["packagedAt"] < hi]
            out = [_package_view(store, p) for p in pkgs[offset:offset + limit]]
            return Reply(200, out, headers={"pagecount": str(page_count(len(pkgs), limit))})
        if name == "intransit":
            pkg = store.packages.get(params["packageNumber"])
            if pkg is None or pkg["merchantId"] != mid:
                raise Reply(404, f"Package not found: {params['packageNumber']}")
            payload = _json(body)
            if not isinstance(payload, dict) or not payload.get("trackingNumber"):
                raise Reply(400, "trackingNumber is required")
            if pkg["status"] != PACKAGED:
                raise Reply(400, f"Package {pkg['packageNumber']} is {pkg['status']}, not Packaged")
            store.ship_package(pkg, payload["trackingNumber"], payload.get("trackingUrl"), payload.get("shippedDate"))
            store.writes.append({"kind": "intransit", "id": pkg["packageNumber"], "merchantId": mid, "count": 1})
            return Reply(200)
        if name == "cancel_line":
            line = store.lines.get(params["lineId"])
            if line is None or line["merchantId"] != mid:
                raise Reply(404, f"Line item not found: {params['lineId']}")
            payload = _json(body)
            reason = payload.get("reasonId") if isinstance(payload, dict) else None
            if not isinstance(reason, int) or isinstance(reason, bool):
                raise Reply(400, "reasonId is required")
            if line["status"] != OPEN:
                raise Reply(400, f"Line item {line['id']} cannot be cancelled (status {line['status']})")
            store.cancel_line(line, "Merchant", reason)
            store.writes.append({"kind": "cancel", "id": line["id"], "merchantId": mid, "count": 1})
            return Reply(200)
        raise Reply(404, "Not Found")


# -- helpers ---------------------------------------------------------------------------------------


def _package_view(store, pkg: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in pkg.items()
            if k not in ("id", "lineIds", "merchantId", "packagedAt") and not k.startswith("_")}
    view["items"] = [public_line(store.lines[i]) for i in pkg["lineIds"]]
    return view


def _split_host(path: str) -> tuple[str, str]:
    for host, prefix in PREFIXES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return host, path[len(prefix):].rstrip("/") or "/"
    raise Reply(404, text="Not Found")


def _match(host: str, method: str, rel: str, path: str) -> tuple[Route, dict[str, str]]:
    found = False
    for route in ROUTES:
        if route.host != host:
            continue
        m = route.pattern.fullmatch(rel)
        if m is None:
            continue
        found = True
        if route.method == method:
            return route, m.groupdict()
    if found:
        raise host_error(host, 405, "Method Not Allowed", path)
    if host == "listing" and "/merchantId/" in rel:
        # The listing service is case-sensitive here: /merchantId/ answers 400 (SDK README).
        raise host_error(host, 400, "Invalid path: use /merchantid/ (lower case).", path)
    raise host_error(host, 404, "Not Found", path)


def _authenticate(sandbox: HepsiburadaSandbox, authorization: str | None, user_agent: str | None) -> Merchant | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    for m in sandbox.merchants:
        if m.username == user and m.password == password:
            # The User-Agent must equal the registered integrator name exactly.
            return m if user_agent == m.user_agent else None
    return None


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    if "multipart/form-data" not in content_type.lower():
        return None
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True) or b""
    return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Reply(400, "request body is not valid JSON") from None


def _first(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[0] if values else default


def _int(query: dict[str, list[str]], name: str, default: int | None) -> int | None:
    values = query.get(name)
    if not values or values[0] == "":
        return default
    try:
        return int(values[0])
    except ValueError:
        return None


def _csv(query: dict[str, list[str]], name: str) -> list[str]:
    out: list[str] = []
    for v in query.get(name, []):
        out.extend(s.strip() for s in v.split(",") if s.strip())
    return out
