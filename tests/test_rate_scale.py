"""One factor on the documented rate limits, on both sides: ``[ratelimit] scale`` for the fleet's
shared limiters (``workers.clients.build_client``) and ``rate_scale`` for the sandboxes.

With factor k a client is admitted k times as fast and a sandbox scaled by k never refuses it; the
same client against a sandbox left at the documented limits is refused (429) — which is what makes
the factor a pair that must match, and what lets these tests fail. Assertions are on request counts
and limiter settings, never on timings.
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge import config as kconfig
from bridge.channels import ChannelAccount
from sandbox.amazon import AmazonSandbox
from sandbox.amazon.reference import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    TR,
)
from sandbox.common.ratescale import scaled
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.n11 import N11Sandbox
from sandbox.trendyol import TrendyolSandbox
from tests.conftest import REDIS_URL
from workers.channels.errors import ChannelError
from workers.clients import build_client
from workers.ratelimit import rate_scale


def cfg(redis_prefix: str, scale: float | None = None) -> kconfig.Config:
    base = kconfig.load(path=None, environ={})
    sections: dict[str, dict[str, str]] = {"redis": {"url": REDIS_URL, "prefix": redis_prefix}}
    if scale is not None:
        sections["ratelimit"] = {"scale": str(scale)}
    return base.with_overrides(sections)


def account(code: str, sb: Any) -> ChannelAccount:
    if code == "trendyol":
        return ChannelAccount(1, code, "default", "Trendyol", sb.base_url, "1001",
                              {"api_key": "sandbox-key", "api_secret": "sandbox-secret"}, {}, True, False)
    if code == "amazon":
        return ChannelAccount(4, code, "default", "Amazon", sb.base_url, DEFAULT_SELLER_ID,
                              {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
                               "refresh_token": DEFAULT_REFRESH_TOKEN},
                              {"lwa_url": sb.lwa_url, "marketplace_ids": [TR]}, True, False)
    raise AssertionError(code)


def throttled(sb: Any, endpoint: str) -> tuple[int, int]:
    """(answered, refused with 429) on ``endpoint`` per the sandbox's request log."""
    per = sb.request_log()["counts"].get(endpoint, {})
    by_status = per.get("byStatus", per)
    return sum(int(v) for k, v in by_status.items() if k != "429"), int(by_status.get("429", 0))


# -- configuration ----------------------------------------------------------------------------------
def test_scale_is_a_config_key_defaulting_to_the_documented_limits():
    assert rate_scale(kconfig.load(path=None, environ={})) == 1.0
    assert rate_scale(kconfig.load(path=None, environ={"KERVAN_RATELIMIT_SCALE": "10"})) == 10.0
    with pytest.raises(ValueError):
        rate_scale(kconfig.load(path=None, environ={"KERVAN_RATELIMIT_SCALE": "0"}))


def test_default_limiters_are_the_documented_ones_and_k_divides_their_spacing(redis_prefix):
    tr = TrendyolSandbox()  # not started: only its URL shape is needed
    one = build_client(cfg(redis_prefix), account("trendyol", tr))
    ten = build_client(cfg(redis_prefix, 10), account("trendyol", tr))
    # Trendyol: 50 per 10 s with burst 1 → 0.2 s apart; at 10×, 0.02 s.
    assert one.http.limiter.interval_us == 200_000 and one.http.limiter.tau_us == 0
    assert ten.http.limiter.interval_us == 20_000 and ten.http.limiter.tau_us == 0

    amazon = AmazonSandbox()
    a1 = build_client(cfg(redis_prefix), account("amazon", amazon)).limiter
    a10 = build_client(cfg(redis_prefix, 10), account("amazon", amazon)).limiter
    # putListingsItem: 5/s (run at 0.9 of it), burst 10 - 1; the burst is not scaled.
    assert a1.limiters["putListingsItem"].interval_us == round(1_000_000 / 4.5)
    assert a10.limiters["putListingsItem"].interval_us == round(1_000_000 / 45)
    assert a1.limiters["putListingsItem"].tau_us // a1.limiters["putListingsItem"].interval_us == 8
    assert a10.limiters["putListingsItem"].tau_us // a10.limiters["putListingsItem"].interval_us == 8
    assert (a1.feeds.limit, a10.feeds.limit) == (5, 50)


def test_sandboxes_scale_what_they_allow():
    assert scaled(50, 1) == 50 and scaled(50, 10) == 500 and scaled(5, 0.1) == 1 and scaled(0, 10) == 0
    assert TrendyolSandbox(rate_scale=10).settings.rate_scale == 10.0
    assert HepsiburadaSandbox(rate_scale="2.5").settings.rate_scale == 2.5
    assert N11Sandbox(rate_scale=3).settings.rate_scale == 3.0
    sb = AmazonSandbox(rate_scale=10)
    assert sb.settings.limit("patchListingsItem") == (50.0, 5)
    assert AmazonSandbox().settings.limit("patchListingsItem") == (5.0, 5)
    with pytest.raises(ValueError):
        TrendyolSandbox(rate_scale=0)


# -- both sides over HTTP ------------------------------------------------------------------------------
# Trendyol counts a sliding 10 s window per endpoint; 60 calls is more than its documented 50, so a
# client admitted 10× as fast gets them all through only where the sandbox is scaled alike.
TRENDYOL_CALLS = 60


def _trendyol_run(redis_prefix: str, client_scale: float, sandbox_scale: float) -> tuple[int, int]:
    sb = TrendyolSandbox(rate_scale=sandbox_scale).start()
    client = build_client(cfg(redis_prefix, client_scale), account("trendyol", sb))
    try:
        for _ in range(TRENDYOL_CALLS):
            try:
                client.brand_by_name("Apple")
            except ChannelError:
                break  # refused past the retry budget: the 429s are what is counted
        log = sb.request_log()["counts"]
        endpoint = next(ep for ep in log if "brand" in ep)
        return throttled(sb, endpoint)
    finally:
        client.close()
        sb.stop()


def test_trendyol_at_factor_k_is_never_refused_by_a_sandbox_at_k(redis_prefix):
    answered, refused = _trendyol_run(redis_prefix, 10, 10)
    assert (answered, refused) == (TRENDYOL_CALLS, 0)


def test_trendyol_at_factor_k_is_refused_by_a_sandbox_at_the_documented_limit(redis_prefix):
    _answered, refused = _trendyol_run(redis_prefix, 10, 1)
    assert refused >= 1


# Amazon: token buckets per operation (getListingsItem 5/s, burst 10).
AMAZON_CALLS = 40


def _amazon_run(redis_prefix: str, client_scale: float, sandbox_scale: float) -> tuple[int, int]:
    sb = AmazonSandbox(rate_scale=sandbox_scale).start()
    client = build_client(cfg(redis_prefix, client_scale), account("amazon", sb))
    try:
        for _ in range(AMAZON_CALLS):
            try:
                client.get_listings_item("NO-SUCH-SKU")
            except ChannelError as exc:
                if getattr(exc, "status", None) == 429 or type(exc).__name__ == "ThrottledError":
                    break
        return throttled(sb, "getListingsItem")
    finally:
        client.close()
        sb.stop()


def test_amazon_at_factor_k_is_never_refused_by_a_sandbox_at_k(redis_prefix):
    answered, refused = _amazon_run(redis_prefix, 10, 10)
    assert (answered, refused) == (AMAZON_CALLS, 0)


def test_amazon_at_factor_k_is_refused_by_a_sandbox_at_the_documented_limit(redis_prefix):
    _answered, refused = _amazon_run(redis_prefix, 10, 1)
    assert refused >= 1
