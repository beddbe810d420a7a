"""The sandbox as a whole: ``N11Sandbox`` (in-process API), ``serve`` (foreground, for
``kervan sandbox``) and ``main`` (``python -m sandbox.n11``).

Typical test use::

    with N11Sandbox(task_delay=0.05, seed=1) as sb:
        client = N11Client(sb.base_url, "sandbox-appkey", "sandbox-appsecret")
        ...
        assert sb.product("SKU-1")["quantity"] == 7
"""

from __future__ import annotations

import argparse
import copy
import hmac
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.common import ratescale
from sandbox.common.lifecycle import ServedSandbox, wait_for_signal
from sandbox.common.orderfaker import OrderGenerator, generator_args, generator_options

from .faults import FaultInjector, WindowLimiter
from .server import SandboxHTTPServer
from .state import Account, Clock, Settings, Store, coerce_accounts

DEFAULT_PORT = 8703  # sandbox.registry's port for n11
DEFAULT_APP_KEY = "sandbox-appkey"
DEFAULT_APP_SECRET = "sandbox-appsecret"


class N11Sandbox(ServedSandbox):
    """A local N11 REST API (product tasks, product query, categories, shipment packages) on a
    background thread. ``port=0`` picks a free port; ``base_url`` is what an N11 client is configured
    with in place of ``https://api.n11.com``."""

    server_class = SandboxHTTPServer
    thread_name = "n11-sandbox-http"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        task_delay: float = 0.2,
        orders_rate_limit: int = 1000,
        orders_rate_window: float = 60.0,
        auto_approve: bool = True,
        accounts: Iterable[Any] | None = None,
        seed: int | None = None,
        order_generator: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.accounts: tuple[Account, ...] = coerce_accounts(list(accounts) if accounts else None)
        self.settings = Settings(
            task_delay=task_delay,
            orders_rate_limit=orders_rate_limit,
            orders_rate_window=orders_rate_window,
            auto_approve=auto_approve,
        )
        self.settings.update(**settings)
        self.clock = Clock()
        self.store = Store(self.clock, self.settings)
        self.store.accounts = {a.app_key: a for a in self.accounts}
        self.faults = FaultInjector(seed=seed)
        self.limiter = WindowLimiter()
        # Orders of the first account; settings of sandbox/common/orderfaker.GeneratorSettings.
        self.order_generator = OrderGenerator(
            offers=lambda: self.store.offers(self.accounts[0].app_key),
            place=lambda order: self.store.place(self.accounts[0].app_key, order),
            cancel=self.store.customer_cancel,
            advance=self.store.auto_step,
            lock=self.store.lock,
            now=self.clock.now,
            seed=seed,
            name="n11-sandbox",
            settings=order_generator,
        )
        self.stop_event = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------------

    def _start_workers(self) -> None:
        self.order_generator.start()

    def _stop_workers(self) -> None:
        self.order_generator.stop()

    # --- auth -----------------------------------------------------------------------------------

    def authenticate(self, app_key: str | None, app_secret: str | None) -> Account | None:
        if not app_key or not app_secret:
            return None
        for a in self.accounts:
            if hmac.compare_digest(a.app_key, app_key) and hmac.compare_digest(a.app_secret, app_secret):
                return a
        return None

    def account(self, app_key: str | None = None) -> Account:
        if app_key is None:
            return self.accounts[0]
        for a in self.accounts:
            if a.app_key == app_key:
                return a
        raise KeyError(f"no sandbox account {app_key}")

    def headers(self, app_key: str | None = None) -> dict[str, str]:
        a = self.account(app_key)
        return {"appkey": a.app_key, "appsecret": a.app_secret}

    # --- inspection ---------------------------------------------------------------------------

    def products(self, account: str | None = None) -> list[dict[str, Any]]:
        self.store.process_due()
        return self.store.snapshot(account)["products"]

    def product(self, stock_code: str, account: str | None = None) -> dict[str, Any] | None:
        key = self.account(account).app_key
        with self.store.lock:
            self.store.process_due()
            p = self.store.products.get((key, stock_code))
            return self.store.product_view(p) if p is not None else None

    def edit_in_panel(self, stock_code: str, account: str | None = None, **fields: Any) -> dict[str, Any]:
        """The seller changes a product in N11's own panel (quantity, salePrice, listPrice): what
        Kervan's full reconciliation must find and put right."""
        key = self.account(account).app_key
        with self.store.lock:
            self.store.process_due()
            p = self.store.products[(key, stock_code)]
            p.update({k: v for k, v in fields.items() if k in ("quantity", "salePrice", "listPrice")})
            return self.store.product_view(p)

    def tasks(self) -> list[dict[str, Any]]:
        self.store.process_due()
        return self.store.snapshot()["tasks"]

    def task(self, task_id: int) -> dict[str, Any] | None:
        with self.store.lock:
            self.store.process_due()
            t = self.store.tasks.get(int(task_id))
            return copy.deepcopy(t) if t is not None else None

    def packages(self, account: str | None = None) -> list[dict[str, Any]]:
        return self.store.snapshot(account)["packages"]

    def request_log(self) -> dict[str, Any]:
        """``counts`` per endpoint (total, byStatus), ``effects`` (state changes) and ``requests``."""
        return self.store.request_log()

    def state(self) -> dict[str, Any]:
        snap = self.store.snapshot()
        return {
            "baseUrl": self.base_url,
            "config": self.settings.as_dict(),
            "accounts": [a.app_key for a in self.accounts],
            "clock": self.clock.ms(),
            **snap,
            "orderGenerator": self.order_generator.status(),
            "faults": self.faults.snapshot(),
            "requestLog": self.request_log(),
        }

    def wait_for_task(self, task_id: int, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            t = self.task(task_id)
            if t is None:
                raise KeyError(f"no task {task_id}")
            if t["status"] != "IN_QUEUE":
                return t
            if time.monotonic() >= deadline:
                raise TimeoutError(f"task {task_id} still IN_QUEUE after {timeout}s")
            time.sleep(0.01)

    # --- control ------------------------------------------------------------------------------

    def set_faults(self, endpoint: str = "*", **settings: Any) -> dict[str, Any]:
        """Inject faults on ``endpoint`` (route name, alias write/orders/read, or "*"): error_rate,
        error_status, throttle_rate, latency (s or [min, max]), timeout_rate, fail_next."""
        return self.faults.set(endpoint, **settings)

    def clear_faults(self, endpoint: str | None = None) -> None:
        self.faults.clear(endpoint)

    def configure(self, **settings: Any) -> dict[str, Any]:
        self.settings.update(**settings)
        return self.settings.as_dict()

    def reset(self) -> None:
        """Forget products, tasks, packages, logs, faults, rate windows and clock offset (the order
        generator keeps its settings)."""
        self.store.reset()
        self.order_generator.reset()
        self.faults.reset()
        self.limiter.reset()
        self.clock.reset()

    def flush(self) -> int:
        """Process every queued task now."""
        return self.store.flush()

    def advance_clock(self, seconds: float) -> int:
        self.clock.advance(seconds)
        return self.clock.ms()

    def add_order(
        self,
        lines: list[dict[str, Any]],
        *,
        account: str | None = None,
        status: str = "Created",
        order_number: str | None = None,
        created_at_ms: int | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Seed a shipment package (one order) with ``lines`` [{stockCode, quantity, price}];
        ``customer`` and ``decrement_stock`` as ``Store.add_order`` takes them."""
        return self.store.add_order(
            self.account(account).app_key,
            lines,
            status=status,
            order_number=order_number,
            created_at_ms=created_at_ms,
            **kw,
        )

    def ship_package(self, package_id: int, tracking_number: str | None = None) -> dict[str, Any]:
        """The carrier scanned the package (N11 sets Shipped itself; there is no seller API call)."""
        with self.store.lock:
            p = self.store.packages[package_id]
            self.store.ship(p, tracking_number)
            return copy.deepcopy(p)

    def generate_orders(self, count: int) -> list[int]:
        """``count`` realistic orders of the first account now, from its Active products with
        stock (fewer when the stock runs out); their package ids."""
        return self.order_generator.generate(count)

    def configure_order_generator(self, **settings: Any) -> dict[str, Any]:
        """rate_per_minute (background orders, 0 = off), cancel_share, advance_share,
        cancel_after, advance_after (seconds or [min, max]); returns the generator's status."""
        return self.order_generator.configure(**settings)

    def set_package_status(self, package_id: int, status: str) -> dict[str, Any]:
        with self.store.lock:
            p = self.store.packages[package_id]
            self.store.set_package_status(p, status)
            return copy.deepcopy(p)


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, **kwargs: Any) -> None:
    sandbox = N11Sandbox(host=host, port=port, **kwargs).start()
    print(f"N11 sandbox listening on {sandbox.base_url} (control: {sandbox.admin_url})", flush=True)
    try:
        wait_for_signal()
    finally:
        sandbox.stop()


def _account_arg(text: str) -> Account:
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError("expected APP_KEY:APP_SECRET")
    return Account(*parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.n11", description="Local N11 REST API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--task-delay", type=float, default=0.2, help="seconds a task stays IN_QUEUE")
    parser.add_argument(
        "--orders-rate-limit", type=int, default=1000, help="shipmentPackages requests per window"
    )
    parser.add_argument("--orders-rate-window", type=float, default=60.0)
    ratescale.add_option(parser)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--manual-approve", action="store_true", help="keep products InCatalogApproval")
    parser.add_argument(
        "--account", action="append", type=_account_arg, default=None, help="APP_KEY:APP_SECRET"
    )
    generator_options(parser)
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    serve(
        host=args.host,
        port=args.port,
        task_delay=args.task_delay,
        orders_rate_limit=args.orders_rate_limit,
        orders_rate_window=args.orders_rate_window,
        rate_scale=args.rate_scale,
        seed=args.seed,
        auto_approve=not args.manual_approve,
        accounts=args.account,
        order_generator=generator_args(args),
    )
    return 0
