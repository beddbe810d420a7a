"""Amazon Selling Partner API client (marketplace-apis.md §4; specs/amazon/*).

Speaks HTTP and translates errors, nothing else. One seller account on one regional endpoint
(``https://sellingpartnerapi-eu.amazon.com`` for TR and DE), for one or more marketplaces.

- Auth: an LWA access token (``amazon_auth.LwaTokens``, shared through Redis) in ``x-amz-access-token``
  on every request. A 403 saying the token expired makes the client invalidate it, refresh once
  (one process refreshes, the others reuse) and repeat the request once.
- Limits: one Redis token bucket per operation and seller (``workers.ratelimit.RateLimiter`` with
  the documented rate/burst, slightly under-provisioned), taken before every attempt; a 429
  ``QuotaExceeded`` pushes the bucket back.
- Listings: ``put_listings_item``/``patch_listings_item``/``get_listings_item``/``delete_listings_item``
  for single SKUs; the ``Channel`` bulk writes go through a ``JSON_LISTINGS_FEED`` (feed document
  upload → createFeed → getFeed → processing report), whose ``feedId`` is the batch id.
- Orders: ``iter_orders`` walks ``getOrders`` (v0) pages, resending the same filters with ``NextToken``;
  ``orders_changed_since`` is the neutral poll (LastUpdatedAfter), ``ship_order`` wraps
  ``confirmShipment``. Amazon has no seller acknowledgement for merchant-fulfilled orders and the
  Orders API has no seller cancel operation, so neither ACKNOWLEDGE nor CANCEL is offered.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import redis
import requests

from workers.channels.amazon_auth import LwaTokens
from workers.channels.base import (
    ATTRIBUTES,
    BATCH_RESULT,
    CATEGORIES,
    CREATE,
    DELETE,
    FAILED,
    FIND,
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
from workers.channels.base import ORDERS as ORDERS_CAPABILITY
from workers.channels.errors import (
    AuthError,
    BatchNotFound,
    ChannelError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from workers.http import CONNECT_TIMEOUT, JsonHttp, plain_session, response_json
from workers.ratelimit import RateLimiter

EU_ENDPOINT = "https://sellingpartnerapi-eu.amazon.com"
LWA_URL = "https://api.amazon.com/auth/o2/token"
TR = "A33AVAJ2PDY3EV"
DE = "A1PA6795UKMFR9"
CURRENCIES = {TR: "TRY", DE: "EUR"}

LISTINGS = "/listings/2021-08-01/items"
FEEDS = "/feeds/2021-06-30"
ORDERS = "/orders/v0/orders"
ORDERS_2026 = "/orders/2026-01-01/orders"
DEFINITIONS = "/definitions/2020-09-01/productTypes"

# getOrders refuses a ...Before (and an ...After) later than 2 minutes before the request; the extra
# seconds absorb clock skew between this host and Amazon.
ORDERS_SETTLE = timedelta(minutes=2, seconds=10)

FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
MAX_FEED_MESSAGES = 25_000
EXPIRED_TOKEN = "The access token you provided has expired."

# operation -> (requests per second, burst), the published defaults (§4.2).
RATE_LIMITS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "searchOrders": (0.0056, 20),
    "getOrderItems": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "putListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "getListingsItem": (5.0, 10),
    "deleteListingsItem": (5.0, 5),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "cancelFeed": (2.0, 15),
    "createFeedDocument": (0.5, 15),
    "getFeedDocument": (0.0222, 10),
    "searchDefinitionsProductTypes": (5.0, 10),
    "getDefinitionsProductType": (5.0, 10),
}
# Our buckets run a little under Amazon's, so that network jitter between our clock (Redis TIME) and
# Amazon's never makes two requests look closer together at Amazon than they were at the limiter.
RATE_SAFETY = 0.9
# JSON_LISTINGS_FEED: 5 submissions per 5 minutes per region (changelog 2025-05-06), window kept 5% wider.
LISTINGS_FEED_WINDOW = (5, 315.0)


class ListingsItemInvalid(PermanentError):
    """Amazon answered a listings submission with ``status: INVALID``; the message holds its issues."""


# -- error translation ----------------------------------------------------------------------------


def _error_parts(body: Any) -> tuple[str, str | None, str]:
    """(message, code, details) of ``{"errors":[{"code","message","details"}]}``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    messages, details, code = [], [], None
    if isinstance(errors, list):
        for err in errors:
            if not isinstance(err, dict):
                continue
            code = code or (str(err["code"]) if err.get("code") else None)
            if err.get("message") and err["message"] not in messages:
                messages.append(str(err["message"]))
            if err.get("details") and err["details"] not in details:
                details.append(str(err["details"]))
    return "; ".join(messages), code, "; ".join(details)


def translate_error(response: requests.Response) -> ChannelError | None:
    """SP-API response → None (2xx) or the matching ``ChannelError``."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    message, code, details = _error_parts(response_json(response))
    text = message or response.reason or f"HTTP {status}"
    if details:
        text = f"{text} ({details})"
    if status == 429:
        return ThrottledError(text, status, code or "QuotaExceeded")
    if status in (401, 403):
        return AuthError(text, status, code)
    if status >= 500 or status == 408:
        return TransientError(text, status, code)
    if status == 404:
        return NotFoundError(text, status, code)
    return PermanentError(text, status, code)


def issues_text(issues: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for issue in issues:
        if issue.get("severity", "ERROR") == "ERROR":
            parts.append(str(issue.get("message") or issue.get("code")))
    return "; ".join(parts)


# -- limiter ----------------------------------------------------------------------------------------


# KEYS[1] = sorted set of admissions; ARGV = window (µs), limit, unique member. Sliding window log:
# admit iff fewer than ``limit`` admissions in the last ``window``; else return µs until one leaves.
_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class WindowLimiter:
    """At most ``limit`` admissions in any sliding ``window`` seconds per key, shared through Redis —
    for JSON_LISTINGS_FEED's "5 submissions per 5 minutes", which a token bucket cannot express."""

    def __init__(self, client: redis.Redis, prefix: str, limit: int, window: float) -> None:
        self.prefix = prefix
        self.limit = limit
        self.window = window
        self._script = client.register_script(_WINDOW)

    def acquire(self, key: str, max_wait: float = 30.0) -> float:
        waited = 0.0
        deadline = time.monotonic() + max_wait
        while True:
            wait_us = int(
                self._script(
                    keys=[f"{self.prefix}rlw:{key}"],
                    args=[int(self.window * 1_000_000), self.limit, uuid.uuid4().hex],
                )
            )
            if wait_us <= 0:
                return waited
            wait = wait_us / 1_000_000
            if wait > deadline - time.monotonic():
                raise ThrottledError(
                    f"local rate limit for {key} ({self.limit}/{self.window:g}s)",
                    None,
                    "rate.limited",
                    retry_after=math.ceil(wait * 1000) / 1000,
                )
            time.sleep(wait)
            waited += wait


class OperationLimiter:
    """One ``RateLimiter`` per SP-API operation, chosen by the operation in the rate key
    (``amazon:<operation>:<sellerId>``); what ``JsonHttp`` calls ``limiter``. ``createFeed`` also
    takes a slot of the JSON_LISTINGS_FEED window (5 per 5 minutes, kept 5% wider here).
    ``scale`` (``[ratelimit] scale``) multiplies every operation's rate and the feed window's
    count (rounded down, at least 1); bursts stay the documented ones."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        limits: Mapping[str, tuple[float, int]] | None = None,
        safety: float = RATE_SAFETY,
        feed_window: tuple[int, float] = LISTINGS_FEED_WINDOW,
        scale: float = 1.0,
    ) -> None:
        self.limiters: dict[str, RateLimiter] = {}
        for op, (rate, burst) in (limits or RATE_LIMITS).items():
            effective = rate * safety
            self.limiters[op] = RateLimiter(
                client, prefix, 1, 1.0 / effective, burst=max(1, burst - 1), name=op, scale=scale
            )
        feeds = feed_window[0] if scale == 1 else max(1, math.floor(feed_window[0] * scale))
        self.feeds = WindowLimiter(client, prefix, feeds, feed_window[1])

    def _for(self, key: str) -> RateLimiter | None:
        parts = key.split(":")
        return self.limiters.get(parts[1]) if len(parts) >= 3 else None

    def acquire(self, key: str, max_wait: float = 30.0) -> float:
        waited = 0.0
        if key.split(":")[1:2] == ["createFeed"]:
            waited += self.feeds.acquire(key, max_wait)
        limiter = self._for(key)
        return waited + (limiter.acquire(key, max(0.0, max_wait - waited)) if limiter else 0.0)

    def penalize(self, key: str, seconds: float) -> float:
        limiter = self._for(key)
        return limiter.penalize(key, seconds) if limiter else 0.0


class _SpApiHttp(JsonHttp):
    """JsonHttp that also scrubs the live access token from every error message."""

    tokens: LwaTokens

    def scrub(self, text: str) -> str:
        return super().scrub(_scrub_tokens(text, self.tokens))


def _scrub_tokens(text: str, tokens: LwaTokens) -> str:
    for secret in tokens.secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def package_reference_id(package_id: str | None, tracking_number: str) -> str:
    """confirmShipment's ``packageReferenceId``: only positive numbers, unique within the order."""
    if package_id is not None and str(package_id).isdigit() and int(package_id) > 0:
        return str(int(package_id))
    digest = hashlib.sha256(tracking_number.encode("utf-8")).hexdigest()
    return str(int(digest[:12], 16) % 999_999_999 + 1)


def _iso(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the client -------------------------------------------------------------------------------------


class AmazonClient(Channel):
    """One Amazon seller account (``seller_id`` = merchant token) on one SP-API regional endpoint.

    ``marketplace_ids`` are sent as ``marketplaceIds`` on every listings call and feed; the first is the
    default for prices. ``limiter``: None builds the per-operation Redis limiters on ``redis_client``
    (``OperationLimiter``); pass your own object with ``acquire``/``penalize``, or ``False`` for none.
    ``carrier_codes``: Amazon's carrier codes accepted as ``carrierCode`` by ``ship_order``; any other
    carrier goes as ``"Other"`` plus ``carrierName`` (None: every carrier is sent as its own code).
    """

    code = "amazon"
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
            ORDERS_CAPABILITY,
            SHIP,
        }
    )
    MAX_BATCH = MAX_FEED_MESSAGES

    def __init__(
        self,
        endpoint: str,
        lwa_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        seller_id: str,
        marketplace_ids: Sequence[str],
        *,
        redis_client: redis.Redis,
        redis_prefix: str = "",
        session: requests.Session | None = None,
        limiter: Any = None,
        timeout: float = 15.0,
        retry_budget: float = 20.0,
        breaker: Any = None,
        issue_locale: str = "en_US",
        feed_poll_interval: float = 30.0,
        carrier_codes: Sequence[str] | None = None,
    ) -> None:
        if not seller_id:
            raise ValueError("seller_id is required")
        mids = [m for m in marketplace_ids if m]
        if not mids:
            raise ValueError("at least one marketplace id is required")
        self.endpoint = endpoint.rstrip("/")
        self.seller_id = seller_id
        self.marketplace_ids = mids
        self.issue_locale = issue_locale
        self.feed_poll_interval = feed_poll_interval
        # Amazon's carrierCode list is not in the published models: the deployer may give it, and a
        # carrier outside it is then sent as "Other" with its name.
        self.carrier_codes = frozenset(carrier_codes) if carrier_codes else None
        self.redis = redis_client
        self.redis_prefix = redis_prefix
        self._session = session if session is not None else plain_session()
        self._own_session = session is None
        self.tokens = LwaTokens(
            lwa_url,
            client_id,
            client_secret,
            refresh_token,
            redis_client=redis_client,
            redis_prefix=redis_prefix,
            session=self._session,
            timeout=timeout,
        )
        if limiter is None:
            limiter = OperationLimiter(redis_client, redis_prefix)
        self.limiter = limiter or None
        self.http = _SpApiHttp(
            self.endpoint,
            session=self._session,
            headers={"Accept": "application/json"},
            translate=translate_error,
            limiter=self.limiter,
            breaker=breaker,
            read_timeout=timeout,
            retry_budget=retry_budget,
            secrets=(client_secret, refresh_token),
            name="amazon",
        )
        self.http.tokens = self.tokens
        self._timeout = (CONNECT_TIMEOUT, timeout)

    def __repr__(self) -> str:
        return f"AmazonClient(seller={self.seller_id}, {self.endpoint})"

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _key(self, operation: str) -> str:
        return f"amazon:{operation}:{self.seller_id}"

    def _call(self, operation: str, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        """One SP-API operation; an expired-token 403 leads to one refresh and one repeat."""
        for attempt in (1, 2):
            token = self.tokens.get()
            try:
                return self.http.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    rate_key=self._key(operation),
                    headers={"x-amz-access-token": token},
                )
            except AuthError as exc:
                if attempt == 2 or EXPIRED_TOKEN not in (exc.message or ""):
                    raise
                # Only this token is dropped: another process may already have stored a fresh one.
                self.tokens.invalidate(token)
        raise AssertionError("unreachable")

    def _listing_path(self, sku: str) -> str:
        return f"{LISTINGS}/{quote(self.seller_id, safe='')}/{quote(sku, safe='')}"

    def _mids(self, marketplace_ids: Sequence[str] | None) -> str:
        return ",".join(marketplace_ids or self.marketplace_ids)

    # --- listings items (single SKU) --------------------------------------------------------------

    def put_listings_item(
        self,
        sku: str,
        product_type: str,
        attributes: Mapping[str, Any],
        *,
        requirements: str | None = None,
        marketplace_ids: Sequence[str] | None = None,
        validation_preview: bool = False,
    ) -> dict[str, Any]:
        """``putListingsItem`` (full replace). Returns Amazon's submission response (status ACCEPTED or
        VALID); ``ListingsItemInvalid`` when it says INVALID."""
        body: dict[str, Any] = {"productType": product_type, "attributes": dict(attributes)}
        if requirements:
            body["requirements"] = requirements
        return self._submit("putListingsItem", "PUT", sku, body, marketplace_ids, validation_preview)

    def patch_listings_item(
        self,
        sku: str,
        product_type: str,
        patches: Sequence[Mapping[str, Any]],
        *,
        marketplace_ids: Sequence[str] | None = None,
        validation_preview: bool = False,
    ) -> dict[str, Any]:
        """``patchListingsItem`` with JSON Patch operations on top-level ``/attributes/<name>``."""
        body = {"productType": product_type, "patches": [dict(p) for p in patches]}
        return self._submit("patchListingsItem", "PATCH", sku, body, marketplace_ids, validation_preview)

    def _submit(
        self,
        operation: str,
        method: str,
        sku: str,
        body: dict[str, Any],
        marketplace_ids: Sequence[str] | None,
        preview: bool,
    ) -> dict[str, Any]:
        params = {
            "marketplaceIds": self._mids(marketplace_ids),
            "issueLocale": self.issue_locale,
            "includedData": "issues,identifiers",
        }
        if preview:
            params["mode"] = "VALIDATION_PREVIEW"
        result = self._call(operation, method, self._listing_path(sku), params=params, json=body) or {}
        if result.get("status") == "INVALID":
            issues = result.get("issues") or []
            code = next((str(i.get("code")) for i in issues if i.get("severity", "ERROR") == "ERROR"), None)
            raise ListingsItemInvalid(issues_text(issues) or f"Amazon rejected the listing {sku}", 400, code)
        return result

    def get_listings_item(
        self,
        sku: str,
        *,
        included_data: Sequence[str] = ("summaries",),
        marketplace_ids: Sequence[str] | None = None,
    ) -> dict[str, Any] | None:
        """``getListingsItem``; None when Amazon does not know the SKU (404)."""
        params = {
            "marketplaceIds": self._mids(marketplace_ids),
            "issueLocale": self.issue_locale,
            "includedData": ",".join(included_data),
        }
        try:
            return self._call("getListingsItem", "GET", self._listing_path(sku), params=params)
        except NotFoundError:
            return None

    def delete_listings_item(
        self, sku: str, *, marketplace_ids: Sequence[str] | None = None
    ) -> dict[str, Any]:
        params = {"marketplaceIds": self._mids(marketplace_ids), "issueLocale": self.issue_locale}
        result = self._call("deleteListingsItem", "DELETE", self._listing_path(sku), params=params) or {}
        if result.get("status") == "INVALID":
            raise ListingsItemInvalid(issues_text(result.get("issues") or []) or f"cannot delete {sku}", 400)
        return result

    @staticmethod
    def price_stock_patches(
        *,
        price: Any = None,
        quantity: int | None = None,
        currency: str | None = None,
        marketplace_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """JSON Patches for a price (``purchasable_offer.our_price``) and/or stock
        (``fulfillment_availability`` DEFAULT = merchant-fulfilled quantity)."""
        patches: list[dict[str, Any]] = []
        if price is not None:
            offer: dict[str, Any] = {
                "currency": currency or CURRENCIES.get(marketplace_id or TR, "TRY"),
                "our_price": [{"schedule": [{"value_with_tax": float(price)}]}],
            }
            if marketplace_id:
                offer["marketplace_id"] = marketplace_id
            patches.append({"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]})
        if quantity is not None:
            patches.append(
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(0, int(quantity))}],
                }
            )
        return patches

    def set_price_stock(
        self,
        sku: str,
        product_type: str,
        *,
        price: Any = None,
        quantity: int | None = None,
        currency: str | None = None,
    ) -> dict[str, Any]:
        """Price and/or stock of one SKU through ``patchListingsItem`` (fewer than ~1,500 SKUs per 5
        minutes; more go through ``update_price_stock``'s feed)."""
        mid = self.marketplace_ids[0]
        patches = self.price_stock_patches(
            price=price, quantity=quantity, currency=currency, marketplace_id=mid
        )
        if not patches:
            raise ValueError("price or quantity is required")
        return self.patch_listings_item(sku, product_type, patches)

    # --- feeds ----------------------------------------------------------------------------------------

    def submit_feed(self, messages: Sequence[Mapping[str, Any]], *, included_data: Sequence[str] = ()) -> str:
        """Upload a ``JSON_LISTINGS_FEED`` with these messages (``messageId`` is assigned 1..n when
        absent) and create the feed; returns the ``feedId``. The messageId→sku map is kept in Redis
        for ``batch_result`` (any process) for two days."""
        if not messages:
            raise ValueError("a feed needs at least one message")
        if len(messages) > MAX_FEED_MESSAGES:
            raise ValueError(f"a JSON_LISTINGS_FEED takes at most {MAX_FEED_MESSAGES} messages")
        numbered = []
        for i, message in enumerate(messages, start=1):
            m = dict(message)
            m.setdefault("messageId", i)
            numbered.append(m)
        header: dict[str, Any] = {
            "sellerId": self.seller_id,
            "version": "2.0",
            "issueLocale": self.issue_locale,
        }
        if included_data:
            header["report"] = {"includedData": list(included_data), "apiVersion": "2021-08-01"}
        document = json.dumps({"header": header, "messages": numbered}, ensure_ascii=False).encode("utf-8")
        created = self._call(
            "createFeedDocument", "POST", f"{FEEDS}/documents", json={"contentType": FEED_CONTENT_TYPE}
        )
        self._upload(created["url"], document)
        feed = self._call(
            "createFeed",
            "POST",
            f"{FEEDS}/feeds",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": list(self.marketplace_ids),
                "inputFeedDocumentId": created["feedDocumentId"],
            },
        )
        feed_id = str(feed["feedId"])
        skus = {str(m["messageId"]): str(m.get("sku")) for m in numbered}
        self.redis.set(self._feed_key(feed_id), json.dumps(skus), ex=2 * 86400)
        return feed_id

    def _feed_key(self, feed_id: str) -> str:
        return f"{self.redis_prefix}amazon:feed:{self.seller_id}:{feed_id}"

    def _upload(self, url: str, content: bytes) -> None:
        """PUT the document to the presigned URL (no SP-API auth; the URL is the credential)."""
        try:
            response = self._session.put(
                url, data=content, headers={"Content-Type": FEED_CONTENT_TYPE}, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise TransientError(f"amazon: feed document upload failed ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise TransientError("amazon: feed document upload failed", response.status_code)
        if response.status_code >= 300:
            raise PermanentError(
                f"amazon: feed document upload refused (HTTP {response.status_code})", response.status_code
            )

    def _download(self, url: str, compression: str | None) -> bytes:
        try:
            response = self._session.get(url, timeout=self._timeout)
        except requests.RequestException as exc:
            raise TransientError(f"amazon: document download failed ({type(exc).__name__})") from None
        if response.status_code != 200:
            error = TransientError if response.status_code >= 500 else PermanentError
            raise error(
                f"amazon: document download failed (HTTP {response.status_code})", response.status_code
            )
        return gzip.decompress(response.content) if compression == "GZIP" else response.content

    def get_feed(self, feed_id: str) -> dict[str, Any]:
        try:
            return self._call("getFeed", "GET", f"{FEEDS}/feeds/{quote(feed_id, safe='')}")
        except NotFoundError as exc:
            raise BatchNotFound(exc.message, exc.status, exc.code) from None

    def cancel_feed(self, feed_id: str) -> None:
        self._call("cancelFeed", "DELETE", f"{FEEDS}/feeds/{quote(feed_id, safe='')}")

    def processing_report(self, result_document_id: str) -> dict[str, Any]:
        doc = self._call("getFeedDocument", "GET", f"{FEEDS}/documents/{quote(result_document_id, safe='')}")
        raw = self._download(doc["url"], doc.get("compressionAlgorithm"))
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise PermanentError("amazon: the processing report is not JSON") from None

    def _cached_report(self, feed_id: str, document_id: str) -> dict[str, Any]:
        """The processing report, downloaded once per feed and then kept in Redis for two days
        (getFeedDocument allows one call per ~45 s; a finished feed may be asked about often)."""
        key = self._feed_key(feed_id) + ":report"
        raw = self.redis.get(key)
        if raw:
            return json.loads(raw)
        report = self.processing_report(document_id)
        self.redis.set(key, json.dumps(report), ex=2 * 86400)
        return report

    def wait_for_feed(
        self, feed_id: str, timeout: float = 600.0, interval: float | None = None
    ) -> BatchResult:
        """Poll ``batch_result`` until the feed is final (or ``timeout``; then the last state)."""
        deadline = time.monotonic() + timeout
        step = self.feed_poll_interval if interval is None else interval
        while True:
            result = self.batch_result(feed_id)
            if result.done or time.monotonic() + step > deadline:
                return result
            time.sleep(step)

    # --- Channel ----------------------------------------------------------------------------------

    def create_listings(self, items: Sequence[dict[str, Any]]) -> str:
        """Full listings (``{"sku","productType","attributes"[,"requirements"]}``) as UPDATE messages."""
        return self.update_listings(items)

    def update_listings(self, items: Sequence[dict[str, Any]], *, kind: str | None = None) -> str:
        """``kind``: None/"full" → UPDATE (replace), "partial" → PARTIAL_UPDATE, "patch" → PATCH
        (items carry ``patches``), "delete" → DELETE. Returns the feed id."""
        operation = {
            None: "UPDATE",
            "full": "UPDATE",
            "partial": "PARTIAL_UPDATE",
            "patch": "PATCH",
            "delete": "DELETE",
        }.get(kind)
        if operation is None:
            raise ValueError(f"unknown update kind {kind!r}")
        messages = []
        for item in items:
            m: dict[str, Any] = {"sku": str(item["sku"]), "operationType": operation}
            if operation != "DELETE":
                m["productType"] = item["productType"]
            if operation == "PATCH":
                m["patches"] = list(item["patches"])
            elif operation in ("UPDATE", "PARTIAL_UPDATE"):
                m["attributes"] = dict(item["attributes"])
                if operation == "UPDATE" and item.get("requirements"):
                    m["requirements"] = item["requirements"]
            messages.append(m)
        return self.submit_feed(messages)

    def delete_listings(self, skus: Sequence[str]) -> str:
        return self.update_listings([{"sku": s} for s in skus], kind="delete")

    def update_price_stock(self, items: Sequence[dict[str, Any]]) -> str:
        """``{"sku","productType"[,"price"][,"quantity"][,"currency"]}`` → PATCH messages in one feed."""
        mid = self.marketplace_ids[0]
        messages = []
        for item in items:
            patches = self.price_stock_patches(
                price=item.get("price"),
                quantity=item.get("quantity"),
                currency=item.get("currency"),
                marketplace_id=mid,
            )
            if not patches:
                raise ValueError(f"item {item.get('sku')} has neither price nor quantity")
            messages.append(
                {
                    "sku": str(item["sku"]),
                    "operationType": "PATCH",
                    "productType": item["productType"],
                    "patches": patches,
                }
            )
        return self.submit_feed(messages)

    def batch_result(self, batch_id: str) -> BatchResult:
        """The feed's state; once DONE (or FATAL), one item per message from the processing report:
        SUCCESS without ERROR issues, else FAILED with Amazon's messages. ``status`` is Amazon's
        ``processingStatus`` (DONE, FATAL and CANCELLED are final); on FATAL and CANCELLED every item
        is FAILED."""
        feed = self.get_feed(batch_id)
        status = str(feed.get("processingStatus"))
        raw = self.redis.get(self._feed_key(batch_id))
        skus: dict[str, str] = json.loads(raw) if raw else {}
        result = BatchResult(
            id=batch_id,
            status=status,
            batch_type="JSON_LISTINGS_FEED",
            raw=dict(feed),
            item_count=len(skus) or None,
        )
        result.raw["processingStatus"] = status
        if status in ("IN_QUEUE", "IN_PROGRESS"):
            result.items = [BatchItem(sku, None, [], {"messageId": int(mid)}) for mid, sku in skus.items()]
            return result
        if status == "CANCELLED" or not feed.get("resultFeedDocumentId"):
            result.items = [
                BatchItem(sku, FAILED, [f"feed {status}"], {"messageId": int(mid)})
                for mid, sku in skus.items()
            ]
            return result
        report = self._cached_report(batch_id, str(feed["resultFeedDocumentId"]))
        result.raw["report"] = report
        by_message: dict[str, list[dict[str, Any]]] = {}
        general: list[str] = []
        for issue in report.get("issues") or []:
            if issue.get("messageId") is None:
                general.append(str(issue.get("message")))
                continue
            by_message.setdefault(str(issue["messageId"]), []).append(issue)
            skus.setdefault(str(issue["messageId"]), str(issue.get("sku")))
        fatal = status == "FATAL"
        items = []
        for mid, sku in sorted(skus.items(), key=lambda kv: int(kv[0])):
            issues = by_message.get(mid, [])
            errors = [str(i.get("message")) for i in issues if i.get("severity") == "ERROR"]
            if fatal:
                items.append(
                    BatchItem(sku, FAILED, errors or general or ["feed FATAL"], {"messageId": int(mid)})
                )
            else:
                items.append(BatchItem(sku, FAILED if errors else SUCCESS, errors, {"messageId": int(mid)}))
        result.items = items
        result.item_count = len(items)
        result.failed_item_count = sum(1 for i in items if i.failed)
        return result

    def find_listings(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """``getListingsItem`` per SKU (summaries, attributes, issues, offers, fulfillment availability)."""
        found = []
        for sku in keys:
            item = self.get_listings_item(
                sku, included_data=("summaries", "attributes", "issues", "offers", "fulfillmentAvailability")
            )
            if item is not None:
                found.append(item)
        return found

    def category_tree(self) -> list[dict[str, Any]]:
        """Amazon has product types instead of a category tree: one flat node per product type."""
        body = (
            self._call(
                "searchDefinitionsProductTypes",
                "GET",
                DEFINITIONS,
                params={"marketplaceIds": self._mids(None)},
            )
            or {}
        )
        return [
            {"id": pt["name"], "name": pt.get("displayName") or pt["name"], "subCategories": []}
            for pt in body.get("productTypes", [])
        ]

    def category_attributes(self, category_id: Any) -> Any:
        """The product type's definition plus its attribute JSON Schema (downloaded from its link)."""
        definition = self._call(
            "getDefinitionsProductType",
            "GET",
            f"{DEFINITIONS}/{quote(str(category_id))}",
            params={"marketplaceIds": self._mids(None), "requirements": "LISTING", "locale": "DEFAULT"},
        )
        link = ((definition or {}).get("schema") or {}).get("link") or {}
        if link.get("resource"):
            definition["schemaDocument"] = json.loads(self._download(link["resource"], None).decode("utf-8"))
        return definition

    def brand_by_name(self, name: str) -> list[dict[str, Any]]:
        """Amazon takes the brand as free text (``brand`` attribute): nothing to look up."""
        return []

    # --- orders -----------------------------------------------------------------------------------

    def iter_orders(
        self,
        *,
        created_after: datetime | str | None = None,
        last_updated_after: datetime | str | None = None,
        before: datetime | str | None = None,
        statuses: Sequence[str] = (),
        fulfillment_channels: Sequence[str] = (),
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every order of ``getOrders`` (v0) matching the window, page by page. Exactly one of
        ``created_after``/``last_updated_after``; ``before`` (if given) must be ≥ 2 minutes ago.
        Each next page resends the same filters plus ``NextToken``, as Amazon requires."""
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("exactly one of created_after and last_updated_after is required")
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be 1..100")
        params: dict[str, Any] = {"MarketplaceIds": self._mids(None), "MaxResultsPerPage": page_size}
        if created_after is not None:
            params["CreatedAfter"] = _iso(created_after)
            if before is not None:
                params["CreatedBefore"] = _iso(before)
        else:
            params["LastUpdatedAfter"] = _iso(last_updated_after)  # type: ignore[arg-type]
            if before is not None:
                params["LastUpdatedBefore"] = _iso(before)
        if statuses:
            params["OrderStatuses"] = ",".join(statuses)
        if fulfillment_channels:
            params["FulfillmentChannels"] = ",".join(fulfillment_channels)
        token: str | None = None
        while True:
            page_params = dict(params)
            if token:
                page_params["NextToken"] = token
            body = self._call("getOrders", "GET", ORDERS, params=page_params) or {}
            payload = body.get("payload") or {}
            yield from payload.get("Orders") or []
            token = payload.get("NextToken")
            if not token:
                return

    def iter_search_orders(
        self,
        *,
        created_after: datetime | str | None = None,
        last_updated_after: datetime | str | None = None,
        before: datetime | str | None = None,
        fulfillment_statuses: Sequence[str] = (),
        fulfilled_by: Sequence[str] = (),
        included_data: Sequence[str] = (),
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Orders API v2026-01-01 ``searchOrders`` (v0 is removed 27 Mar 2027): same window rules,
        camelCase parameters, ``paginationToken`` from ``pagination.nextToken``; order items inline."""
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("exactly one of created_after and last_updated_after is required")
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be 1..100")
        params: dict[str, Any] = {"marketplaceIds": self._mids(None), "maxResultsPerPage": page_size}
        if created_after is not None:
            params["createdAfter"] = _iso(created_after)
            if before is not None:
                params["createdBefore"] = _iso(before)
        else:
            params["lastUpdatedAfter"] = _iso(last_updated_after)  # type: ignore[arg-type]
            if before is not None:
                params["lastUpdatedBefore"] = _iso(before)
        if fulfillment_statuses:
            params["fulfillmentStatuses"] = ",".join(fulfillment_statuses)
        if fulfilled_by:
            params["fulfilledBy"] = ",".join(fulfilled_by)
        if included_data:
            params["includedData"] = ",".join(included_data)
        token: str | None = None
        while True:
            page_params = dict(params)
            if token:
                page_params["paginationToken"] = token
            body = self._call("searchOrders", "GET", ORDERS_2026, params=page_params) or {}
            yield from body.get("orders") or []
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                return

    def list_orders(self, **kw: Any) -> list[dict[str, Any]]:
        return list(self.iter_orders(**kw))

    def order_items(self, order_id: str) -> list[dict[str, Any]]:
        """``getOrderItems`` (every page)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else None
            body = (
                self._call(
                    "getOrderItems", "GET", f"{ORDERS}/{quote(order_id, safe='')}/orderItems", params=params
                )
                or {}
            )
            payload = body.get("payload") or {}
            items.extend(payload.get("OrderItems") or [])
            token = payload.get("NextToken")
            if not token:
                return items

    def confirm_shipment(
        self,
        order_id: str,
        *,
        package_reference_id: str | int,
        carrier_code: str,
        tracking_number: str,
        items: Sequence[tuple[str, int]],
        ship_date: datetime | str | None = None,
        carrier_name: str | None = None,
        shipping_method: str | None = None,
        marketplace_id: str | None = None,
    ) -> None:
        """``confirmShipment`` (v0, not deprecated): one package with its carrier, tracking number
        and ``(orderItemId, quantity)`` lines. ``carrier_name`` is required when the code is "Other"."""
        detail: dict[str, Any] = {
            "packageReferenceId": str(package_reference_id),
            "carrierCode": carrier_code,
            "trackingNumber": tracking_number,
            "shipDate": _iso(ship_date or datetime.now(UTC)),
            "orderItems": [{"orderItemId": str(i), "quantity": int(q)} for i, q in items],
        }
        if carrier_name:
            detail["carrierName"] = carrier_name
        if shipping_method:
            detail["shippingMethod"] = shipping_method
        body = {"marketplaceId": marketplace_id or self.marketplace_ids[0], "packageDetail": detail}
        self._call(
            "confirmShipment", "POST", f"{ORDERS}/{quote(order_id, safe='')}/shipmentConfirmation", json=body
        )

    # --- neutral order operations -----------------------------------------------------------------

    def orders_changed_since(
        self, since: datetime, until: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every order (v0 ``getOrders`` documents, MFN and AFN) last updated in ``[since, until]``,
        all pages. Amazon refuses a window edge later than 2 minutes ago, so ``since`` is moved back
        to that edge when later (re-reading a little is harmless), and ``until`` is only sent when it
        is earlier; otherwise Amazon's own cut-off applies."""
        if until is not None and _utc(until) < _utc(since):
            raise ValueError("until is before since")
        latest = datetime.now(UTC) - ORDERS_SETTLE
        after = min(_utc(since), latest)
        before = _utc(until) if until is not None and _utc(until) < latest else None
        if before is not None and before < after:
            before = after
        yield from self.iter_orders(last_updated_after=after, before=before)

    def ship_order(self, ref: OrderRef, shipment: Shipment) -> None:
        """``confirmShipment`` for ``ref.lines`` (OrderItemId, quantity); with no lines, every item's
        still unshipped quantity (read with ``getOrderItems``). ``packageReferenceId`` is
        ``ref.package_id`` when it is a positive number, else derived from the tracking number, so a
        repeated confirmation of the same parcel names the same package."""
        if not shipment.tracking_number:
            raise ValueError("tracking_number is required")
        if not shipment.carrier or shipment.carrier.strip().casefold() == "other":
            raise ValueError("carrier must name the carrier (an Amazon carrier code or the carrier's name)")
        lines = [(str(i), int(q)) for i, q in ref.lines]
        if not lines:
            lines = [
                (
                    str(item["OrderItemId"]),
                    int(item.get("QuantityOrdered") or 0) - int(item.get("QuantityShipped") or 0),
                )
                for item in self.order_items(ref.order_id)
            ]
            lines = [(i, q) for i, q in lines if q > 0]
            if not lines:
                raise ValueError(f"order {ref.order_id} has nothing left to ship")
        if any(q < 1 for _, q in lines):
            raise ValueError("every line needs a quantity of at least 1")
        carrier = shipment.carrier.strip()
        known = self.carrier_codes is None or carrier in self.carrier_codes
        self.confirm_shipment(
            ref.order_id,
            package_reference_id=package_reference_id(ref.package_id, shipment.tracking_number),
            carrier_code=carrier if known else "Other",
            carrier_name=None if known else carrier,
            tracking_number=shipment.tracking_number,
            items=lines,
            ship_date=shipment.shipped_at,
        )


__all__ = [
    "DE",
    "EU_ENDPOINT",
    "LWA_URL",
    "RATE_LIMITS",
    "TR",
    "AmazonClient",
    "ListingsItemInvalid",
    "package_reference_id",
    "OperationLimiter",
    "WindowLimiter",
    "translate_error",
]
