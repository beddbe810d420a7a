"""What the Amazon sandbox knows and does: LWA tokens, token buckets, listings, feeds and orders.

Every public method of ``Service`` is one SP-API operation: it takes the already-authenticated
seller and the request's query/body and returns ``(status, body)`` or raises ``ApiError`` with the
documented ``{"errors":[{"code","message","details"}]}`` shape. All state sits behind one lock.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.common.orderfaker import FakeOrder, Offer
from sandbox.common.ratescale import check as check_scale
from sandbox.common.ratescale import scaled

from . import reference, schema

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_LOCALE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")
LISTINGS_INCLUDED = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)
SUBMISSION_INCLUDED = ("identifiers", "issues")
ORDER_STATUSES = (
    "PendingAvailability",
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "InvoiceUnconfirmed",
    "Canceled",
    "Unfulfillable",
)
V2026_STATUSES = {
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "InvoiceUnconfirmed": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
}
ORDER_INCLUDED_2026 = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)
FEED_TYPES = ("JSON_LISTINGS_FEED",)
# Legacy XML/flat-file feed types are still accepted by createFeed but end FATAL since 31 Jul 2025.
LEGACY_FEED_TYPES = ("POST_PRODUCT_DATA", "POST_INVENTORY_AVAILABILITY_DATA", "POST_PRODUCT_PRICING_DATA")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(status, code, message)
        self.status = status
        self.body = error_list(code, message, details)


def error_list(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def quota_exceeded() -> dict[str, Any]:
    return error_list("QuotaExceeded", "You exceeded your quota for the requested resource.")


def invalid(message: str, details: str = "") -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(ISO_FORMAT)


def parse_iso(text: str, name: str) -> float:
    """ISO 8601 → epoch seconds; 400 InvalidInput when unreadable."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(f"{name} must be in ISO 8601 format.", f"Invalid value: {text}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass(frozen=True)
class Seller:
    seller_id: str = reference.DEFAULT_SELLER_ID
    client_id: str = reference.DEFAULT_CLIENT_ID
    client_secret: str = reference.DEFAULT_CLIENT_SECRET
    refresh_token: str = reference.DEFAULT_REFRESH_TOKEN
    marketplace_ids: tuple[str, ...] = (reference.TR, reference.DE)


@dataclass
class Settings:
    token_ttl: int = reference.TOKEN_TTL  # seconds an access token lives
    feed_delay: float = 0.3  # seconds a feed spends IN_QUEUE + IN_PROGRESS
    rate_limits_enabled: bool = True
    rate_scale: float = 1.0  # factor on every rate and the feed count (sandbox/common/ratescale.py)
    rate_limits: dict[str, list[float]] = field(default_factory=dict)  # op -> [rate, burst] overrides
    listings_feed_limit: int = reference.LISTINGS_FEED_LIMIT[0]
    listings_feed_window: float = reference.LISTINGS_FEED_LIMIT[1]
    gzip_reports: bool = False  # serve processing reports GZIP-compressed (compressionAlgorithm)
    document_url_ttl: float = 300.0  # presigned upload/download URLs expire after 5 minutes
    hang_seconds: float = 30.0  # how long a "timeout" fault holds the connection

    def update(self, **values: Any) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown setting {key}")
            if key == "rate_limits":
                value = {op: [float(v[0]), float(v[1])] for op, v in dict(value).items()}
            elif key == "rate_scale":
                value = check_scale(value)
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.__dict__)

    def limit(self, operation: str) -> tuple[float, int]:
        if operation in self.rate_limits:
            rate, burst = float(self.rate_limits[operation][0]), int(self.rate_limits[operation][1])
        else:
            rate, burst = reference.RATE_LIMITS[operation]
        # The refill rate scales; the burst (a bucket's size, not a rate) stays as documented.
        return (rate * self.rate_scale if self.rate_scale != 1 else rate), burst


class Clock:
    """Wall clock plus an offset tests can advance (token expiry, date-window rules)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0


class TokenBuckets:
    """One token bucket per (seller, operation): ``burst`` tokens, refilled at ``rate`` per second
    (monotonic time). Starts full, as an idle account's buckets are."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, key: tuple[str, str], rate: float, burst: int) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True
            self._buckets[key] = (tokens, now)
            return False

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


def _asin(sku: str) -> str:
    return "B0" + hashlib.sha1(sku.encode("utf-8")).hexdigest()[:8].upper()


class Service:
    def __init__(
        self, sellers: tuple[Seller, ...], settings: Settings, clock: Clock, seed: int | None
    ) -> None:
        self.sellers = sellers
        self.settings = settings
        self.clock = clock
        self.seed = seed
        self.lock = threading.RLock()
        self.buckets = TokenBuckets()
        self.cond = threading.Condition(self.lock)
        self._init_state()

    def _init_state(self) -> None:
        self.rng = random.Random(self.seed)
        self.tokens: dict[str, dict[str, Any]] = {}
        self.listings: dict[tuple[str, str], dict[str, Any]] = {}
        self.documents: dict[str, dict[str, Any]] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.feed_submissions: list[tuple[str, float]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.token_requests = 0
        self._feed_seq = 50000000000

    def reset(self) -> None:
        with self.lock:
            self._init_state()
        self.buckets.reset()

    # --- request log -------------------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            per = self.counts.setdefault(entry.get("operation") or "unknown", {})
            key = str(entry.get("status"))
            per[key] = per.get(key, 0) + 1
            self.log.append(entry)
            if len(self.log) > 5000:
                del self.log[:1000]

    def request_log(self) -> dict[str, Any]:
        with self.lock:
            return {
                "counts": copy.deepcopy(self.counts),
                "tokenRequests": self.token_requests,
                "throttled": sum(per.get("429", 0) for per in self.counts.values()),
                "requests": copy.deepcopy(self.log[-500:]),
            }

    # --- LWA ------------------------------------------------------------------------------------------

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """``POST /auth/o2/token`` (form-encoded). Answers as LWA does: OAuth2 error bodies."""
        with self.lock:
            self.token_requests += 1
            grant = form.get("grant_type")
            if grant not in ("refresh_token", "client_credentials"):
                return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}
            client = [s for s in self.sellers if s.client_id == form.get("client_id")]
            if not client or client[0].client_secret != form.get("client_secret"):
                return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
            seller: Seller | None = None
            if grant == "refresh_token":
                if not form.get("refresh_token"):
                    return 400, {
                        "error": "invalid_request",
                        "error_description": "The request is missing a required parameter : refresh_token",
                    }
                match = [s for s in client if s.refresh_token == form["refresh_token"]]
                if not match:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "The request has an invalid grant parameter : refresh_token",
                    }
                seller = match[0]
            elif not form.get("scope"):
                return 400, {
                    "error": "invalid_scope",
                    "error_description": "The request has an invalid scope",
                }
            token = "Atza|" + secrets.token_urlsafe(32)
            ttl = int(self.settings.token_ttl)
            self.tokens[token] = {
                "seller": seller.seller_id if seller else None,
                "expires_at": self.clock.now() + ttl,
            }
            body: dict[str, Any] = {"access_token": token, "token_type": "bearer", "expires_in": ttl}
            if seller is not None:
                body["refresh_token"] = seller.refresh_token
            return 200, body

    def authenticate(self, token: str | None) -> Seller:
        """The seller of an ``x-amz-access-token``; 403 in the shapes SP-API answers otherwise."""
        denied = "Access to requested resource is denied."
        if not token:
            raise ApiError(403, "Unauthorized", denied, "")
        with self.lock:
            info = self.tokens.get(token)
            if info is None or info["seller"] is None:
                raise ApiError(
                    403,
                    "Unauthorized",
                    denied,
                    "The access token you provided is revoked, malformed or invalid.",
                )
            if self.clock.now() >= info["expires_at"]:
                raise ApiError(403, "Unauthorized", denied, "The access token you provided has expired.")
            return next(s for s in self.sellers if s.seller_id == info["seller"])

    def expire_tokens(self) -> int:
        """Make every issued access token expired now (a token running out mid-run)."""
        with self.lock:
            now = self.clock.now()
            for info in self.tokens.values():
                info["expires_at"] = min(info["expires_at"], now)
            return len(self.tokens)

    def throttle(self, seller: Seller, operation: str) -> tuple[bool, float]:
        """(admitted, rate). Buckets use real monotonic time, independent of the test clock."""
        rate, burst = self.settings.limit(operation)
        if not self.settings.rate_limits_enabled:
            return True, rate
        return self.buckets.take((seller.seller_id, operation), rate, burst), rate

    # --- common request checks --------------------------------------------------------------------------

    def marketplaces(
        self, seller: Seller, query: dict[str, list[str]], name: str = "marketplaceIds"
    ) -> list[str]:
        raw = ",".join(query.get(name, []))
        ids = [m for m in raw.split(",") if m]
        if not ids:
            raise invalid(f"Missing required parameter {name}.")
        for mid in ids:
            if mid not in reference.MARKETPLACES:
                raise invalid(f"Invalid {name}: {mid}.", f"Unknown marketplace id {mid}")
            if mid not in seller.marketplace_ids:
                raise ApiError(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    f"The seller is not registered in marketplace {mid}.",
                )
        return ids

    @staticmethod
    def included(query: dict[str, list[str]], allowed: tuple[str, ...], default: list[str]) -> list[str]:
        values = [v for v in ",".join(query.get("includedData", [])).split(",") if v]
        for v in values:
            if v not in allowed:
                raise invalid(f"Invalid includedData value: {v}.", f"Allowed values: {', '.join(allowed)}")
        return values or default

    @staticmethod
    def locale(query: dict[str, list[str]]) -> None:
        value = (query.get("issueLocale") or [None])[0]
        if value is not None and not _LOCALE.match(value):
            raise invalid(f"Invalid issueLocale: {value}.")

    @staticmethod
    def check_seller(seller: Seller, seller_id: str) -> None:
        if seller_id != seller.seller_id:
            raise ApiError(403, "Unauthorized", "Access to requested resource is denied.", "")

    @staticmethod
    def check_sku(sku: str) -> None:
        if not sku or len(sku) > 40:
            raise invalid("The SKU must be between 1 and 40 characters.", f"Invalid sku: {sku[:60]}")

    # --- listings: validation ---------------------------------------------------------------------------

    def _issue(
        self,
        code: str,
        message: str,
        attribute: str | None = None,
        category: str = "INVALID_ATTRIBUTE",
        severity: str = "ERROR",
    ) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "code": code,
            "message": message,
            "severity": severity,
            "categories": [category],
        }
        issue["attributeNames"] = [attribute] if attribute else []
        return issue

    def attribute_issues(
        self,
        product_type: str,
        attributes: dict[str, Any],
        marketplace_ids: list[str],
        requirements: str | None,
        *,
        full: bool = True,
    ) -> list[dict[str, Any]]:
        """What Amazon would say about these attributes (``full``: also the required ones)."""
        if product_type not in reference.PRODUCT_TYPES:
            return [
                self._issue(
                    "4000004",
                    f"The product type '{product_type}' is not valid for the marketplace.",
                    category="INVALID_ATTRIBUTE",
                )
            ]
        issues: list[dict[str, Any]] = []
        if full:
            for name in reference.required_attributes(product_type, requirements or "LISTING"):
                if not attributes.get(name):
                    issues.append(
                        self._issue(
                            "90220", f"'[{name}]' is required but not supplied.", name, "MISSING_ATTRIBUTE"
                        )
                    )
        for name, values in attributes.items():
            if not isinstance(values, list) or not values or not all(isinstance(v, dict) for v in values):
                issues.append(
                    self._issue(
                        "4000001", f"The value of '{name}' must be a non-empty array of objects.", name
                    )
                )
                continue
            for v in values:
                mid = v.get("marketplace_id")
                if mid is not None and mid not in marketplace_ids:
                    issues.append(
                        self._issue(
                            "4000001",
                            f"'{name}' names marketplace '{mid}', which is not one "
                            "of the requested marketplaceIds.",
                            name,
                        )
                    )
            issues.extend(self._value_issues(name, values, marketplace_ids))
        return issues

    def _value_issues(
        self, name: str, values: list[dict[str, Any]], marketplace_ids: list[str]
    ) -> list[dict]:
        out = []
        if name in ("item_name", "brand", "bullet_point", "product_description"):
            for v in values:
                text = v.get("value")
                limit = 200 if name == "item_name" else (500 if name == "bullet_point" else 2000)
                if name == "bullet_point" and len(values) > 10:
                    out.append(self._issue("99010", "'bullet_point' allows at most 10 values.", name))
                    break
                if not isinstance(text, str) or not text.strip():
                    out.append(self._issue("99010", f"'{name}' needs a non-empty 'value'.", name))
                elif len(text) > limit:
                    out.append(self._issue("99010", f"'{name}' is longer than {limit} characters.", name))
        elif name == "purchasable_offer":
            for v in values:
                currency = v.get("currency")
                mid = v.get("marketplace_id") or (marketplace_ids[0] if marketplace_ids else None)
                expected = reference.MARKETPLACES.get(mid or "", {}).get("currency")
                if expected and currency != expected:
                    out.append(
                        self._issue(
                            "99022",
                            f"The currency '{currency}' is not valid for marketplace "
                            f"'{mid}'; expected '{expected}'.",
                            "purchasable_offer.currency",
                            "INVALID_PRICE",
                        )
                    )
                prices = v.get("our_price")
                amount = None
                try:
                    amount = prices[0]["schedule"][0]["value_with_tax"]
                except (TypeError, KeyError, IndexError):
                    pass
                if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
                    out.append(
                        self._issue(
                            "99022",
                            "The field '\"prices\"' for the attribute "
                            "'purchasable_offer.our_price' does not have enough values. The required "
                            "minimum is '1' value(s).",
                            "purchasable_offer.our_price",
                            "MISSING_PRICE",
                        )
                    )
        elif name == "fulfillment_availability":
            for v in values:
                qty = v.get("quantity")
                if not isinstance(v.get("fulfillment_channel_code"), str):
                    out.append(
                        self._issue(
                            "4000001",
                            "'fulfillment_channel_code' is required.",
                            "fulfillment_availability.fulfillment_channel_code",
                        )
                    )
                if v.get("fulfillment_channel_code") == "DEFAULT" and (
                    not isinstance(qty, int) or isinstance(qty, bool) or qty < 0
                ):
                    out.append(
                        self._issue(
                            "4000001",
                            "'quantity' must be an integer of 0 or more.",
                            "fulfillment_availability.quantity",
                        )
                    )
        elif name in ("main_product_image_locator",) or name.startswith("other_product_image_locator"):
            for v in values:
                loc = v.get("media_location")
                if not isinstance(loc, str) or not loc.startswith(("http://", "https://")):
                    out.append(
                        self._issue(
                            "99010", f"'{name}.media_location' must be an http(s) URL.", name, "INVALID_IMAGE"
                        )
                    )
        elif name == "condition_type":
            for v in values:
                if v.get("value") not in (
                    "new_new",
                    "new_open_box",
                    "new_oem",
                    "refurbished_refurbished",
                    "used_like_new",
                    "used_very_good",
                    "used_good",
                    "used_acceptable",
                ):
                    out.append(
                        self._issue("99010", f"'{v.get('value')}' is not a valid condition_type.", name)
                    )
        return out

    # --- listings: state --------------------------------------------------------------------------------

    def apply_put(
        self,
        seller: Seller,
        sku: str,
        product_type: str,
        attributes: dict[str, Any],
        marketplace_ids: list[str],
        *,
        partial: bool = False,
    ) -> None:
        now = iso(self.clock.now())
        key = (seller.seller_id, sku)
        item = self.listings.get(key)
        if item is None:
            item = {
                "sku": sku,
                "asin": _asin(sku),
                "createdDate": now,
                "attributes": {},
                "marketplaceIds": [],
            }
            self.listings[key] = item
        item["productType"] = product_type
        item["attributes"] = (
            {**item["attributes"], **copy.deepcopy(attributes)} if partial else copy.deepcopy(attributes)
        )
        item["marketplaceIds"] = sorted(set(item["marketplaceIds"]) | set(marketplace_ids))
        item["lastUpdatedDate"] = now

    def patch_issues(
        self,
        seller: Seller,
        sku: str,
        product_type: str,
        patches: list[dict[str, Any]],
        marketplace_ids: list[str],
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """(issues, patched attributes) without storing; issues non-empty means INVALID."""
        item = self.listings.get((seller.seller_id, sku))
        if item is None:
            return [
                self._issue(
                    "NOT_FOUND",
                    f"The SKU '{sku}' does not exist for this seller in the requested "
                    "marketplaces; create it with putListingsItem first.",
                    category="INVALID_ATTRIBUTE",
                )
            ], None
        if product_type != item["productType"]:
            return [
                self._issue(
                    "4000004",
                    f"The product type '{product_type}' does not match the listing's "
                    f"product type '{item['productType']}'.",
                )
            ], None
        attributes = copy.deepcopy(item["attributes"])
        for patch in patches:
            path = patch.get("path", "")
            m = re.fullmatch(r"/attributes/([a-z0-9_]+)", path or "")
            if m is None:
                return [
                    self._issue(
                        "4000001",
                        f"The patch path '{path}' is not valid; only top-level "
                        "attributes (/attributes/<name>) can be patched.",
                    )
                ], None
            name = m.group(1)
            if patch.get("op") == "delete":
                attributes.pop(name, None)
            elif patch.get("op") == "merge" and isinstance(attributes.get(name), list):
                merged = attributes[name]
                for value in patch.get("value") or []:
                    merged[0:1] = [{**(merged[0] if merged else {}), **value}]
            else:
                attributes[name] = copy.deepcopy(patch.get("value"))
        changed = {
            p["path"].rsplit("/", 1)[1]: attributes[p["path"].rsplit("/", 1)[1]]
            for p in patches
            if p.get("op") != "delete" and p["path"].rsplit("/", 1)[1] in attributes
        }
        return self.attribute_issues(product_type, changed, marketplace_ids, None, full=False), attributes

    def render_item(
        self, item: dict[str, Any], marketplace_ids: list[str], included: list[str]
    ) -> dict[str, Any]:
        attrs = item["attributes"]
        out: dict[str, Any] = {"sku": item["sku"]}
        qty = None
        for fa in attrs.get("fulfillment_availability") or []:
            if fa.get("fulfillment_channel_code") == "DEFAULT":
                qty = fa.get("quantity")
        if "summaries" in included:
            out["summaries"] = []
            for mid in marketplace_ids:
                if mid not in item["marketplaceIds"]:
                    continue
                name = (attrs.get("item_name") or [{}])[0].get("value")
                summary = {
                    "marketplaceId": mid,
                    "asin": item["asin"],
                    "productType": item["productType"],
                    "conditionType": (attrs.get("condition_type") or [{}])[0].get("value", "new_new"),
                    "status": ["BUYABLE", "DISCOVERABLE"] if qty else ["DISCOVERABLE"],
                    "itemName": name,
                    "createdDate": item["createdDate"],
                    "lastUpdatedDate": item["lastUpdatedDate"],
                }
                image = (attrs.get("main_product_image_locator") or [{}])[0].get("media_location")
                if image:
                    summary["mainImage"] = {"link": image, "height": 500, "width": 500}
                out["summaries"].append(summary)
        if "attributes" in included:
            out["attributes"] = copy.deepcopy(attrs)
        if "issues" in included:
            out["issues"] = []
        if "offers" in included:
            out["offers"] = []
            for po in attrs.get("purchasable_offer") or []:
                try:
                    amount = po["our_price"][0]["schedule"][0]["value_with_tax"]
                except (KeyError, IndexError, TypeError):
                    continue
                out["offers"].append(
                    {
                        "marketplaceId": po.get("marketplace_id") or marketplace_ids[0],
                        "offerType": "B2C",
                        "price": {"currencyCode": po.get("currency"), "amount": f"{amount:.2f}"},
                    }
                )
        if "fulfillmentAvailability" in included:
            out["fulfillmentAvailability"] = [
                {"fulfillmentChannelCode": fa.get("fulfillment_channel_code"), "quantity": fa.get("quantity")}
                for fa in attrs.get("fulfillment_availability") or []
            ]
        if "productTypes" in included:
            out["productTypes"] = [
                {"marketplaceId": m, "productType": item["productType"]}
                for m in marketplace_ids
                if m in item["marketplaceIds"]
            ]
        for name in ("procurement", "relationships"):
            if name in included:
                out[name] = []
        return out

    # --- listings: operations -------------------------------------------------------------------------

    def _submission(
        self,
        sku: str,
        issues: list[dict[str, Any]],
        preview: bool,
        included: list[str],
        item: dict[str, Any] | None,
        marketplace_ids: list[str],
    ) -> dict[str, Any]:
        errors = [i for i in issues if i["severity"] == "ERROR"]
        status = "INVALID" if errors else ("VALID" if preview else "ACCEPTED")
        out: dict[str, Any] = {"sku": sku, "status": status, "submissionId": secrets.token_hex(16)}
        if "issues" in included:
            out["issues"] = issues
        if "identifiers" in included and item is not None and not errors:
            out["identifiers"] = [{"marketplaceId": m, "asin": item["asin"]} for m in marketplace_ids]
        return out

    def _body(self, body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise invalid("The request body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise invalid("The request body must be a JSON object.")
        return payload

    def put_listings_item(
        self, seller: Seller, seller_id: str, sku: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        self.check_seller(seller, seller_id)
        self.check_sku(sku)
        mids = self.marketplaces(seller, query)
        self.locale(query)
        included = self.included(query, SUBMISSION_INCLUDED, ["issues"])
        mode = (query.get("mode") or [None])[0]
        if mode not in (None, "VALIDATION_PREVIEW"):
            raise invalid(f"Invalid mode: {mode}.")
        payload = self._body(body)
        for name in ("productType", "attributes"):
            if name not in payload:
                raise invalid(f"Missing required field '{name}' in the request body.")
        if not isinstance(payload["productType"], str) or not isinstance(payload["attributes"], dict):
            raise invalid("'productType' must be a string and 'attributes' an object.")
        requirements = payload.get("requirements")
        if requirements not in (None, "LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"):
            raise invalid(f"Invalid requirements value: {requirements}.")
        with self.lock:
            issues = self.attribute_issues(payload["productType"], payload["attributes"], mids, requirements)
            ok = not any(i["severity"] == "ERROR" for i in issues)
            if ok and mode is None:
                self.apply_put(seller, sku, payload["productType"], payload["attributes"], mids)
            item = self.listings.get((seller.seller_id, sku)) or {"asin": _asin(sku)}
            return 200, self._submission(sku, issues, mode is not None, included, item, mids)

    def patch_listings_item(
        self, seller: Seller, seller_id: str, sku: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        self.check_seller(seller, seller_id)
        self.check_sku(sku)
        mids = self.marketplaces(seller, query)
        self.locale(query)
        included = self.included(query, SUBMISSION_INCLUDED, ["issues"])
        mode = (query.get("mode") or [None])[0]
        if mode not in (None, "VALIDATION_PREVIEW"):
            raise invalid(f"Invalid mode: {mode}.")
        payload = self._body(body)
        patches = payload.get("patches")
        if not isinstance(payload.get("productType"), str):
            raise invalid("Missing required field 'productType' in the request body.")
        if not isinstance(patches, list) or not patches:
            raise invalid("'patches' must be an array of at least one JSON Patch operation.")
        for p in patches:
            if (
                not isinstance(p, dict)
                or p.get("op") not in ("add", "replace", "merge", "delete")
                or not isinstance(p.get("path"), str)
            ):
                raise invalid("Each patch needs 'op' (add, replace, merge or delete) and 'path'.")
            if p["op"] != "delete" and "value" not in p:
                raise invalid(f"The '{p['op']}' patch on '{p['path']}' needs a 'value'.")
        with self.lock:
            issues, attributes = self.patch_issues(seller, sku, payload["productType"], patches, mids)
            ok = not any(i["severity"] == "ERROR" for i in issues)
            if ok and mode is None and attributes is not None:
                self.apply_put(seller, sku, payload["productType"], attributes, mids)
            item = self.listings.get((seller.seller_id, sku))
            return 200, self._submission(sku, issues, mode is not None, included, item, mids)

    def get_listings_item(
        self, seller: Seller, seller_id: str, sku: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        self.check_seller(seller, seller_id)
        self.check_sku(sku)
        mids = self.marketplaces(seller, query)
        self.locale(query)
        included = self.included(query, LISTINGS_INCLUDED, ["summaries"])
        with self.lock:
            item = self.listings.get((seller.seller_id, sku))
            if item is None or not set(mids) & set(item["marketplaceIds"]):
                raise ApiError(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {','.join(mids)}")
            return 200, self.render_item(item, mids, included)

    def delete_listings_item(
        self, seller: Seller, seller_id: str, sku: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        self.check_seller(seller, seller_id)
        self.check_sku(sku)
        mids = self.marketplaces(seller, query)
        self.locale(query)
        with self.lock:
            item = self.listings.get((seller.seller_id, sku))
            if item is None:
                issue = self._issue("NOT_FOUND", f"The SKU '{sku}' does not exist for this seller.")
                return 200, {
                    "sku": sku,
                    "status": "INVALID",
                    "submissionId": secrets.token_hex(16),
                    "issues": [issue],
                }
            item["marketplaceIds"] = [m for m in item["marketplaceIds"] if m not in mids]
            if not item["marketplaceIds"]:
                del self.listings[(seller.seller_id, sku)]
            return 200, {
                "sku": sku,
                "status": "ACCEPTED",
                "submissionId": secrets.token_hex(16),
                "issues": [],
            }

    # --- product type definitions ----------------------------------------------------------------------

    def search_product_types(
        self, seller: Seller, query: dict[str, list[str]], base_url: str
    ) -> tuple[int, Any]:
        mids = self.marketplaces(seller, query)
        keywords = [k.lower() for k in ",".join(query.get("keywords", [])).split(",") if k]
        types = [
            {"name": name, "displayName": meta["displayName"], "marketplaceIds": mids}
            for name, meta in reference.PRODUCT_TYPES.items()
            if not keywords or any(k in name.lower() or k in meta["displayName"].lower() for k in keywords)
        ]
        return 200, {"productTypes": types}

    def get_product_type(
        self, seller: Seller, product_type: str, query: dict[str, list[str]], base_url: str
    ) -> tuple[int, Any]:
        mids = self.marketplaces(seller, query)
        if product_type not in reference.PRODUCT_TYPES:
            raise ApiError(404, "NOT_FOUND", f"Product type '{product_type}' not found.")
        schema_json = json.dumps(reference.product_type_schema(product_type)).encode()
        return 200, {
            "metaSchema": {
                "link": {"resource": f"{base_url}/__amzn-schemas/meta-schema.json", "verb": "GET"},
                "checksum": "",
            },
            "schema": {
                "link": {"resource": f"{base_url}/__amzn-schemas/{product_type}.json", "verb": "GET"},
                "checksum": base64.b64encode(hashlib.md5(schema_json).digest()).decode(),
            },
            "requirements": (query.get("requirements") or ["LISTING"])[0],
            "requirementsEnforced": "ENFORCED",
            "propertyGroups": {},
            "locale": (query.get("locale") or ["DEFAULT"])[0],
            "marketplaceIds": mids,
            "productType": product_type,
            "displayName": reference.PRODUCT_TYPES[product_type]["displayName"],
            "productTypeVersion": {"version": "SANDBOX-1", "latest": True, "releaseCandidate": False},
        }

    # --- feeds ------------------------------------------------------------------------------------------

    def create_feed_document(self, seller: Seller, body: bytes, base_url: str) -> tuple[int, Any]:
        payload = self._body(body)
        content_type = payload.get("contentType")
        if not isinstance(content_type, str) or not content_type:
            raise invalid("Missing required field 'contentType' in the request body.")
        with self.lock:
            doc_id = "amzn1.tortuga.4.eu." + secrets.token_hex(12)
            signature = secrets.token_hex(16)
            self.documents[doc_id] = {
                "feedDocumentId": doc_id,
                "seller": seller.seller_id,
                "contentType": content_type,
                "content": None,
                "signature": signature,
                "urlExpiresAt": self.clock.now() + self.settings.document_url_ttl,
                "compression": None,
            }
            return 201, {"feedDocumentId": doc_id, "url": self._doc_url(base_url, doc_id, signature)}

    @staticmethod
    def _doc_url(base_url: str, doc_id: str, signature: str) -> str:
        return f"{base_url}/__amzn-docs/{doc_id}?X-Amz-Expires=300&X-Amz-Signature={signature}"

    def document_access(self, doc_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """The document behind a presigned URL, or an S3-style ``ApiError`` (403/404)."""
        doc = self.documents.get(doc_id)
        if doc is None:
            raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
        if (query.get("X-Amz-Signature") or [None])[0] != doc["signature"]:
            raise ApiError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if self.clock.now() > doc["urlExpiresAt"]:
            raise ApiError(403, "AccessDenied", "Request has expired")
        return doc

    def upload(self, doc_id: str, query: dict[str, list[str]], content_type: str | None, body: bytes) -> int:
        with self.lock:
            doc = self.document_access(doc_id, query)
            if doc["content"] is not None and doc.get("result"):
                raise ApiError(403, "AccessDenied", "Access Denied")
            if (content_type or "").replace(" ", "").lower() != doc["contentType"].replace(" ", "").lower():
                raise ApiError(
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not "
                    "match the signature you provided (Content-Type differs from createFeedDocument).",
                )
            doc["content"] = bytes(body)
            return 200

    def download(self, doc_id: str, query: dict[str, list[str]]) -> bytes:
        with self.lock:
            doc = self.document_access(doc_id, query)
            return doc["content"] or b""

    def create_feed(self, seller: Seller, body: bytes) -> tuple[int, Any]:
        payload = self._body(body)
        for name in ("feedType", "marketplaceIds", "inputFeedDocumentId"):
            if name not in payload:
                raise invalid(f"Missing required field '{name}' in the request body.")
        mids = payload["marketplaceIds"]
        if not isinstance(mids, list) or not 1 <= len(mids) <= 25:
            raise invalid("'marketplaceIds' must list 1 to 25 marketplace ids.")
        self.marketplaces(seller, {"marketplaceIds": [",".join(map(str, mids))]})
        feed_type = payload["feedType"]
        if feed_type not in FEED_TYPES + LEGACY_FEED_TYPES:
            raise invalid(f"Invalid feedType: {feed_type}.")
        with self.lock:
            doc = self.documents.get(str(payload["inputFeedDocumentId"]))
            if doc is None or doc["seller"] != seller.seller_id:
                raise invalid(
                    "Invalid inputFeedDocumentId.",
                    f"Feed document {payload['inputFeedDocumentId']} does not exist.",
                )
            now = self.clock.now()
            if feed_type == "JSON_LISTINGS_FEED":
                horizon = time.monotonic() - self.settings.listings_feed_window
                self.feed_submissions = [(s, t) for s, t in self.feed_submissions if t > horizon]
                mine = [t for s, t in self.feed_submissions if s == seller.seller_id]
                if len(mine) >= scaled(self.settings.listings_feed_limit, self.settings.rate_scale):
                    raise ApiError(
                        429, "QuotaExceeded", "You exceeded your quota for the requested resource."
                    )
                self.feed_submissions.append((seller.seller_id, time.monotonic()))
            self._feed_seq += 1
            feed_id = str(self._feed_seq)
            self.feeds[feed_id] = {
                "feedId": feed_id,
                "feedType": feed_type,
                "marketplaceIds": list(mids),
                "createdTime": iso(now),
                "processingStatus": "IN_QUEUE",
                "seller": seller.seller_id,
                "inputFeedDocumentId": doc["feedDocumentId"],
                "dueAt": time.monotonic() + self.settings.feed_delay,
                "startAt": time.monotonic() + self.settings.feed_delay / 2,
            }
            self.cond.notify_all()
            return 202, {"feedId": feed_id}

    def _feed(self, seller: Seller, feed_id: str) -> dict[str, Any]:
        feed = self.feeds.get(feed_id)
        if feed is None or feed["seller"] != seller.seller_id:
            raise ApiError(404, "NotFound", f"The requested feed {feed_id} was not found.")
        return feed

    @staticmethod
    def render_feed(feed: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "feedId",
            "feedType",
            "marketplaceIds",
            "createdTime",
            "processingStatus",
            "processingStartTime",
            "processingEndTime",
            "resultFeedDocumentId",
        )
        return {k: copy.deepcopy(feed[k]) for k in keys if k in feed}

    def get_feed(self, seller: Seller, feed_id: str) -> tuple[int, Any]:
        with self.lock:
            return 200, self.render_feed(self._feed(seller, feed_id))

    def cancel_feed(self, seller: Seller, feed_id: str) -> tuple[int, Any]:
        with self.lock:
            feed = self._feed(seller, feed_id)
            if feed["processingStatus"] != "IN_QUEUE":
                raise invalid(
                    f"The feed {feed_id} is {feed['processingStatus']} and can no longer be cancelled."
                )
            feed["processingStatus"] = "CANCELLED"
            return 200, None

    def get_feed_document(self, seller: Seller, doc_id: str, base_url: str) -> tuple[int, Any]:
        with self.lock:
            doc = self.documents.get(doc_id)
            if doc is None or doc["seller"] != seller.seller_id:
                raise ApiError(404, "NotFound", f"The requested feed document {doc_id} was not found.")
            doc["urlExpiresAt"] = self.clock.now() + self.settings.document_url_ttl
            out = {"feedDocumentId": doc_id, "url": self._doc_url(base_url, doc_id, doc["signature"])}
            if doc["compression"]:
                out["compressionAlgorithm"] = doc["compression"]
            return 200, out

    # --- feed processing --------------------------------------------------------------------------------

    def due_feeds(self) -> list[str]:
        now = time.monotonic()
        with self.lock:
            for feed in self.feeds.values():
                if feed["processingStatus"] == "IN_QUEUE" and now >= feed["startAt"]:
                    feed["processingStatus"] = "IN_PROGRESS"
                    feed["processingStartTime"] = iso(self.clock.now())
            return [
                f["feedId"]
                for f in self.feeds.values()
                if f["processingStatus"] == "IN_PROGRESS" and now >= f["dueAt"]
            ]

    def next_due_in(self) -> float | None:
        with self.lock:
            pending = [
                min(f["startAt"], f["dueAt"]) if f["processingStatus"] == "IN_QUEUE" else f["dueAt"]
                for f in self.feeds.values()
                if f["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS")
            ]
        return max(0.0, min(pending) - time.monotonic()) if pending else None

    def process_feed(self, feed_id: str) -> None:
        with self.lock:
            feed = self.feeds[feed_id]
            if feed["processingStatus"] in ("DONE", "FATAL", "CANCELLED"):
                return
            seller = next(s for s in self.sellers if s.seller_id == feed["seller"])
            doc = self.documents[feed["inputFeedDocumentId"]]
            feed.setdefault("processingStartTime", iso(self.clock.now()))
            status, report = self._process(seller, feed, doc)
            raw = json.dumps(report, ensure_ascii=False).encode("utf-8")
            result_id = "amzn1.tortuga.4.eu." + secrets.token_hex(12)
            compression = "GZIP" if self.settings.gzip_reports else None
            self.documents[result_id] = {
                "feedDocumentId": result_id,
                "seller": seller.seller_id,
                "contentType": "application/json; charset=UTF-8",
                "content": gzip.compress(raw) if compression else raw,
                "signature": secrets.token_hex(16),
                "urlExpiresAt": self.clock.now() + self.settings.document_url_ttl,
                "compression": compression,
                "result": True,
                "report": report,
            }
            feed.update(
                processingStatus=status,
                processingEndTime=iso(self.clock.now()),
                resultFeedDocumentId=result_id,
            )

    def _fatal(self, seller: Seller, feed: dict[str, Any], message: str) -> tuple[str, dict[str, Any]]:
        report = {
            "header": {"sellerId": seller.seller_id, "version": "2.0", "feedId": feed["feedId"]},
            "issues": [{"code": "4000001", "severity": "ERROR", "message": message}],
            "summary": {
                "errors": 1,
                "warnings": 0,
                "messagesProcessed": 0,
                "messagesAccepted": 0,
                "messagesInvalid": 0,
            },
        }
        return "FATAL", report

    def _process(
        self, seller: Seller, feed: dict[str, Any], doc: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        if feed["feedType"] in LEGACY_FEED_TYPES:
            return self._fatal(
                seller,
                feed,
                f"The feed type {feed['feedType']} is no longer supported; use JSON_LISTINGS_FEED.",
            )
        if doc["content"] is None:
            return self._fatal(seller, feed, "The feed document was never uploaded.")
        try:
            document = json.loads(doc["content"].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self._fatal(seller, feed, "The feed document is not valid UTF-8 JSON.")
        header = document.get("header") if isinstance(document, dict) else None
        envelope = schema.envelope_errors(document, reference.MAX_FEED_MESSAGES)
        if envelope:
            return self._fatal(
                seller,
                feed,
                "The feed document does not match the JSON_LISTINGS_FEED schema: " + "; ".join(envelope[:5]),
            )
        if header["sellerId"] != seller.seller_id:
            return self._fatal(
                seller,
                feed,
                f"The sellerId '{header['sellerId']}' in the feed header does not "
                "match the selling partner that submitted the feed.",
            )
        mids = feed["marketplaceIds"]
        issues: list[dict[str, Any]] = []
        accepted = invalid_count = 0
        seen: set[Any] = set()
        items: list[dict[str, Any]] = []
        for message in document["messages"]:
            mid_issues: list[dict[str, Any]] = []
            msg_id = message.get("messageId") if isinstance(message, dict) else None
            sku = message.get("sku") if isinstance(message, dict) else None
            problems = schema.message_errors(message)
            if isinstance(msg_id, int) and msg_id in seen:
                problems.append(f"messageId {msg_id} is not unique within the feed")
            if isinstance(msg_id, int):
                seen.add(msg_id)
            if problems:
                mid_issues = [
                    {
                        "code": "4000001",
                        "severity": "ERROR",
                        "message": "The message does not match the listings feed message schema: "
                        + "; ".join(problems[:3]),
                    }
                ]
            else:
                mid_issues = self._apply_message(seller, message, mids)
            for issue in mid_issues:
                entry: dict[str, Any] = {"messageId": msg_id, "sku": sku} if isinstance(msg_id, int) else {}
                entry.update(code=issue["code"], severity=issue["severity"], message=issue["message"])
                if issue.get("attributeNames"):
                    entry["attributeName"] = issue["attributeNames"][0]
                if not isinstance(msg_id, int) or isinstance(msg_id, bool) or not isinstance(sku, str):
                    entry.pop("messageId", None)
                    entry.pop("sku", None)
                issues.append(entry)
            if any(i["severity"] == "ERROR" for i in mid_issues):
                invalid_count += 1
            else:
                accepted += 1
                if isinstance(sku, str):
                    items.append({"sku": sku})
        report: dict[str, Any] = {
            "header": {"sellerId": seller.seller_id, "version": "2.0", "feedId": feed["feedId"]},
            "issues": issues,
            "summary": {
                "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                "messagesProcessed": accepted + invalid_count,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid_count,
            },
        }
        if header.get("report"):
            report["header"]["report"] = header["report"]
            included = header["report"]["includedData"]
            rendered = []
            for it in items:
                stored = self.listings.get((seller.seller_id, it["sku"]))
                rendered.append(self.render_item(stored, mids, included) if stored else {"sku": it["sku"]})
            report["items"] = rendered
            report["summary"]["itemSummary"] = {"items": len(rendered), "errors": 0, "warnings": 0}
        return "DONE", report

    def _apply_message(
        self, seller: Seller, message: dict[str, Any], mids: list[str]
    ) -> list[dict[str, Any]]:
        op = message["operationType"]
        sku = message["sku"]
        if len(sku) > 40:
            return [self._issue("4000001", "The SKU must be at most 40 characters.")]
        key = (seller.seller_id, sku)
        if op == "DELETE":
            if key not in self.listings:
                return [self._issue("NOT_FOUND", f"The SKU '{sku}' does not exist for this seller.")]
            del self.listings[key]
            return []
        if op == "PATCH":
            issues, attributes = self.patch_issues(
                seller, sku, message["productType"], message["patches"], mids
            )
            if not any(i["severity"] == "ERROR" for i in issues) and attributes is not None:
                self.apply_put(seller, sku, message["productType"], attributes, mids)
            return issues
        partial = op == "PARTIAL_UPDATE"
        if partial and key not in self.listings:
            return [
                self._issue(
                    "NOT_FOUND", f"The SKU '{sku}' does not exist; PARTIAL_UPDATE needs an existing listing."
                )
            ]
        issues = self.attribute_issues(
            message["productType"], message["attributes"], mids, message.get("requirements"), full=not partial
        )
        if not any(i["severity"] == "ERROR" for i in issues):
            self.apply_put(seller, sku, message["productType"], message["attributes"], mids, partial=partial)
        return issues

    # --- orders -------------------------------------------------------------------------------------------

    def seed_orders(
        self,
        count: int,
        *,
        days: float = 10.0,
        marketplace_id: str = reference.TR,
        seller_id: str | None = None,
    ) -> list[str]:
        """Add ``count`` orders placed over the last ``days`` (all at least 3 minutes old)."""
        seller = seller_id or self.sellers[0].seller_id
        made = []
        with self.lock:
            now = self.clock.now()
            for _ in range(count):
                purchased = now - 180 - self.rng.uniform(0, days * 86400)
                updated = min(now - 180, purchased + self.rng.uniform(0, 86400))
                made.append(
                    self.add_order(purchased, updated, marketplace_id=marketplace_id, seller_id=seller)
                )
        return made

    def add_order(
        self,
        purchased: float,
        updated: float | None = None,
        *,
        status: str = "Unshipped",
        marketplace_id: str = reference.TR,
        seller_id: str | None = None,
        fulfillment_channel: str = "MFN",
        sku: str = "SKU-1",
        quantity: int = 1,
        amount: str = "100.00",
        items: list[dict[str, Any]] | None = None,
        buyer: dict[str, Any] | None = None,
        shipping_address: dict[str, Any] | None = None,
        decrement_stock: bool = True,
    ) -> str:
        """One order; ``items`` ``[{sku, quantity, amount (the line's total), tax?, title?}]``
        replaces the single ``sku``/``quantity``/``amount`` line. ``buyer`` is ``BuyerInfo`` and
        ``shipping_address`` an ``Address`` of ordersV0 (served while the status allows it). A
        merchant-fulfilled order takes its quantities from the listings' DEFAULT availability."""
        with self.lock:
            order_id = (
                f"{self.rng.randint(100, 999)}-{self.rng.randint(0, 9999999):07d}-"
                f"{self.rng.randint(0, 9999999):07d}"
            )
            currency = reference.MARKETPLACES[marketplace_id]["currency"]
            seller = seller_id or self.sellers[0].seller_id
            lines = items or [{"sku": sku, "quantity": quantity, "amount": amount}]
            ordered = sum(int(line["quantity"]) for line in lines)
            total = sum(float(line["amount"]) for line in lines)
            shipped = ordered if status == "Shipped" else 0
            self.orders[order_id] = {
                "seller": seller,
                "order": {
                    "AmazonOrderId": order_id,
                    "PurchaseDate": iso(purchased),
                    "LastUpdateDate": iso(updated if updated is not None else purchased),
                    "OrderStatus": status,
                    "FulfillmentChannel": fulfillment_channel,
                    "SalesChannel": reference.MARKETPLACES[marketplace_id]["name"],
                    "ShipServiceLevel": "Std TR Dom",
                    "OrderTotal": {"CurrencyCode": currency, "Amount": f"{total:.2f}"},
                    "NumberOfItemsShipped": shipped,
                    "NumberOfItemsUnshipped": ordered - shipped,
                    "PaymentMethod": "Other",
                    "PaymentMethodDetails": ["Standard"],
                    "MarketplaceId": marketplace_id,
                    "ShipmentServiceLevelCategory": "Standard",
                    "OrderType": "StandardOrder",
                    "EarliestShipDate": iso(purchased + 86400),
                    "LatestShipDate": iso(purchased + 2 * 86400),
                    "IsBusinessOrder": False,
                    "IsPrime": False,
                    "IsPremiumOrder": False,
                    "IsGlobalExpressEnabled": False,
                    "IsReplacementOrder": False,
                    "IsSoldByAB": False,
                    "IsISPU": False,
                    "IsAccessPointOrder": False,
                    "HasRegulatedItems": False,
                },
                "items": [
                    {
                        "ASIN": _asin(line["sku"]),
                        "SellerSKU": line["sku"],
                        "OrderItemId": f"{self.rng.randint(0, 10**14 - 1):014d}",
                        "Title": line.get("title") or f"Item {line['sku']}",
                        "QuantityOrdered": int(line["quantity"]),
                        "QuantityShipped": int(line["quantity"]) if status == "Shipped" else 0,
                        "ItemPrice": {"CurrencyCode": currency, "Amount": f"{float(line['amount']):.2f}"},
                        "ItemTax": {"CurrencyCode": currency, "Amount": f"{float(line.get('tax') or 0):.2f}"},
                        "PromotionDiscount": {"CurrencyCode": currency, "Amount": "0.00"},
                        "IsGift": "false",
                        "ConditionId": "New",
                        "IsTransparency": False,
                    }
                    for line in lines
                ],
            }
            rec = self.orders[order_id]
            if buyer:
                rec["order"]["BuyerInfo"] = copy.deepcopy(buyer)
            if shipping_address:
                rec["address"] = copy.deepcopy(shipping_address)
                _show_address(rec)
            if decrement_stock and fulfillment_channel == "MFN":
                for line in lines:
                    self._take_stock(seller, line["sku"], int(line["quantity"]))
            return order_id

    def _take_stock(self, seller_id: str, sku: str, quantity: int) -> None:
        item = self.listings.get((seller_id, sku))
        if item is None:
            return
        for fa in item["attributes"].get("fulfillment_availability") or []:
            if fa.get("fulfillment_channel_code") == "DEFAULT" and isinstance(fa.get("quantity"), int):
                fa["quantity"] = max(0, fa["quantity"] - quantity)
                item["lastUpdatedDate"] = iso(self.clock.now())

    def _ship_items(self, rec: dict[str, Any], lines: list[tuple[str, int]], detail: dict[str, Any]) -> None:
        """Ship ``(orderItemId, quantity)`` of an order (checked by the caller): confirmShipment,
        or the seller confirming in Seller Central."""
        items = {i["OrderItemId"]: i for i in rec["items"]}
        for item_id, quantity in lines:
            items[item_id]["QuantityShipped"] += quantity
        order = rec["order"]
        shipped = sum(i["QuantityShipped"] for i in rec["items"])
        ordered = sum(i["QuantityOrdered"] for i in rec["items"])
        order["NumberOfItemsShipped"] = shipped
        order["NumberOfItemsUnshipped"] = ordered - shipped
        order["OrderStatus"] = "Shipped" if shipped == ordered else "PartiallyShipped"
        order["LastUpdateDate"] = iso(self.clock.now())
        rec.setdefault("shipments", []).append(copy.deepcopy(detail))
        _show_address(rec)

    # --- order generator hooks (sandbox/common/orderfaker.py) ----------------------------------------

    def offers(self, seller_id: str, marketplace_id: str = reference.TR) -> list[Offer]:
        """Listings a customer on ``marketplace_id`` can buy now (an offer in its currency and
        DEFAULT availability > 0), with their ``color``/``size`` values."""
        currency = reference.MARKETPLACES[marketplace_id]["currency"]
        with self.lock:
            out = []
            for (sid, sku), item in self.listings.items():
                if sid != seller_id or marketplace_id not in item["marketplaceIds"]:
                    continue
                attrs = item["attributes"]
                price = _offer_price(attrs, marketplace_id, currency)
                stock = _default_quantity(attrs)
                if not price or not stock:
                    continue
                names = attrs.get("item_name") or [{}]
                title = (
                    next((n.get("value") for n in names if n.get("marketplace_id") == marketplace_id), None)
                    or names[0].get("value")
                    or sku
                )
                variant = tuple(
                    (name, str(attrs[name][0]["value"]))
                    for name in ("color", "size")
                    if attrs.get(name) and isinstance(attrs[name][0], dict) and attrs[name][0].get("value")
                )
                out.append(Offer(sku, str(title), price, stock, variant))
            return out

    def place(self, seller_id: str, order: FakeOrder, marketplace_id: str = reference.TR) -> str:
        """A generated merchant-fulfilled order, Unshipped (paid) with its items; its id."""
        c, a = order.customer, order.customer.address
        with self.lock:
            items = []
            for line in order.lines:
                amount = round(line.offer.price * line.quantity, 2)
                variant = ", ".join(v for _n, v in line.offer.variant)
                items.append(
                    {
                        "sku": line.offer.key,
                        "quantity": line.quantity,
                        "amount": amount,
                        "tax": round(amount * 20 / 120, 2),  # TR prices include 20% KDV
                        "title": f"{line.offer.title} ({variant})" if variant else line.offer.title,
                    }
                )
            alias = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(15))
            now = self.clock.now()
            return self.add_order(
                now,
                marketplace_id=marketplace_id,
                seller_id=seller_id,
                items=items,
                buyer={"BuyerEmail": f"{alias}@marketplace.amazon.com.tr", "BuyerName": c.full_name},
                shipping_address={
                    "Name": c.full_name,
                    "AddressLine1": a.line1,
                    "District": a.neighbourhood,
                    "City": a.district,
                    "StateOrRegion": a.province,
                    "PostalCode": a.postcode,
                    "CountryCode": a.country_code,
                    "Phone": c.phone_e164,
                    "AddressType": "Residential",
                },
            )

    def customer_cancel(self, order_id: str) -> bool:
        """The buyer cancels an order not shipped yet (Pending or Unshipped); False otherwise."""
        with self.lock:
            rec = self.orders[order_id]
            order = rec["order"]
            if order["OrderStatus"] not in ("Pending", "Unshipped"):
                return False
            order["OrderStatus"] = "Canceled"
            order["NumberOfItemsUnshipped"] = 0
            order["LastUpdateDate"] = iso(self.clock.now())
            for item in rec["items"]:
                item["BuyerRequestedCancel"] = {
                    "IsBuyerRequestedCancel": "true",
                    "BuyerCancelReason": "Müşteri siparişten vazgeçti",
                }
            _show_address(rec)
            return True

    def auto_step(self, order_id: str) -> bool | None:
        """One step outside the integration: Amazon authorises the payment (Pending → Unshipped),
        then the seller confirms the shipment in Seller Central (→ Shipped, the last step)."""
        with self.lock:
            rec = self.orders[order_id]
            order = rec["order"]
            if order["OrderStatus"] == "Pending":
                order["OrderStatus"] = "Unshipped"
                order["LastUpdateDate"] = iso(self.clock.now())
                _show_address(rec)
                return True
            if (
                order["OrderStatus"] not in ("Unshipped", "PartiallyShipped")
                or order["FulfillmentChannel"] != "MFN"
            ):
                return None
            left = [
                (i["OrderItemId"], i["QuantityOrdered"] - i["QuantityShipped"])
                for i in rec["items"]
                if i["QuantityOrdered"] > i["QuantityShipped"]
            ]
            detail = {
                "packageReferenceId": str(len(rec.get("shipments", [])) + 1),
                "carrierCode": "Other",
                "carrierName": "Yurtiçi Kargo",
                "trackingNumber": f"YK{self.rng.randint(10**11, 10**12 - 1)}",
                "shipDate": iso(self.clock.now()),
                "orderItems": [{"orderItemId": i, "quantity": q} for i, q in left],
            }
            self._ship_items(rec, left, detail)
            return False

    def get_orders(self, seller: Seller, query: dict[str, list[str]]) -> tuple[int, Any]:
        """``GET /orders/v0/orders`` with the documented filter rules and NextToken paging."""
        mids = self.marketplaces(seller, query, "MarketplaceIds")
        one = {
            k: (query.get(k) or [None])[0]
            for k in (
                "CreatedAfter",
                "CreatedBefore",
                "LastUpdatedAfter",
                "LastUpdatedBefore",
                "MaxResultsPerPage",
                "NextToken",
            )
        }
        created, updated = one["CreatedAfter"], one["LastUpdatedAfter"]
        if created and updated:
            raise invalid("Only one of CreatedAfter and LastUpdatedAfter may be specified.")
        if not created and not updated:
            raise invalid("Either CreatedAfter or LastUpdatedAfter must be specified.")
        if created and one["LastUpdatedBefore"]:
            raise invalid("LastUpdatedBefore cannot be specified together with CreatedAfter.")
        if updated and one["CreatedBefore"]:
            raise invalid("CreatedBefore cannot be specified together with LastUpdatedAfter.")
        now = self.clock.now()
        latest = now - 120
        after_name = "CreatedAfter" if created else "LastUpdatedAfter"
        before_name = "CreatedBefore" if created else "LastUpdatedBefore"
        after = parse_iso(created or updated or "", after_name)
        if after > latest:
            raise invalid(f"{after_name} must be no later than 2 minutes before the time of the request.")
        before_raw = one[before_name]
        before = parse_iso(before_raw, before_name) if before_raw else None
        if before is not None:
            if before < after:
                raise invalid(f"{before_name} must be later than {after_name}.")
            if before > latest:
                raise invalid(
                    f"{before_name} must be no later than 2 minutes before the time of the request."
                )
        statuses = [s for s in ",".join(query.get("OrderStatuses", [])).split(",") if s]
        for s in statuses:
            if s not in ORDER_STATUSES:
                raise invalid(f"Invalid OrderStatuses value: {s}.")
        if ("Unshipped" in statuses) != ("PartiallyShipped" in statuses):
            raise invalid(
                "Unshipped and PartiallyShipped must be used together in this version of the Orders API."
            )
        channels = [c for c in ",".join(query.get("FulfillmentChannels", [])).split(",") if c]
        for c in channels:
            if c not in ("AFN", "MFN"):
                raise invalid(f"Invalid FulfillmentChannels value: {c}.")
        try:
            page_size = int(one["MaxResultsPerPage"] or 100)
        except ValueError:
            raise invalid("MaxResultsPerPage must be an integer.") from None
        if not 1 <= page_size <= 100:
            raise invalid("MaxResultsPerPage must be between 1 and 100.")
        ids = [i for i in ",".join(query.get("AmazonOrderIds", [])).split(",") if i]
        if len(ids) > 50:
            raise invalid("AmazonOrderIds accepts at most 50 ids.")
        filters = {k: sorted(v) for k, v in query.items() if k not in ("NextToken", "MaxResultsPerPage")}
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        offset = 0
        cutoff = before if before is not None else latest
        if one["NextToken"]:
            try:
                token = json.loads(base64.urlsafe_b64decode(one["NextToken"].encode()).decode())
                offset, cutoff, token_fp = int(token["o"]), float(token["c"]), token["f"]
            except (ValueError, KeyError, TypeError):
                raise invalid("Invalid NextToken.") from None
            if token_fp != fingerprint:
                raise invalid(
                    "Invalid NextToken.",
                    "The NextToken must be sent with the same filters as the request that returned it.",
                )
        field_name = "PurchaseDate" if created else "LastUpdateDate"
        with self.lock:
            rows = []
            for rec in self.orders.values():
                order = rec["order"]
                if rec["seller"] != seller.seller_id or order["MarketplaceId"] not in mids:
                    continue
                t = parse_iso(order[field_name], field_name)
                if not after <= t <= cutoff:
                    continue
                if statuses and order["OrderStatus"] not in statuses:
                    continue
                if channels and order["FulfillmentChannel"] not in channels:
                    continue
                if ids and order["AmazonOrderId"] not in ids:
                    continue
                rows.append(order)
            rows.sort(key=lambda o: (o[field_name], o["AmazonOrderId"]))
            page = copy.deepcopy(rows[offset : offset + page_size])
        payload: dict[str, Any] = {"Orders": page, before_name: iso(cutoff)}
        if offset + page_size < len(rows):
            token = {"o": offset + page_size, "c": cutoff, "f": fingerprint}
            payload["NextToken"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        return 200, {"payload": payload}

    def search_orders(self, seller: Seller, query: dict[str, list[str]]) -> tuple[int, Any]:
        """``GET /orders/2026-01-01/orders`` (searchOrders): v0's window rules with camelCase names,
        ``paginationToken`` → ``pagination.nextToken`` (24 h; maxResultsPerPage and includedData may
        change between pages, every other parameter must be resent unchanged)."""
        mids = (
            self.marketplaces(seller, query) if query.get("marketplaceIds") else list(seller.marketplace_ids)
        )
        names = (
            "createdAfter",
            "createdBefore",
            "lastUpdatedAfter",
            "lastUpdatedBefore",
            "maxResultsPerPage",
            "paginationToken",
        )
        one = {k: (query.get(k) or [None])[0] for k in names}
        created, updated = one["createdAfter"], one["lastUpdatedAfter"]
        if bool(created) == bool(updated):
            raise invalid("Exactly one of createdAfter and lastUpdatedAfter must be specified.")
        if created and one["lastUpdatedBefore"]:
            raise invalid("lastUpdatedBefore cannot be specified together with createdAfter.")
        if updated and one["createdBefore"]:
            raise invalid("createdBefore cannot be specified together with lastUpdatedAfter.")
        after_name = "createdAfter" if created else "lastUpdatedAfter"
        before_name = "createdBefore" if created else "lastUpdatedBefore"
        now = self.clock.now()
        latest = now - 120
        after = parse_iso(created or updated or "", after_name)
        if after > latest:
            raise invalid(f"{after_name} must be no later than 2 minutes before the time of the request.")
        before = parse_iso(one[before_name], before_name) if one[before_name] else None
        if before is not None and before < after:
            raise invalid(f"{before_name} must be later than {after_name}.")
        if before is not None and before > latest:
            raise invalid(f"{before_name} must be no later than 2 minutes before the time of the request.")
        statuses = [v for v in ",".join(query.get("fulfillmentStatuses", [])).split(",") if v]
        for v in statuses:
            if v not in V2026_STATUSES.values():
                raise invalid(f"Invalid fulfillmentStatuses value: {v}.")
        fulfilled_by = [v for v in ",".join(query.get("fulfilledBy", [])).split(",") if v]
        for v in fulfilled_by:
            if v not in ("MERCHANT", "AMAZON"):
                raise invalid(f"Invalid fulfilledBy value: {v}.")
        for v in [v for v in ",".join(query.get("includedData", [])).split(",") if v]:
            if v not in ORDER_INCLUDED_2026:
                raise invalid(f"Invalid includedData value: {v}.")
        try:
            page_size = int(one["maxResultsPerPage"] or 100)
        except ValueError:
            raise invalid("maxResultsPerPage must be an integer.") from None
        if not 1 <= page_size <= 100:
            raise invalid("maxResultsPerPage must be between 1 and 100.")
        skip = ("paginationToken", "maxResultsPerPage", "includedData")
        filters = {k: sorted(v) for k, v in query.items() if k not in skip}
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        offset, cutoff = 0, before if before is not None else latest
        if one["paginationToken"]:
            try:
                token = json.loads(base64.urlsafe_b64decode(one["paginationToken"].encode()).decode())
                offset, cutoff, token_fp, issued = (
                    int(token["o"]),
                    float(token["c"]),
                    token["f"],
                    float(token["t"]),
                )
            except (ValueError, KeyError, TypeError):
                raise invalid("Invalid paginationToken.") from None
            if token_fp != fingerprint:
                raise invalid(
                    "Invalid paginationToken.",
                    "Every parameter except maxResultsPerPage and "
                    "includedData must be sent unchanged with the paginationToken.",
                )
            if now - issued > 86400:
                raise invalid("The paginationToken has expired.")
        field_name = "PurchaseDate" if created else "LastUpdateDate"
        with self.lock:
            rows = []
            for rec in self.orders.values():
                order = rec["order"]
                if rec["seller"] != seller.seller_id or order["MarketplaceId"] not in mids:
                    continue
                if not after <= parse_iso(order[field_name], field_name) <= cutoff:
                    continue
                if statuses and V2026_STATUSES[order["OrderStatus"]] not in statuses:
                    continue
                by = "AMAZON" if order["FulfillmentChannel"] == "AFN" else "MERCHANT"
                if fulfilled_by and by not in fulfilled_by:
                    continue
                rows.append(rec)
            rows.sort(key=lambda r: (r["order"][field_name], r["order"]["AmazonOrderId"]))
            page = [self._order_2026(r) for r in rows[offset : offset + page_size]]
        out: dict[str, Any] = {"orders": page, before_name: iso(cutoff)}
        if offset + page_size < len(rows):
            token = {"o": offset + page_size, "c": cutoff, "f": fingerprint, "t": now}
            out["pagination"] = {"nextToken": base64.urlsafe_b64encode(json.dumps(token).encode()).decode()}
        return 200, out

    @staticmethod
    def _order_2026(rec: dict[str, Any]) -> dict[str, Any]:
        o = rec["order"]
        return {
            "orderId": o["AmazonOrderId"],
            "createdTime": o["PurchaseDate"],
            "lastUpdatedTime": o["LastUpdateDate"],
            "salesChannel": {
                "channelName": "Amazon",
                "marketplaceId": o["MarketplaceId"],
                "marketplaceName": o["SalesChannel"],
            },
            "fulfillment": {
                "fulfillmentStatus": V2026_STATUSES[o["OrderStatus"]],
                "fulfilledBy": "AMAZON" if o["FulfillmentChannel"] == "AFN" else "MERCHANT",
                "shipByWindow": {
                    "earliestDateTime": o["EarliestShipDate"],
                    "latestDateTime": o["LatestShipDate"],
                },
            },
            "orderItems": [
                {
                    "orderItemId": i["OrderItemId"],
                    "quantityOrdered": i["QuantityOrdered"],
                    "product": {
                        "asin": i["ASIN"],
                        "title": i["Title"],
                        "sellerSku": i["SellerSKU"],
                        "price": {
                            "unitPrice": {
                                "amount": i["ItemPrice"]["Amount"],
                                "currencyCode": i["ItemPrice"]["CurrencyCode"],
                            }
                        },
                    },
                }
                for i in rec["items"]
            ],
        }

    def get_order_items(self, seller: Seller, order_id: str) -> tuple[int, Any]:
        with self.lock:
            rec = self.orders.get(order_id)
            if rec is None or rec["seller"] != seller.seller_id:
                raise ApiError(404, "InvalidInput", f"Invalid order id: {order_id}")
            return 200, {"payload": {"AmazonOrderId": order_id, "OrderItems": copy.deepcopy(rec["items"])}}

    def confirm_shipment(self, seller: Seller, order_id: str, body: bytes) -> tuple[int, Any]:
        """``POST /orders/v0/orders/{orderId}/shipmentConfirmation`` → 204; the body is validated
        against ``ConfirmShipmentRequest`` of ordersV0.json."""
        payload = self._body(body)
        spec = schema.load("ordersV0.json")
        problems = schema.errors(payload, spec["definitions"]["ConfirmShipmentRequest"], spec)
        if problems:
            raise invalid("The request body is invalid.", "; ".join(problems[:5]))
        detail = payload["packageDetail"]
        if not str(detail["packageReferenceId"]).isdigit() or int(detail["packageReferenceId"]) <= 0:
            raise invalid("packageReferenceId must be a positive number.")
        parse_iso(detail["shipDate"], "shipDate")
        if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
            raise invalid("carrierName is required when carrierCode is Other.")
        with self.lock:
            rec = self.orders.get(order_id)
            if rec is None or rec["seller"] != seller.seller_id:
                raise ApiError(404, "NotFound", f"Order {order_id} not found.")
            order = rec["order"]
            if payload["marketplaceId"] != order["MarketplaceId"]:
                raise invalid(
                    f"The order {order_id} does not belong to marketplace {payload['marketplaceId']}."
                )
            if order["OrderStatus"] not in ("Unshipped", "PartiallyShipped"):
                raise invalid(
                    f"The order {order_id} is {order['OrderStatus']} and cannot be confirmed as shipped."
                )
            items = {i["OrderItemId"]: i for i in rec["items"]}
            for line in detail["orderItems"]:
                item = items.get(line["orderItemId"])
                if item is None:
                    raise invalid(f"Invalid orderItemId {line['orderItemId']}.")
                if not 0 < line["quantity"] <= item["QuantityOrdered"] - item["QuantityShipped"]:
                    raise invalid(f"Invalid quantity for orderItemId {line['orderItemId']}.")
            self._ship_items(
                rec, [(line["orderItemId"], line["quantity"]) for line in detail["orderItems"]], detail
            )
            return 204, None

    # --- helpers for the control surface -----------------------------------------------------------

    def snapshot_listings(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(v)
                for (s, _), v in sorted(self.listings.items())
                if seller_id is None or s == seller_id
            ]

    def snapshot_feeds(self) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for feed in self.feeds.values():
                f = self.render_feed(feed)
                result = self.documents.get(feed.get("resultFeedDocumentId", ""))
                if result is not None:
                    f["report"] = copy.deepcopy(result["report"])
                out.append(f)
            return out

    def orders_snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(r["order"]) for r in self.orders.values()]


ADDRESS_STATUSES = ("Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed")


def _show_address(rec: dict[str, Any]) -> None:
    # ordersV0: "ShippingAddress is only available for orders with the following status values:
    # Unshipped, PartiallyShipped, Shipped and InvoiceUnconfirmed".
    order = rec["order"]
    if rec.get("address") and order["OrderStatus"] in ADDRESS_STATUSES:
        order["ShippingAddress"] = copy.deepcopy(rec["address"])
    else:
        order.pop("ShippingAddress", None)


def _offer_price(attrs: dict[str, Any], marketplace_id: str, currency: str) -> float | None:
    for po in attrs.get("purchasable_offer") or []:
        if po.get("marketplace_id") not in (None, marketplace_id) or po.get("currency") not in (
            None,
            currency,
        ):
            continue
        try:
            value = float(po["our_price"][0]["schedule"][0]["value_with_tax"])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if value > 0:
            return value
    return None


def _default_quantity(attrs: dict[str, Any]) -> int:
    for fa in attrs.get("fulfillment_availability") or []:
        if fa.get("fulfillment_channel_code") == "DEFAULT" and isinstance(fa.get("quantity"), int):
            return max(0, fa["quantity"])
    return 0


def iso_minus(seconds: float, now: float | None = None) -> str:
    """ISO 8601 UTC of ``now - seconds`` (for tests and the demo)."""
    base = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return (base - timedelta(seconds=seconds)).strftime(ISO_FORMAT)
