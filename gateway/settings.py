"""``[gateway]`` configuration, typed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8780
    # Bearer token for /v1/status and /metrics; empty = those routes answer 403.
    token: str = ""
    max_body: int = 1_048_576
    # Webhook requests admitted per source address per period (Redis GCRA shared by every instance).
    rate_limit: int = 120
    rate_period: float = 60.0
    threads: int = 8
    # Addresses of load balancers whose X-Forwarded-For names the real source.
    trusted_proxies: tuple[str, ...] = ()
    # Seconds an account's webhook credentials are cached (0: read kervan_channel on every request).
    account_cache: float = 5.0

    @classmethod
    def from_config(cls, cfg) -> GatewaySettings:
        def get(key: str, default: str) -> str:
            return cfg.sections.get("gateway", {}).get(key, default)

        return cls(
            host=get("host", cls.host),
            port=int(get("port", str(cls.port))),
            token=get("token", ""),
            max_body=int(get("max_body", str(cls.max_body))),
            rate_limit=int(get("rate_limit", str(cls.rate_limit))),
            rate_period=float(get("rate_period", str(cls.rate_period))),
            threads=int(get("threads", str(cls.threads))),
            trusted_proxies=tuple(p.strip() for p in get("trusted_proxies", "").split(",") if p.strip()),
            account_cache=float(get("account_cache", str(cls.account_cache))),
        )
