"""The gateway's WSGI application (Falcon): routes, and the order in which a webhook is judged.

    POST /v1/webhooks/{channel}/{account}[/orders]   (Trendyol; Hepsiburada's {baseUrl}/orders)
        429 over the source's rate → 413 body too large → 404 unknown channel/account →
        401 bad credentials → 400 malformed body (the reason in the answer) → publish with
        confirm → 200 only after the broker's confirm (503 when it did not confirm: the
        marketplace retries)
    GET  /v1/health           readiness: database, broker, Redis (503 naming what is down)
    GET  /v1/health/live      liveness: the process answers
    GET  /v1/status           ``kervan status`` as JSON (Bearer token)
    GET  /metrics             Prometheus (Bearer token)

Nothing is kept between requests except caches and connections: instances are interchangeable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon
import redis
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

from bridge import channels, redisconn
from bridge.db import Database
from bridge.envelope import utcnow_iso
from gateway import auth, health, webhooks
from gateway.publisher import CommandPublisher
from gateway.settings import GatewaySettings
from workers.ratelimit import RateLimiter, rate_key

REQUESTS = Counter("kervan_gateway_requests_total", "Gateway requests by route and answer", ["route", "status"])
WEBHOOKS = Counter("kervan_gateway_webhooks_total", "Webhooks by channel and outcome", ["channel", "outcome"])
PUBLISH_SECONDS = Histogram("kervan_gateway_publish_seconds", "Time from a valid webhook to the broker's confirm",
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


@dataclass
class Deps:
    """What the routes need; built once per process by ``build``."""

    settings: GatewaySettings
    db: Database
    publisher: CommandPublisher
    redis: redis.Redis
    limiter: RateLimiter
    accounts: auth.AccountCache
    amqp_url: str
    status: Callable[[], dict[str, Any]]


def _reject(resp: falcon.Response, status: int, reason: str, **extra: Any) -> None:
    resp.status = status
    resp.media = {"error": reason, **extra}


def source_of(req: falcon.Request, trusted: tuple[str, ...]) -> str:
    """The caller's address; behind a trusted load balancer, the last X-Forwarded-For hop that is
    not one of ours (earlier hops are the client's word, which anyone can forge)."""
    addr = req.remote_addr or "unknown"
    if addr not in trusted:
        return addr
    hops = [h.strip() for h in (req.get_header("X-Forwarded-For") or "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return addr


class Webhooks:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response, channel: str, account: str) -> None:
        self.accept(req, resp, channel, account, "")

    def on_post_orders(self, req: falcon.Request, resp: falcon.Response, channel: str, account: str) -> None:
        self.accept(req, resp, channel, account, "orders")

    def accept(self, req: falcon.Request, resp: falcon.Response, channel: str, account: str, kind: str) -> None:
        s = self.d.settings
        wait = self.d.limiter.try_acquire(rate_key("gateway", "webhook", source_of(req, s.trusted_proxies)))
        if wait > 0:
            resp.set_header("Retry-After", str(max(1, round(wait + 0.5))))
            WEBHOOKS.labels(channel, "throttled").inc()
            return _reject(resp, 429, "too many requests from this source", retry_after=round(wait, 3))
        length = req.content_length
        if length is not None and length > s.max_body:
            WEBHOOKS.labels(channel, "too_large").inc()
            return _reject(resp, 413, f"body of {length} bytes is over the limit of {s.max_body}")
        body = req.bounded_stream.read(s.max_body + 1)
        if len(body) > s.max_body:
            WEBHOOKS.labels(channel, "too_large").inc()
            return _reject(resp, 413, f"body is over the limit of {s.max_body} bytes")
        validate = webhooks.VALIDATORS.get(channel, {}).get(kind)
        found = self.d.accounts.get(channel, account) if validate else None
        creds = auth.WebhookCredentials.of(found) if found else None
        if validate is None or found is None or creds is None or not creds.configured:
            WEBHOOKS.labels(channel if validate else "unknown", "unknown_account").inc()
            what = "channel" if validate is None else "account"
            return _reject(resp, 404, f"no webhook endpoint for this {what}")
        headers = {"AUTHORIZATION": req.get_header("Authorization") or "",
                   "X-API-KEY": req.get_header("x-api-key") or ""}
        if not auth.webhook_allowed(creds, headers):
            WEBHOOKS.labels(channel, "unauthorized").inc()
            resp.set_header("WWW-Authenticate", 'Basic realm="kervan"')
            return _reject(resp, 401, "credentials missing or wrong")
        try:
            refs = validate(webhooks.parse_json(body))
        except webhooks.BadWebhook as exc:
            WEBHOOKS.labels(channel, "malformed").inc()
            return _reject(resp, 400, str(exc))
        event = webhooks.command(channel, account, refs, received_at=utcnow_iso())
        started = time.perf_counter()
        try:
            self.d.publisher.publish(event)
        except Exception as exc:  # noqa: BLE001 - not confirmed: not accepted; the marketplace retries
            WEBHOOKS.labels(channel, "unconfirmed").inc()
            logger.error("webhook {}/{} package {} not confirmed by the broker: {}", channel, account,
                         refs[0].package_id or refs[0].order_number, type(exc).__name__)
            resp.set_header("Retry-After", "5")
            return _reject(resp, 503, "could not store the webhook; send it again")
        PUBLISH_SECONDS.observe(time.perf_counter() - started)
        WEBHOOKS.labels(channel, "accepted").inc()
        logger.info("webhook {}/{} order {} ({}) accepted as {}", channel, account,
                    refs[0].package_id or refs[0].order_number,
                    refs[0].status, event.id)
        resp.status = 200
        resp.media = {"accepted": True, "id": event.id}


class Health:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = {"database": health.database(self.d.db), "broker": health.broker(self.d.amqp_url),
                  "redis": health.cache(self.d.redis)}
        ok = all(v is None for v in checks.values())
        resp.status = 200 if ok else 503
        resp.media = {"ok": ok, "checks": {k: v or "ok" for k, v in checks.items()}}

    def on_get_live(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}


class _TokenGuarded:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def allowed(self, req: falcon.Request, resp: falcon.Response) -> bool:
        if not self.d.settings.token:
            _reject(resp, 403, "no [gateway] token is configured; this route is off")
            return False
        if not auth.token_allowed(self.d.settings.token, req.get_header("Authorization")):
            resp.set_header("WWW-Authenticate", 'Bearer realm="kervan"')
            _reject(resp, 401, "token missing or wrong")
            return False
        return True


class Status(_TokenGuarded):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.allowed(req, resp):
            resp.text = json.dumps(self.d.status(), default=str)
            resp.content_type = falcon.MEDIA_JSON


class Metrics(_TokenGuarded):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.allowed(req, resp):
            resp.data = generate_latest(REGISTRY)
            resp.content_type = CONTENT_TYPE_LATEST


class _Count:
    """Counts every answer by route template (never by raw path: scanners would explode labels)."""

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        route = req.uri_template or "unmatched"
        REQUESTS.labels(route, str(resp.status_code)).inc()


def _on_error(req, resp, ex, params) -> None:
    logger.exception("gateway: {} {} failed", req.method, req.uri_template or "?")
    _reject(resp, 500, "internal error")


def create_app(deps: Deps) -> falcon.App:
    app = falcon.App(middleware=[_Count()])
    hooks = Webhooks(deps)
    app.add_route("/v1/webhooks/{channel}/{account}", hooks)
    app.add_route("/v1/webhooks/{channel}/{account}/orders", hooks, suffix="orders")
    h = Health(deps)
    app.add_route("/v1/health", h)
    app.add_route("/v1/health/live", h, suffix="live")
    app.add_route("/v1/status", Status(deps))
    app.add_route("/metrics", Metrics(deps))
    app.add_error_handler(Exception, _on_error)
    # Falcon's own HTTP errors (405, 404 for an unknown path) keep their status and JSON body.
    app.add_error_handler(falcon.HTTPError, lambda req, resp, ex, params: _reject(resp, ex.status_code, ex.title))
    return app


def build(cfg) -> tuple[falcon.App, Deps]:
    from bridge.db import from_config
    from kervan.status import status_data

    settings = GatewaySettings.from_config(cfg)
    db = from_config(cfg)
    client = redisconn.connect(cfg, socket_timeout=2, socket_connect_timeout=2)
    deps = Deps(
        settings=settings,
        db=db,
        publisher=CommandPublisher(cfg.get("amqp", "url"), cfg.get("amqp", "exchange"), cfg.getint("amqp", "heartbeat")),
        redis=client,
        limiter=RateLimiter(client, cfg.get("redis", "prefix"), settings.rate_limit, settings.rate_period,
                            name="gateway"),
        accounts=auth.AccountCache(lambda c, a: channels.get(db, c, a), settings.account_cache),
        amqp_url=cfg.get("amqp", "url"),
        status=lambda: status_data(cfg),
    )
    return create_app(deps), deps
