"""A marketplace client for a ``kervan_channel`` account, with the fleet's shared rate limiters.

Where each code finds what it needs (``credentials`` is the account's JSON credentials, ``settings``
its JSON settings):

- trendyol: ``base_url``, ``seller_id``; credentials ``api_key``, ``api_secret``, optional
  ``integrator`` (default "Kervan"); settings ``stream_interval`` (seconds between order-stream calls, default 5).
- hepsiburada: ``settings.base_urls`` ``{catalog, listing, oms}``; else a ``base_url`` on one of
  HB's production or SIT hosts selects that environment's three hosts; else ``base_url`` is one
  root (the sandbox's layout). ``seller_id`` is the merchant id; credentials ``username``,
  ``password`` and ``user_agent`` (the registered integrator name; settings may hold it instead).
- n11: ``base_url``; credentials ``app_key``, ``app_secret``, optional ``integrator``.
- amazon: ``base_url`` is the SP-API endpoint, ``seller_id``; credentials ``client_id``,
  ``client_secret``, ``refresh_token``; settings ``marketplace_ids`` (or ``marketplace_id``; the
  admin's channel form stores it among the credentials, which is read last), optional ``lwa_url``,
  ``carrier_codes``, ``issue_locale``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import redis

from bridge import redisconn
from bridge.channels import ChannelAccount
from workers.channels.base import Channel


def _redis(cfg: Any) -> tuple[redis.Redis, str]:
    return redisconn.connect(cfg), cfg.get("redis", "prefix")


def _scale(cfg: Any) -> float:
    from workers.ratelimit import rate_scale

    return rate_scale(cfg)


def _need(values: dict[str, Any], key: str, account: ChannelAccount) -> Any:
    value = values.get(key)
    if not value:
        # Names the missing key, never a value: this message reaches logs and the CLI.
        raise ValueError(f"{account!r}: credentials lack {key!r}")
    return value


def _trendyol(cfg: Any, account: ChannelAccount, breaker: Any) -> Channel:
    from workers.channels.trendyol import TrendyolClient
    from workers.ratelimit import RateLimiter

    r, prefix = _redis(cfg)
    # Trendyol: at most 50 requests per 10 s per endpoint, for the whole fleet (one Redis key per
    # endpoint and seller). burst=1 spaces calls 0.2 s apart: a GCRA with a full burst would admit
    # up to twice the limit within one sliding 10 s window, which Trendyol counts.
    limiter = RateLimiter(r, prefix, 50, 10.0, burst=1, name="trendyol", scale=_scale(cfg))
    creds = account.credentials
    return TrendyolClient(
        account.base_url, account.seller_id, _need(creds, "api_key", account), _need(creds, "api_secret", account),
        creds.get("integrator") or "Kervan", limiter=limiter, breaker=breaker,
        # Trendyol asks for ≥ 5 s between order-stream calls; a sandbox account may set less.
        **({"stream_interval": float(account.settings["stream_interval"])}
           if "stream_interval" in account.settings else {}),
    )


def _hepsiburada_urls(account: ChannelAccount) -> Any:
    from workers.channels.hepsiburada import PRODUCTION_URLS, SIT_URLS

    if account.settings.get("base_urls"):
        return account.settings["base_urls"]
    # The admin's channel form has one base URL; on a real HB host it names the environment,
    # whose three hosts (catalog, listing, OMS) differ by more than a path.
    host = urlparse(account.base_url).hostname
    for urls in (PRODUCTION_URLS, SIT_URLS):
        if host in {urlparse(u).hostname for u in urls.values()}:
            return urls
    return account.base_url


def _hepsiburada(cfg: Any, account: ChannelAccount, breaker: Any) -> Channel:
    from workers.channels.hepsiburada import RATE_LIMITS, HepsiburadaClient
    from workers.ratelimit import RateLimiter

    r, prefix = _redis(cfg)
    # HB limits each host separately; burst=1 keeps every sliding window within the limit.
    limiter = {
        host: RateLimiter(r, prefix, limit, period, burst=1, name=f"hepsiburada-{host}", scale=_scale(cfg))
        for host, (limit, period) in RATE_LIMITS.items()
    }
    creds, settings = account.credentials, account.settings
    user_agent = creds.get("user_agent") or settings.get("user_agent")
    if not user_agent:
        raise ValueError(f"{account!r}: credentials lack 'user_agent' (the registered integrator name)")
    return HepsiburadaClient(
        _hepsiburada_urls(account), account.seller_id,
        _need(creds, "username", account), _need(creds, "password", account), user_agent,
        limiter=limiter, breaker=breaker,
    )


def _n11(cfg: Any, account: ChannelAccount, breaker: Any) -> Channel:
    from workers.channels.n11 import N11Client, fleet_limits

    r, prefix = _redis(cfg)
    creds = account.credentials
    return N11Client(
        account.base_url, _need(creds, "app_key", account), _need(creds, "app_secret", account),
        integrator=creds.get("integrator") or "Kervan", limiter=fleet_limits(r, prefix, scale=_scale(cfg)),
        breaker=breaker,
    )


def _amazon(cfg: Any, account: ChannelAccount, breaker: Any) -> Channel:
    from workers.channels.amazon import LWA_URL, AmazonClient, OperationLimiter

    r, prefix = _redis(cfg)
    creds, settings = account.credentials, account.settings
    mids = settings.get("marketplace_ids") or [settings.get("marketplace_id") or creds.get("marketplace_id")]
    extra: dict[str, Any] = {}
    if settings.get("carrier_codes"):
        extra["carrier_codes"] = settings["carrier_codes"]
    if settings.get("issue_locale"):
        extra["issue_locale"] = settings["issue_locale"]
    # Per-operation limits on this Redis (the client shares its LWA tokens there too).
    return AmazonClient(
        account.base_url, settings.get("lwa_url") or LWA_URL,
        _need(creds, "client_id", account), _need(creds, "client_secret", account),
        _need(creds, "refresh_token", account), account.seller_id, [m for m in mids if m],
        redis_client=r, redis_prefix=prefix, breaker=breaker,
        limiter=OperationLimiter(r, prefix, scale=_scale(cfg)), **extra,
    )


_BUILDERS: dict[str, Callable[[Any, ChannelAccount, Any], Channel]] = {
    "trendyol": _trendyol,
    "hepsiburada": _hepsiburada,
    "n11": _n11,
    "amazon": _amazon,
}


def build_client(cfg: Any, account: ChannelAccount, breaker: Any = None) -> Channel:
    """The marketplace client for ``account`` (``cfg`` gives the Redis URL and key prefix of the
    shared limiters); ``breaker`` is the account's circuit breaker, if any."""
    try:
        builder = _BUILDERS[account.code]
    except KeyError:
        raise ValueError(f"no client for marketplace {account.code!r}") from None
    return builder(cfg, account, breaker)


__all__ = ["build_client"]
