"""Trendyol Partner/Integration API client (marketplace-apis.md §1; specs/trendyol/*).

Speaks HTTP and translates errors, nothing else: no OpenCart knowledge, no idea whether the base URL
is production (``https://apigw.trendyol.com/integration``), stage or a local sandbox.

Every request carries HTTP Basic ``api_key:api_secret``, ``User-Agent: "{sellerId} - {integrator}"``
(mandatory — missing gives 403) and a JSON body. Writes are async: they return a
``batchRequestId`` whose per-item outcome ``batch_result`` reports (viewable for 4 hours).
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

import requests

from workers.channels.base import (
    ATTRIBUTES,
    BATCH_RESULT,
    BRANDS,
    CATEGORIES,
    CREATE,
    DELETE,
    FIND,
    PRICE_STOCK,
    UPDATE,
    BatchItem,
    BatchResult,
    Channel,
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
    may spend retrying transient errors before the last one is raised.
    """

    code = "trendyol"
    capabilities = frozenset(
        {CREATE, UPDATE, DELETE, PRICE_STOCK, BATCH_RESULT, FIND, CATEGORIES, ATTRIBUTES, BRANDS}
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


def _chunks(seq: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


__all__ = [
    "DUPLICATE_REQUEST_MESSAGE",
    "MAX_BATCH",
    "MAX_FILTER_BARCODES",
    "PRODUCTION_URL",
    "STAGE_URL",
    "BatchItem",
    "BatchNotFound",
    "BatchResult",
    "TrendyolClient",
    "is_duplicate_message",
    "normalize_barcode",
    "parse_batch",
    "translate_error",
]
