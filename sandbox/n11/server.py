"""HTTP layer: N11's paths on one host (``https://api.n11.com`` → ``http://127.0.0.1:<port>``), the
checks in the order a request meets them, fault injection, and the ``/__sandbox/`` control surface.

Order per request: route (404/405) → ``appkey``/``appsecret`` headers (``/ms/`` 401 JSON
``SellerApiUserUnauthorizedException``; ``/rest/`` and ``/cdn/`` 403 text/plain ``Authentication
failed``) → rate limit (429) → injected faults → the service.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.common.http import DispatchHandler, SandboxServer
from sandbox.common.ratescale import scaled

from . import reference
from .faults import ORDER_ENDPOINTS, WRITE_ENDPOINTS
from .state import CANCEL_REASONS, ORDER_STATUSES, RequestError

if TYPE_CHECKING:
    from .app import N11Sandbox

MS_UNAUTHORIZED = {
    "@type": "SellerApiUserUnauthorizedException",
    "message": "Apide doğrulama işlemi başarısız oldu.",
}
REST_UNAUTHORIZED = "Authentication failed"
# 429 bodies are UNKNOWN in the docs (§7): these shapes are the sandbox's ASSUMPTION.
MS_TOO_MANY = {"@type": "TooManyRequestsException", "message": "Too many requests"}
REST_TOO_MANY = {"code": 429, "message": "Too many requests"}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    pattern: re.Pattern[str]


def _route(name: str, method: str, path: str) -> Route:
    return Route(name, method, re.compile(path))


ROUTES: tuple[Route, ...] = (
    _route("product_create", "POST", r"/ms/product/tasks/product-create"),
    _route("product_update", "POST", r"/ms/product/tasks/product-update"),
    _route("price_stock", "POST", r"/ms/product/tasks/price-stock-update"),
    _route("product_delete", "POST", r"/ms/product/tasks/product-delete"),
    _route("task_details", "POST", r"/ms/product/task-details/page-query"),
    _route("product_query", "GET", r"/ms/product-query"),
    _route("categories", "GET", r"/cdn/categories"),
    _route("category_attributes", "GET", r"/cdn/category/(?P<categoryId>[^/]+)/attribute"),
    _route("shipment_packages", "GET", r"/rest/delivery/v1/shipmentPackages"),
    _route("order_update", "PUT", r"/rest/order/v1/update"),
    _route("split_combine", "POST", r"/rest/delivery/v1/splitCombinePackage"),
    _route("split_by_quantity", "POST", r"/rest/delivery/v1/splitPackageByQuantity"),
)


class Reply(Exception):
    def __init__(self, status: int, body: Any, content_type: str = "application/json") -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type


def _ms_error(status: int, exception: str, message: str) -> Reply:
    # ASSUMED: /ms/ validation errors use the same {"@type","message"} shape as its 401.
    return Reply(status, {"@type": exception, "message": message})


def _rest_error(status: int, message: str) -> Reply:
    # ASSUMED: /rest/ errors use the {"code","message"} shape of its success answers.
    return Reply(status, {"code": status, "message": message})


class SandboxHTTPServer(SandboxServer):
    def __init__(self, address: tuple[str, int], sandbox: N11Sandbox) -> None:
        super().__init__(address, sandbox, Handler)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


class Handler(DispatchHandler):
    server: SandboxHTTPServer

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        if content_type.startswith("text/"):
            payload = str(body).encode("utf-8")
            ctype = "text/plain;charset=UTF-8"
        else:
            payload = json.dumps(body, ensure_ascii=False, default=_json_default).encode("utf-8")
            ctype = "application/json;charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

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
            from . import admin

            status, reply = admin.handle(sandbox, self.command, path, query, body)
            self._send(status, reply)
            return
        entry: dict[str, Any] = {
            "at": sandbox.clock.ms(),
            "method": self.command,
            "path": path,
            "query": {k: v[0] if len(v) == 1 else v for k, v in query.items()},
            "endpoint": "unknown",
            "account": None,
            "status": None,
        }
        content_type = "application/json"
        try:
            action, status, reply = self._serve(sandbox, path, query, body, entry)
        except Reply as r:
            action, status, reply, content_type = "send", r.status, r.body, r.content_type
        except Exception:
            entry["status"] = 500
            sandbox.store.log_request(entry)
            self._send(500, {"@type": "InternalServerError", "message": "Internal Server Error"})
            raise
        entry["status"] = status
        sandbox.store.log_request(entry)
        if action == "send":
            self._send(status, reply, content_type)
        else:  # hang, then close without an answer
            sandbox.stop_event.wait(sandbox.settings.hang_seconds)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(
        self, sandbox: N11Sandbox, path: str, query: dict[str, list[str]], body: bytes, entry: dict[str, Any]
    ) -> tuple[str, int | str, Any]:
        route, params = _match(self.command, path)
        entry["endpoint"] = route.name
        ms = path.startswith("/ms/")

        account = sandbox.authenticate(self.headers.get("appkey"), self.headers.get("appsecret"))
        if account is None:
            if ms:
                raise Reply(401, MS_UNAUTHORIZED)
            raise Reply(403, REST_UNAUTHORIZED, "text/plain")
        entry["account"] = account.app_key

        settings = sandbox.settings
        if route.name == "shipment_packages":
            limit, window = settings.orders_rate_limit, settings.orders_rate_window
        else:
            limit, window = settings.rate_limit, settings.rate_window
        limit = scaled(limit, settings.rate_scale)
        if not sandbox.limiter.allow((account.app_key, route.name), limit, window, sandbox.clock.now()):
            entry["throttled"] = "limit"
            raise Reply(429, MS_TOO_MANY if ms else REST_TOO_MANY)

        decision = sandbox.faults.decide(route.name)
        if decision.reasons:
            entry["fault"] = list(decision.reasons)
        if decision.delay > 0 and sandbox.stop_event.wait(decision.delay):
            raise Reply(503, {"message": "Service Unavailable"})
        if decision.action == "timeout":
            return "hang", "timeout", None
        if decision.action == "error":
            raise Reply(decision.status, {"@type": "InternalServerError", "message": "Internal Server Error"})
        if decision.action == "throttle":
            raise Reply(429, MS_TOO_MANY if ms else REST_TOO_MANY)

        store = sandbox.store
        with store.lock:
            store.process_due()
            try:
                if route.name in WRITE_ENDPOINTS:
                    payload = _json_body(body, ms=True)
                    answer = store.submit(account.app_key, route.name, payload)
                    entry["taskId"] = answer["id"]
                    entry["taskStatus"] = answer["status"]
                    if answer["status"] == "IN_QUEUE":
                        store.process_due()  # a zero task_delay processes at once
                    return "send", 200, answer
                if route.name in ORDER_ENDPOINTS:
                    return "send", *_orders(sandbox, account.app_key, route.name, query, body)
                return "send", *_read(sandbox, account.app_key, route.name, params, query, body)
            except RequestError as e:
                raise Reply(e.status, e.body) from None


def _match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    rel = path.rstrip("/") or "/"
    path_matches = False
    for route in ROUTES:
        m = route.pattern.fullmatch(rel)
        if m is None:
            continue
        path_matches = True
        if route.method == method:
            return route, m.groupdict()
    if path_matches:
        raise Reply(405, {"message": "Method Not Allowed"})
    raise Reply(404, {"message": "Not Found"})


def _json_body(body: bytes, *, ms: bool) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError):
        if ms:
            raise _ms_error(
                400, "HttpMessageNotReadableException", "İstek gövdesi geçerli bir JSON değildir."
            ) from None
        raise _rest_error(400, "İstek gövdesi geçerli bir JSON değildir.") from None


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int_param(query: dict[str, list[str]], name: str, default: int | None, *, ms: bool) -> int | None:
    raw = _first(query, name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        message = f"{name} parametresi geçersiz: {raw}"
        raise (_ms_error(400, "BadRequestException", message) if ms else _rest_error(400, message)) from None


def _read(
    sandbox: N11Sandbox,
    app_key: str,
    name: str,
    params: dict[str, str],
    query: dict[str, list[str]],
    body: bytes,
) -> tuple[int, Any]:
    store = sandbox.store
    settings = sandbox.settings
    if name == "task_details":
        payload = _json_body(body, ms=True)
        if not isinstance(payload, dict) or "taskId" not in payload:
            raise _ms_error(400, "BadRequestException", "taskId alanı zorunludur.")
        pageable = payload.get("pageable") if isinstance(payload.get("pageable"), dict) else {}
        page, size = pageable.get("page", 0), pageable.get("size", 20)
        if not isinstance(page, int) or not isinstance(size, int) or page < 0 or size < 1:
            raise _ms_error(400, "BadRequestException", "pageable.page ve pageable.size geçersiz.")
        if size > settings.task_page_max:
            raise _ms_error(
                400, "BadRequestException", f"pageable.size en fazla {settings.task_page_max} olabilir."
            )
        task_id = payload["taskId"]
        if isinstance(task_id, str) and task_id.isdigit():
            task_id = int(task_id)
        return 200, store.task_details(app_key, task_id, page, size)
    if name == "product_query":
        page = _int_param(query, "page", 0, ms=True)
        size = _int_param(query, "size", 20, ms=True)
        if page < 0 or size < 1 or size > settings.product_page_max:
            raise _ms_error(
                400,
                "BadRequestException",
                f"page 0 veya büyük, size 1 ile {settings.product_page_max} arasında olmalıdır.",
            )
        stock_codes = query.get("stockCode") or []
        if len(stock_codes) > 1 or any("," in s for s in stock_codes):
            raise _ms_error(400, "BadRequestException", "stockCode parametresi tek bir değer almalıdır.")
        sender = (_first(query, "sender") or "SELLER").upper()
        rows = [p for (acct, _), p in store.products.items() if acct == app_key]
        filters = {
            "stockCode": _first(query, "stockCode"),
            "productMainId": _first(query, "productMainId"),
            "saleStatus": _first(query, "saleStatus"),
            "productStatus": _first(query, "productStatus"),
        }
        for field, value in filters.items():
            if value:
                rows = [p for p in rows if str(p.get(field)) == value]
        if sender not in ("SELLER", "ALL"):
            rows = [p for p in rows if p.get("sender") == sender]
        rows.sort(key=lambda p: p["n11ProductId"])
        total = len(rows)
        total_pages = (total + size - 1) // size
        content = [store.product_view(p) for p in rows[page * size : (page + 1) * size]]
        return 200, {
            "content": content,
            "totalElements": total,
            "totalPages": total_pages,
            "number": page,
            "size": size,
            "last": page >= total_pages - 1,
        }
    if name == "categories":
        return 200, reference.category_tree()
    if name == "category_attributes":
        try:
            category_id = int(params["categoryId"])
        except ValueError:
            category_id = -1
        doc = reference.attributes_document(category_id)
        if doc is None:
            raise _ms_error(404, "CategoryNotFoundException", f"Kategori bulunamadı: {params['categoryId']}")
        return 200, doc
    raise Reply(404, {"message": "Not Found"})


def _display_status(sandbox: N11Sandbox, status: str) -> str:
    if not sandbox.settings.status_noise:
        return status
    return {"Shipped": " Shipped", "Cancelled": "Canceled"}.get(status, status)


def _orders(
    sandbox: N11Sandbox, app_key: str, name: str, query: dict[str, list[str]], body: bytes
) -> tuple[int, Any]:
    store = sandbox.store
    settings = sandbox.settings
    if name == "shipment_packages":
        statuses = [s for v in query.get("status") or [] for s in v.split(",") if s.strip()]
        if len(statuses) > 1:
            raise _rest_error(400, "status parametresi tek bir değer almalıdır.")
        status = statuses[0].strip() if statuses else None
        if status is not None and status not in ORDER_STATUSES:
            raise _rest_error(400, f"Geçersiz status: {status}")
        page = _int_param(query, "page", 0, ms=False)
        size = _int_param(query, "size", settings.order_page_max, ms=False)
        if page < 0 or size < 1 or size > settings.order_page_max:
            raise _rest_error(400, f"size 1 ile {settings.order_page_max} arasında olmalıdır.")
        now = sandbox.clock.ms()
        window = int(settings.order_window_days * 86_400_000)
        start = _int_param(query, "startDate", None, ms=False)
        end = _int_param(query, "endDate", None, ms=False)
        # Window rules (CONFLICT in the docs; the sandbox follows developer.n11.com, Oct 2026):
        # only start → [start, start+window]; only end or both → at most `window` before end.
        if start is None and end is None:
            end, start = now, now - window
        elif end is None:
            end = start + window
        elif start is None or end - start > window:
            start = end - window
        by_modified = (_first(query, "orderByField") or "").lower() == "true"
        field = "lastModifiedDate" if by_modified else "createdDate"
        rows = [
            p
            for p in store.packages.values()
            if p["account"] == app_key
            and start <= p[field] <= end
            and (status is None or p["shipmentPackageStatus"] == status)
        ]
        order_number = _first(query, "orderNumber")
        if order_number:
            rows = [p for p in rows if p["orderNumber"] == order_number]
        package_ids = {x for v in query.get("packageIds") or [] for x in v.split(",") if x}
        if package_ids:
            rows = [p for p in rows if str(p["id"]) in package_ids]
        descending = (_first(query, "orderByDirection") or "ASC").upper() == "DESC"
        rows.sort(key=lambda p: (p["lastModifiedDate"], p["id"]), reverse=descending)
        total = len(rows)
        total_pages = (total + size - 1) // size
        content = []
        for p in rows[page * size : (page + 1) * size]:
            view = {k: v for k, v in json.loads(json.dumps(p)).items() if k != "account"}
            view["shipmentPackageStatus"] = _display_status(sandbox, p["shipmentPackageStatus"])
            for line in view["lines"]:
                line["orderItemLineItemStatusName"] = _display_status(
                    sandbox, line["orderItemLineItemStatusName"]
                )
            content.append(view)
        return 200, {
            "content": content,
            "totalElements": total,
            "totalPages": total_pages,
            "number": page,
            "size": size,
            "last": page >= total_pages - 1,
        }
    payload = _json_body(body, ms=False)
    if not isinstance(payload, dict):
        raise _rest_error(400, "İstek gövdesi bir nesne olmalıdır.")
    if name == "order_update":
        if payload.get("status") != "Picking":
            raise _rest_error(400, "Yalnızca Picking statüsü desteklenmektedir.")
        lines = payload.get("lines")
        if not isinstance(lines, list) or not lines:
            raise _rest_error(400, "lines alanı zorunludur.")
        results = []
        for item in lines:
            line_id = item.get("lineId") if isinstance(item, dict) else None
            found = store.package_of_line(app_key, line_id)
            if found is None:
                results.append({"lineId": line_id, "status": "FAIL", "reasons": "Sipariş kalemi bulunamadı."})
                continue
            package, line = found
            if line["orderItemLineItemStatusName"] == "Picking":
                results.append(
                    {"lineId": line_id, "status": "SUCCESS", "reasons": "Kalem zaten Picking durumunda."}
                )
                continue
            if line["orderItemLineItemStatusName"] != "Created":
                results.append(
                    {
                        "lineId": line_id,
                        "status": "FAIL",
                        "reasons": f"Kalem {line['orderItemLineItemStatusName']} durumunda; onaylanamaz.",
                    }
                )
                continue
            store.approve_line(app_key, package, line)
            results.append({"lineId": line_id, "status": "SUCCESS", "reasons": ""})
        return 200, {"content": results}
    if name == "split_combine":
        groups = payload.get("splitGroups")
        if not isinstance(groups, list) or not groups:
            raise _rest_error(400, "splitGroups alanı zorunludur.")
        ids = [i for g in groups if isinstance(g, dict) for i in (g.get("orderLineIds") or [])]
        found = [store.package_of_line(app_key, i) for i in ids]
        if not ids or any(f is None for f in found):
            raise _rest_error(400, "Sipariş kalemi bulunamadı.")
        packages = {f[0]["id"]: f[0] for f in found}
        if len(packages) != 1:
            raise _rest_error(400, "Kalemler aynı pakete ait olmalıdır.")
        package = next(iter(packages.values()))
        if package["shipmentPackageStatus"] != "Picking":
            raise _rest_error(400, "Yalnızca Picking durumundaki paketler bölünebilir.")
        if len(set(ids)) != len(ids):
            raise _rest_error(400, "Bir kalem birden fazla grupta olamaz.")
        remaining = [line for line in package["lines"] if line["orderLineId"] not in ids]
        new_groups = [
            [line for line in package["lines"] if line["orderLineId"] in (g.get("orderLineIds") or [])]
            for g in groups
        ]
        if remaining:
            new_groups.append(remaining)
        del store.packages[package["id"]]
        for lines in new_groups:
            store.next_package_id += 1
            clone = {
                **json.loads(json.dumps(package)),
                "id": store.next_package_id,
                "lines": lines,
                "lastModifiedDate": sandbox.clock.ms(),
            }
            store.packages[clone["id"]] = clone
        store._effect(
            "split", app_key, package["orderNumber"], [[x["orderLineId"] for x in g] for g in new_groups]
        )
        return 200, {"code": 200, "message": "success"}
    if name == "split_by_quantity":
        # Body per [SEC third-party client]: {"splitPackages":[{"packageDetails":[{orderLineId, quantities}]}],
        # "cancelledItems":[{orderLineId, quantity, cancelReasonId}]}. Only cancellation is simulated.
        cancelled = payload.get("cancelledItems") or []
        if not isinstance(cancelled, list) or not cancelled:
            raise _rest_error(400, "cancelledItems veya splitPackages alanı zorunludur.")
        results = []
        for item in cancelled:
            if not isinstance(item, dict):
                raise _rest_error(400, "cancelledItems listesindeki her eleman bir nesne olmalıdır.")
            if item.get("cancelReasonId") not in CANCEL_REASONS:
                raise _rest_error(400, "cancelReasonId 61, 62, 63, 64 veya 65 olmalıdır.")
            found = store.package_of_line(app_key, item.get("orderLineId"))
            if found is None:
                raise _rest_error(400, f"Sipariş kalemi bulunamadı: {item.get('orderLineId')}")
            package, line = found
            if line["orderItemLineItemStatusName"] != "Picking":
                raise _rest_error(400, "Yalnızca Picking durumundaki kalemler iptal edilebilir.")
            qty = item.get("quantity")
            if not isinstance(qty, int) or qty < 1 or qty > line["quantity"]:
                raise _rest_error(400, "quantity geçersiz.")
            results.append((package, line, qty, item["cancelReasonId"]))
        out = []
        for package, line, qty, reason in results:
            unit = line["sellerInvoiceAmount"] / line["quantity"] if line["quantity"] else 0
            store.next_line_id += 1
            cancelled_line = {
                **line,
                "orderLineId": store.next_line_id,
                "quantity": qty,
                "sellerInvoiceAmount": round(unit * qty, 2),
                "orderItemLineItemStatusName": "UnSupplied",
                "cancelReasonId": reason,
            }
            line["quantity"] -= qty
            line["sellerInvoiceAmount"] = round(unit * line["quantity"], 2)
            if line["quantity"] == 0:
                package["lines"].remove(line)
            store.next_package_id += 1
            unsupplied_id = store.next_package_id
            store.packages[unsupplied_id] = {
                **json.loads(json.dumps({k: v for k, v in package.items() if k != "lines"})),
                "id": unsupplied_id,
                "shipmentPackageStatus": "UnSupplied",
                "lastModifiedDate": sandbox.clock.ms(),
                "lines": [cancelled_line],
            }
            if package["lines"]:
                store.renumber(package)
            else:
                del store.packages[package["id"]]
            store._effect("cancel", app_key, line["orderLineId"], {"quantity": qty, "reason": reason})
            out.append(
                {
                    "orderNumber": package["orderNumber"],
                    "packageId": str(unsupplied_id),
                    "orderLineId": cancelled_line["orderLineId"],
                    "stockCode": line["stockCode"],
                    "quantity": qty,
                }
            )
        return 200, {"code": 200, "message": "success", "splitPackageOrderItems": out}
    raise Reply(404, {"message": "Not Found"})
