"""A small JSON-over-HTTP helper every marketplace client builds on (reliability §4, rules 9–11).

- One ``requests.Session`` with **no** urllib3 retries mounted (retries happen in exactly one layer:
  here), explicit ``(connect, read)`` timeouts on every call.
- ``tenacity.Retrying`` outside: retry transient errors only; wait = max(Retry-After,
  full-jitter exponential backoff); stop *before* an attempt that would start past the budget;
  the last error is re-raised as itself (``reraise=True``), never a ``RetryError``.
- Optional pybreaker breaker inside (``with breaker.calling()``); only network errors and 5xx count
  as its failures; an open circuit raises ``CircuitOpenError``, which is not retried in-process.
- Optional shared rate limiter asked before every attempt; a 429 pushes its key forward.
- Marketplace-specific error translation is a function ``(response) -> ChannelError | None``.
- Logs method, path, status and elapsed time — never headers, bodies, query strings or secrets.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import requests
from loguru import logger
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception, stop_before_delay, wait_random_exponential
from tenacity.wait import wait_base

from bridge import metrics
from workers.channels.errors import (
    AuthError,
    ChannelError,
    CircuitOpenError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
    scrub,
)

CONNECT_TIMEOUT = 3.05


class Limiter(Protocol):
    def acquire(self, key: str, max_wait: float = ...) -> float: ...

    def penalize(self, key: str, seconds: float) -> float: ...


Translator = Callable[[requests.Response], ChannelError | None]


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def response_json(response: requests.Response) -> Any:
    """The body as JSON, or None when empty/not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def default_translate(response: requests.Response) -> ChannelError | None:
    """Generic status-code translation (2xx = success) for marketplaces without their own."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    body = response_json(response)
    message = ""
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or "")
    message = message or (response.reason or f"HTTP {status}")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return ThrottledError(message, status, "too.many.requests", retry_after)
    if status in (401, 403):
        return AuthError(message, status)
    if status == 404:
        return NotFoundError(message, status)
    if status >= 500 or status in (408, 425, 426):
        return TransientError(message, status, None, retry_after)
    return PermanentError(message, status)


class _WaitRetryAfter(wait_base):
    """max(the error's retry_after, full-jitter exponential backoff)."""

    def __init__(self, multiplier: float, maximum: float) -> None:
        self.backoff = wait_random_exponential(multiplier=multiplier, max=maximum)

    def __call__(self, retry_state) -> float:
        backoff = self.backoff(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(exc, "retry_after", None) or 0.0
        return max(float(retry_after), backoff)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, TransientError) and not isinstance(exc, CircuitOpenError)


def plain_session() -> requests.Session:
    """A Session whose adapters never retry (urllib3 ``max_retries=0``)."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class JsonHttp:
    """JSON requests against one base URL, with retries, limiter, breaker and error translation.

    ``headers`` and ``auth`` go on every request (kept off the shared session, so one session can
    serve several accounts); a request's own ``headers=`` are laid over them for that request only
    (e.g. a short-lived access token). ``secrets`` are scrubbed from every error message, and so are
    per-request header values whose names look like credentials. ``limiter`` keys are built by the
    caller and passed per request (``rate_key=``); ``limiter_max_wait`` bounds how long one attempt
    may block on the limiter (never longer than what is left of the budget).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        translate: Translator = default_translate,
        limiter: Limiter | None = None,
        breaker: Any = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = 15.0,
        retry_budget: float = 20.0,
        backoff_multiplier: float = 0.5,
        backoff_max: float = 10.0,
        limiter_max_wait: float = 15.0,
        throttle_default_wait: float = 1.0,
        secrets: Iterable[str] = (),
        name: str = "http",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session if session is not None else plain_session()
        self.headers = dict(headers or {})
        self._auth = auth
        self.translate = translate
        self.limiter = limiter
        self.breaker = breaker
        self.timeout = (connect_timeout, read_timeout)
        self.retry_budget = retry_budget
        self.backoff_multiplier = backoff_multiplier
        self.backoff_max = backoff_max
        self.limiter_max_wait = limiter_max_wait
        self.throttle_default_wait = throttle_default_wait
        self._secrets = tuple(s for s in secrets if s)
        self.name = name
        for adapter in self.session.adapters.values():
            retries = getattr(adapter, "max_retries", None)
            if retries is not None and getattr(retries, "total", 0) not in (0, False, None):
                logger.warning("{}: the session mounts urllib3 retries; they multiply with ours", name)
                break

    def __repr__(self) -> str:  # no headers/auth
        return f"JsonHttp({self.name} {self.base_url})"

    # -- public --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        rate_key: str | None = None,
        retry_budget: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one logical request (retried on transient errors); returns the parsed JSON body
        (None if empty). Raises a ``ChannelError`` subclass; after the budget, the last one.
        ``headers`` are added to (and override) the client's headers for this request only; like
        those, they are never logged."""
        budget = self.retry_budget if retry_budget is None else retry_budget
        started = time.monotonic()
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            wait=_WaitRetryAfter(self.backoff_multiplier, self.backoff_max),
            stop=stop_before_delay(budget),
            reraise=True,
            before_sleep=self._before_sleep(method, path),
            sleep=time.sleep,
        )
        extra = dict(headers) if headers else None
        return retrying(self._attempt, method, path, params, json, rate_key, started, budget, extra)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    def scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    # -- one attempt ---------------------------------------------------------------------------

    def _attempt(
        self,
        method: str,
        path: str,
        params: Any,
        body: Any,
        rate_key: str | None,
        started: float,
        budget: float,
        extra_headers: dict[str, str] | None = None,
    ) -> Any:
        operation = rate_key.split(":")[1] if rate_key and rate_key.count(":") >= 2 else method.lower()
        if self.limiter is not None and rate_key is not None:
            left = max(0.0, budget - (time.monotonic() - started))
            waited = self.limiter.acquire(rate_key, min(self.limiter_max_wait, left))
            if waited:
                metrics.RATE_LIMIT_WAIT.labels(self.name, operation).inc(waited)
        t0 = time.monotonic()
        try:
            # Subclasses that override _send without the headers argument keep working as long as
            # no per-request headers are used with them.
            if extra_headers:
                response = self._send(method, path, params, body, headers=extra_headers)
            else:
                response = self._send(method, path, params, body)
        except ChannelError as exc:
            metrics.MARKETPLACE_REQUESTS.labels(self.name, operation, type(exc).__name__).inc()
            raise
        metrics.MARKETPLACE_REQUESTS.labels(self.name, operation, str(response.status_code)).inc()
        elapsed_ms = (time.monotonic() - t0) * 1000
        logger.bind(marketplace=self.name).debug(
            "{} {} {} -> {} in {:.0f} ms", self.name, method, path, response.status_code, elapsed_ms
        )
        error = self.translate(response)
        if error is None:
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise TransientError(
                    f"{self.name}: {response.status_code} response is not JSON", response.status_code
                ) from None
        error.message = scrub(self.scrub(error.message or ""), _sensitive_values(extra_headers))
        if isinstance(error, ThrottledError):
            if error.retry_after is None:
                error.retry_after = self.throttle_default_wait
            if self.limiter is not None and rate_key is not None:
                self.limiter.penalize(rate_key, error.retry_after)
        level = "WARNING" if isinstance(error, TransientError) else "INFO"
        logger.bind(marketplace=self.name).log(
            level,
            "{} {} {} -> {} {} in {:.0f} ms",
            self.name,
            method,
            path,
            response.status_code,
            type(error).__name__,
            elapsed_ms,
        )
        raise error

    def request_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The headers one attempt sends: the client's, then ``extra`` (case-insensitively replacing
        a client header of the same name)."""
        headers = dict(self.headers)
        if extra:
            names = {k.lower() for k in extra}
            headers = {k: v for k, v in headers.items() if k.lower() not in names}
            headers.update(extra)
        return headers

    def _send(
        self, method: str, path: str, params: Any, body: Any, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        url = f"{self.base_url}/{path.lstrip('/')}"
        data = None
        headers = self.request_headers(headers)
        if body is not None:
            data = jsonlib.dumps(body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        try:
            if self.breaker is None:
                return self._raw(method, url, params, data, headers)
            return self._through_breaker(method, url, params, data, headers)
        except ChannelError:
            raise
        except _CONFIG_ERRORS as exc:
            # A malformed URL or header will not get better by retrying.
            raise PermanentError(f"{self.name}: bad request setup ({type(exc).__name__})") from None
        except requests.Timeout as exc:
            raise TransientError(f"{self.name}: timed out ({type(exc).__name__})") from None
        except requests.ConnectionError as exc:
            raise TransientError(f"{self.name}: connection failed ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            raise TransientError(f"{self.name}: request failed ({type(exc).__name__})") from None

    def _raw(
        self, method: str, url: str, params: Any, data: Any, headers: dict[str, str]
    ) -> requests.Response:
        return self.session.request(
            method, url, params=params, data=data, headers=headers, auth=self._auth, timeout=self.timeout
        )

    def _through_breaker(
        self, method: str, url: str, params: Any, data: Any, headers: dict[str, str]
    ) -> requests.Response:
        import pybreaker

        try:
            with self.breaker.calling():
                response = self._raw(method, url, params, data, headers)
                if response.status_code >= 500:
                    # Counts as a breaker failure; the translated error is raised after the block.
                    raise _ServerFailure(response)
                return response
        except _ServerFailure as failure:
            return failure.response
        except pybreaker.CircuitBreakerError:
            raise CircuitOpenError(f"{self.name}: circuit open", None, "circuit.open") from None

    def _before_sleep(self, method: str, path: str) -> Callable[[Any], None]:
        def log(retry_state) -> None:
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            logger.bind(marketplace=self.name).info(
                "{} {} {} retry #{} in {:.2f}s after {}: {}",
                self.name,
                method,
                path,
                retry_state.attempt_number,
                retry_state.upcoming_sleep,
                type(exc).__name__,
                str(exc) if exc is not None else "",
            )

        return log


_SENSITIVE_HEADER_PARTS = ("auth", "token", "secret", "key", "signature", "cookie", "password")


def _sensitive_values(headers: Mapping[str, str] | None) -> tuple[str, ...]:
    """Values of per-request headers that look like credentials: a marketplace echoing the request
    back in an error must not carry them into exceptions or logs."""
    if not headers:
        return ()
    return tuple(
        str(v) for k, v in headers.items() if v and any(part in k.lower() for part in _SENSITIVE_HEADER_PARTS)
    )


_CONFIG_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


class _ServerFailure(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


__all__ = [
    "CONNECT_TIMEOUT",
    "JsonHttp",
    "default_translate",
    "parse_retry_after",
    "plain_session",
    "response_json",
]
