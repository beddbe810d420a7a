"""Hepsiburada client (marketplace-apis.md §2; specs/hepsiburada/{catalog,listing,order}.json).

Speaks HTTP and translates errors, nothing else. Hepsiburada runs separate services on separate
hosts, each with its own error shapes and limits:

- catalog (MPOP, ``https://mpop.hepsiburada.com/product``): categories, attributes, product
  import (``multipart/form-data``, part ``file`` = a JSON array) → ``trackingId`` → per-item
  ``importStatus`` SUCCESS | FAILED | PROCESSING. Business failures come as HTTP 200
  ``{success:false, code, message}``; above 100 req/s it answers **403** (not 429) and keeps
  answering 403 (an IP block) if the excess lasts 5 s.
- listing (``https://listing-external.hepsiburada.com``): price/stock/inventory uploads (bare JSON
  arrays) → ``{id}`` → ``{status, total, errors[], priceValidations[]}`` listing **only the failing
  rows**; listings query (offset/limit, ≤50 SKUs). 401 is ``text/plain "Missing Credentials!"``;
  a 6th concurrent upload is refused inside a 200.
- orders (OMS, ``https://oms-external.hepsiburada.com``): open lines (offset/limit ≤100, dates
  ``yyyy-MM-dd HH:mm`` Istanbul time), packages (≤10 per page, 24-hour windows), the thin status
  feeds (cancelled lines; shipped, delivered, undelivered packages; ≤50 per page, no date filter),
  packaging, in-transit, cancel. 401 has an empty body; 429 carries
  ``X-RateLimit-Limit/Remaining/Reset``; other errors are bare strings.

Every request carries HTTP Basic ``username:password`` (merchant id : service key) and a
``User-Agent`` equal to the registered integrator name (anything else is a 401).
"""

from __future__ import annotations

import base64
import json as jsonlib
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests
from urllib3 import encode_multipart_formdata

from workers.channels import base
from workers.channels.base import (
    ACKNOWLEDGE,
    ATTRIBUTES,
    BATCH_RESULT,
    CANCEL,
    CATEGORIES,
    CREATE,
    FAILED,
    FIND,
    ORDERS,
    PRICE_STOCK,
    SHIP,
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

CATALOG, LISTING, OMS = "catalog", "listing", "oms"
HOSTS = (CATALOG, LISTING, OMS)
PRODUCTION_URLS = {
    CATALOG: "https://mpop.hepsiburada.com/product",
    LISTING: "https://listing-external.hepsiburada.com",
    OMS: "https://oms-external.hepsiburada.com",
}
SIT_URLS = {
    CATALOG: "https://mpop-sit.hepsiburada.com/product",
    LISTING: "https://listing-external-sit.hepsiburada.com",
    OMS: "https://oms-external-sit.hepsiburada.com",
}
# Path prefixes of the local sandbox (sandbox/hepsiburada) under one root URL.
SANDBOX_PREFIXES = {CATALOG: "/mpop/product", LISTING: "/listing", OMS: "/oms"}

# Documented per-host limits (requests, seconds): catalog 100/1 s (403 above), OMS 1000/1 s (429);
# listing 180/min is the SDK's observation (not in HB's docs).
RATE_LIMITS = {CATALOG: (100, 1.0), LISTING: (180, 60.0), OMS: (1000, 1.0)}

MAX_IMPORT = 1000  # items per import file (undocumented; the status endpoint's default page size)
MAX_UPLOAD = 4000  # rows per price/stock/inventory upload (SDK; "UNVERIFIED" in HB's docs)
MAX_SKU_QUERY = 50  # merchantSkuList / hbSkuList per listings query
MAX_ORDER_PAGE = 100  # limit of GET /orders (mandatory offset & limit)
MAX_PACKAGE_PAGE = 10  # limit of GET /packages
MAX_STATUS_FEED_PAGE = 50  # limit of the cancelled / shipped / delivered / undelivered feeds
# /packages treats a begin/end window longer than 24 h as begin + 24 h; dates have minute precision,
# so each window is a minute short and its end is rounded up to the next minute.
PACKAGE_WINDOW = timedelta(hours=24) - timedelta(minutes=1)
MAX_PAGES = 10_000  # a guard against a server that never reports the last page
STATUS_PAGE_SIZE = 1000
CATEGORY_PAGE_SIZE = 1000
CANCEL_REASON_OUT_OF_STOCK = 83  # "Ürün tedarik edilemedi"
# base.CANCEL_REASONS → cancelbymerchant reasonId. HB documents one merchant reason, 83 ("the product
# could not be supplied"), which is what every neutral reason amounts to for the buyer.
CANCEL_REASON_IDS = {reason: CANCEL_REASON_OUT_OF_STOCK for reason in base.CANCEL_REASONS}
# The thin status feeds: (path under the merchant, the date field that says when the change happened).
STATUS_FEEDS = {
    "cancelled": ("orders/merchantid/{m}/cancelled", "cancelDate"),
    "shipped": ("packages/merchantid/{m}/shipped", "ShippedDate"),
    "delivered": ("packages/merchantid/{m}/delivered", "DeliveredDate"),
    "undelivered": ("packages/merchantid/{m}/undelivered", "UndeliveredDate"),
}
FEED_KEY = "_feed"  # which listing a row of orders_changed_since came from (not an HB field)

TOO_MANY_UPLOADS = "too many ongoing/waiting inventory uploads"
ISTANBUL = ZoneInfo("Europe/Istanbul")
_UPLOAD_KINDS = ("price", "stock", "inventory")


# -- error translation ------------------------------------------------------------------------------


def _message(response: requests.Response) -> str:
    """The service's own text out of any of HB's error bodies: a JSON object (message / error /
    title / detail), a bare JSON string (OMS), a JSON list, or plain text (listing)."""
    body = response_json(response)
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, dict):
        for key in ("message", "detail", "title", "error"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        errors = body.get("errors")
        if isinstance(errors, (list, dict)):
            return jsonlib.dumps(errors, ensure_ascii=False)[:300]
        return ""
    if isinstance(body, list):
        return "; ".join(str(x) for x in body if x not in (None, ""))[:300]
    if response.content:
        return response.text.strip()[:300]
    return ""


def _rate_headers_wait(response: requests.Response) -> float | None:
    wait = parse_retry_after(response.headers.get("Retry-After"))
    if wait is None:
        wait = parse_retry_after(response.headers.get("X-RateLimit-Reset"))
    return wait


def _translate(host: str, response: requests.Response) -> ChannelError | None:
    status = response.status_code
    if 200 <= status < 300:
        body = response_json(response)
        if host == CATALOG and isinstance(body, dict) and body.get("success") is False:
            code = body.get("code")
            return PermanentError(str(body.get("message") or "Hepsiburada catalog request failed"), status,
                                  str(code) if code is not None else "catalog.failure")
        if host == LISTING and isinstance(body, dict) and not body.get("id") and TOO_MANY_UPLOADS in str(
            body.get("message") or ""
        ).lower():
            # HB refuses a 6th concurrent upload inside a 200: wait for the running ones.
            return ThrottledError(str(body["message"]), status, "too.many.uploads", 5.0)
        return None
    message = _message(response)
    reason = response.reason or f"HTTP {status}"
    if host == CATALOG and status == 403:
        # The catalog host answers 403 (not 429) above 100 req/s, and keeps doing so while an IP is
        # blocked; credentials problems are 401 there. So 403 here is throttling: transient.
        return ThrottledError(message or "catalog rate limit exceeded (403)", status, "catalog.throttled",
                              _rate_headers_wait(response))
    if status == 429:
        return ThrottledError(message or "TooManyRequest", status, "too.many.requests", _rate_headers_wait(response))
    if status in (401, 403):
        return AuthError(message or ("Unauthorized" if status == 401 else "Forbidden"), status, "unauthorized")
    if status >= 500 or status in (408, 425):
        return TransientError(message or reason, status, None, parse_retry_after(response.headers.get("Retry-After")))
    if status == 404:
        return NotFoundError(message or "Not Found", status)
    return PermanentError(message or reason, status)


def translate_catalog(response: requests.Response) -> ChannelError | None:
    return _translate(CATALOG, response)


def translate_listing(response: requests.Response) -> ChannelError | None:
    return _translate(LISTING, response)


def translate_oms(response: requests.Response) -> ChannelError | None:
    return _translate(OMS, response)


_TRANSLATORS = {CATALOG: translate_catalog, LISTING: translate_listing, OMS: translate_oms}


# -- HTTP with multipart ---------------------------------------------------------------------------


class Multipart:
    """A ``multipart/form-data`` body for ``_HbHttp``: ``fields`` as urllib3 takes them."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields


class _HbHttp(JsonHttp):
    """``JsonHttp`` that can also send a ``Multipart`` body (the catalog import)."""

    def _send(self, method: str, path: str, params: Any, body: Any,
              headers: Mapping[str, str] | None = None) -> requests.Response:
        if not isinstance(body, Multipart):
            return super()._send(method, path, params, body, headers)
        data, content_type = encode_multipart_formdata(body.fields, boundary=uuid.uuid4().hex)
        headers = {k: v for k, v in self.request_headers(headers).items() if k.lower() != "content-type"}
        headers["Content-Type"] = content_type
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            if self.breaker is None:
                return self._raw(method, url, params, data, headers)
            return self._through_breaker(method, url, params, data, headers)
        except ChannelError:
            raise
        except _CONFIG_ERRORS as exc:
            raise PermanentError(f"{self.name}: bad request setup ({type(exc).__name__})") from None
        except requests.Timeout as exc:
            raise TransientError(f"{self.name}: timed out ({type(exc).__name__})") from None
        except requests.ConnectionError as exc:
            raise TransientError(f"{self.name}: connection failed ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            raise TransientError(f"{self.name}: request failed ({type(exc).__name__})") from None


_CONFIG_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


# -- the client --------------------------------------------------------------------------------------


def hb_datetime(value: datetime) -> str:
    """``yyyy-MM-dd HH:mm`` in Istanbul time (naive datetimes are taken as UTC): HB's order filters
    silently return nothing for ISO or UTC strings."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ISTANBUL).strftime("%Y-%m-%d %H:%M")


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_hb_date(value: Any) -> datetime | None:
    """A date out of an HB row: ISO 8601 (naive = Istanbul time, over-long fractions trimmed) or
    ``yyyy-MM-dd HH:mm[:ss]`` Istanbul time; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=ISTANBUL) if when.tzinfo is None else when


class HepsiburadaClient(Channel):
    """One Hepsiburada merchant account across its catalog, listing and OMS hosts.

    ``base_urls`` is a mapping ``{"catalog", "listing", "oms"} → base URL`` (``PRODUCTION_URLS``,
    ``SIT_URLS``) or one root URL under which the sandbox's prefixes (``/mpop/product``,
    ``/listing``, ``/oms``) are appended. ``limiter`` is a shared ``workers.ratelimit.RateLimiter``,
    or a mapping host → limiter (HB's limits differ per host); keys are
    ``hepsiburada:<host>:<merchantId>``. ``timeout`` is the read timeout; ``retry_budget`` bounds
    the seconds one call may spend retrying transient errors.

    Batch ids returned by the write methods are prefixed with their kind (``catalog:<trackingId>``,
    ``price:<id>``, ``stock:<id>``, ``inventory:<id>``; ``update_price_stock`` may return two joined
    by ``+``) so that ``batch_result`` knows which endpoint to ask.
    """

    code = "hepsiburada"
    capabilities = frozenset({CREATE, UPDATE, PRICE_STOCK, BATCH_RESULT, FIND, CATEGORIES, ATTRIBUTES, ORDERS,
                              ACKNOWLEDGE, SHIP, CANCEL})
    MAX_BATCH = MAX_IMPORT

    def __init__(
        self,
        base_urls: Mapping[str, str] | str,
        merchant_id: str,
        username: str,
        password: str,
        user_agent: str,
        *,
        session: requests.Session | None = None,
        limiter: Any = None,
        timeout: float = 15.0,
        retry_budget: float = 20.0,
        breaker: Any = None,
    ) -> None:
        merchant = str(merchant_id or "").strip()
        try:
            uuid.UUID(merchant)
        except ValueError:
            raise ValueError("Hepsiburada merchantId must be a GUID") from None
        if not username or not password:
            raise ValueError("username and password (service key) are required")
        if not user_agent or not user_agent.strip():
            raise ValueError("user_agent (the registered integrator name) is required")
        if isinstance(base_urls, str):
            root = base_urls.rstrip("/")
            urls = {h: root + SANDBOX_PREFIXES[h] for h in HOSTS}
        else:
            missing = [h for h in HOSTS if h not in base_urls]
            if missing:
                raise ValueError(f"base_urls lacks {', '.join(missing)}")
            urls = {h: str(base_urls[h]).rstrip("/") for h in HOSTS}
        self.base_urls = urls
        self.merchant_id = merchant
        self.user_agent = user_agent
        self._own_session = session is None
        session = session if session is not None else plain_session()
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        self.http: dict[str, _HbHttp] = {}
        for host in HOSTS:
            host_limiter = limiter.get(host) if isinstance(limiter, Mapping) else limiter
            self.http[host] = _HbHttp(
                urls[host],
                session=session,
                headers=headers,
                auth=(username, password),
                translate=_TRANSLATORS[host],
                limiter=host_limiter,
                breaker=breaker,
                read_timeout=timeout,
                retry_budget=retry_budget,
                secrets=(username, password, token),
                name="hepsiburada",
            )
        # What each listing upload carried (bounded), so that batch_result can report the rows HB
        # does not list (HB lists only failing rows) as SUCCESS when asked from this process.
        self._sent: OrderedDict[str, list[tuple[str | None, str | None]]] = OrderedDict()
        self._sent_lock = threading.Lock()

    def __repr__(self) -> str:  # never credentials
        return f"HepsiburadaClient(merchant={self.merchant_id}, {self.base_urls[CATALOG]})"

    def close(self) -> None:
        if self._own_session:
            self.http[CATALOG].session.close()

    # -- helpers ---------------------------------------------------------------------------------

    def _rate_key(self, host: str) -> str:
        return f"hepsiburada:{host}:{self.merchant_id}"

    def _call(self, host: str, method: str, path: str, **kw: Any) -> Any:
        return self.http[host].request(method, path, rate_key=self._rate_key(host), **kw)

    def _m(self) -> str:
        return quote(self.merchant_id, safe="")

    @staticmethod
    def _check(items: Sequence[Any], limit: int, what: str) -> list[Any]:
        if isinstance(items, (str, bytes, dict)):
            raise TypeError("items must be a sequence of items")
        items = list(items)
        if not items:
            raise ValueError("no items to send")
        if len(items) > limit:
            raise ValueError(f"{len(items)} items: Hepsiburada accepts at most {limit} per {what}; chunk them")
        return items

    # -- catalog -----------------------------------------------------------------------------------

    def import_products(self, items: Sequence[dict[str, Any]]) -> str:
        """``POST /api/products/import`` with the items as the ``file`` part (a JSON array); returns
        ``catalog:<trackingId>``. Items are ``{categoryId, merchant, attributes{merchantSku, ...}}``."""
        items = self._check(items, MAX_IMPORT, "import file")
        payload = jsonlib.dumps(items, ensure_ascii=False).encode("utf-8")
        body = self._call(
            CATALOG, "POST", "api/products/import",
            json=Multipart({"file": ("products.json", payload, "application/json")}),
        )
        data = body.get("data") if isinstance(body, dict) else None
        tracking = data.get("trackingId") if isinstance(data, dict) else None
        if not tracking:
            raise PermanentError("Hepsiburada answered the import without a trackingId", None, "no.tracking.id")
        return f"catalog:{tracking}"

    def import_status(self, tracking_id: str) -> BatchResult:
        """Every page of ``GET /api/products/status/{trackingId}`` as a ``BatchResult``: one item per
        product (key = merchantSku), SUCCESS / FAILED / None (PROCESSING), reasons from
        ``validationResults`` and ERROR ``importMessages``. Unknown ids raise ``BatchNotFound``."""
        tracking_id = tracking_id.removeprefix("catalog:")
        if not tracking_id:
            raise ValueError("tracking_id is required")
        path = f"api/products/status/{quote(tracking_id, safe='')}"
        rows: list[dict[str, Any]] = []
        total: int | None = None
        page = 0
        while True:
            try:
                body = self._call(CATALOG, "GET", path, params={"page": page, "size": STATUS_PAGE_SIZE})
            except PermanentError as exc:
                if isinstance(exc, AuthError):
                    raise
                raise BatchNotFound(exc.message, exc.status, exc.code) from None
            data = body.get("data") if isinstance(body, dict) else None
            rows.extend(r for r in data or [] if isinstance(r, dict))
            total = body.get("totalElements") if isinstance(body.get("totalElements"), int) else total
            total_pages = body.get("totalPages")
            page += 1
            if not data or body.get("last") is True or not isinstance(total_pages, int) or page >= total_pages:
                break
        return parse_import_status(rows, tracking_id, total)

    def categories(self, *, leaf: bool = True, status: str = "ACTIVE", available: bool = True) -> list[dict[str, Any]]:
        """Every page of ``get-all-categories`` (flat ``BaseCategoryDTO`` list with ``paths``)."""
        out: list[dict[str, Any]] = []
        page = 0
        while True:
            params = {"leaf": str(leaf).lower(), "status": status, "available": str(available).lower(),
                      "page": page, "size": CATEGORY_PAGE_SIZE}
            body = self._call(CATALOG, "GET", "api/categories/get-all-categories", params=params)
            data = body.get("data") if isinstance(body, dict) else None
            out.extend(c for c in data or [] if isinstance(c, dict))
            total_pages = body.get("totalPages") if isinstance(body, dict) else None
            page += 1
            if not data or body.get("last") is True or not isinstance(total_pages, int) or page >= total_pages:
                return out

    def category_attributes(self, category_id: int) -> dict[str, Any]:
        """``{baseAttributes, attributes, variantAttributes}``, each ``[{id, name, mandatory, type, multiValue}]``."""
        body = self._call(CATALOG, "GET", f"api/categories/{int(category_id)}/attributes")
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else {}

    def attribute_values(self, category_id: int, attribute_id: str) -> list[dict[str, Any]]:
        """Every value of an enum attribute (all pages)."""
        path = f"api/categories/{int(category_id)}/attribute/{quote(str(attribute_id), safe='')}/values"
        out: list[dict[str, Any]] = []
        page = 0
        while True:
            body = self._call(CATALOG, "GET", path, params={"page": page, "size": CATEGORY_PAGE_SIZE})
            data = body.get("data") if isinstance(body, dict) else None
            out.extend(data or [])
            total_pages = body.get("totalPages") if isinstance(body, dict) else None
            page += 1
            if not data or body.get("last") is True or not isinstance(total_pages, int) or page >= total_pages:
                return out

    # -- listing -----------------------------------------------------------------------------------

    def _upload(self, kind: str, items: Sequence[dict[str, Any]]) -> str:
        rows = self._check(items, MAX_UPLOAD, f"{kind} upload")
        body = self._call(LISTING, "POST", f"listings/merchantid/{self._m()}/{kind}-uploads", json=rows)
        upload_id = body.get("id") if isinstance(body, dict) else None
        if not upload_id:
            message = body.get("message") if isinstance(body, dict) else None
            raise PermanentError(str(message or "Hepsiburada answered the upload without an id"), 200, "no.upload.id")
        keys = [(r.get("hepsiburadaSku"), r.get("merchantSku")) if isinstance(r, dict) else (None, None) for r in rows]
        with self._sent_lock:
            self._sent[f"{kind}:{upload_id}"] = keys
            while len(self._sent) > 1000:
                self._sent.popitem(last=False)
        return f"{kind}:{upload_id}"

    def upload_prices(self, items: Sequence[dict[str, Any]]) -> str:
        """``[{hepsiburadaSku|merchantSku, price}]`` (price a number with a dot) → ``price:<id>``."""
        return self._upload("price", items)

    def upload_stocks(self, items: Sequence[dict[str, Any]]) -> str:
        """``[{hepsiburadaSku|merchantSku, availableStock, maximumPurchasableQuantity?}]`` → ``stock:<id>``."""
        return self._upload("stock", items)

    def upload_inventory(self, items: Sequence[dict[str, Any]]) -> str:
        """Combined price/stock/shipping rows (``inventory-uploads``) → ``inventory:<id>``."""
        return self._upload("inventory", items)

    def upload_result(self, kind: str, upload_id: str) -> BatchResult:
        """``GET .../{kind}-uploads/id/{id}``: failing rows as FAILED items (``errors[]`` and, for
        prices, ``priceValidations[]``). Rows HB does not list succeeded; when this client sent the
        upload they are listed as SUCCESS too, otherwise only ``item_count`` tells how many."""
        if kind not in _UPLOAD_KINDS:
            raise ValueError(f"unknown upload kind {kind!r}")
        path = f"listings/merchantid/{self._m()}/{kind}-uploads/id/{quote(upload_id, safe='')}"
        try:
            body = self._call(LISTING, "GET", path)
        except NotFoundError as exc:
            raise BatchNotFound(exc.message or f"no {kind} upload {upload_id}", exc.status, exc.code) from None
        if not isinstance(body, dict):
            raise BatchNotFound(f"no {kind} upload {upload_id}", 200, "empty.upload.result")
        with self._sent_lock:
            sent = self._sent.get(f"{kind}:{upload_id}")
        return parse_upload_result(body, kind, sent)

    def listings(self, *, merchant_skus: Sequence[str] = (), hb_skus: Sequence[str] = (),
                 page_size: int = 100) -> Iterator[dict[str, Any]]:
        """``GET /listings/merchantid/{m}`` walked with offset/limit until ``totalCount``."""
        offset = 0
        while True:
            params: dict[str, Any] = {"offset": offset, "limit": page_size}
            if merchant_skus:
                params["merchantSkuList"] = ",".join(merchant_skus)
            if hb_skus:
                params["hbSkuList"] = ",".join(hb_skus)
            body = self._call(LISTING, "GET", f"listings/merchantid/{self._m()}", params=params)
            rows = body.get("listings") if isinstance(body, dict) else None
            yield from (r for r in rows or [] if isinstance(r, dict))
            total = body.get("totalCount") if isinstance(body, dict) else None
            offset += len(rows or [])
            if not rows or not isinstance(total, int) or offset >= total:
                return

    def find_listings(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """Listings for these merchant SKUs (≤50 per query, chunked), in the order asked; absent
        SKUs are missing. ``isFulfilledByHB`` listings are returned: callers must not sync their stock."""
        wanted = list(dict.fromkeys(str(k) for k in keys if k))
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), MAX_SKU_QUERY):
            chunk = wanted[i: i + MAX_SKU_QUERY]
            for row in self.listings(merchant_skus=chunk):
                if row.get("merchantSku") in chunk:
                    found.setdefault(row["merchantSku"], row)
        return [found[k] for k in wanted if k in found]

    # -- orders ------------------------------------------------------------------------------------

    def orders(self, begin: datetime | None = None, end: datetime | None = None, *,
               page_size: int = MAX_ORDER_PAGE) -> Iterator[dict[str, Any]]:
        """Paid, to-be-packed lines (``GET /orders/merchantid/{m}``), every page: offset/limit are
        mandatory, limit ≤100; stops at ``totalCount`` or on an empty page."""
        if not 1 <= page_size <= MAX_ORDER_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_ORDER_PAGE}")
        offset = 0
        while True:
            params: dict[str, Any] = {"offset": offset, "limit": page_size}
            if begin is not None:
                params["begindate"] = hb_datetime(begin)
            if end is not None:
                params["enddate"] = hb_datetime(end)
            body = self._call(OMS, "GET", f"orders/merchantid/{self._m()}", params=params)
            items = body.get("items") if isinstance(body, dict) else None
            yield from (i for i in items or [] if isinstance(i, dict))
            total = body.get("totalCount") if isinstance(body, dict) else None
            offset += len(items or [])
            if not items or not isinstance(total, int) or offset >= total:
                return

    def list_orders(self, begin: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
        return list(self.orders(begin, end))

    def package_lines(self, lines: Iterable[tuple[str, int]], *, parcel_quantity: int = 1,
                      deci: float | None = None) -> dict[str, Any]:
        """Package open lines (``POST /packages/merchantid/{m}``; the seller's acknowledgement) →
        ``{packageNumber, barcode}``."""
        body: dict[str, Any] = {
            "lineItemRequests": [{"id": str(line_id), "quantity": int(qty)} for line_id, qty in lines],
            "parcelQuantity": int(parcel_quantity),
        }
        if not body["lineItemRequests"]:
            raise ValueError("no lines to package")
        if deci is not None:
            body["deci"] = deci
        result = self._call(OMS, "POST", f"packages/merchantid/{self._m()}", json=body)
        return result if isinstance(result, dict) else {}

    def packages(self, *, timespan_hours: int | None = None, begin: datetime | None = None,
                 end: datetime | None = None) -> list[dict[str, Any]]:
        """Packed, ready-to-ship packages, every page (limit ≤10, capital ``Offset``): of the last
        ``timespan_hours`` (HB's default: 24), or packed in ``[begin, end]`` (end: now), asked in
        24-hour windows because HB cuts a longer one to its first 24 hours."""
        if begin is None:
            if end is not None:
                raise ValueError("end needs begin")
            return list(self._package_pages({"timespan": int(timespan_hours)} if timespan_hours is not None else {}))
        if timespan_hours is not None:
            raise ValueError("give timespan_hours or begin/end, not both")
        stop = _utc(end) if end is not None else datetime.now(UTC)
        start = _utc(begin)
        if stop < start:
            raise ValueError("end is before begin")
        out: list[dict[str, Any]] = []
        while True:
            window_end = min(start + PACKAGE_WINDOW, stop)
            out.extend(self._package_pages({"begindate": hb_datetime(start),
                                            "enddate": hb_datetime(window_end + timedelta(seconds=59.999))}))
            if window_end >= stop:
                return out
            start = window_end

    def _package_pages(self, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
        offset = 0
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": MAX_PACKAGE_PAGE, "Offset": offset, **filters}
            body = self._call(OMS, "GET", f"packages/merchantid/{self._m()}", params=params)
            rows = body if isinstance(body, list) else (body or {}).get("items") or []
            yield from (r for r in rows if isinstance(r, dict))
            offset += len(rows)
            if len(rows) < MAX_PACKAGE_PAGE:
                return

    def status_feed(self, feed: str) -> Iterator[dict[str, Any]]:
        """Every row of a thin status feed — ``cancelled`` lines (``/orders/merchantid/{m}/cancelled``),
        ``shipped`` / ``delivered`` / ``undelivered`` packages (``/packages/merchantid/{m}/<feed>``) —
        paged by offset/limit ≤50. They take no dates: HB answers 400 WrongDateFormat to any."""
        if feed not in STATUS_FEEDS:
            raise ValueError(f"feed must be one of {', '.join(STATUS_FEEDS)}")
        path = STATUS_FEEDS[feed][0].format(m=self._m())
        offset = 0
        for _ in range(MAX_PAGES):
            body = self._call(OMS, "GET", path, params={"offset": offset, "limit": MAX_STATUS_FEED_PAGE})
            items = body.get("items") if isinstance(body, dict) else body if isinstance(body, list) else None
            yield from (i for i in items or [] if isinstance(i, dict))
            total = body.get("totalCount") if isinstance(body, dict) else None
            offset += len(items or [])
            if not items or len(items) < MAX_STATUS_FEED_PAGE or (isinstance(total, int) and offset >= total):
                return

    def ship(self, package_number: str, tracking_number: str, *, tracking_url: str | None = None,
             shipped_date: datetime | None = None, deci: float | None = None) -> None:
        """Own-carrier packages: ``POST .../packagenumber/{p}/intransit`` with the tracking number."""
        if not tracking_number:
            raise ValueError("tracking_number is required")
        body: dict[str, Any] = {"trackingNumber": tracking_number}
        if tracking_url:
            body["trackingUrl"] = tracking_url
        body["shippedDate"] = hb_datetime(shipped_date or datetime.now(UTC))
        if deci is not None:
            body["deci"] = deci
        path = f"packages/merchantid/{self._m()}/packagenumber/{quote(str(package_number), safe='')}/intransit"
        self._call(OMS, "POST", path, json=body)

    def cancel_line(self, line_id: str, reason_id: int = CANCEL_REASON_OUT_OF_STOCK) -> None:
        """Cancel an unpacked line (``POST /lineitems/merchantid/{m}/id/{lineId}/cancelbymerchant``)."""
        path = f"lineitems/merchantid/{self._m()}/id/{quote(str(line_id), safe='')}/cancelbymerchant"
        self._call(OMS, "POST", path, json={"reasonId": int(reason_id)})

    # -- neutral order operations ----------------------------------------------------------------------

    def orders_changed_since(self, since: datetime, until: datetime | None = None) -> Iterator[dict[str, Any]]:
        """What HB lists about orders in ``[since, until]``, each row tagged with ``_feed``:

        - ``orders``: open (paid, to-be-packed) lines ordered in the window, every page;
        - ``packages``: packages packed in the window, in 24-hour windows;
        - ``cancelled`` / ``shipped`` / ``delivered`` / ``undelivered``: the status feeds, which take
          no dates, walked whole and kept when their change date falls in the window (or cannot be
          read, so nothing is lost to an unexpected date format).

        Line rows (orders, cancelled) and package rows differ in shape; the same order shows up in
        several feeds as it moves on."""
        lo, hi = _utc(since), _utc(until) if until is not None else None
        if hi is not None and hi < lo:
            raise ValueError("until is before since")
        # HB's date filters count whole minutes: an ``enddate`` cut to this minute would hide the
        # orders placed in it until the next poll, so the window ends at the next full minute.
        hi_minute = (hi + timedelta(seconds=60)).replace(second=0, microsecond=0) if hi is not None else None
        for row in self.orders(lo, hi_minute):
            yield {**row, FEED_KEY: "orders"}
        # A since slightly ahead of this host's clock is an empty package window, not an error.
        for row in self.packages(begin=lo, end=max(lo, hi or datetime.now(UTC))):
            yield {**row, FEED_KEY: "packages"}
        for feed, (_path, date_field) in STATUS_FEEDS.items():
            for row in self.status_feed(feed):
                when = parse_hb_date(row.get(date_field))
                if when is None or (lo <= when and (hi is None or when <= hi)):
                    yield {**row, FEED_KEY: feed}

    def acknowledge_order(self, ref: OrderRef) -> dict[str, Any]:
        """Package ``ref.lines`` (line item id, quantity) — HB's acknowledgement — into one package;
        returns ``{packageNumber, barcode}``. HB wants each line's full quantity."""
        if not ref.lines:
            raise ValueError("no lines to package")
        return self.package_lines(ref.lines)

    def ship_order(self, ref: OrderRef, shipment: Shipment) -> None:
        """Own-carrier merchants only: mark package ``ref.package_id`` in transit with the tracking
        number (and URL). HB's in-transit call has no carrier field, so ``shipment.carrier`` is not
        sent; packages carried by HB's contracted carriers move on by themselves."""
        if not ref.package_id:
            raise ValueError("Hepsiburada ships packages: ref.package_id (the packageNumber) is required")
        self.ship(ref.package_id, shipment.tracking_number, tracking_url=shipment.tracking_url,
                  shipped_date=shipment.shipped_at)

    def cancel_order_lines(self, ref: OrderRef, reason: str = "out_of_stock") -> list[str]:
        """Cancel each of ``ref.lines`` (``cancelbymerchant``; only lines not yet packed). HB cancels
        whole lines, so quantities are not sent. Returns the cancelled line ids; a failure stops at
        that line (earlier ones stay cancelled)."""
        if reason not in base.CANCEL_REASONS:
            raise ValueError(f"reason must be one of {', '.join(base.CANCEL_REASONS)}")
        if not ref.lines:
            raise ValueError("no lines to cancel")
        done: list[str] = []
        for line_id, _qty in ref.lines:
            self.cancel_line(str(line_id), CANCEL_REASON_IDS[reason])
            done.append(str(line_id))
        return done

    # -- Channel -----------------------------------------------------------------------------------

    def create_listings(self, items: Sequence[dict[str, Any]]) -> str:
        return self.import_products(items)

    def update_listings(self, items: Sequence[dict[str, Any]], *, kind: str | None = None) -> str:
        """``kind`` None/"catalog": re-import (HB updates a merchantSku it already holds);
        "price" / "stock" / "inventory": the listing upload of that name."""
        if kind in (None, "catalog"):
            return self.import_products(items)
        if kind in _UPLOAD_KINDS:
            return self._upload(kind, items)
        raise ValueError("Hepsiburada updates take kind=None/'catalog', 'price', 'stock' or 'inventory'")

    def update_price_stock(self, items: Sequence[dict[str, Any]]) -> str:
        """Rows ``{hepsiburadaSku?, merchantSku?, price?, availableStock?}``: those with a price go
        to one price upload, those with a stock to one stock upload. Returns the upload id(s),
        joined by ``+`` when both were sent."""
        rows = self._check(items, MAX_UPLOAD, "price/stock update")
        ident = ("hepsiburadaSku", "merchantSku")
        prices = [{k: r[k] for k in (*ident, "price") if r.get(k) is not None} for r in rows if r.get("price") is not None]
        stocks = [
            {k: r[k] for k in (*ident, "availableStock", "maximumPurchasableQuantity") if k in r}
            for r in rows if r.get("availableStock") is not None
        ]
        if not prices and not stocks:
            raise ValueError("no row carries a price or an availableStock")
        ids = []
        if prices:
            ids.append(self.upload_prices(prices))
        if stocks:
            ids.append(self.upload_stocks(stocks))
        return "+".join(ids)

    def batch_result(self, batch_id: str) -> BatchResult:
        """The state of any id a write returned (``catalog:``, ``price:``, ``stock:``,
        ``inventory:``, or several joined by ``+``: their items merged, done when all are)."""
        if not batch_id:
            raise ValueError("batch_id is required")
        parts = batch_id.split("+")
        if len(parts) > 1:
            return merge_results(batch_id, [self.batch_result(p) for p in parts])
        kind, sep, raw = batch_id.partition(":")
        if not sep:
            raise ValueError(f"not a Hepsiburada batch id: {batch_id!r}")
        if kind == "catalog":
            return self.import_status(raw)
        return self.upload_result(kind, raw)

    def wait_batch(self, batch_id: str, timeout: float = 60.0, interval: float = 0.5) -> BatchResult:
        deadline = time.monotonic() + timeout
        while True:
            result = self.batch_result(batch_id)
            if result.done or time.monotonic() >= deadline:
                return result
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def category_tree(self) -> list[dict[str, Any]]:
        """HB has no tree endpoint: the flat list of leaf, ACTIVE, available categories (each with
        ``parentCategoryId`` and ``paths``), which are the only ones that accept products."""
        return self.categories()

    def brand_by_name(self, name: str) -> list[dict[str, Any]]:
        """HB takes the brand as free text (``Marka``); there is no brand lookup (no BRANDS capability)."""
        raise NotImplementedError("Hepsiburada has no brand lookup; send the brand name as 'Marka'")


# -- parsing ------------------------------------------------------------------------------------------


def parse_import_status(rows: list[dict[str, Any]], tracking_id: str, total: int | None = None) -> BatchResult:
    items = []
    for row in rows:
        status = str(row.get("importStatus") or "").upper()
        reasons = []
        for v in row.get("validationResults") or []:
            if isinstance(v, dict) and v.get("message"):
                name = v.get("attributeName")
                reasons.append(f"{name}: {v['message']}" if name else str(v["message"]))
        for m in row.get("importMessages") or []:
            if isinstance(m, dict) and m.get("severity") == "ERROR" and m.get("message") and not any(
                str(m["message"]) in r for r in reasons
            ):
                reasons.append(str(m["message"]))
        reasons.extend(str(r) for r in row.get("rejectReasonsMessages") or [] if r)
        items.append(BatchItem(
            key=row.get("merchantSku"),
            status=SUCCESS if status == SUCCESS else FAILED if status == FAILED else None,
            reasons=reasons,
            request_item=row,
        ))
    return BatchResult(
        id=f"catalog:{tracking_id}",
        status=None,
        batch_type="catalog",
        items=items,
        item_count=total if total is not None else len(items),
        failed_item_count=sum(1 for i in items if i.failed),
        raw={"data": rows, "totalElements": total},
    )


def parse_upload_result(body: dict[str, Any], kind: str,
                        sent: list[tuple[str | None, str | None]] | None = None) -> BatchResult:
    status = str(body.get("status") or "") or None
    final = status is not None and status.upper() in ("DONE", "COMPLETED", "FAILED", "PROCESSED")
    failed: dict[int, BatchItem] = {}

    def add(element: Any, hb: Any, msku: Any, reason: str) -> None:
        n = element if isinstance(element, int) else -1 - len(failed)
        item = failed.get(n)
        if item is None:
            item = failed[n] = BatchItem(key=msku or hb, status=FAILED, reasons=[],
                                         request_item={"upload": kind, "elementNo": element, "hepsiburadaSku": hb,
                                                       "merchantSku": msku})
        if reason and reason not in item.reasons:
            item.reasons.append(reason)

    for err in body.get("errors") or []:
        if isinstance(err, dict):
            texts = [str(e) for e in err.get("errors") or [] if e] or ["rejected"]
            for t in texts:
                add(err.get("elementNo"), err.get("hepsiburadaSku"), err.get("merchantSku"), t)
    for v in body.get("priceValidations") or []:
        if isinstance(v, dict):
            text = v.get("description") or v.get("type") or "price validation failed"
            band = f" (allowed {v.get('minPrice')}–{v.get('maxPrice')})" if v.get("minPrice") is not None else ""
            add(v.get("elementNo"), v.get("hepsiburadaSku"), v.get("merchantSku"), f"{text}{band}")
    items = list(failed.values())
    if sent is not None and final:
        for n, (hb, msku) in enumerate(sent):
            if n not in failed:
                items.append(BatchItem(key=msku or hb, status=SUCCESS,
                                       request_item={"upload": kind, "elementNo": n, "hepsiburadaSku": hb,
                                                             "merchantSku": msku}))
        items.sort(key=lambda i: i.request_item.get("elementNo") if isinstance(i.request_item.get("elementNo"), int)
                   else 1 << 30)
    total = body.get("total") if isinstance(body.get("total"), int) else None
    return BatchResult(
        id=f"{kind}:{body.get('id')}",
        status=status.upper() if status else None,
        batch_type=kind,
        items=items,
        item_count=total,
        failed_item_count=len(failed),
        raw=body,
        unlisted_ok=final,
    )


def merge_results(batch_id: str, results: list[BatchResult]) -> BatchResult:
    items = [i for r in results for i in r.items]
    done = all(r.done for r in results)
    counts = [r.item_count for r in results]
    return BatchResult(
        id=batch_id,
        status="DONE" if done else "IN_PROGRESS",
        batch_type="+".join(str(r.batch_type) for r in results),
        items=items,
        item_count=sum(counts) if all(c is not None for c in counts) else None,
        failed_item_count=sum(r.failed_item_count or 0 for r in results),
        raw={r.id: r.raw for r in results},
        unlisted_ok=all(r.unlisted_ok for r in results),
    )


__all__ = [
    "CATALOG",
    "LISTING",
    "MAX_IMPORT",
    "MAX_ORDER_PAGE",
    "MAX_UPLOAD",
    "OMS",
    "PRODUCTION_URLS",
    "RATE_LIMITS",
    "SANDBOX_PREFIXES",
    "SIT_URLS",
    "CANCEL_REASON_IDS",
    "STATUS_FEEDS",
    "HepsiburadaClient",
    "hb_datetime",
    "parse_hb_date",
    "merge_results",
    "parse_import_status",
    "parse_upload_result",
    "translate_catalog",
    "translate_listing",
    "translate_oms",
]
