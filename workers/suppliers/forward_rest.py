"""Forwarding to a supplier's REST API: the forward document laid out as the supplier's JSON by a
configurable mapping, POSTed with an ``Idempotency-Key`` header (the supplier answers a repeated
key with the order it already created), and tracking read back from the supplier's order.

Retries of transient failures (timeouts, 5xx, dropped connections) happen in ``JsonHttp`` within a
short budget; past it the ``TransientError`` goes up to the worker runtime, which retries the
message later — always with the same key, so the supplier never sees two orders.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import requests

from workers.channels.errors import ChannelError, TransientError
from workers.http import JsonHttp, default_translate, response_json
from workers.suppliers.forward_settings import RestSettings
from workers.suppliers.forward_types import OutOfStockError, Sent, TrackingInfo


def get_path(data: Any, path: str) -> Any:
    """``a.b.c`` inside nested dicts; None where any step is missing."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        nxt = data.get(part)
        if not isinstance(nxt, dict):
            nxt = data[part] = {}
        data = nxt
    data[last] = value


def _resolve(source: Any, data: dict[str, Any]) -> Any:
    if isinstance(source, dict) and "const" in source:
        return source["const"]
    return get_path(data, str(source))


def _apply(mapping: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target, source in mapping.items():
        value = _resolve(source, data)
        if value is not None and value != "":  # an absent field is left out, not sent empty
            _set_path(out, target, value)
    return out


def map_order(document: dict[str, Any], settings: RestSettings) -> dict[str, Any]:
    """The supplier's JSON body for one forward document."""
    body = _apply(settings.body, document)
    _set_path(body, settings.lines_at, [_apply(settings.line, line) for line in document["lines"]])
    return body


def _auth_headers(auth: dict[str, str]) -> dict[str, str]:
    kind = auth.get("type", "none")
    if kind == "bearer":
        return {"Authorization": f"Bearer {auth['token']}"}
    if kind == "basic":
        token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if kind == "header":
        return {auth["name"]: auth["value"]}
    return {}


class RestSender:
    """One supplier's order API."""

    def __init__(self, settings: RestSettings, *, name: str = "supplier", session: requests.Session | None = None,
                 retry_budget: float | None = None) -> None:
        self.settings = settings
        self.http = JsonHttp(
            settings.base_url, session=session, headers=_auth_headers(settings.auth), translate=self._translate,
            read_timeout=settings.timeout, retry_budget=settings.timeout if retry_budget is None else retry_budget,
            backoff_max=2.0, secrets=settings.secrets(), name=f"supplier:{name}",
        )

    def send(self, document: dict[str, Any], idempotency_key: str) -> Sent:
        answer = self.http.post(self.settings.orders_path, json=map_order(document, self.settings),
                                headers={"Idempotency-Key": idempotency_key})
        remote_id = get_path(answer, self.settings.response["remote_id"]) if isinstance(answer, dict) else None
        if remote_id in (None, ""):
            # The order may exist on the supplier's side; the same key asks again and finds it.
            raise TransientError(f"the supplier's answer has no {self.settings.response['remote_id']};"
                                 " asking again with the same key")
        return Sent(remote_id=str(remote_id))

    def tracking(self, remote_id: str, reference: str) -> TrackingInfo | None:
        """The supplier's tracking of one order, or None while it has not shipped."""
        path = self.settings.tracking_path.format(remote_id=quote(remote_id, safe=""),
                                                  reference=quote(reference, safe=""))
        answer = self.http.get(path)
        if not isinstance(answer, dict):
            return None
        fields = self.settings.tracking
        number = get_path(answer, fields["tracking_number"])
        if not number:
            return None
        return TrackingInfo(carrier=str(get_path(answer, fields["carrier"]) or ""), tracking_number=str(number),
                            tracking_url=str(get_path(answer, fields["tracking_url"]) or ""))

    def _translate(self, response: requests.Response) -> ChannelError | None:
        rule = self.settings.out_of_stock
        statuses = {int(s) for s in (rule.get("status") or [])}
        if response.status_code in statuses:
            body = response_json(response)
            if isinstance(body, dict) and str(get_path(body, str(rule.get("field") or "error"))) in {
                    str(v) for v in rule.get("values") or []}:
                codes = get_path(body, str(rule.get("codes_field") or "codes")) or []
                err = OutOfStockError(str(body.get("message") or "out of stock"), response.status_code, "out_of_stock")
                err.codes = tuple(str(c) for c in codes) if isinstance(codes, list) else ()
                return err
        return default_translate(response)


__all__ = ["RestSender", "get_path", "map_order"]
