"""The sandbox as a whole: ``HepsiburadaSandbox`` (in-process API), ``serve`` and ``main``.

Typical test use::

    with HepsiburadaSandbox(processing_delay=0.05, seed=1) as sb:
        client = HepsiburadaClient(sb.base_urls, sb.merchant.merchant_id, sb.merchant.username,
                                   sb.merchant.password, sb.merchant.user_agent)
"""

from __future__ import annotations

import argparse
import base64
import copy
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sandbox.common import ratescale
from sandbox.common.lifecycle import ServedSandbox, wait_for_signal
from sandbox.common.orderfaker import OrderGenerator, generator_args, generator_options

from .faults import FaultInjector, WindowLimiter
from .server import PREFIXES, SandboxHTTPServer
from .state import (
    DEFAULT_MERCHANT,
    OPEN,
    PACKAGED,
    Merchant,
    Settings,
    Store,
    coerce_merchants,
    public_line,
)

DEFAULT_PORT = 8702  # sandbox/registry.py


class HepsiburadaSandbox(ServedSandbox):
    """Local Hepsiburada catalog/listing/OMS APIs on a background thread (``port=0``: a free port).

    ``base_url`` is the server root; ``base_urls`` maps ``catalog``/``listing``/``oms`` to the
    prefixed base URLs a client is configured with (the hosts' production equivalents are in
    ``server.PREFIXES``' docstring)."""

    server_class = SandboxHTTPServer
    thread_name = "hepsiburada-sandbox-http"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        processing_delay: float = 0.2,
        merchants: Iterable[Any] | None = None,
        seed: int | None = None,
        order_generator: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.merchants: tuple[Merchant, ...] = coerce_merchants(list(merchants) if merchants else None)
        self.settings = Settings(processing_delay=processing_delay)
        self.settings.update(**settings)
        self.store = Store(self.settings, seed=seed)
        self.faults = FaultInjector(seed=seed)
        self.limiter = WindowLimiter()
        self.blocked: set[tuple[str, str]] = set()
        # Orders of the first merchant; settings of sandbox/common/orderfaker.GeneratorSettings.
        self.order_generator = OrderGenerator(
            offers=lambda: self.store.offers(self.merchant.merchant_id),
            place=lambda order: self.store.place(self.merchant.merchant_id, order),
            cancel=self.store.customer_cancel,
            advance=self.store.auto_step,
            lock=self.store.lock,
            seed=seed,
            name="hepsiburada-sandbox",
            settings=order_generator,
        )
        self.stop_event = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        self.order_generator.start()

    def _stop_workers(self) -> None:
        self.order_generator.stop()

    @property
    def base_urls(self) -> dict[str, str]:
        return {host: self.base_url + prefix for host, prefix in PREFIXES.items()}

    # -- helpers ---------------------------------------------------------------------------------

    @property
    def merchant(self) -> Merchant:
        return self.merchants[0]

    def _merchant(self, merchant_id: str | None) -> Merchant:
        if merchant_id is None:
            return self.merchants[0]
        for m in self.merchants:
            if m.merchant_id == merchant_id:
                return m
        raise KeyError(f"no sandbox merchant {merchant_id}")

    def headers(self, merchant_id: str | None = None) -> dict[str, str]:
        """Authorization and User-Agent headers a well-behaved client sends."""
        m = self._merchant(merchant_id)
        token = base64.b64encode(f"{m.username}:{m.password}".encode()).decode()
        return {"Authorization": f"Basic {token}", "User-Agent": m.user_agent}

    # -- inspection ------------------------------------------------------------------------------

    def products(self, merchant_id: str | None = None) -> list[dict[str, Any]]:
        """Catalog products (merchantSku, hbSku, productStatus, attributes, ...)."""
        with self.store.lock:
            self.store.settle()
            return [copy.deepcopy(p) for (m, _), p in self.store.products.items()
                    if merchant_id is None or m == merchant_id]

    def listings(self, merchant_id: str | None = None) -> list[dict[str, Any]]:
        with self.store.lock:
            self.store.settle()
            return [copy.deepcopy(x) for (m, _), x in self.store.listings.items()
                    if merchant_id is None or m == merchant_id]

    def listing(self, merchant_sku: str, merchant_id: str | None = None) -> dict[str, Any] | None:
        mid = self._merchant(merchant_id).merchant_id
        with self.store.lock:
            self.store.settle()
            x = self.store.listings.get((mid, merchant_sku))
            return copy.deepcopy(x) if x is not None else None

    def imports(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [{k: copy.deepcopy(v) for k, v in j.items() if k != "t0"} for j in self.store.imports.values()]

    def uploads(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [{k: copy.deepcopy(v) for k, v in j.items() if k != "t0"} for j in self.store.uploads.values()]

    def order_lines(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [public_line(x) for x in self.store.lines.values()]

    def packages(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [copy.deepcopy(p) for p in self.store.packages.values()]

    def request_log(self) -> dict[str, Any]:
        """``counts`` per route name ({total, byStatus}), ``writes`` and the last ``requests``."""
        return self.store.request_log()

    def state(self) -> dict[str, Any]:
        return {
            "baseUrl": self.base_url,
            "baseUrls": self.base_urls,
            "config": self.settings.as_dict(),
            "merchants": [m.merchant_id for m in self.merchants],
            "products": self.products(),
            "listings": self.listings(),
            "imports": self.imports(),
            "uploads": self.uploads(),
            "orders": self.order_lines(),
            "packages": self.packages(),
            "orderGenerator": self.order_generator.status(),
            "blocked": sorted(f"{m}:{h}" for m, h in self.blocked),
            "faults": self.faults.snapshot(),
            "requestLog": self.request_log(),
        }

    # -- control ---------------------------------------------------------------------------------

    def set_faults(self, endpoint: str = "*", **settings: Any) -> dict[str, Any]:
        """Faults on a route name, a host (catalog/listing/oms) or "*": error_rate, error_status,
        throttle_rate, latency (s or [min, max]), timeout_rate, fail_next."""
        return self.faults.set(endpoint, **settings)

    def clear_faults(self, endpoint: str | None = None) -> None:
        self.faults.clear(endpoint)

    def configure(self, **settings: Any) -> dict[str, Any]:
        self.settings.update(**settings)
        return self.settings.as_dict()

    def reset(self) -> None:
        """Forget products, listings, jobs, orders, logs, faults, rate windows and IP blocks (the
        order generator keeps its settings)."""
        self.store.reset()
        self.order_generator.reset()
        self.faults.reset()
        self.limiter.reset()
        self.blocked.clear()

    def unblock(self) -> None:
        """What HB support does for a blocked IP."""
        self.blocked.clear()
        self.limiter.reset()

    def flush(self) -> int:
        """Finish every pending import/upload now."""
        return self.store.settle(force=True)

    def edit_in_panel(self, merchant_sku: str, merchant_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """The merchant changes a listing in Hepsiburada's own panel (price, availableStock): what
        Kervan's full reconciliation must find and put right."""
        mid = self._merchant(merchant_id).merchant_id
        with self.store.lock:
            self.store.settle()
            x = self.store.listings[(mid, merchant_sku)]
            x.update({k: v for k, v in fields.items() if k in ("price", "availableStock")})
            return copy.deepcopy(x)

    def approve(self, skus: Iterable[str], merchant_id: str | None = None) -> list[str]:
        return self.store.approve(self._merchant(merchant_id).merchant_id, list(skus))

    def add_order(self, lines: list[dict[str, Any]], merchant_id: str | None = None,
                  order_date: datetime | None = None, **kw: Any) -> dict[str, Any]:
        """A paid order (lines ``{merchantSku, quantity, price}``) as a customer would place it;
        ``customer``, ``order_number``, ``decrement_stock`` as ``Store.add_order`` takes them."""
        return self.store.add_order(self._merchant(merchant_id).merchant_id, lines, order_date, **kw)

    def generate_orders(self, count: int) -> list[str]:
        """``count`` realistic orders of the first merchant now, from its salable listings
        (fewer when the stock runs out); their orderNumbers."""
        return self.order_generator.generate(count)

    def configure_order_generator(self, **settings: Any) -> dict[str, Any]:
        """rate_per_minute (background orders, 0 = off), cancel_share, advance_share,
        cancel_after, advance_after (seconds or [min, max]); returns the generator's status."""
        return self.order_generator.configure(**settings)

    def cancel_by_customer(self, line_id: str) -> dict[str, Any]:
        """The customer (or HB customer service) cancels a line before it ships."""
        with self.store.lock:
            line = self.store.lines[str(line_id)]
            if line["status"] not in (OPEN, PACKAGED):
                raise ValueError(f"line {line_id} is {line['status']}; only Open or Packaged lines can be cancelled")
            self.store.cancel_line(line, "Customer", "CustomerRequest")
            return public_line(line)

    def deliver(self, package_number: str, delivered: bool = True, reason: str | None = None) -> dict[str, Any]:
        """The carrier delivers an in-transit package (or reports it undelivered, with ``reason``)."""
        with self.store.lock:
            pkg = self.store.packages[str(package_number)]
            self.store.deliver(pkg, delivered, reason)
            return copy.deepcopy(pkg)

    def backdate_package(self, package_number: str, packaged_at: datetime) -> None:
        """Pretend a package was packed at ``packaged_at`` (for the 24-hour package windows)."""
        with self.store.lock:
            self.store.packages[str(package_number)]["packagedAt"] = packaged_at.timestamp()

    def wait_idle(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.store.lock:
                self.store.settle()
                busy = any(j["results"] is None for j in self.store.imports.values()) or any(
                    j["status"] != "Done" for j in self.store.uploads.values())
            if not busy:
                return
            time.sleep(0.01)
        raise TimeoutError("jobs still in progress")


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, **kwargs: Any) -> None:
    sandbox = HepsiburadaSandbox(host=host, port=port, **kwargs).start()
    m = sandbox.merchant
    print(f"Hepsiburada sandbox listening on {sandbox.base_url} (catalog /mpop/product, listing /listing, "
          f"oms /oms; merchant {m.merchant_id}, User-Agent {m.user_agent!r})", flush=True)
    try:
        wait_for_signal()
    finally:
        sandbox.stop()


def _merchant_arg(text: str) -> Merchant:
    parts = text.split(":")
    if len(parts) != 4 or not all(parts):
        raise argparse.ArgumentTypeError("expected MERCHANT_ID:USERNAME:PASSWORD:USER_AGENT")
    return Merchant(*parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.hepsiburada",
                                     description="Local Hepsiburada catalog/listing/OMS API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--processing-delay", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--merchant", action="append", type=_merchant_arg, default=None,
                        help=f"MERCHANT_ID:USERNAME:PASSWORD:USER_AGENT (default {DEFAULT_MERCHANT.merchant_id}"
                             f":…:{DEFAULT_MERCHANT.password}:{DEFAULT_MERCHANT.user_agent})")
    ratescale.add_option(parser)
    generator_options(parser)
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    serve(host=args.host, port=args.port, processing_delay=args.processing_delay, seed=args.seed,
          merchants=args.merchant, order_generator=generator_args(args), rate_scale=args.rate_scale)
    return 0
