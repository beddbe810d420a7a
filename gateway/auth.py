"""Who may call the gateway: a marketplace with its account's webhook credentials, an operator
with the configured token. Every comparison is constant-time (``hmac.compare_digest``).

Webhook credentials of an account (``kervan_channel``) live in its ``credentials`` JSON, where
secrets belong (never printed by ``ChannelAccount``'s repr); ``settings`` is read as a fallback:

- ``webhook_user`` + ``webhook_password``: HTTP Basic (Trendyol ``BASIC_AUTHENTICATION``, Hepsiburada)
- ``webhook_api_key``: the ``x-api-key`` header (Trendyol ``API_KEY``)

An account with neither has no webhook endpoint (404): the gateway never accepts unauthenticated
webhooks.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bridge.channels import ChannelAccount

KEYS = ("webhook_user", "webhook_password", "webhook_api_key")


@dataclass(frozen=True)
class WebhookCredentials:
    user: str = ""
    password: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)

    @property
    def configured(self) -> bool:
        return bool((self.user and self.password) or self.api_key)

    @classmethod
    def of(cls, account: ChannelAccount) -> WebhookCredentials:
        def pick(key: str) -> str:
            return str(account.credentials.get(key) or account.settings.get(key) or "")

        return cls(pick("webhook_user"), pick("webhook_password"), pick("webhook_api_key"))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def basic_parts(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic …`` header, None if it is not one."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True)
    except binascii.Error:
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        # RFC 7617 leaves the charset to the sender; many clients (requests among them) send Latin-1.
        decoded = raw.decode("latin-1")
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def webhook_allowed(creds: WebhookCredentials, headers: Mapping[str, str]) -> bool:
    """True when the request carries this account's Basic credentials or its API key."""
    ok = False
    if creds.api_key:
        given = headers.get("X-API-KEY") or ""
        ok |= bool(given) and _same(given, creds.api_key)
    if creds.user and creds.password:
        parts = basic_parts(headers.get("AUTHORIZATION"))
        if parts is not None:
            # Both halves compared every time, so the timing says nothing about which one differed.
            user_ok = _same(parts[0], creds.user)
            password_ok = _same(parts[1], creds.password)
            ok |= user_ok and password_ok
    return ok


def token_allowed(token: str, header: str | None) -> bool:
    """``Authorization: Bearer <token>`` against the configured token (none configured: refused)."""
    if not token or not header or not header[:7].lower() == "bearer ":
        return False
    return _same(header[7:].strip(), token)


class AccountCache:
    """Accounts by (channel, account) for a few seconds, so a burst of webhooks costs one query.
    A changed password is in force after at most ``ttl`` seconds."""

    def __init__(self, load: Callable[[str, str], ChannelAccount | None], ttl: float) -> None:
        self._load = load
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], tuple[float, ChannelAccount | None]] = {}

    def get(self, channel: str, account: str) -> ChannelAccount | None:
        key = (channel, account)
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        found = self._load(channel, account)
        with self._lock:
            if len(self._items) > 1000:  # unknown names from scanners must not grow it forever
                self._items.clear()
            self._items[key] = (now, found)
        return found
