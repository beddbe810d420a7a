"""A supplier's order-forwarding settings: the ``kervan_supplier.forward`` JSON column, read and
checked once, with a plain-words error for the merchant when it cannot be used.

Shape (every key but ``mode`` and the mode's own block is optional)::

    {
      "mode": "rest",                      # or "email"
      "trigger_status_ids": [2, 15],       # OpenCart order_status_id(s) that forward the order
      "rest": {
        "base_url": "https://api.supplier.example/v1",
        "orders_path": "/orders",          # POST, with an Idempotency-Key header
        "tracking_path": "/orders/{remote_id}/tracking",   # GET; {remote_id} and {reference}
        "auth": {"type": "bearer", "token": "…"},  # or basic (username, password), header (name, value), none
        "timeout": 15,
        "mapping": {                       # where each order field goes in the supplier's JSON
          "body": {"reference": "reference", "shipTo.phone": "ship_to.telephone", …},
          "lines_at": "items",
          "line": {"code": "supplier_code", "quantity": "quantity"}
        },
        "response": {"remote_id": "orderId"},
        "tracking": {"carrier": "carrier", "tracking_number": "trackingNumber", "tracking_url": "trackingUrl"},
        "out_of_stock": {"status": [409], "field": "error", "values": ["out_of_stock"], "codes_field": "codes"}
      },
      "email": {
        "to": "siparis@supplier.example", "from": "orders@shop.example",
        "subject": "Sipariş {reference}",
        "smtp": {"host": "127.0.0.1", "port": 25, "username": "", "password": "", "starttls": false,
                 "ssl": false, "timeout": 15}
      },
      "tracking": {"poll": true, "interval": 300}
    }

A mapping value is a dotted path into the forward document (see ``forward.build_document``) or
``{"const": value}``. Secrets (token, password) stay inside this object: ``__repr__`` omits them and
``secrets()`` lists them for scrubbing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MODES = ("rest", "email")

# The sandbox supplier's contract (sandbox/supplier/api.py), and a sensible start for a new one.
DEFAULT_BODY: dict[str, Any] = {
    "reference": "reference",
    "orderDate": "order_date",
    "currency": "currency",
    "shipTo.name": "ship_to.name",
    "shipTo.company": "ship_to.company",
    "shipTo.phone": "ship_to.telephone",
    "shipTo.email": "ship_to.email",
    "shipTo.address": "ship_to.address",
    "shipTo.district": "ship_to.city",
    "shipTo.city": "ship_to.zone",
    "shipTo.postcode": "ship_to.postcode",
    "shipTo.country": "ship_to.country_code",
    "note": "comment",
}
DEFAULT_LINE: dict[str, Any] = {
    "code": "supplier_code",
    "barcode": "barcode",
    "quantity": "quantity",
    "name": "name",
    "options": "options",
    "unitCost": "unit_cost",
    "lineRef": "line_ref",
}
DEFAULT_RESPONSE = {"remote_id": "orderId"}
DEFAULT_TRACKING = {"carrier": "carrier", "tracking_number": "trackingNumber", "tracking_url": "trackingUrl"}
DEFAULT_OUT_OF_STOCK = {"status": [409], "field": "error", "values": ["out_of_stock"], "codes_field": "codes"}


class ForwardSettingsError(ValueError):
    """The supplier's forward settings cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class RestSettings:
    base_url: str
    orders_path: str = "/orders"
    tracking_path: str = "/orders/{remote_id}/tracking"
    auth: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 15.0
    body: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_BODY))
    lines_at: str = "items"
    line: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LINE))
    response: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RESPONSE))
    tracking: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TRACKING))
    out_of_stock: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OUT_OF_STOCK))

    def secrets(self) -> list[str]:
        return [v for k, v in self.auth.items() if k in ("token", "password", "value") and v]


@dataclass(frozen=True)
class EmailSettings:
    to: tuple[str, ...]
    sender: str
    subject: str = "Sipariş {reference}"
    host: str = "127.0.0.1"
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    ssl: bool = False
    timeout: float = 15.0

    def secrets(self) -> list[str]:
        return [self.password] if self.password else []


@dataclass(frozen=True)
class ForwardSettings:
    mode: str
    trigger_status_ids: frozenset[int]
    rest: RestSettings | None = None
    email: EmailSettings | None = None
    poll_tracking: bool = True
    tracking_interval: float | None = None  # None: the fleet's [dropship] tracking_interval

    def secrets(self) -> list[str]:
        return (self.rest.secrets() if self.rest else []) + (self.email.secrets() if self.email else [])


def parse(raw: str | dict | None, default_triggers: frozenset[int] = frozenset({2, 15})) -> ForwardSettings | None:
    """The settings, or None when the supplier has none (it does not take forwarded orders)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ForwardSettingsError(f"forward settings are not valid JSON: {exc.msg} at character {exc.pos}") from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise ForwardSettingsError("forward settings must be a JSON object")
    if not data:
        return None
    mode = data.get("mode")
    if mode not in MODES:
        raise ForwardSettingsError(f"forward mode must be one of {', '.join(MODES)} (got {mode!r})")
    triggers = data.get("trigger_status_ids")
    try:
        trigger_ids = frozenset(int(x) for x in triggers) if triggers else default_triggers
    except (TypeError, ValueError):
        raise ForwardSettingsError("trigger_status_ids must be a list of OpenCart order status ids") from None
    tracking = data.get("tracking") or {}
    if not isinstance(tracking, dict):
        raise ForwardSettingsError("tracking must be an object")
    interval = tracking.get("interval")
    return ForwardSettings(
        mode=mode,
        trigger_status_ids=trigger_ids,
        rest=_rest(data.get("rest")) if mode == "rest" else None,
        email=_email(data.get("email")) if mode == "email" else None,
        poll_tracking=bool(tracking.get("poll", True)) and mode == "rest",
        tracking_interval=float(interval) if interval is not None else None,
    )


def _rest(block: Any) -> RestSettings:
    if not isinstance(block, dict) or not str(block.get("base_url") or "").startswith(("http://", "https://")):
        raise ForwardSettingsError("rest forwarding needs rest.base_url (an http:// or https:// address)")
    auth = block.get("auth") or {}
    kind = auth.get("type", "none") if isinstance(auth, dict) else None
    required = {"none": (), "bearer": ("token",), "basic": ("username", "password"), "header": ("name", "value")}
    if kind not in required:
        raise ForwardSettingsError("rest.auth.type must be none, bearer, basic or header")
    missing = [k for k in required[kind] if not auth.get(k)]
    if missing:
        raise ForwardSettingsError(f"rest.auth ({kind}) lacks {', '.join(missing)}")
    mapping = block.get("mapping") or {}
    if not isinstance(mapping, dict):
        raise ForwardSettingsError("rest.mapping must be an object")
    for name in ("body", "line"):
        part = mapping.get(name)
        if part is not None and (not isinstance(part, dict) or not part):
            raise ForwardSettingsError(f"rest.mapping.{name} must be a non-empty object of target → source")
    try:
        timeout = float(block.get("timeout") or 15)
    except (TypeError, ValueError):
        raise ForwardSettingsError("rest.timeout must be a number of seconds") from None
    return RestSettings(
        base_url=str(block["base_url"]).rstrip("/"),
        orders_path=str(block.get("orders_path") or "/orders"),
        tracking_path=str(block.get("tracking_path") or "/orders/{remote_id}/tracking"),
        auth={k: str(v) for k, v in auth.items()},
        timeout=timeout,
        body=dict(mapping.get("body") or DEFAULT_BODY),
        lines_at=str(mapping.get("lines_at") or "items"),
        line=dict(mapping.get("line") or DEFAULT_LINE),
        response={**DEFAULT_RESPONSE, **(block.get("response") or {})},
        tracking={**DEFAULT_TRACKING, **(block.get("tracking") or {})},
        out_of_stock={**DEFAULT_OUT_OF_STOCK, **(block.get("out_of_stock") or {})},
    )


def _email(block: Any) -> EmailSettings:
    if not isinstance(block, dict):
        raise ForwardSettingsError("e-mail forwarding needs an email block with to and from")
    to = block.get("to")
    to = [to] if isinstance(to, str) else list(to or [])
    if not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise ForwardSettingsError("email.to must be the supplier's e-mail address (or a list of them)")
    sender = block.get("from")
    if not isinstance(sender, str) or "@" not in sender:
        raise ForwardSettingsError("email.from must be the address orders are sent from")
    smtp = block.get("smtp") or {}
    if not isinstance(smtp, dict):
        raise ForwardSettingsError("email.smtp must be an object")
    try:
        port = int(smtp.get("port") or (465 if smtp.get("ssl") else 25))
        timeout = float(smtp.get("timeout") or 15)
    except (TypeError, ValueError):
        raise ForwardSettingsError("email.smtp.port and timeout must be numbers") from None
    return EmailSettings(
        to=tuple(to), sender=sender, subject=str(block.get("subject") or "Sipariş {reference}"),
        host=str(smtp.get("host") or "127.0.0.1"), port=port, username=str(smtp.get("username") or ""),
        password=str(smtp.get("password") or ""), starttls=bool(smtp.get("starttls")), ssl=bool(smtp.get("ssl")),
        timeout=timeout,
    )


__all__ = ["EmailSettings", "ForwardSettings", "ForwardSettingsError", "RestSettings", "parse"]
