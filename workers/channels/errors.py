"""Errors every marketplace client raises, marketplace-neutral.

Three families, because the fleet treats them differently (DESIGN §2 principle 4):

- ``TransientError`` — timeouts, connection errors, 5xx, 429/throttling, Trendyol's 426 brown-out,
  an open circuit breaker. Retry with backoff, then delayed requeue; never a hot loop.
- ``PermanentError`` — the marketplace rejected the request (400 validation, 404, 409, 401/403…).
  Record the marketplace's own message where the merchant sees it; no retry until the data changes.
- ``DuplicateRequestError`` (a ``PermanentError``) — Trendyol's "identical price/stock body within
  15 minutes" rejection. The same body was already accepted, so the caller treats it as "already
  sent": not a failure to show, not something to retry.

``message`` is the marketplace's own text (for the merchant); ``status`` the HTTP status (None for
network errors); ``code`` the marketplace's error key (``too.many.requests``, ``generic.exception``…);
``retry_after`` seconds the marketplace (or our limiter) asked us to wait, if any.

No error ever holds credentials: the HTTP layer scrubs every message with the client's secrets
before constructing the exception, and ``str()`` shows only message, status and code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_URL_USERINFO = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
_BASIC = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]{8,}")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret (and anything shaped like an auth header or URL password)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _URL_USERINFO.sub(r"\1***\3", text)
    return _BASIC.sub(r"\1 ***", text)


class ChannelError(Exception):
    """Base of every marketplace error. Picklable; ``str()`` never contains credentials."""

    def __init__(
        self,
        message: str = "",
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status, code, retry_after)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after

    def __reduce__(self):
        return (type(self), (self.message, self.status, self.code, self.retry_after))

    def __setattr__(self, name, value) -> None:
        super().__setattr__(name, value)
        if name in ("message", "status", "code", "retry_after") and len(self.__dict__) >= 4:
            # keep ``args`` (what generic tooling prints) in step with the attributes
            self.args = (self.message, self.status, self.code, self.retry_after)

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(str(self.code))
        if self.retry_after is not None:
            parts.append(f"retry after {self.retry_after:.2f}s")
        suffix = f" ({', '.join(parts)})" if parts else ""
        return f"{self.message or type(self).__name__}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, retry_after={self.retry_after!r})"
        )

    @property
    def transient(self) -> bool:
        return isinstance(self, TransientError)


class TransientError(ChannelError):
    """Worth retrying later: timeouts, connection errors, 5xx, 426 brown-outs, throttling."""


class ThrottledError(TransientError):
    """The marketplace (429) or our shared limiter said "not now"; ``retry_after`` says how long."""


class CircuitOpenError(TransientError):
    """The circuit breaker for this marketplace is open. Not retried in-process: requeue with delay."""


class PermanentError(ChannelError):
    """The marketplace rejected the request; retrying the same request will not help."""


class AuthError(PermanentError):
    """401/403: wrong credentials, missing User-Agent, account not allowed."""


class NotFoundError(PermanentError):
    """404: unknown resource or path."""


class BatchNotFound(NotFoundError):
    """A batch id the marketplace does not know (never existed, or expired — Trendyol keeps 4 h)."""


class DuplicateRequestError(PermanentError):
    """Trendyol: an identical price/stock body was already sent within 15 minutes.

    Means "already sent" — the earlier identical request was accepted — so callers record it as
    sent (and check the earlier batch), neither retrying nor reporting a failure."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError)


__all__ = [
    "AuthError",
    "BatchNotFound",
    "ChannelError",
    "CircuitOpenError",
    "DuplicateRequestError",
    "NotFoundError",
    "PermanentError",
    "ThrottledError",
    "TransientError",
    "is_transient",
    "scrub",
]
