"""The one way Kervan's processes reach Redis: ``[redis] url``, or the primary that Redis Sentinel
names when ``[redis] sentinels`` lists any. Through Sentinel the client asks the sentinels for the
current primary and asks again after a failover, so no process needs a restart when Redis moves."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

import redis
from redis.sentinel import Sentinel


def sentinel_addresses(value: str) -> list[tuple[str, int]]:
    """``"host1:26379, host2:26379"`` → ``[("host1", 26379), ("host2", 26379)]``."""
    out = []
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"[redis] sentinels: {part!r} is not host:port")
        out.append((host.strip("[]"), int(port)))
    return out


def connect(cfg: Any, **kwargs: Any) -> redis.Redis:
    """A Redis client for ``cfg``; ``kwargs`` go to the client (timeouts, ``decode_responses``).
    With sentinels, ``[redis] url`` still gives the database number and the password."""
    url = cfg.get("redis", "url")
    sentinels = sentinel_addresses(cfg.get("redis", "sentinels"))
    if not sentinels:
        return redis.Redis.from_url(url, **kwargs)
    parsed = urlparse(url)
    db = int(parsed.path.lstrip("/") or 0) if parsed.path.lstrip("/").isdigit() else 0
    password = unquote(parsed.password) if parsed.password else None
    timeouts = {k: kwargs[k] for k in ("socket_timeout", "socket_connect_timeout") if k in kwargs}
    sentinel = Sentinel(sentinels, sentinel_kwargs=timeouts or {"socket_timeout": 2, "socket_connect_timeout": 2})
    return sentinel.master_for(cfg.get("redis", "service_name"), db=db, password=password, **kwargs)
