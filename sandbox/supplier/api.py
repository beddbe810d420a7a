"""A local supplier order/tracking API: what a dropshipping supplier's REST API does, so order
forwarding can be tested over real HTTP.

Contract (base URL ``http://host:port/api/v1``, ``Authorization: Bearer <token>``):

- ``POST /orders`` with an ``Idempotency-Key`` header and a JSON body
  ``{"reference", "shipTo": {"name", "phone", "address", "district", "city", "postcode", "country", …},
  "items": [{"code", "quantity", …}], …}`` → 201 ``{"orderId", "reference", "status": "received"}``.
  The same key again → 200 with the same order (header ``Idempotent-Replayed: true``), never a
  second order; the same key with a different body → 422 ``idempotency_key.reused``.
  A code configured out of stock → 409 ``{"error": "out_of_stock", "message", "codes"}``; a body
  that lacks required fields → 422 ``{"error": "validation", "message", "fields"}``; no key → 400.
- ``GET /orders/{orderId}`` and ``GET /orders/{orderId}/tracking`` → ``{"orderId", "status",
  "carrier", "trackingNumber", "trackingUrl"}``; tracking is null until the order ships — after
  ``tracking_delay`` seconds, or when ``POST /__sandbox/ship`` says so.

Control surface (no auth): ``GET /__sandbox/orders``, ``GET /__sandbox/requests``,
``POST /__sandbox/ship {"orderId", "carrier"?, "trackingNumber"?}``, ``POST /__sandbox/config``
(``out_of_stock``, ``tracking_delay``, ``hold_after_create``), ``POST /__sandbox/faults``
(``{"endpoint": "create_order" | "get_order" | "tracking" | "*", …FaultSpec}``), ``POST /__sandbox/reset``.

``hold_after_create`` makes the API store a new order and then keep the answer back that many
seconds: the moment a client crashes in, after the supplier has the order and before the client
knows it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import socket
import threading
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from sandbox.common.faults import FaultInjector
from sandbox.common.http import DispatchHandler, SandboxServer
from sandbox.common.lifecycle import ServedSandbox

BASE_PATH = "/api/v1"
DEFAULT_TOKEN = "sandbox-supplier-token"
DEFAULT_PORT = 8711
REQUIRED_SHIP_TO = ("name", "phone", "address", "city")

CARRIERS = (("Yurtiçi Kargo", "YK", "https://www.yurticikargo.com/tr/online-servisler/gonderi-sorgula?code={n}"),
            ("Aras Kargo", "AR", "https://www.araskargo.com.tr/kargotakip/?trackingNumber={n}"),
            ("MNG Kargo", "MN", "https://www.mngkargo.com.tr/kargotakip?trackingNumber={n}"))

_ORDER = re.compile(r"/orders/(?P<id>[^/]+)")
_TRACKING = re.compile(r"/orders/(?P<id>[^/]+)/tracking")


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class SupplierApiSandbox(ServedSandbox):
    """The supplier API on a background thread; ``port=0`` picks a free port."""

    thread_name = "supplier-api-sandbox"
    base_path = BASE_PATH

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str = DEFAULT_TOKEN,
                 out_of_stock: tuple[str, ...] | list[str] = (), tracking_delay: float | None = None,
                 hold_after_create: float = 0.0, name: str = "supplier", seed: int | None = None) -> None:
        self.host, self.port, self.token, self.name = host, port, token, name
        self.lock = threading.Lock()
        self.out_of_stock = set(out_of_stock)
        self.tracking_delay = tracking_delay
        self.hold_after_create = hold_after_create
        self.hang_seconds = 30.0
        self.faults = FaultInjector(seed=seed)
        self.stop_event = threading.Event()
        self._orders: dict[str, dict[str, Any]] = {}
        self._by_key: dict[str, str] = {}
        self._requests: list[dict[str, Any]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    # -- control and inspection -----------------------------------------------------------------
    def configure(self, **settings: Any) -> dict[str, Any]:
        with self.lock:
            if "out_of_stock" in settings:
                self.out_of_stock = {str(c) for c in settings.pop("out_of_stock") or ()}
            if "tracking_delay" in settings:
                delay = settings.pop("tracking_delay")
                self.tracking_delay = None if delay is None else float(delay)
            if "hold_after_create" in settings:
                self.hold_after_create = float(settings.pop("hold_after_create") or 0)
            if settings:
                raise ValueError(f"unknown setting(s): {', '.join(sorted(settings))}")
            return {"out_of_stock": sorted(self.out_of_stock), "tracking_delay": self.tracking_delay,
                    "hold_after_create": self.hold_after_create}

    def orders(self) -> list[dict[str, Any]]:
        """Every order the supplier holds, with its key, body, and how many times it was asked for."""
        with self.lock:
            return [copy.deepcopy(o) for o in self._orders.values()]

    def order(self, order_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._orders.get(order_id)
            return copy.deepcopy(found) if found else None

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._requests)

    def ship(self, order_id: str, carrier: str | None = None, tracking_number: str | None = None,
             tracking_url: str | None = None) -> dict[str, Any]:
        with self.lock:
            order = self._orders.get(order_id)
            if order is None:
                raise KeyError(f"no supplier order {order_id}")
            self._ship(order, carrier, tracking_number, tracking_url)
            return copy.deepcopy(order)

    def reset(self) -> None:
        with self.lock:
            self._orders.clear()
            self._by_key.clear()
            self._requests.clear()
        self.faults.reset()

    # -- the API --------------------------------------------------------------------------------
    def _ship(self, order: dict[str, Any], carrier: str | None, number: str | None, url: str | None) -> None:
        if order["status"] == "shipped":
            return
        seq = int(order["orderId"].rsplit("-", 1)[-1])
        name, prefix, pattern = CARRIERS[seq % len(CARRIERS)]
        number = number or f"{prefix}{seq:09d}"
        order.update(status="shipped", carrier=carrier or name, trackingNumber=number,
                     trackingUrl=url or pattern.format(n=number), shippedAt=time.time())

    def _tracking_view(self, order: dict[str, Any]) -> dict[str, Any]:
        if (order["status"] != "shipped" and self.tracking_delay is not None
                and time.time() - order["createdAt"] >= self.tracking_delay):
            self._ship(order, None, None, None)
        return {k: order.get(k) for k in ("orderId", "reference", "status", "carrier", "trackingNumber",
                                          "trackingUrl")}

    def create_order(self, key: str | None, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not key:
            raise _Reply(400, {"error": "idempotency_key.required", "message": "Idempotency-Key header is required"})
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _Reply(400, {"error": "invalid_json", "message": "request body is not JSON"}) from None
        if not isinstance(body, dict):
            raise _Reply(422, {"error": "validation", "message": "body must be an object", "fields": []})
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with self.lock:
            existing = self._by_key.get(key)
            if existing is not None:
                order = self._orders[existing]
                if order["bodyHash"] != digest:
                    raise _Reply(422, {"error": "idempotency_key.reused",
                                       "message": "this Idempotency-Key was used with a different order"})
                order["replays"] += 1
                return 200, self._answer(order), {"Idempotent-Replayed": "true"}
            fields = _invalid_fields(body)
            if fields:
                raise _Reply(422, {"error": "validation", "message": f"invalid or missing: {', '.join(fields)}",
                                   "fields": fields})
            short = [str(i["code"]) for i in body["items"] if str(i["code"]) in self.out_of_stock]
            if short:
                raise _Reply(409, {"error": "out_of_stock", "message": f"Stokta yok: {', '.join(short)}",
                                   "codes": short})
            order_id = f"SO-{len(self._orders) + 1:06d}"
            order = {"orderId": order_id, "reference": body.get("reference"), "idempotencyKey": key, "body": body,
                     "bodyHash": digest, "status": "received", "carrier": None, "trackingNumber": None,
                     "trackingUrl": None, "createdAt": time.time(), "replays": 0}
            self._orders[order_id] = order
            self._by_key[key] = order_id
            return 201, self._answer(order), {}

    @staticmethod
    def _answer(order: dict[str, Any]) -> dict[str, Any]:
        return {"orderId": order["orderId"], "reference": order["reference"], "status": order["status"]}

    def serve(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any, dict[str, str], float]:
        """(status, body, headers, seconds to hold the answer back after logging the request)."""
        if not path.startswith(BASE_PATH + "/"):
            raise _Reply(404, {"error": "not_found", "message": f"no such path {path}"})
        rel = path[len(BASE_PATH):].rstrip("/")
        if rel == "/orders":
            endpoint, expected = "create_order", "POST"
        elif _TRACKING.fullmatch(rel):
            endpoint, expected = "tracking", "GET"
        elif _ORDER.fullmatch(rel):
            endpoint, expected = "get_order", "GET"
        else:
            raise _Reply(404, {"error": "not_found", "message": f"no such path {path}"})
        if method != expected:
            raise _Reply(405, {"error": "method_not_allowed", "message": f"{method} not allowed here"})
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise _Reply(401, {"error": "unauthorized", "message": "missing or wrong API token"})
        decision = self.faults.decide(endpoint)
        if decision.delay > 0 and self.stop_event.wait(decision.delay):
            raise _Reply(503, {"error": "unavailable", "message": "shutting down"})
        if decision.action == "timeout":
            self.stop_event.wait(self.hang_seconds)  # the client's read timeout fires first
            raise _Drop("timeout")
        if decision.action == "drop":
            raise _Drop("dropped")
        if decision.action in ("error", "throttle"):
            status = 429 if decision.action == "throttle" else decision.status
            raise _Reply(status, {"error": "server_error", "message": "temporary failure, try again"})
        if endpoint == "create_order":
            status, body, extra = self.create_order(headers.get("Idempotency-Key"), raw)
        else:
            order_id = unquote((_TRACKING.fullmatch(rel) or _ORDER.fullmatch(rel)).group("id"))
            with self.lock:
                order = self._orders.get(order_id)
                if order is None:
                    raise _Reply(404, {"error": "not_found", "message": f"no order {order_id}"})
                status, body, extra = 200, self._tracking_view(order), {}
        if decision.lose_response:
            raise _Drop("lost_response")
        hold = self.hold_after_create if endpoint == "create_order" and status == 201 else 0.0
        return status, body, extra, hold

    def admin(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, {"error": "body is not JSON"}
        try:
            if path == "/__sandbox/orders" and method == "GET":
                return 200, {"orders": self.orders()}
            if path == "/__sandbox/requests" and method == "GET":
                return 200, {"requests": self.requests()}
            if path == "/__sandbox/ship" and method == "POST":
                return 200, self.ship(str(data["orderId"]), data.get("carrier"), data.get("trackingNumber"),
                                      data.get("trackingUrl"))
            if path == "/__sandbox/config" and method == "POST":
                return 200, self.configure(**data)
            if path == "/__sandbox/faults" and method == "POST":
                endpoint = data.pop("endpoint", "*")
                return 200, self.faults.set(endpoint, **data)
            if path == "/__sandbox/faults" and method == "DELETE":
                self.faults.clear()
                return 200, {}
            if path == "/__sandbox/reset" and method == "POST":
                self.reset()
                return 200, {}
        except KeyError as exc:
            return 404, {"error": str(exc)}
        except (TypeError, ValueError) as exc:
            return 400, {"error": str(exc)}
        return 404, {"error": f"no sandbox control {method} {path}"}


def _invalid_fields(body: dict[str, Any]) -> list[str]:
    fields = []
    if not isinstance(body.get("reference"), str) or not body["reference"].strip():
        fields.append("reference")
    ship = body.get("shipTo")
    if not isinstance(ship, dict):
        fields.append("shipTo")
    else:
        fields += [f"shipTo.{k}" for k in REQUIRED_SHIP_TO if not str(ship.get(k) or "").strip()]
    items = body.get("items")
    if not isinstance(items, list) or not items:
        fields.append("items")
    else:
        for n, item in enumerate(items):
            if not isinstance(item, dict) or not str(item.get("code") or "").strip():
                fields.append(f"items[{n}].code")
            elif not isinstance(item.get("quantity"), int) or isinstance(item.get("quantity"), bool) \
                    or item["quantity"] <= 0:
                fields.append(f"items[{n}].quantity")
    return fields


class _Drop(Exception):
    """Close the connection without an answer."""


class _Server(SandboxServer):
    def __init__(self, address: tuple[str, int], sandbox: SupplierApiSandbox) -> None:
        super().__init__(address, sandbox, _Handler)


class _Handler(DispatchHandler):
    server: _Server

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        path = unquote(urlsplit(self.path).path)
        if path.startswith("/__sandbox"):
            status, body = sandbox.admin(self.command, path, raw)
            self._send(status, body, {})
            return
        entry = {"at": time.time(), "method": self.command, "path": path,
                 "idempotencyKey": self.headers.get("Idempotency-Key"), "status": None}
        hold = 0.0
        try:
            status, body, extra, hold = sandbox.serve(self.command, path, self.headers, raw)
        except _Reply as r:
            status, body, extra = r.status, r.body, r.headers
        except _Drop as d:
            entry["status"] = str(d)
            self._log(entry)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        entry["status"] = status
        self._log(entry)  # logged before a held answer: the request did reach the supplier
        if hold > 0:
            sandbox.stop_event.wait(hold)
        self._send(status, body, extra)

    def _log(self, entry: dict[str, Any]) -> None:
        sandbox = self.server.sandbox
        with sandbox.lock:
            sandbox._requests.append(entry)
            del sandbox._requests[:-1000]

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client went away (it was killed, or timed out)


__all__ = ["DEFAULT_TOKEN", "SupplierApiSandbox"]


def main(argv: list[str] | None = None) -> int:
    import argparse

    from sandbox.common.lifecycle import wait_for_signal

    p = argparse.ArgumentParser(prog="python -m sandbox.supplier.api", description="local supplier order API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--token", default=DEFAULT_TOKEN)
    p.add_argument("--tracking-delay", type=float, default=None)
    args = p.parse_args(argv)
    with SupplierApiSandbox(args.host, args.port, token=args.token, tracking_delay=args.tracking_delay) as sb:
        print(f"supplier API sandbox listening on {sb.base_url}", flush=True)
        wait_for_signal()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


SupplierApiSandbox.server_class = _Server  # defined after the sandbox it serves
