"""N11 REST API client (marketplace-apis.md §3): product tasks, task results, product query,
categories, shipment packages and order actions.

Orders, neutrally: ``orders_changed_since`` walks shipmentPackages by last-modified date, one call
series per status (N11 takes one status per request) in ≤15-day windows; ``acknowledge_order`` is
the mandatory Picking approval; ``cancel_order_lines`` is ``splitPackageByQuantity`` with a cancel
reason. N11 documents no tracking upload (its contracted carriers report the hand-over themselves),
so there is no ``ship_order``.

Speaks HTTP and translates errors, nothing else: no OpenCart knowledge, no idea whether the base URL
is production (``https://api.n11.com`` — N11 has no sandbox of its own) or the local sandbox.

Every request carries the ``appkey`` and ``appsecret`` headers (no Authorization header). Product
writes are async *tasks* of at most 1000 SKUs: they return a task id whose per-SKU outcome
``task_result`` reports (``POST /ms/product/task-details/page-query``).

Error shapes (§3.1): a wrong key on ``/ms/…`` is a 401 JSON ``{"@type":
"SellerApiUserUnauthorizedException", "message": …}``; on ``/rest/…`` (and ``/cdn/…``) a 403
``text/plain`` ``Authentication failed``. Both become ``AuthError``. Any 429 is a
``ThrottledError`` (N11's 429 body is UNKNOWN, so it is never relied upon).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from workers.channels import base
from workers.channels.base import (
    ACKNOWLEDGE,
    ATTRIBUTES,
    BATCH_RESULT,
    CANCEL,
    CATEGORIES,
    CREATE,
    DELETE,
    FAILED,
    FIND,
    ORDERS,
    PRICE_STOCK,
    SUCCESS,
    UPDATE,
    BatchItem,
    BatchResult,
    Channel,
    OrderRef,
    Shipment,
)
from workers.channels.errors import (
    AuthError,
    BatchNotFound,
    ChannelError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from workers.http import JsonHttp, parse_retry_after, plain_session, response_json

PRODUCTION_URL = "https://api.n11.com"

MAX_BATCH = 1000  # SKUs per product task (create/update/delete/price-stock)
TASK_PAGE_SIZE = 1000  # pageable.size used on task-details/page-query
PRODUCT_PAGE_SIZE = 250  # max size of /ms/product-query
ORDER_PAGE_SIZE = 100  # max size of shipmentPackages
ORDER_WINDOW_MS = 15 * 86_400_000  # developer.n11.com: wider windows are silently clipped
ORDERS_PER_MINUTE = 1000  # the one documented N11 rate limit (shipmentPackages)
MAX_PAGES = 10_000  # a guard against a server that never reports the last page

ORDER_STATUSES = ("Created", "Picking", "Shipped", "Delivered", "Cancelled", "UnSupplied", "Unpacked")
# What orders_changed_since walks: every status but Unpacked, the husk a split leaves behind (its
# lines reappear in the new packages).
SYNC_STATUSES = ("Created", "Picking", "Shipped", "Delivered", "Cancelled", "UnSupplied")
CANCEL_REASONS = {61: "stock-out", 62: "defective", 63: "wrong price", 64: "force majeure", 65: "other"}
# base.CANCEL_REASONS → N11 cancelReasonId.
CANCEL_REASON_IDS = {"out_of_stock": 61, "defective": 62, "wrong_price": 63, "force_majeure": 64, "other": 65}
# N11 dates are "GMT+3 ms", which integrators read both as epoch ms and as Istanbul wall-clock ms;
# widening each poll by the offset keeps either reading inside the window (duplicates are harmless).
DATE_SLACK_MS = 3 * 3_600_000

# Rate-limiter operations (the middle part of ``n11:<operation>:<account>``).
OP_ORDERS = "orders"
OP_ORDER_ACTION = "order-action"
OP_PRODUCT_TASK = "product-task"
OP_TASK_DETAILS = "task-details"
OP_PRODUCT_QUERY = "product-query"
OP_CATEGORIES = "categories"


# -- error translation ---------------------------------------------------------------------------


def _message(body: Any, response: requests.Response) -> tuple[str, str | None]:
    """(message, code) out of N11's shapes: ``{"@type","message"}`` (/ms), ``{"code","message"}``
    (/rest), ``{"reasons":[..]}`` (tasks), a text/plain body, or nothing."""
    if isinstance(body, dict):
        code = body.get("@type") or body.get("errorCode") or body.get("error")
        messages = []
        if isinstance(body.get("message"), str) and body["message"]:
            messages.append(body["message"])
        reasons = body.get("reasons")
        if isinstance(reasons, list):
            messages += [str(r) for r in reasons if r not in (None, "") and str(r) not in messages]
        return "; ".join(messages), str(code) if code else None
    if body is None and response.text:
        return response.text.strip()[:300], None
    return "", None


def translate_error(response: requests.Response) -> ChannelError | None:
    """N11 response → None (success) or the matching ``ChannelError`` subclass."""
    status = response.status_code
    body = response_json(response)
    if 200 <= status < 300:
        # /rest/ answers carry {"code", "message"}; a body code ≥ 400 is a failure in a 200 (defensive).
        code = body.get("code") if isinstance(body, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
            message, _ = _message(body, response)
            return PermanentError(message or f"N11 code {code}", status, str(code))
        return None
    message, code = _message(body, response)
    fallback = response.reason or f"HTTP {status}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return ThrottledError(message or "Too many requests", status, "too.many.requests", retry_after)
    if status in (401, 403):
        return AuthError(message or fallback, status, code)
    if status >= 500 or status in (408, 425):
        return TransientError(message or fallback, status, code, retry_after)
    if status == 404:
        return NotFoundError(message or fallback, status, code)
    return PermanentError(message or fallback, status, code)


def normalize_status(value: Any) -> str | None:
    """N11 statuses may carry leading spaces (``" Shipped"``) and spell Cancelled two ways."""
    if value is None:
        return None
    text = str(value).strip()
    folded = text.casefold()
    if folded in ("canceled", "cancelled"):
        return "Cancelled"
    for known in ORDER_STATUSES:
        if folded == known.casefold():
            return known
    return text


# -- a per-operation limiter ------------------------------------------------------------------------


class N11Limits:
    """Routes a rate key ``n11:<operation>:<account>`` to the limiter configured for that operation
    (``default`` for the others, None = no limit). Satisfies ``workers.http.Limiter``."""

    def __init__(self, limiters: Mapping[str, Any], default: Any = None) -> None:
        self.limiters = dict(limiters)
        self.default = default

    def _for(self, key: str) -> Any:
        parts = key.split(":")
        op = parts[1] if len(parts) >= 3 else ""
        return self.limiters.get(op, self.default)

    def acquire(self, key: str, max_wait: float = 30.0) -> float:
        limiter = self._for(key)
        return limiter.acquire(key, max_wait) if limiter is not None else 0.0

    def penalize(self, key: str, seconds: float) -> float:
        limiter = self._for(key)
        return limiter.penalize(key, seconds) if limiter is not None else 0.0


def fleet_limits(
    redis_client: Any, prefix: str, *, orders_per_minute: int = ORDERS_PER_MINUTE, orders_period: float = 60.0,
    scale: float = 1.0,
) -> N11Limits:
    """The documented N11 limits on the shared Redis limiter: shipmentPackages ``orders_per_minute``
    per ``orders_period`` with burst 1 (never more than the limit in any sliding window). Other
    operations have no documented limit and are not limited (429s still slow their key down).
    ``scale`` multiplies the rate (``[ratelimit] scale``)."""
    from workers.ratelimit import RateLimiter

    orders = RateLimiter(redis_client, prefix, orders_per_minute, orders_period, burst=1, name="n11-orders",
                         scale=scale)
    return N11Limits({OP_ORDERS: orders})


# -- the client ---------------------------------------------------------------------------------------


class N11Client(Channel):
    """One N11 seller account.

    ``limiter`` (optional) is a shared limiter (``workers.ratelimit.RateLimiter`` or ``N11Limits``,
    see ``fleet_limits``); keys are ``n11:<operation>:<account>`` where ``account`` defaults to a
    short hash of the app key (the key itself never reaches Redis or the logs). ``timeout`` is the
    read timeout; ``retry_budget`` bounds the seconds one call may spend retrying transient errors.
    """

    code = "n11"
    capabilities = frozenset(
        {
            CREATE,
            UPDATE,
            DELETE,
            PRICE_STOCK,
            BATCH_RESULT,
            FIND,
            CATEGORIES,
            ATTRIBUTES,
            ORDERS,
            ACKNOWLEDGE,
            CANCEL,
        }
    )
    MAX_BATCH = MAX_BATCH

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        integrator: str = "Kervan",
        account: str | None = None,
        session: requests.Session | None = None,
        limiter: Any = None,
        timeout: float = 15.0,
        retry_budget: float = 20.0,
        breaker: Any = None,
    ) -> None:
        if not app_key or not app_secret:
            raise ValueError("app_key and app_secret are required")
        if not integrator or not integrator.strip():
            raise ValueError("integrator is required (N11 needs payload.integrator on every product task)")
        self.base_url = base_url.rstrip("/")
        self.integrator = integrator
        self.account = account or hashlib.sha256(app_key.encode("utf-8")).hexdigest()[:12]
        self._own_session = session is None
        self.http = JsonHttp(
            self.base_url,
            session=session if session is not None else plain_session(),
            headers={
                "appkey": app_key,
                "appsecret": app_secret,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            translate=translate_error,
            limiter=limiter,
            breaker=breaker,
            read_timeout=timeout,
            retry_budget=retry_budget,
            secrets=(app_key, app_secret),
            name="n11",
        )

    def __repr__(self) -> str:  # never credentials
        return f"N11Client(account={self.account}, {self.base_url})"

    def close(self) -> None:
        if self._own_session:
            self.http.session.close()

    # -- helpers ------------------------------------------------------------------------------

    def _rate_key(self, operation: str) -> str:
        return f"n11:{operation}:{self.account}"

    @staticmethod
    def _check_items(items: Sequence[Any]) -> list[Any]:
        if isinstance(items, (str, bytes, dict)):
            raise TypeError("items must be a sequence of items")
        items = list(items)
        if not items:
            raise ValueError("no items to send")
        if len(items) > MAX_BATCH:
            raise ValueError(f"{len(items)} SKUs: N11 accepts at most {MAX_BATCH} per task; chunk them")
        return items

    def _task(self, path: str, skus: list[Any]) -> str:
        body = self.http.post(
            path,
            json={"payload": {"integrator": self.integrator, "skus": skus}},
            rate_key=self._rate_key(OP_PRODUCT_TASK),
        )
        if not isinstance(body, dict) or body.get("id") in (None, ""):
            raise PermanentError("N11 answered without a task id", None, "no.task.id")
        if str(body.get("status") or "").upper() == "REJECT":
            reasons = [str(r) for r in body.get("reasons") or [] if r not in (None, "")]
            raise PermanentError("; ".join(reasons) or "N11 rejected the task", None, "task.rejected")
        return str(body["id"])

    # -- product tasks (async; each returns the task id) --------------------------------------------

    def create_products(self, skus: Sequence[dict[str, Any]]) -> str:
        """``POST /ms/product/tasks/product-create`` (type PRODUCT_CREATE)."""
        return self._task("ms/product/tasks/product-create", self._check_items(skus))

    def update_products(self, skus: Sequence[dict[str, Any]]) -> str:
        """``POST /ms/product/tasks/product-update``, keyed by stockCode (vatRate required)."""
        return self._task("ms/product/tasks/product-update", self._check_items(skus))

    def delete_products(self, stock_codes: Sequence[str]) -> str:
        """``POST /ms/product/tasks/product-delete``."""
        return self._task(
            "ms/product/tasks/product-delete", [{"stockCode": c} for c in self._check_items(stock_codes)]
        )

    def update_price_stock(self, items: Sequence[dict[str, Any]]) -> str:
        """``POST /ms/product/tasks/price-stock-update`` (type SKU_UPDATE): ``stockCode`` plus only what
        changes (listPrice and salePrice together, at most 2 decimals). ≤1000 items; see
        ``update_price_stock_chunked`` for more."""
        return self._task("ms/product/tasks/price-stock-update", self._check_items(items))

    def update_price_stock_chunked(self, items: Iterable[dict[str, Any]]) -> list[str]:
        """Any number of price/stock items, in tasks of 1000; returns the task ids in order."""
        items = list(items)
        if not items:
            raise ValueError("no items to send")
        return [self.update_price_stock(items[i : i + MAX_BATCH]) for i in range(0, len(items), MAX_BATCH)]

    # -- task results ---------------------------------------------------------------------------------

    def task_result(self, task_id: str | int) -> BatchResult:
        """The task's status and every SKU's outcome (all pages of ``task-details/page-query``).
        Raises ``BatchNotFound`` for a task id N11 does not know."""
        if task_id in (None, ""):
            raise ValueError("task_id is required")
        tid: Any = int(task_id) if str(task_id).isdigit() else str(task_id)
        pages: list[dict[str, Any]] = []
        page = 0
        while page < MAX_PAGES:
            try:
                body = self.http.post(
                    "ms/product/task-details/page-query",
                    json={"taskId": tid, "pageable": {"page": page, "size": TASK_PAGE_SIZE}},
                    rate_key=self._rate_key(OP_TASK_DETAILS),
                )
            except NotFoundError as exc:
                raise BatchNotFound(exc.message, exc.status, exc.code) from None
            if not isinstance(body, dict):
                raise PermanentError("unexpected task-details body", None, "bad.task.body")
            pages.append(body)
            skus = body.get("skus") if isinstance(body.get("skus"), dict) else {}
            total_pages = skus.get("totalPages")
            page += 1
            if not skus.get("content") or not isinstance(total_pages, int) or page >= total_pages:
                break
        return parse_task(pages, str(task_id))

    def batch_result(self, batch_id: str) -> BatchResult:
        return self.task_result(batch_id)

    def wait_task(self, task_id: str | int, timeout: float = 60.0, interval: float = 0.5) -> BatchResult:
        """Poll ``task_result`` until done or ``timeout`` seconds passed (returns the last state)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.task_result(task_id)
            if result.done or time.monotonic() >= deadline:
                return result
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    # -- product query --------------------------------------------------------------------------------

    def iter_products(
        self, *, page_size: int = PRODUCT_PAGE_SIZE, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``GET /ms/product-query`` (one row per SKU), walking pages until an empty or
        last one. ``filters``: stockCode, productMainId, saleStatus, productStatus, sender."""
        size = max(1, min(int(page_size), PRODUCT_PAGE_SIZE))
        page = 0
        while page < MAX_PAGES:
            params = {k: v for k, v in filters.items() if v is not None}
            params.update(page=page, size=size)
            body = self.http.get("ms/product-query", params=params, rate_key=self._rate_key(OP_PRODUCT_QUERY))
            content = body.get("content") if isinstance(body, dict) else body
            rows = [r for r in content or [] if isinstance(r, dict)]
            yield from rows
            page += 1
            total_pages = body.get("totalPages") if isinstance(body, dict) else None
            last = body.get("last") if isinstance(body, dict) else None
            if not rows or last is True or (isinstance(total_pages, int) and page >= total_pages):
                return

    def find_products(self, stock_codes: Iterable[str]) -> list[dict[str, Any]]:
        """What N11 holds for these stock codes (one query per code: the filter takes a single value);
        absent codes are simply missing."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for code in stock_codes:
            if not code or code in seen:
                continue
            seen.add(code)
            for row in self.iter_products(stockCode=code, page_size=10):
                if row.get("stockCode") == code:
                    out.append(row)
                    break
        return out

    def find_listings(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        return self.find_products(keys)

    # -- reference data -------------------------------------------------------------------------------

    def category_tree(self) -> list[dict[str, Any]]:
        """Root categories with nested ``subCategories`` (``None`` on leaves; only leaves take products)."""
        body = self.http.get("cdn/categories", rate_key=self._rate_key(OP_CATEGORIES))
        if isinstance(body, dict):
            body = body.get("categories") or body.get("content")
        return list(body or [])

    def category_attributes(self, category_id: int) -> dict[str, Any]:
        """``{id, name, categoryAttributes: [{attributeId, attributeName, isMandatory, isVariant,
        isSlicer, isCustomValue, attributeValues: [{id, value}]}]}``."""
        body = self.http.get(
            f"cdn/category/{int(category_id)}/attribute", rate_key=self._rate_key(OP_CATEGORIES)
        )
        return body if isinstance(body, dict) else {"categoryAttributes": list(body or [])}

    def brand_by_name(self, name: str, category_id: int | None = None) -> list[dict[str, Any]]:
        """N11 has no brand endpoint: brands are the values of attribute 1 ("Marka") of a category.
        Without ``category_id`` nothing can be looked up and ``[]`` is returned; with it, the values
        whose name matches case-insensitively, as ``[{id, name}]``."""
        if category_id is None:
            return []
        doc = self.category_attributes(category_id)
        wanted = name.strip().casefold()
        for attr in doc.get("categoryAttributes") or []:
            if attr.get("attributeId") == 1:
                return [
                    {"id": v.get("id"), "name": v.get("value")}
                    for v in attr.get("attributeValues") or []
                    if str(v.get("value", "")).strip().casefold() == wanted
                ]
        return []

    # -- orders -----------------------------------------------------------------------------------------

    def iter_packages(
        self,
        start_ms: int,
        end_ms: int,
        status: str | None = None,
        *,
        by_last_modified: bool = True,
        page_size: int = ORDER_PAGE_SIZE,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Shipment packages in ``[start_ms, end_ms]`` (epoch ms) with ONE status (or all), walking
        every page of every ≤15-day sub-window (N11 silently clips wider windows). Package and line
        statuses are normalized (trimmed, "Canceled" → "Cancelled"). ``filters``: orderNumber,
        packageIds, sender."""
        if status is not None and ("," in status or normalize_status(status) not in ORDER_STATUSES):
            raise ValueError(f"one N11 package status per call, one of {', '.join(ORDER_STATUSES)}")
        if end_ms < start_ms:
            raise ValueError("end_ms is before start_ms")
        size = max(1, min(int(page_size), ORDER_PAGE_SIZE))
        window_start = int(start_ms)
        while window_start <= end_ms:
            window_end = min(int(end_ms), window_start + ORDER_WINDOW_MS)
            page = 0
            while page < MAX_PAGES:
                params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
                params.update(
                    startDate=window_start,
                    endDate=window_end,
                    page=page,
                    size=size,
                    orderByDirection="ASC",
                )
                if by_last_modified:
                    params["orderByField"] = "true"
                if status is not None:
                    params["status"] = normalize_status(status)
                body = self.http.get(
                    "rest/delivery/v1/shipmentPackages", params=params, rate_key=self._rate_key(OP_ORDERS)
                )
                content = body.get("content") if isinstance(body, dict) else body
                rows = [r for r in content or [] if isinstance(r, dict)]
                for row in rows:
                    yield _normalize_package(row)
                page += 1
                total_pages = body.get("totalPages") if isinstance(body, dict) else None
                last = body.get("last") if isinstance(body, dict) else None
                if not rows or last is True or (isinstance(total_pages, int) and page >= total_pages):
                    break
            if window_end >= end_ms:
                return
            window_start = window_end + 1

    def list_orders(
        self, start_ms: int, end_ms: int, statuses: Sequence[str] | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        """Packages for each status in ``statuses`` (one call series per status, as N11 requires),
        or all statuses when None."""
        out: list[dict[str, Any]] = []
        for status in statuses or [None]:
            out.extend(self.iter_packages(start_ms, end_ms, status, **kw))
        return out

    def approve_lines(self, line_ids: Sequence[int | str]) -> list[BatchItem]:
        """Move order lines to Picking (``PUT /rest/order/v1/update``; mandatory, else "late
        shipment"). Returns one ``BatchItem`` per line (key = lineId)."""
        ids = self._check_items(line_ids)
        body = self.http.put(
            "rest/order/v1/update",
            json={"lines": [{"lineId": int(i) if str(i).isdigit() else i} for i in ids], "status": "Picking"},
            rate_key=self._rate_key(OP_ORDER_ACTION),
        )
        content = body.get("content") if isinstance(body, dict) else body
        items = []
        for row in content or []:
            if not isinstance(row, dict):
                continue
            reasons = row.get("reasons")
            reasons = [reasons] if isinstance(reasons, str) else list(reasons or [])
            status = str(row.get("status") or "").upper()
            items.append(
                BatchItem(
                    key=str(row.get("lineId")),
                    status=SUCCESS if status == SUCCESS else FAILED,
                    reasons=[str(r) for r in reasons if r not in (None, "")] if status != SUCCESS else [],
                    request_item=row,
                )
            )
        return items

    def split_package(self, groups: Sequence[Sequence[int]]) -> dict[str, Any]:
        """Split a Picking package into groups of order lines (``splitCombinePackage``); package ids
        change afterwards, so re-read by orderNumber."""
        groups = self._check_items(groups)
        body = self.http.post(
            "rest/delivery/v1/splitCombinePackage",
            json={"splitGroups": [{"orderLineIds": [int(i) for i in g]} for g in groups]},
            rate_key=self._rate_key(OP_ORDER_ACTION),
        )
        return body if isinstance(body, dict) else {}

    def cancel_lines(self, items: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
        """Cancel (unsupply) quantities of Picking lines: ``[(orderLineId, quantity, cancelReasonId)]``
        with reasons 61 stock-out, 62 defective, 63 wrong price, 64 force majeure, 65 other
        (``POST /rest/delivery/v1/splitPackageByQuantity``; body shape per a third-party client)."""
        items = self._check_items(items)
        for _line, qty, reason in items:
            if reason not in CANCEL_REASONS:
                raise ValueError(f"cancel reason {reason} is not one of {sorted(CANCEL_REASONS)}")
            if int(qty) < 1:
                raise ValueError("quantity must be at least 1")
        body = self.http.post(
            "rest/delivery/v1/splitPackageByQuantity",
            json={
                "cancelledItems": [
                    {"orderLineId": int(line), "quantity": int(qty), "cancelReasonId": int(reason)}
                    for line, qty, reason in items
                ]
            },
            rate_key=self._rate_key(OP_ORDER_ACTION),
        )
        return body if isinstance(body, dict) else {}

    # -- neutral order operations ----------------------------------------------------------------------

    def orders_changed_since(
        self, since: datetime, until: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every shipment package modified in ``[since, until]`` (until: now): one last-modified
        ordered call series per status in ``SYNC_STATUSES``, each walked through every page of every
        ≤15-day window. The window is widened by N11's 3-hour offset on both ends."""
        start_ms = _epoch_ms(since)
        end_ms = _epoch_ms(until) if until is not None else _epoch_ms(datetime.now(UTC))
        if end_ms < start_ms:
            raise ValueError("until is before since")
        for status in SYNC_STATUSES:
            yield from self.iter_packages(
                start_ms - DATE_SLACK_MS, end_ms + DATE_SLACK_MS, status, by_last_modified=True
            )

    def acknowledge_order(self, ref: OrderRef) -> list[BatchItem]:
        """Approve ``ref.lines`` (Picking; mandatory on N11, else the order counts as shipped late).
        Lines already in Picking count as approved, so repeating is safe. Raises ``PermanentError``
        with N11's reasons when any line is refused."""
        ids = _line_ids(ref)
        items = self.approve_lines(ids)
        refused = [i for i in items if not i.ok]
        answered = {i.key for i in items}
        missing = [str(x) for x in ids if str(x) not in answered]
        if refused or missing:
            parts = [f"line {i.key}: {'; '.join(i.reasons) or 'refused'}" for i in refused]
            parts += [f"line {x}: not in N11's answer" for x in missing]
            raise PermanentError("; ".join(parts), None, "lines.not.approved")
        return items

    def ship_order(self, ref: OrderRef, shipment: Shipment) -> Any:
        raise NotImplementedError(
            "N11 has no tracking upload: its contracted carriers report the hand-over and the package "
            "becomes Shipped by itself"
        )

    def cancel_order_lines(self, ref: OrderRef, reason: str = "out_of_stock") -> dict[str, Any]:
        """Cancel ``ref.lines`` quantities (``splitPackageByQuantity``; the lines must be in
        Picking — N11 lets only the panel reject Created lines). ``reason`` is one of
        ``base.CANCEL_REASONS``, sent as N11's cancelReasonId 61-65. Package ids change afterwards."""
        if reason not in base.CANCEL_REASONS:
            raise ValueError(f"reason must be one of {', '.join(base.CANCEL_REASONS)}")
        if not ref.lines:
            raise ValueError("no lines to cancel")
        code = CANCEL_REASON_IDS[reason]
        return self.cancel_lines([(_int_id(line), int(qty), code) for line, qty in ref.lines])

    # -- Channel --------------------------------------------------------------------------------------

    def create_listings(self, items: Sequence[dict[str, Any]]) -> str:
        return self.create_products(items)

    def update_listings(self, items: Sequence[dict[str, Any]], *, kind: str | None = None) -> str:
        if kind not in (None, "product"):
            raise ValueError("N11 has one product-update task; kind must be None or 'product'")
        return self.update_products(items)


# -- parsing ------------------------------------------------------------------------------------------


def _epoch_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _int_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"N11 order line ids are numbers, not {value!r}") from None


def _line_ids(ref: OrderRef) -> list[int]:
    if not ref.lines:
        raise ValueError("no lines to approve")
    return [_int_id(line) for line, _qty in ref.lines]


def _normalize_package(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    if "shipmentPackageStatus" in out:
        out["shipmentPackageStatus"] = normalize_status(out["shipmentPackageStatus"])
    lines = out.get("lines")
    if isinstance(lines, list):
        out["lines"] = [
            {**line, "orderItemLineItemStatusName": normalize_status(line.get("orderItemLineItemStatusName"))}
            if isinstance(line, dict) and "orderItemLineItemStatusName" in line
            else line
            for line in lines
        ]
    return out


def parse_task(pages: dict[str, Any] | Sequence[dict[str, Any]], task_id: str = "") -> BatchResult:
    """task-details page(s) → ``BatchResult``. ``status`` is N11's own (IN_QUEUE, PROCESSED, REJECT;
    the last two final in ``BATCH_FINAL``). On REJECT (the whole task refused) every item that did
    not succeed is FAILED and carries the task's reasons; without items the reasons are in
    ``raw["reasons"]``. Per-SKU FAIL becomes "FAILED"."""
    if isinstance(pages, dict):
        pages = [pages]
    first = pages[0] if pages else {}
    items: list[BatchItem] = []
    total = None
    for body in pages:
        skus = body.get("skus") if isinstance(body.get("skus"), dict) else {}
        if isinstance(skus.get("totalElements"), int):
            total = skus["totalElements"]
        for raw in skus.get("content") or []:
            if not isinstance(raw, dict):
                continue
            status = str(raw.get("status") or "").upper()
            reasons = raw.get("reasons") or []
            if isinstance(reasons, str):
                reasons = [reasons]
            items.append(
                BatchItem(
                    key=str(raw["itemCode"]) if raw.get("itemCode") not in (None, "") else None,
                    status=SUCCESS
                    if status == SUCCESS
                    else FAILED
                    if status in ("FAIL", FAILED)
                    else status or None,
                    reasons=[str(r) for r in reasons if r not in (None, "")],
                    request_item=raw.get("sku") if isinstance(raw.get("sku"), dict) else {},
                )
            )
    raw_status = str(first.get("status") or "").upper() or None
    if raw_status == "REJECT":
        task_reasons = [str(r) for r in first.get("reasons") or [] if r not in (None, "")]
        for item in items:
            if not item.ok:
                item.status = FAILED
                item.reasons = item.reasons or list(task_reasons) or ["N11 rejected the task"]
    return BatchResult(
        id=str(first.get("taskId") or task_id),
        status=raw_status,
        batch_type=first.get("type"),
        items=items,
        item_count=total if total is not None else (len(items) if raw_status == "PROCESSED" else None),
        failed_item_count=sum(1 for i in items if i.failed)
        if raw_status in ("PROCESSED", "REJECT")
        else None,
        created_at=first.get("createdDate") if isinstance(first.get("createdDate"), int) else None,
        raw=dict(first),
    )


__all__ = [
    "CANCEL_REASONS",
    "CANCEL_REASON_IDS",
    "MAX_BATCH",
    "ORDERS_PER_MINUTE",
    "ORDER_PAGE_SIZE",
    "ORDER_STATUSES",
    "PRODUCTION_URL",
    "SYNC_STATUSES",
    "N11Client",
    "N11Limits",
    "fleet_limits",
    "normalize_status",
    "parse_task",
    "translate_error",
]
