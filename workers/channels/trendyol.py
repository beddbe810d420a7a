"""Trendyol Partner/Integration API client (marketplace-apis.md §1; specs/trendyol/*).

Speaks HTTP and translates errors, nothing else: no OpenCart knowledge, no idea whether the base URL
is production (``https://apigw.trendyol.com/integration``), stage or a local sandbox.

Every request carries HTTP Basic ``api_key:api_secret``, ``User-Agent: "{sellerId} - {integrator}"``
(mandatory — missing gives 403) and a JSON body. Writes are async: they return a
``batchRequestId`` whose per-item outcome ``batch_result`` reports (viewable for 4 hours).

Orders (§1.10–1.11) are shipment packages: read through the cursor stream (≤14-day windows, last 3
months) or the v2 page list, acted on per package (Picking, Invoiced, cannot-supply, tracking
number). Package ids change on cannot-supply; callers key orders by orderNumber + lineId.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from loguru import logger

from workers.channels.base import (
    ACKNOWLEDGE,
    ATTRIBUTES,
    BATCH_RESULT,
    BRANDS,
    CANCEL,
    CANCEL_REASONS,
    CATEGORIES,
    CREATE,
    DELETE,
    FIND,
    ORDERS,
    PRICE_STOCK,
    SHIP,
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
    DuplicateRequestError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from workers.http import JsonHttp, parse_retry_after, plain_session, response_json

PRODUCTION_URL = "https://apigw.trendyol.com/integration"
STAGE_URL = "https://stageapigw.trendyol.com/integration"

MAX_BATCH = 1000  # items per create/update/delete/price-and-inventory request
MAX_FILTER_BARCODES = 50  # barcodes per product-filter call
FILTER_PAGE_SIZE = 100  # max page size of the product filters
ATTRIBUTE_VALUES_PAGE_SIZE = 1000

DUPLICATE_REQUEST_MESSAGE = "15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!"
# -- orders (marketplace-apis.md §1.10–1.11) --
ORDER_PAGE_SIZE = 200  # max size of the stream and of the v2 list
LIST_WINDOW_CAP = 10_000  # v2 list: no page beyond the first 10,000 packages of a filter
MAX_PACKAGE_IDS = 50  # shipmentPackageIds per v2 call
# The stream refuses windows over 14 days; one millisecond less keeps an inclusive window inside it.
STREAM_WINDOW = timedelta(days=14) - timedelta(milliseconds=1)
# The stream keeps "the last 3 months"; 89 days is inside that whatever month lengths Trendyol counts.
STREAM_HISTORY = timedelta(days=89)
# Order dates are documented as "GMT+3 milliseconds", which integrators read both as UTC epoch and as
# Istanbul wall time: widen every window by 3 h on each side so neither reading loses a package.
DATE_SLACK = timedelta(hours=3)
# Recommended spacing of stream calls (secondary source, marketplace-apis.md §1.10); it also keeps one
# process at ≤ 12 stream calls a minute, under the lowest tier's 30/min for package lists.
STREAM_INTERVAL = 5.0
# Neutral cancel reason → Trendyol cannot-supply reasonId. Trendyol has no "other": 504 (integration
# error) is the least specific of its codes; 505 (bulk purchase) means something narrower.
CANCEL_REASON_IDS = {
    "out_of_stock": 500,
    "defective": 501,
    "wrong_price": 502,
    "force_majeure": 506,
    "other": 504,
}
UNSUPPLIED_REASON_IDS = frozenset({500, 501, 502, 504, 505, 506})
SETTABLE_STATUSES = ("Picking", "Invoiced")  # the only statuses a seller sets
_PAST_PICKING = frozenset({"Picking", "Invoiced", "Shipped", "AtCollectionPoint", "Delivered"})
_PAST_INVOICED = frozenset({"Invoiced", "Shipped", "AtCollectionPoint", "Delivered"})

_INTEGRATOR = re.compile(r"^[A-Za-z0-9]{1,30}$")
_DUPLICATE = re.compile(r"15\s*dakika.*aynı\s+isteği", re.IGNORECASE | re.DOTALL)


def is_duplicate_message(text: str | None) -> bool:
    """True for Trendyol's "identical price/stock request within 15 minutes" rejection text."""
    return bool(text) and bool(_DUPLICATE.search(text or ""))


def normalize_barcode(barcode: str) -> str:
    """Trendyol removes spaces inside barcodes; later calls must use the normalized form."""
    return "".join(str(barcode).split())


# -- error translation (§1.3) -----------------------------------------------------------------


def _error_parts(body: Any) -> tuple[str, str | None, str | None]:
    """(message, key, exception) out of any of Trendyol's error shapes:
    ``{"errors":[{key,message,errorCode}]}``, ``{"timestamp","exception","errors":[...]}``,
    order-style ``{"error","message"}``, or a bare list of error objects."""
    messages: list[str] = []
    key: str | None = None
    exception: str | None = None
    errors: Any = None
    if isinstance(body, dict):
        exception = body.get("exception") if isinstance(body.get("exception"), str) else None
        errors = body.get("errors")
        if isinstance(body.get("message"), str) and body["message"]:
            messages.append(body["message"])
        if isinstance(body.get("error"), str) and body["error"]:
            key = body["error"]
    elif isinstance(body, list):
        errors = body
    if isinstance(errors, list):
        for err in errors:
            if isinstance(err, dict):
                msg = err.get("message")
                if isinstance(msg, str) and msg and msg not in messages:
                    messages.append(msg)
                if key is None:
                    k = err.get("key") or err.get("errorCode")
                    key = str(k) if k else None
            elif isinstance(err, str) and err not in messages:
                messages.append(err)
    return "; ".join(messages), key, exception


def translate_error(response: requests.Response) -> ChannelError | None:
    """Trendyol response → None (2xx) or the matching ``ChannelError`` subclass."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    body = response_json(response)
    message, key, exception = _error_parts(body)
    if not message and body is None and response.text and status < 500:
        message = response.text.strip()[:300]
    code = key or exception
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return ThrottledError(message or "too.many.requests", status, key or "too.many.requests", retry_after)
    if status in (401, 403):
        return AuthError(message or exception or response.reason or f"HTTP {status}", status, code)
    if status >= 500 or status in (408, 426):
        return TransientError(message or response.reason or f"HTTP {status}", status, code, retry_after)
    if is_duplicate_message(message):
        return DuplicateRequestError(message, status, code)
    if status == 404:
        return NotFoundError(message or response.reason or "Not Found", status, code)
    return PermanentError(message or response.reason or f"HTTP {status}", status, code)


# -- the client ---------------------------------------------------------------------------------


class TrendyolClient(Channel):
    """One Trendyol seller account.

    ``limiter`` (optional) is a shared ``workers.ratelimit.RateLimiter``; keys are
    ``trendyol:<endpoint>:<sellerId>`` (one per endpoint, as Trendyol's 50 req / 10 s rule).
    ``timeout`` is the read timeout (connect is 3.05 s); ``retry_budget`` bounds the seconds one call
    may spend retrying transient errors before the last one is raised. ``stream_interval`` is the
    least time between two order-stream calls of this client (0 disables the spacing).
    """

    code = "trendyol"
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
            BRANDS,
            ORDERS,
            ACKNOWLEDGE,
            SHIP,
            CANCEL,
        }
    )
    MAX_BATCH = MAX_BATCH

    def __init__(
        self,
        base_url: str,
        seller_id: str | int,
        api_key: str,
        api_secret: str,
        integrator: str = "Kervan",
        *,
        session: requests.Session | None = None,
        limiter: Any = None,
        timeout: float = 15.0,
        retry_budget: float = 20.0,
        breaker: Any = None,
        storefront_code: str | None = None,
        stream_interval: float = STREAM_INTERVAL,
    ) -> None:
        seller = str(seller_id).strip()
        if not seller.isdigit():
            raise ValueError("Trendyol sellerId must be numeric")
        if not _INTEGRATOR.match(integrator or ""):
            raise ValueError(
                "integrator name must be 1-30 alphanumeric characters (Trendyol User-Agent rule)"
            )
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret are required")
        self.base_url = base_url.rstrip("/")
        self.seller_id = seller
        self.integrator = integrator
        self.user_agent = f"{seller} - {integrator}"
        self._own_session = session is None
        headers = {
            "User-Agent": self.user_agent,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if storefront_code:
            headers["storeFrontCode"] = storefront_code
        token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode("ascii")
        self.http = JsonHttp(
            self.base_url,
            session=session if session is not None else plain_session(),
            headers=headers,
            auth=(api_key, api_secret),
            translate=translate_error,
            limiter=limiter,
            breaker=breaker,
            read_timeout=timeout,
            retry_budget=retry_budget,
            secrets=(api_key, api_secret, token),
            name="trendyol",
        )
        self.stream_interval = max(0.0, float(stream_interval))
        self._stream_lock = threading.Lock()
        self._last_stream = float("-inf")

    def __repr__(self) -> str:  # never credentials
        return f"TrendyolClient(seller={self.seller_id}, {self.base_url})"

    def close(self) -> None:
        if self._own_session:
            self.http.session.close()

    # -- helpers ------------------------------------------------------------------------------

    def _rate_key(self, endpoint: str) -> str:
        return f"trendyol:{endpoint}:{self.seller_id}"

    def _seller_path(self, area: str, tail: str) -> str:
        return f"{area}/sellers/{self.seller_id}/{tail}"

    @staticmethod
    def _check_items(items: Sequence[Any]) -> list[Any]:
        if isinstance(items, (str, bytes, dict)):
            raise TypeError("items must be a sequence of items")
        items = list(items)
        if not items:
            raise ValueError("no items to send")
        if len(items) > MAX_BATCH:
            raise ValueError(
                f"{len(items)} items: Trendyol accepts at most {MAX_BATCH} per request; chunk them"
            )
        return items

    def _write(self, method: str, path: str, endpoint: str, items: list[Any]) -> str:
        body = self.http.request(method, path, json={"items": items}, rate_key=self._rate_key(endpoint))
        batch_id = body.get("batchRequestId") if isinstance(body, dict) else None
        if not batch_id:
            raise PermanentError("Trendyol answered without a batchRequestId", None, "no.batch.request.id")
        return str(batch_id)

    # -- writes (async; each returns the batchRequestId) -----------------------------------------

    def create_products(self, items: Sequence[dict[str, Any]]) -> str:
        """Product create V2 (``POST product/sellers/{id}/v2/products``)."""
        return self._write(
            "POST", self._seller_path("product", "v2/products"), "create", self._check_items(items)
        )

    def update_unapproved(self, items: Sequence[dict[str, Any]]) -> str:
        """Update not-yet-approved products, keyed by barcode (full create body)."""
        path = self._seller_path("product", "products/unapproved-bulk-update")
        return self._write("POST", path, "update-unapproved", self._check_items(items))

    def update_content(self, items: Sequence[dict[str, Any]]) -> str:
        """Update approved content (title, description, images, attributes), keyed by contentId."""
        path = self._seller_path("product", "products/content-bulk-update")
        return self._write("POST", path, "update-content", self._check_items(items))

    def update_variants(self, items: Sequence[dict[str, Any]]) -> str:
        """Update approved variants (stockCode, vatRate, addresses, weight, lot…), keyed by barcode."""
        path = self._seller_path("product", "products/variant-bulk-update")
        return self._write("POST", path, "update-variant", self._check_items(items))

    def delete_products(self, barcodes: Sequence[str]) -> str:
        """Delete products by barcode (``DELETE product/sellers/{id}/products``)."""
        items = [{"barcode": b} for b in self._check_items(barcodes)]
        return self._write("DELETE", self._seller_path("product", "products"), "delete", items)

    def archive_products(self, barcodes: Sequence[str], archived: bool = True) -> str:
        """Archive (or un-archive) products by barcode (``PUT product/sellers/{id}/products/archive-state``).

        Trendyol deletes an approved product only once it is archived: archive, wait for that batch,
        then ``delete_products``."""
        items = [{"barcode": b, "archived": bool(archived)} for b in self._check_items(barcodes)]
        return self._write("PUT", self._seller_path("product", "products/archive-state"), "archive", items)

    def update_price_inventory(self, items: Sequence[dict[str, Any]]) -> str:
        """Price and/or stock of approved products (``barcode`` + only what changes).

        An identical body within 15 minutes raises ``DuplicateRequestError`` ("already sent")."""
        path = self._seller_path("inventory", "products/price-and-inventory")
        return self._write("POST", path, "price-inventory", self._check_items(items))

    # -- batch results --------------------------------------------------------------------------

    def batch_result(self, batch_request_id: str) -> BatchResult:
        """``GET product/sellers/{id}/products/batch-requests/{batchRequestId}``.

        Raises ``BatchNotFound`` for an unknown or expired (4 h) id."""
        if not batch_request_id:
            raise ValueError("batch_request_id is required")
        path = self._seller_path(
            "product", f"products/batch-requests/{quote(str(batch_request_id), safe='')}"
        )
        try:
            body = self.http.get(path, rate_key=self._rate_key("batch"))
        except NotFoundError as exc:
            raise BatchNotFound(exc.message, exc.status, exc.code) from None
        if not isinstance(body, dict):
            raise PermanentError("unexpected batch result body", None, "bad.batch.body")
        return parse_batch(body, str(batch_request_id))

    def wait_batch(self, batch_request_id: str, timeout: float = 60.0, interval: float = 0.5) -> BatchResult:
        """Poll ``batch_result`` until done or ``timeout`` seconds passed (returns the last state)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.batch_result(batch_request_id)
            if result.done or time.monotonic() >= deadline:
                return result
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    # -- product filter -------------------------------------------------------------------------

    def find_products(self, barcodes: Iterable[str]) -> list[dict[str, Any]]:
        """What Trendyol holds for these barcodes, one dict per barcode found.

        Approved products come from the approved filter (``barcodes``, ≤50 per call, chunked here):
        the variant's fields plus ``approved: True``, ``contentId``, ``productMainId`` and
        ``content`` (the content without its variants). Barcodes not approved are looked up in the
        unapproved filter: its product dict plus ``approved: False``. Barcodes are matched in their
        normalized form (Trendyol strips inner spaces); absent barcodes are simply missing."""
        wanted: list[str] = []
        for b in barcodes:
            nb = normalize_barcode(b)
            if nb and nb not in wanted:
                wanted.append(nb)
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(wanted, MAX_FILTER_BARCODES):
            for content in self._filter("products/approved", "filter-approved", chunk):
                shared = {k: v for k, v in content.items() if k != "variants"}
                for variant in content.get("variants") or []:
                    bc = variant.get("barcode")
                    if bc in chunk and bc not in found:
                        found[bc] = {
                            **variant,
                            "approved": True,
                            "contentId": content.get("contentId"),
                            "productMainId": content.get("productMainId"),
                            "content": shared,
                        }
        missing = [b for b in wanted if b not in found]
        for chunk in _chunks(missing, MAX_FILTER_BARCODES):
            for product in self._filter("products/unapproved", "filter-unapproved", chunk):
                for entry in _unapproved_entries(product):
                    bc = entry.get("barcode")
                    if bc in chunk and bc not in found:
                        found[bc] = {**entry, "approved": False}
        return [found[b] for b in wanted if b in found]

    def _filter(self, tail: str, endpoint: str, barcodes: list[str]) -> list[dict[str, Any]]:
        path = self._seller_path("product", tail)
        out: list[dict[str, Any]] = []
        page = 0
        while True:
            params = [("barcodes", b) for b in barcodes] + [("page", page), ("size", FILTER_PAGE_SIZE)]
            body = self.http.get(path, params=params, rate_key=self._rate_key(endpoint))
            content = body.get("content") if isinstance(body, dict) else body
            out.extend(c for c in content or [] if isinstance(c, dict))
            total_pages = body.get("totalPages") if isinstance(body, dict) else None
            page += 1
            if not content or not isinstance(total_pages, int) or page >= total_pages or page >= 100:
                return out

    # -- reference data -------------------------------------------------------------------------

    def category_tree(self) -> list[dict[str, Any]]:
        """Root categories, each with nested ``subCategories`` (only leaves accept products)."""
        body = self.http.get("product/product-categories", rate_key=self._rate_key("categories"))
        if isinstance(body, dict):
            body = body.get("categories")
        return list(body or [])

    def category_attributes(self, category_id: int) -> dict[str, Any]:
        """``{id, name, displayName, categoryAttributes: [{attribute{id,name}, required, allowCustom,
        varianter, slicer, allowMultipleAttributeValues, ...}]}``."""
        body = self.http.get(
            f"product/categories/{int(category_id)}/attributes",
            rate_key=self._rate_key("category-attributes"),
        )
        return body if isinstance(body, dict) else {"categoryAttributes": list(body or [])}

    def attribute_values(self, category_id: int, attribute_id: int) -> list[dict[str, Any]]:
        """All ``{attributeValueId, attributeValueName}`` of a category attribute (every page)."""
        path = f"product/categories/{int(category_id)}/attributes/{int(attribute_id)}/values"
        out: list[dict[str, Any]] = []
        page = 0
        while True:
            body = self.http.get(
                path,
                params={"page": page, "size": ATTRIBUTE_VALUES_PAGE_SIZE},
                rate_key=self._rate_key("attribute-values"),
            )
            content = body.get("content") if isinstance(body, dict) else body
            out.extend(content or [])
            total_pages = body.get("totalPages") if isinstance(body, dict) else None
            page += 1
            if not content or not isinstance(total_pages, int) or page >= total_pages or page >= 1000:
                return out

    def brand_by_name(self, name: str) -> list[dict[str, Any]]:
        """Brands whose name matches (Trendyol: case-sensitive); ``[{id, name}]``."""
        body = self.http.get(
            "product/brands/by-name", params={"name": name}, rate_key=self._rate_key("brands")
        )
        if isinstance(body, dict):
            body = body.get("brands") or body.get("content")
        return list(body or [])

    # -- orders: lists ----------------------------------------------------------------------------

    def stream_page(
        self,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        statuses: Sequence[str] | None = None,
        size: int = ORDER_PAGE_SIZE,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One call of ``GET order/sellers/{id}/orders/stream``: ``{content, size, hasMore,
        nextCursor}``. With a ``cursor`` the other arguments must be those of the call that
        returned it (Trendyol answers 400 otherwise). Calls are spaced ``stream_interval`` apart."""
        params: dict[str, Any] = {"size": max(1, min(int(size), ORDER_PAGE_SIZE))}
        if statuses:
            params["packageItemStatuses"] = ",".join(statuses)
        if start_ms is not None:
            params["lastModifiedStartDate"] = int(start_ms)
        if end_ms is not None:
            params["lastModifiedEndDate"] = int(end_ms)
        if cursor:
            params["nextCursor"] = cursor
        self._space_stream()
        body = self.http.get(
            self._seller_path("order", "orders/stream"),
            params=params,
            rate_key=self._rate_key("orders-stream"),
        )
        if not isinstance(body, dict):
            raise PermanentError(
                "Trendyol answered the order stream without an object", None, "bad.stream.body"
            )
        return body

    def iter_stream(
        self,
        start_ms: int | None = None,
        end_ms: int | None = None,
        statuses: Sequence[str] | None = None,
        *,
        size: int = ORDER_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every package of one stream window (≤14 days; none given = Trendyol's last 14 days),
        following ``nextCursor`` with identical filters until ``hasMore`` is false. Newest change
        first, as Trendyol sorts."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            body = self.stream_page(
                start_ms=start_ms, end_ms=end_ms, statuses=statuses, size=size, cursor=cursor
            )
            for pkg in body.get("content") or []:
                if isinstance(pkg, dict):
                    yield pkg
            if not body.get("hasMore"):
                return
            cursor = body.get("nextCursor")
            if not cursor or cursor in seen:
                # Following it would loop or stop silently with packages unread; let the poll retry.
                raise TransientError(
                    "Trendyol's order stream reported more pages without a new nextCursor",
                    None,
                    "stream.cursor",
                )
            seen.add(cursor)

    def iter_stream_span(
        self,
        start_ms: int,
        end_ms: int,
        statuses: Sequence[str] | None = None,
        *,
        size: int = ORDER_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every package changed in ``[start_ms, end_ms]``, any length: one stream walk per ≤14-day
        window, newest window first. A package changed during the walk may come twice."""
        if end_ms < start_ms:
            raise ValueError("end_ms is before start_ms")
        width = int(STREAM_WINDOW / timedelta(milliseconds=1))
        window_end = int(end_ms)
        while window_end >= start_ms:
            window_start = max(int(start_ms), window_end - width)
            yield from self.iter_stream(window_start, window_end, statuses, size=size)
            window_end = window_start - 1

    def list_packages_page(
        self,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        status: str | None = None,
        order_number: str | None = None,
        package_ids: Sequence[int | str] | None = None,
        order_by: str = "PackageLastModifiedDate",
        direction: str = "ASC",
        page: int = 0,
        size: int = ORDER_PAGE_SIZE,
    ) -> dict[str, Any]:
        """One page of ``GET order/sellers/{id}/v2/orders``: ``{totalElements, totalPages, page,
        size, content}``. Trendyol serves the last month only and no page past the first 10,000
        packages of a filter."""
        if order_by not in ("PackageLastModifiedDate", "CreatedDate"):
            raise ValueError("order_by must be 'PackageLastModifiedDate' or 'CreatedDate'")
        if direction not in ("ASC", "DESC"):
            raise ValueError("direction must be 'ASC' or 'DESC'")
        ids = [str(_numeric_id(i, "shipmentPackageId")) for i in package_ids or ()]
        if len(ids) > MAX_PACKAGE_IDS:
            raise ValueError(f"at most {MAX_PACKAGE_IDS} shipmentPackageIds per call")
        params: dict[str, Any] = {
            "page": int(page),
            "size": max(1, min(int(size), ORDER_PAGE_SIZE)),
            "orderByField": order_by,
            "orderByDirection": direction,
        }
        for key, value in (("startDate", start_ms), ("endDate", end_ms)):
            if value is not None:
                params[key] = int(value)
        if status:
            params["status"] = status
        if order_number:
            params["orderNumber"] = str(order_number)
        if ids:
            params["shipmentPackageIds"] = ",".join(ids)
        body = self.http.get(
            self._seller_path("order", "v2/orders"), params=params, rate_key=self._rate_key("orders-list")
        )
        if not isinstance(body, dict):
            raise PermanentError("Trendyol answered the order list without an object", None, "bad.list.body")
        return body

    def iter_packages(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every package of a v2 filter (``list_packages_page`` arguments), page after page. A filter
        matching more than 10,000 packages is refused before anything is yielded: narrow the dates."""
        filters.pop("page", None)
        page = 0
        while True:
            body = self.list_packages_page(page=page, **filters)
            total = body.get("totalElements")
            if page == 0 and isinstance(total, int) and total > LIST_WINDOW_CAP:
                raise PermanentError(
                    f"{total} packages match; Trendyol serves only the first {LIST_WINDOW_CAP} — narrow the dates",
                    None,
                    "list.window.exceeded",
                )
            content = [p for p in body.get("content") or [] if isinstance(p, dict)]
            yield from content
            page += 1
            total_pages = body.get("totalPages")
            if not content or not isinstance(total_pages, int) or page >= total_pages:
                return

    def package(self, package_id: int | str) -> dict[str, Any] | None:
        """The package with this shipmentPackageId (None if Trendyol does not list it)."""
        wanted = _numeric_id(package_id, "shipmentPackageId")
        body = self.list_packages_page(package_ids=[wanted], size=MAX_PACKAGE_IDS)
        for pkg in body.get("content") or []:
            if isinstance(pkg, dict) and str(pkg.get("shipmentPackageId")) == str(wanted):
                return pkg
        return None

    def packages_of_order(self, order_number: str) -> list[dict[str, Any]]:
        """Every package of one orderNumber — where the new package of a cannot-supply shows up."""
        return list(self.iter_packages(order_number=order_number))

    # -- orders: package actions (each answers an empty 200) -------------------------------------

    def update_package_status(
        self,
        package_id: int | str,
        status: str,
        lines: Sequence[tuple[int | str, int]],
        invoice_number: str | None = None,
    ) -> None:
        """``PUT order/sellers/{id}/shipment-packages/{packageId}``: Picking, then Invoiced (with the
        invoice number). Trendyol accepts no other status; Invoiced before Picking is refused."""
        if status not in SETTABLE_STATUSES:
            raise ValueError(f"a seller sets only {' or '.join(SETTABLE_STATUSES)}, not {status!r}")
        if status == "Invoiced" and not (invoice_number or "").strip():
            raise ValueError("Invoiced needs the invoice number")
        params = {"invoiceNumber": invoice_number.strip()} if status == "Invoiced" and invoice_number else {}
        body = {"lines": _line_bodies(lines), "params": params, "status": status}
        self.http.put(self._package_path(package_id), json=body, rate_key=self._rate_key("package-status"))

    def unsupply(self, package_id: int | str, lines: Sequence[tuple[int | str, int]], reason_id: int) -> None:
        """``PUT …/shipment-packages/{packageId}/items/unsupplied``: the seller cannot supply these
        quantities. Trendyol cancels the package and moves what is left to a new shipmentPackageId
        on the same orderNumber — re-read the order afterwards."""
        if reason_id not in UNSUPPLIED_REASON_IDS:
            raise ValueError(f"reasonId must be one of {sorted(UNSUPPLIED_REASON_IDS)}")
        if not lines:
            raise ValueError("no lines to cancel")
        body = {"lines": _line_bodies(lines), "reasonId": int(reason_id)}
        self.http.put(
            self._package_path(package_id, "items/unsupplied"),
            json=body,
            rate_key=self._rate_key("unsupplied"),
        )

    def update_tracking_number(self, package_id: int | str, tracking_number: str) -> None:
        """``PUT …/shipment-packages/{packageId}/update-tracking-number`` with the TR body
        ``{"trackingNumber"}`` (the international v3 API takes ``cargoSenderNumber`` +
        ``providerCode`` instead). Refused once the package is Shipped or Delivered."""
        number = str(tracking_number or "").strip()
        if not number:
            raise ValueError("tracking_number is required")
        self.http.put(
            self._package_path(package_id, "update-tracking-number"),
            json={"trackingNumber": number},
            rate_key=self._rate_key("tracking"),
        )

    def invoice(self, ref: OrderRef, invoice_number: str) -> None:
        """Move the package to Invoiced (it must be in Picking), all its lines unless ``ref.lines``."""
        invoice_number = (invoice_number or "").strip()
        if not invoice_number:
            raise ValueError("invoice_number is required")
        package_id = _ref_package(ref)
        lines = self._ref_lines(ref, package_id)

        def settled(pkg: dict[str, Any]) -> bool:
            return pkg.get("status") in _PAST_INVOICED and (
                pkg.get("status") != "Invoiced" or str(pkg.get("invoiceNumber") or "") == invoice_number
            )

        self._idempotent(
            lambda: self.update_package_status(package_id, "Invoiced", lines, invoice_number),
            package_id,
            settled,
        )

    def _package_path(self, package_id: int | str, tail: str = "") -> str:
        pid = _numeric_id(package_id, "shipmentPackageId")
        return self._seller_path("order", f"shipment-packages/{pid}" + (f"/{tail}" if tail else ""))

    def _space_stream(self) -> None:
        if self.stream_interval <= 0:
            return
        with self._stream_lock:
            wait = self._last_stream + self.stream_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_stream = time.monotonic()

    def _ref_lines(self, ref: OrderRef, package_id: int) -> list[tuple[int, int]]:
        """``ref.lines``, or every still-open line of the package when the ref names none."""
        if ref.lines:
            return [(_numeric_id(line, "lineId"), int(qty)) for line, qty in ref.lines]
        pkg = self.package(package_id)
        if pkg is None:
            raise NotFoundError(f"Trendyol lists no shipment package {package_id}", None, "package.not.found")
        return [
            (_numeric_id(line.get("lineId"), "lineId"), int(line.get("quantity") or 0))
            for line in pkg.get("lines") or []
            if isinstance(line, dict)
            and line.get("orderLineItemStatusName") not in ("Cancelled", "UnSupplied")
        ]

    def _idempotent(
        self, send: Callable[[], None], package_id: int, settled: Callable[[dict[str, Any]], bool]
    ) -> None:
        """Send an action; if Trendyol refuses it, read the package and accept the refusal when the
        package already shows the action's effect. A retry after a lost response is refused by
        Trendyol for that very reason, and must not surface as a failure."""
        try:
            send()
        except (AuthError, NotFoundError):
            raise
        except PermanentError:
            try:
                pkg = self.package(package_id)
            except ChannelError:
                pkg = None
            if pkg is not None and settled(pkg):
                logger.bind(marketplace="trendyol").info(
                    "trendyol package {} already shows the requested change; refusal ignored", package_id
                )
                return
            raise

    # -- orders: the neutral interface ------------------------------------------------------------

    def orders_changed_since(
        self, since: datetime, until: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every shipment package changed in ``[since, until]`` (until: now), widened by 3 h on both
        sides (the GMT+3 ambiguity) and walked through the stream in ≤14-day windows. Trendyol keeps
        3 months: an older ``since`` is raised to that horizon (logged). Packages may repeat."""
        now = datetime.now(UTC)
        since_utc = _utc(since)
        until_utc = _utc(until) if until is not None else now
        if until_utc < since_utc:
            raise ValueError("until is before since")
        start = since_utc - DATE_SLACK
        end = until_utc + DATE_SLACK
        horizon = now - STREAM_HISTORY
        if start < horizon:
            logger.bind(marketplace="trendyol").warning(
                "trendyol keeps orders for 3 months; reading from {} instead of {}",
                horizon.isoformat(),
                start.isoformat(),
            )
            start = horizon
        if end < start:
            return
        yield from self.iter_stream_span(_epoch_ms(start), _epoch_ms(end))

    def acknowledge_order(self, ref: OrderRef) -> None:
        """Picking for ``ref.lines`` (all open lines of the package when none are given). A package
        already in Picking or later counts as acknowledged."""
        package_id = _ref_package(ref)
        lines = self._ref_lines(ref, package_id)
        self._idempotent(
            lambda: self.update_package_status(package_id, "Picking", lines),
            package_id,
            lambda pkg: pkg.get("status") in _PAST_PICKING,
        )

    def ship_order(self, ref: OrderRef, shipment: Shipment) -> None:
        """Report the tracking number (update-tracking-number). Only for parcels sent under the
        seller's own carrier agreement: Trendyol-contracted carriers assign their own
        ``cargoTrackingNumber`` (in the package from the start) and move it to Shipped themselves,
        and Trendyol marks this TR call "Kullanım Dışı". Carrier and tracking URL have no field in
        the TR body and are not sent."""
        package_id = _ref_package(ref)
        number = str(shipment.tracking_number or "").strip()
        self._idempotent(
            lambda: self.update_tracking_number(package_id, number),
            package_id,
            lambda pkg: str(pkg.get("cargoTrackingNumber") or "") == number,
        )

    def cancel_order_lines(self, ref: OrderRef, reason: str = "out_of_stock") -> None:
        """Cannot-supply ``ref.lines`` with the reasonId of ``reason`` (``CANCEL_REASON_IDS``). The
        package gets a new shipmentPackageId for what is left; the next order read shows it."""
        if reason not in CANCEL_REASONS:
            raise ValueError(f"reason must be one of {', '.join(CANCEL_REASONS)}")
        if not ref.lines:
            raise ValueError("no lines to cancel: a Trendyol cancel names its lines")
        package_id = _ref_package(ref)
        lines = [(_numeric_id(line, "lineId"), int(qty)) for line, qty in ref.lines]
        wanted = {line for line, _qty in lines}

        def settled(pkg: dict[str, Any]) -> bool:
            unsupplied = {
                _numeric_id(line.get("lineId"), "lineId")
                for line in pkg.get("lines") or []
                if isinstance(line, dict) and line.get("orderLineItemStatusName") == "UnSupplied"
            }
            return wanted <= unsupplied

        self._idempotent(
            lambda: self.unsupply(package_id, lines, CANCEL_REASON_IDS[reason]), package_id, settled
        )

    # -- Channel ------------------------------------------------------------------------------

    def create_listings(self, items: Sequence[dict[str, Any]]) -> str:
        return self.create_products(items)

    def update_listings(self, items: Sequence[dict[str, Any]], *, kind: str | None = None) -> str:
        if kind == "unapproved":
            return self.update_unapproved(items)
        if kind == "content":
            return self.update_content(items)
        if kind == "variant":
            return self.update_variants(items)
        raise ValueError("Trendyol updates need kind='unapproved', 'content' or 'variant'")

    def update_price_stock(self, items: Sequence[dict[str, Any]]) -> str:
        return self.update_price_inventory(items)

    def find_listings(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        return self.find_products(keys)


# -- parsing --------------------------------------------------------------------------------------


def _item_key(request_item: dict[str, Any]) -> str | None:
    """The barcode of an echoed request item, else its contentId. Create/unapproved echoes nest the
    product under ``product``; content/variant update echoes nest it under ``updateRequest``."""
    candidates = [request_item]
    for nested in ("product", "updateRequest", "item"):
        if isinstance(request_item.get(nested), dict):
            candidates.append(request_item[nested])
    for field in ("barcode", "contentId"):
        for c in candidates:
            value = c.get(field)
            if value not in (None, ""):
                return str(value)
    return None


def parse_batch(body: dict[str, Any], batch_request_id: str = "") -> BatchResult:
    items: list[BatchItem] = []
    for raw in body.get("items") or []:
        if not isinstance(raw, dict):
            continue
        request_item = raw.get("requestItem") if isinstance(raw.get("requestItem"), dict) else {}
        reasons = raw.get("failureReasons") or []
        if isinstance(reasons, str):
            reasons = [reasons]
        status = raw.get("status")
        items.append(
            BatchItem(
                key=_item_key(request_item),
                status=str(status).upper() if status else None,
                reasons=[str(r) for r in reasons if r not in (None, "")],
                request_item=request_item,
            )
        )
    status = body.get("status")
    return BatchResult(
        id=str(body.get("batchRequestId") or batch_request_id),
        status=str(status).upper() if status else None,
        batch_type=body.get("batchRequestType"),
        items=items,
        item_count=body.get("itemCount") if isinstance(body.get("itemCount"), int) else None,
        failed_item_count=body.get("failedItemCount")
        if isinstance(body.get("failedItemCount"), int)
        else None,
        created_at=body.get("creationDate"),
        modified_at=body.get("lastModification"),
        raw=body,
    )


def _unapproved_entries(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The unapproved filter may be flat (one product per barcode) or content-shaped with variants."""
    variants = product.get("variants")
    if isinstance(variants, list) and variants:
        shared = {k: v for k, v in product.items() if k != "variants"}
        return [{**v, "content": shared} for v in variants if isinstance(v, dict)]
    return [product]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _epoch_ms(value: datetime) -> int:
    return int(_utc(value).timestamp() * 1000)


def _numeric_id(value: Any, name: str) -> int:
    """Trendyol's package and line ids are numbers; anything else is a caller's mistake."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, not {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def _ref_package(ref: OrderRef) -> int:
    if ref.package_id in (None, ""):
        raise ValueError("Trendyol acts on shipment packages: the OrderRef needs package_id")
    return _numeric_id(ref.package_id, "shipmentPackageId")


def _line_bodies(lines: Sequence[tuple[int | str, int]]) -> list[dict[str, int]]:
    out = []
    for line_id, quantity in lines:
        qty = int(quantity)
        if qty < 1:
            raise ValueError(f"line {line_id}: quantity must be at least 1")
        out.append({"lineId": _numeric_id(line_id, "lineId"), "quantity": qty})
    return out


def _chunks(seq: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


__all__ = [
    "CANCEL_REASON_IDS",
    "DATE_SLACK",
    "DUPLICATE_REQUEST_MESSAGE",
    "MAX_BATCH",
    "MAX_FILTER_BARCODES",
    "ORDER_PAGE_SIZE",
    "PRODUCTION_URL",
    "STAGE_URL",
    "STREAM_HISTORY",
    "STREAM_INTERVAL",
    "STREAM_WINDOW",
    "BatchItem",
    "BatchNotFound",
    "BatchResult",
    "TrendyolClient",
    "is_duplicate_message",
    "normalize_barcode",
    "parse_batch",
    "translate_error",
]
