"""The sandbox as a whole: ``AmazonSandbox`` (in-process API), ``serve`` (foreground, for the
``kervan sandbox`` command) and ``main`` (``python -m sandbox.amazon``).

One server plays both LWA (``POST /auth/o2/token``) and the SP-API EU endpoint::

    with AmazonSandbox(feed_delay=0.05) as sb:
        client = AmazonClient(sb.base_url, sb.lwa_url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                              DEFAULT_REFRESH_TOKEN, DEFAULT_SELLER_ID, [TR], redis_client=r, redis_prefix=p)
"""

from __future__ import annotations

import argparse
import copy
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.common import ratescale
from sandbox.common.lifecycle import ServedSandbox, wait_for_signal
from sandbox.common.orderfaker import OrderGenerator, generator_args, generator_options
from sandbox.trendyol.faults import FaultInjector

from . import reference
from .server import SandboxHTTPServer
from .service import Clock, Seller, Service, Settings

DEFAULT_PORT = 8704  # sandbox/registry.py


class FeedProcessor:
    """Moves feeds IN_QUEUE → IN_PROGRESS → DONE/FATAL on a background thread."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="amazon-sandbox-feeds", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.service.cond:
            self.service.cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def flush(self) -> int:
        done = 0
        with self.service.lock:
            ids = [
                f
                for f, feed in self.service.feeds.items()
                if feed["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS")
            ]
        for feed_id in ids:
            self.service.process_feed(feed_id)
            done += 1
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            for feed_id in self.service.due_feeds():
                self.service.process_feed(feed_id)
            wait = self.service.next_due_in()
            with self.service.cond:
                if self._stop.is_set():
                    return
                self.service.cond.wait(timeout=0.5 if wait is None else min(0.5, max(0.005, wait)))


class AmazonSandbox(ServedSandbox):
    """A local SP-API (Listings Items, Feeds, Orders v0, Product Type Definitions) plus LWA.

    ``port=0`` picks a free port. ``base_url`` is the SP-API endpoint, ``lwa_url`` the token URL.
    Everything tunable at construction can be changed later with ``configure``.
    """

    server_class = SandboxHTTPServer
    thread_name = "amazon-sandbox-http"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        feed_delay: float = 0.3,
        token_ttl: int = reference.TOKEN_TTL,
        sellers: Iterable[Seller] | None = None,
        orders: int = 0,
        seed: int | None = None,
        order_generator: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.sellers: tuple[Seller, ...] = tuple(sellers) if sellers else (Seller(),)
        self.settings = Settings(feed_delay=feed_delay, token_ttl=token_ttl)
        self.settings.update(**settings)
        self.clock = Clock()
        self.service = Service(self.sellers, self.settings, self.clock, seed)
        self.faults = FaultInjector(seed=seed)
        self.processor = FeedProcessor(self.service)
        # Orders of the first seller on Amazon.com.tr; settings of orderfaker.GeneratorSettings.
        self.order_generator = OrderGenerator(
            offers=lambda: self.service.offers(self.sellers[0].seller_id),
            place=lambda order: self.service.place(self.sellers[0].seller_id, order),
            cancel=self.service.customer_cancel,
            advance=self.service.auto_step,
            lock=self.service.lock,
            now=self.clock.now,
            seed=seed,
            name="amazon-sandbox",
            settings=order_generator,
        )
        self.stop_event = threading.Event()
        self._initial_orders = orders
        if orders:
            self.service.seed_orders(orders)

    # --- lifecycle -------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        self.processor.start()
        self.order_generator.start()

    def _stop_workers(self) -> None:
        self.order_generator.stop()
        self.processor.stop()

    @property
    def lwa_url(self) -> str:
        return f"{self.base_url}/auth/o2/token"

    def seller(self, seller_id: str | None = None) -> Seller:
        if seller_id is None:
            return self.sellers[0]
        for s in self.sellers:
            if s.seller_id == seller_id:
                return s
        raise KeyError(f"no sandbox seller {seller_id}")

    # --- inspection ------------------------------------------------------------------------------

    def products(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored listings item (sku, asin, productType, attributes, marketplaceIds, dates)."""
        return self.service.snapshot_listings(seller_id)

    def product(self, sku: str, seller_id: str | None = None) -> dict[str, Any] | None:
        sid = self.seller(seller_id).seller_id
        return next((p for p in self.products(sid) if p["sku"] == sku), None)

    def edit_in_panel(self, sku: str, seller_id: str | None = None, *, quantity: int | None = None,
                      price: float | None = None) -> dict[str, Any]:
        """The seller changes an offer in Seller Central (quantity, price): what Kervan's full
        reconciliation must find and put right."""
        sid = self.seller(seller_id).seller_id
        svc = self.service
        with svc.lock:
            attrs = svc.listings[(sid, sku)]["attributes"]
            for fa in attrs.get("fulfillment_availability") or []:
                if quantity is not None:
                    fa["quantity"] = quantity
            for po in attrs.get("purchasable_offer") or []:
                if price is not None:
                    po["our_price"][0]["schedule"][0]["value_with_tax"] = price
            return copy.deepcopy(svc.listings[(sid, sku)])

    def feeds(self) -> list[dict[str, Any]]:
        """Every feed with its processing report (once processed)."""
        return self.service.snapshot_feeds()

    def orders(self) -> list[dict[str, Any]]:
        return self.service.orders_snapshot()

    def request_log(self) -> dict[str, Any]:
        """``counts`` per operation and status, ``tokenRequests`` (LWA calls), ``throttled`` (429s
        answered) and the last ``requests``."""
        return self.service.request_log()

    def state(self) -> dict[str, Any]:
        return {
            "baseUrl": self.base_url,
            "lwaUrl": self.lwa_url,
            "config": self.settings.as_dict(),
            "sellers": [s.seller_id for s in self.sellers],
            "clockOffset": self.clock.offset,
            "listings": self.products(),
            "feeds": self.feeds(),
            "orders": self.orders(),
            "orderGenerator": self.order_generator.status(),
            "faults": self.faults.snapshot(),
            "requestLog": self.request_log(),
        }

    # --- control ---------------------------------------------------------------------------------

    def set_faults(self, endpoint: str = "*", **settings: Any) -> dict[str, Any]:
        """Inject faults on an operation name (``putListingsItem``, ``getOrders``, ``lwaToken``…) or
        "*": error_rate, error_status, throttle_rate, latency, timeout_rate, drop_rate,
        lost_response_rate, fail_next."""
        return self.faults.set(endpoint, **settings)

    def clear_faults(self, endpoint: str | None = None) -> None:
        self.faults.clear(endpoint)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings (feed_delay, token_ttl, rate_limits={op: [rate, burst]},
        rate_limits_enabled, listings_feed_limit, gzip_reports, hang_seconds, ...)."""
        self.settings.update(**settings)
        return self.settings.as_dict()

    def reset(self) -> None:
        """Forget tokens, listings, feeds, orders, logs, faults, buckets and clock offset (the order
        generator keeps its settings)."""
        self.service.reset()
        self.order_generator.reset()
        self.faults.reset()
        self.clock.reset()
        if self._initial_orders:
            self.service.seed_orders(self._initial_orders)

    def flush(self) -> int:
        """Process every queued feed now."""
        return self.processor.flush()

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock (token expiry, order date rules, URL expiry) forward."""
        self.clock.advance(seconds)
        return self.clock.now()

    def expire_tokens(self) -> int:
        """Expire every access token issued so far (as if an hour had passed for them)."""
        return self.service.expire_tokens()

    def seed_orders(self, count: int, *, days: float = 10.0, marketplace_id: str = reference.TR) -> list[str]:
        return self.service.seed_orders(count, days=days, marketplace_id=marketplace_id)

    def add_order(self, purchased: float, updated: float | None = None, **kw: Any) -> str:
        return self.service.add_order(purchased, updated, **kw)

    def generate_orders(self, count: int) -> list[str]:
        """``count`` realistic Amazon.com.tr orders of the first seller now (Unshipped, MFN, with
        buyer and shipping address), from its listings with an offer and stock (fewer when the
        stock runs out); their AmazonOrderIds. getOrders shows them once 2 minutes old."""
        return self.order_generator.generate(count)

    def configure_order_generator(self, **settings: Any) -> dict[str, Any]:
        """rate_per_minute (background orders, 0 = off), cancel_share, advance_share,
        cancel_after, advance_after (seconds or [min, max]); returns the generator's status."""
        return self.order_generator.configure(**settings)


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, **kwargs: Any) -> None:
    """Run the sandbox in the foreground until SIGTERM or SIGINT."""
    sandbox = AmazonSandbox(host=host, port=port, **kwargs).start()
    print(
        f"Amazon SP-API sandbox listening on {sandbox.base_url} (LWA: {sandbox.lwa_url}, "
        f"control: {sandbox.admin_url})",
        flush=True,
    )
    try:
        wait_for_signal()
    finally:
        sandbox.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.amazon", description="Local Amazon SP-API + LWA")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--feed-delay", type=float, default=0.3, help="seconds before a feed is DONE")
    parser.add_argument(
        "--token-ttl", type=int, default=reference.TOKEN_TTL, help="access token lifetime (s)"
    )
    parser.add_argument("--orders", type=int, default=0, help="orders to seed over the last 10 days")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-rate-limits", action="store_true", help="disable the token buckets")
    ratescale.add_option(parser)
    generator_options(parser)
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    serve(
        host=args.host,
        port=args.port,
        feed_delay=args.feed_delay,
        token_ttl=args.token_ttl,
        orders=args.orders,
        seed=args.seed,
        rate_limits_enabled=not args.no_rate_limits,
        rate_scale=args.rate_scale,
        order_generator=generator_args(args),
    )
    return 0
