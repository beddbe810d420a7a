"""Login with Amazon (LWA): refresh token → access token, shared by every process through Redis.

The access token (valid ``expires_in`` seconds, 3600 in production) is cached in-process and in Redis
under ``<prefix>amazon:lwa:<digest>`` — the digest is a hash of client id and refresh token, so no
credential appears in a key. A token is reused until ``refresh_margin`` seconds before it expires
(at most a tenth of its lifetime). When it must be refreshed, one process takes the Redis lock
``…:lock`` (SET NX PX) and calls LWA; the others wait for the new token to appear and reuse it.

``invalidate(token)`` forgets a token SP-API rejected as expired — only if it is still the cached
one, so several clients that saw the same 403 cause a single refresh. Tokens and secrets are never
logged or put into exception text. Without Redis, each process refreshes on its own (fail open).
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets as pysecrets
import threading
import time
from typing import Any

import redis
import requests
from loguru import logger

from workers.channels.errors import AuthError, ChannelError, TransientError, scrub
from workers.http import CONNECT_TIMEOUT, plain_session, response_json

# Delete KEYS[1] only if it still holds ARGV[1] (compare-and-delete), for the lock and for invalidation.
_CAD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_INVALIDATE = """
local raw = redis.call('GET', KEYS[1])
if raw and string.find(raw, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LwaTokens:
    """Access tokens for one (client id, client secret, refresh token), shared across processes.

    ``refreshes`` counts the LWA calls this instance made (tests; the sandbox counts them too).
    """

    def __init__(
        self,
        lwa_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        redis_client: redis.Redis,
        redis_prefix: str = "",
        session: requests.Session | None = None,
        timeout: float = 15.0,
        refresh_margin: float = 60.0,
        lock_ttl: float = 20.0,
        wait_timeout: float = 30.0,
    ) -> None:
        if not (client_id and client_secret and refresh_token):
            raise ValueError("client_id, client_secret and refresh_token are required")
        self.lwa_url = lwa_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.redis = redis_client
        digest = hashlib.sha256(f"{client_id}\0{refresh_token}".encode()).hexdigest()[:24]
        self.key = f"{redis_prefix}amazon:lwa:{digest}"
        self.lock_key = self.key + ":lock"
        self.session = session if session is not None else plain_session()
        self.timeout = (CONNECT_TIMEOUT, timeout)
        self.refresh_margin = refresh_margin
        self.lock_ttl = lock_ttl
        self.wait_timeout = wait_timeout
        self.refreshes = 0
        self._local: tuple[str, float] | None = None  # (token, usable until, epoch s)
        self._mutex = threading.Lock()
        self._local_refresh = threading.Lock()
        self._cad = redis_client.register_script(_CAD)
        self._invalidate = redis_client.register_script(_INVALIDATE)

    def __repr__(self) -> str:
        return f"LwaTokens({self.lwa_url})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential and token this object holds (for scrubbing)."""
        out = [self._client_secret, self._refresh_token]
        if self._local:
            out.append(self._local[0])
        return tuple(out)

    # --- public ---------------------------------------------------------------------------------

    def get(self) -> str:
        """A valid access token: cached, another process's, or freshly obtained (by one process)."""
        with self._mutex:
            if self._local and time.time() < self._local[1]:
                return self._local[0]
        try:
            return self._get_shared()
        except redis.RedisError as exc:
            # Fail open, as the rate limiter does: this process refreshes on its own.
            logger.bind(marketplace="amazon").warning(
                "amazon: Redis unavailable for the LWA token cache ({}); refreshing locally",
                type(exc).__name__,
            )
            with self._local_refresh:
                with self._mutex:
                    if self._local and time.time() < self._local[1]:
                        return self._local[0]
                return self._refresh()

    def _get_shared(self) -> str:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            cached = self._read_shared()
            if cached is not None:
                return cached
            owner = pysecrets.token_hex(8)
            if self.redis.set(self.lock_key, owner, nx=True, px=int(self.lock_ttl * 1000)):
                try:
                    cached = self._read_shared()  # someone may have finished just before we locked
                    if cached is not None:
                        return cached
                    return self._refresh()
                finally:
                    self._cad(keys=[self.lock_key], args=[owner])
            if time.monotonic() >= deadline:
                raise TransientError("amazon: timed out waiting for another process to refresh the LWA token")
            time.sleep(0.02 + random.uniform(0, 0.03))

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (SP-API said it expired) here and in Redis, unless already replaced."""
        with self._mutex:
            if self._local and self._local[0] == token:
                self._local = None
        try:
            self._invalidate(keys=[self.key], args=[json.dumps(token)[1:-1]])
        except redis.RedisError as exc:
            logger.bind(marketplace="amazon").warning(
                "amazon: Redis unavailable to invalidate the LWA token ({})", type(exc).__name__
            )

    # --- internals ------------------------------------------------------------------------------

    def _usable_until(self, expires_at: float, lifetime: float) -> float:
        """When to stop using a token: ``refresh_margin`` before expiry, at most a tenth of its life."""
        return expires_at - min(self.refresh_margin, lifetime / 10)

    def _read_shared(self) -> str | None:
        raw = self.redis.get(self.key)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            token, expires_at, lifetime = (
                str(data["access_token"]),
                float(data["expires_at"]),
                float(data["expires_in"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        until = self._usable_until(expires_at, lifetime)
        if time.time() >= until:
            return None
        with self._mutex:
            self._local = (token, until)
        return token

    def _refresh(self) -> str:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        last: ChannelError | None = None
        for attempt in range(3):
            if attempt:
                time.sleep(0.2 * 2**attempt * random.uniform(0.5, 1.0))
            try:
                response = self.session.post(
                    self.lwa_url,
                    data=form,
                    headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                last = TransientError(f"amazon: LWA token request failed ({type(exc).__name__})")
                continue
            self.refreshes += 1
            body = response_json(response)
            if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
                return self._store(body)
            error = self._error(response.status_code, body)
            if not error.transient:
                raise error
            last = error
        logger.bind(marketplace="amazon").warning("amazon: LWA token refresh failed: {}", last)
        raise last or TransientError("amazon: LWA token request failed")

    def _store(self, body: dict[str, Any]) -> str:
        token = str(body["access_token"])
        lifetime = float(body.get("expires_in") or 3600)
        expires_at = time.time() + lifetime
        record = json.dumps({"access_token": token, "expires_at": expires_at, "expires_in": lifetime})
        try:
            self.redis.set(self.key, record, px=max(1, int(lifetime * 1000)))
        except redis.RedisError as exc:
            logger.bind(marketplace="amazon").warning(
                "amazon: Redis unavailable to share the LWA token ({})", type(exc).__name__
            )
        with self._mutex:
            self._local = (token, self._usable_until(expires_at, lifetime))
        logger.bind(marketplace="amazon").info("amazon: LWA access token refreshed, valid {:.0f}s", lifetime)
        return token

    def _error(self, status: int, body: Any) -> ChannelError:
        code = body.get("error") if isinstance(body, dict) else None
        text = body.get("error_description") if isinstance(body, dict) else None
        message = scrub(f"LWA: {text or code or f'HTTP {status}'}", self.secrets)
        if status == 429 or status >= 500:
            return TransientError(message, status, code)
        return AuthError(message, status, code)


__all__ = ["LwaTokens"]
