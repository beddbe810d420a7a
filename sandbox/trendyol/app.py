"""The sandbox as a whole: ``TrendyolSandbox`` (in-process API), ``serve`` (foreground, for the
``kervan sandbox`` command) and ``main`` (``python -m sandbox.trendyol``).

Typical test use::

    with TrendyolSandbox(batch_delay=0.05, seed=1) as sb:
        client = MyTrendyolClient(base_url=sb.base_url, seller_id="1001",
                                  api_key="sandbox-key", api_secret="sandbox-secret")
        ...
        assert sb.product("BC-1")["quantity"] == 7
"""

from __future__ import annotations

import argparse
import base64
import copy
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.common import ratescale
from sandbox.common.lifecycle import ServedSandbox, wait_for_signal
from sandbox.common.orderfaker import OrderGenerator, generator_args, generator_options

from .batches import BatchProcessor
from .faults import FaultInjector, RateLimiter
from .orders import OrderBook, OrderSettings
from .server import SandboxHTTPServer
from .state import Clock, Seller, Settings, Store, coerce_sellers

DEFAULT_PORT = 8701  # matches bridge.config DEFAULTS["sandbox"]["trendyol_port"]


class TrendyolSandbox(ServedSandbox):
    """A local Trendyol product/catalog and order API on a background thread.

    ``port=0`` picks a free port; ``base_url`` (ending in ``/integration``) is what a Trendyol client
    is configured with. Everything tunable at construction can be changed later with ``configure``.
    """

    server_class = SandboxHTTPServer
    thread_name = "trendyol-sandbox-http"
    base_path = "/integration"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        batch_delay: float = 0.2,
        rate_limit: int = 50,
        rate_window: float = 10.0,
        auto_approve: bool = True,
        sellers: Iterable[Any] | None = None,
        seed: int | None = None,
        order_generator: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.sellers: tuple[Seller, ...] = coerce_sellers(list(sellers) if sellers else None)
        self.settings = Settings(
            batch_delay=batch_delay, rate_limit=rate_limit, rate_window=rate_window, auto_approve=auto_approve
        )
        order_settings = OrderSettings()
        order_settings.update(**_pop_order_settings(settings))
        self.settings.update(**settings)
        self.clock = Clock()
        self.store = Store(self.clock, seed=seed)
        self.orders = OrderBook(self.store, self.clock, order_settings)
        self.faults = FaultInjector(seed=seed)
        self.limiter = RateLimiter()
        self.processor = BatchProcessor(self.store, self.settings)
        # Orders of the first seller; settings of sandbox/common/orderfaker.GeneratorSettings.
        self.order_generator = OrderGenerator(
            offers=lambda: self.orders.offers(self.sellers[0].seller_id),
            place=lambda order: self.orders.place(self.sellers[0].seller_id, order),
            cancel=self.orders.customer_cancel,
            advance=self.orders.carrier_step,
            lock=self.store.lock,
            now=self.clock.now,
            seed=seed,
            name="trendyol-sandbox",
            settings=order_generator,
        )
        self.stop_event = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------------

    def _start_workers(self) -> None:
        self.processor.start()
        self.order_generator.start()

    def _stop_workers(self) -> None:
        self.order_generator.stop()
        self.processor.stop()

    # --- helpers for clients and tests --------------------------------------------------------

    def seller(self, seller_id: str | None = None) -> Seller:
        if seller_id is None:
            return self.sellers[0]
        for s in self.sellers:
            if s.seller_id == str(seller_id):
                return s
        raise KeyError(f"no sandbox seller {seller_id}")

    def headers(self, seller_id: str | None = None, integrator: str = "SelfIntegration") -> dict[str, str]:
        """Authorization and User-Agent headers a well-behaved client of ``seller_id`` sends."""
        s = self.seller(seller_id)
        token = base64.b64encode(f"{s.api_key}:{s.api_secret}".encode()).decode()
        return {"Authorization": f"Basic {token}", "User-Agent": f"{s.seller_id} - {integrator}"}

    # --- inspection ---------------------------------------------------------------------------

    def products(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored product (all fields, incl. quantity, prices, approved, contentId, archived)."""
        return self.store.snapshot_products(seller_id)

    def product(self, barcode: str, seller_id: str | None = None) -> dict[str, Any] | None:
        sid = self.seller(seller_id).seller_id
        with self.store.lock:
            p = self.store.product(sid, barcode)
            return copy.deepcopy(p) if p is not None else None

    def batches(self) -> list[dict[str, Any]]:
        """Every batch as stored: the public fields plus sellerId, kind and the request items."""
        return self.store.snapshot_batches()

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        with self.store.lock:
            b = self.store.batches.get(batch_id)
            return copy.deepcopy(b) if b is not None else None

    def request_log(self) -> dict[str, Any]:
        """``counts`` per endpoint and status, ``writes`` (every accepted write call with the
        barcodes/contentIds it carried and its batchRequestId), ``effects`` (every state change the
        batches applied) and the last ``requests``."""
        return self.store.request_log()

    def wait_for_batch(self, batch_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Block until the batch is processed; returns the stored batch."""
        deadline = time.monotonic() + timeout
        while True:
            b = self.batch(batch_id)
            if b is None:
                raise KeyError(f"no batch {batch_id}")
            if b["status"] == "COMPLETED":
                return b
            if time.monotonic() >= deadline:
                raise TimeoutError(f"batch {batch_id} still IN_PROGRESS after {timeout}s")
            time.sleep(0.01)

    def state(self) -> dict[str, Any]:
        return {
            "baseUrl": self.base_url,
            "config": self.config(),
            "sellers": [s.seller_id for s in self.sellers],
            "clock": self.clock.ms(),
            "products": self.products(),
            "batches": self.batches(),
            "orders": self.packages(),
            "orderGenerator": self.order_generator.status(),
            "faults": self.faults.snapshot(),
            "requestLog": self.request_log(),
        }

    # --- control ------------------------------------------------------------------------------

    def set_faults(self, endpoint: str = "*", **settings: Any) -> dict[str, Any]:
        """Inject faults on ``endpoint`` (route name, alias update/write/read, or "*"): error_rate,
        error_status, throttle_rate, latency (s or [min, max]), timeout_rate, drop_rate,
        lost_response_rate, fail_next. Merges with what the endpoint already has."""
        return self.faults.set(endpoint, **settings)

    def clear_faults(self, endpoint: str | None = None) -> None:
        self.faults.clear(endpoint)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings at runtime (batch_delay, rate_limit, rate_window, auto_approve, ...;
        the order settings of ``orders.OrderSettings``)."""
        for key in settings:
            if key not in self.settings.__dataclass_fields__ and key not in OrderSettings.names():
                raise ValueError(f"unknown sandbox setting {key!r}")
        self.orders.settings.update(**_pop_order_settings(settings))
        self.settings.update(**settings)
        return self.config()

    def config(self) -> dict[str, Any]:
        return {**self.settings.as_dict(), **self.orders.settings.as_dict()}

    def reset(self) -> None:
        """Forget products, batches, orders, logs, faults, rate windows and clock offset (keeps settings,
        also the order generator's)."""
        self.processor.clear()
        self.store.reset()
        self.orders.reset()
        self.order_generator.reset()
        self.faults.reset()
        self.limiter.reset()
        self.clock.reset()

    def flush(self) -> int:
        """Process every queued batch now instead of waiting for batch_delay."""
        return self.processor.flush()

    def advance_clock(self, seconds: float) -> int:
        """Move the sandbox's clock forward (15-minute rule, batch expiry, rate windows); returns ms."""
        self.clock.advance(seconds)
        return self.clock.ms()

    def edit_in_panel(self, barcode: str, seller_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """The seller changes a product in Trendyol's own seller panel (quantity, salePrice,
        listPrice): what Kervan's full reconciliation must find and put right."""
        sid = self.seller(seller_id).seller_id
        with self.store.lock:
            p = self.store.product(sid, barcode)
            if p is None:
                raise KeyError(barcode)
            p.update({k: v for k, v in fields.items() if k in ("quantity", "salePrice", "listPrice")})
            return copy.deepcopy(p)

    def approve(self, barcodes: Iterable[str], seller_id: str | None = None) -> list[str]:
        """Approve pending products (when auto_approve is False); returns the barcodes approved."""
        sid = self.seller(seller_id).seller_id
        done = []
        with self.store.lock:
            for barcode in barcodes:
                p = self.store.product(sid, barcode)
                if p is not None and not p["approved"]:
                    now = self.clock.ms()
                    p.update(
                        approved=True,
                        status="approved",
                        approvedDate=now,
                        rejectReasonDetails=[],
                        modifiedAt=now,
                    )
                    self.store.record_effect("approve", sid, barcode, None)
                    done.append(barcode)
        return done

    def reject(
        self,
        barcodes: Iterable[str],
        reason: str = "Zorunlu Ürün Özellik Değeri Eksik/Yanlış",
        seller_id: str | None = None,
    ) -> list[str]:
        """Reject pending products with a reason, as Trendyol's content team does."""
        sid = self.seller(seller_id).seller_id
        done = []
        with self.store.lock:
            for barcode in barcodes:
                p = self.store.product(sid, barcode)
                if p is not None and not p["approved"]:
                    p.update(
                        status="rejected",
                        rejectReasonDetails=[{"rejectReason": reason, "rejectReasonDetail": reason}],
                        modifiedAt=self.clock.ms(),
                    )
                    done.append(barcode)
        return done

    def patch_product(self, barcode: str, seller_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Change stored fields directly, e.g. quantity to mimic Trendyol decrementing stock on an order."""
        sid = self.seller(seller_id).seller_id
        with self.store.lock:
            p = self.store.product(sid, barcode)
            if p is None:
                raise KeyError(f"no product {barcode} for seller {sid}")
            unknown = set(fields) - set(p)
            if unknown:
                raise ValueError(f"unknown product field(s): {', '.join(sorted(unknown))}")
            p.update(fields)
            p["modifiedAt"] = self.clock.ms()
            if "quantity" in fields:
                p["stockModifiedAt"] = p["modifiedAt"]
            return copy.deepcopy(p)

    # --- orders -------------------------------------------------------------------------------

    def create_order(
        self, lines: list[dict[str, Any]], seller_id: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        """Place an order (one package) as a customer would; see ``OrderBook.create_order``."""
        return self.orders.create_order(self.seller(seller_id).seller_id, lines, **kw)

    def packages(self, seller_id: str | None = None, order_number: str | None = None) -> list[dict[str, Any]]:
        """Every shipment package as served (newest change first)."""
        sid = self.seller(seller_id).seller_id if seller_id is not None else None
        return self.orders.packages(sid, order_number)

    def package(self, package_id: int | str) -> dict[str, Any] | None:
        return self.orders.package(package_id)

    def advance_package(self, package_id: int | str, status: str, **kw: Any) -> dict[str, Any]:
        """Move a package as a carrier, customer or Trendyol would (Shipped, Delivered, Cancelled…)."""
        return self.orders.advance(package_id, status, **kw)

    def generate_orders(self, count: int) -> list[int]:
        """``count`` realistic orders of the first seller now, from its approved products with
        stock (fewer when the stock runs out); their shipmentPackageIds."""
        return self.order_generator.generate(count)

    def configure_order_generator(self, **settings: Any) -> dict[str, Any]:
        """rate_per_minute (background orders, 0 = off), cancel_share, advance_share,
        cancel_after, advance_after (seconds or [min, max]); returns the generator's status."""
        return self.order_generator.configure(**settings)


def _pop_order_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: settings.pop(k) for k in list(settings) if k in OrderSettings.names()}


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, **kwargs: Any) -> None:
    """Run the sandbox in the foreground until SIGTERM or SIGINT."""
    sandbox = TrendyolSandbox(host=host, port=port, **kwargs).start()
    print(f"Trendyol sandbox listening on {sandbox.base_url} (control: {sandbox.admin_url})", flush=True)
    try:
        wait_for_signal()
    finally:
        sandbox.stop()


def _seller_arg(text: str) -> Seller:
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError("expected SELLER_ID:API_KEY:API_SECRET")
    return Seller(*parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.trendyol", description="Local Trendyol product/catalog API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--batch-delay", type=float, default=0.2, help="seconds a batch stays IN_PROGRESS")
    parser.add_argument(
        "--rate-limit", type=int, default=50, help="requests per window per seller and endpoint"
    )
    parser.add_argument("--rate-window", type=float, default=10.0, help="rate-limit window in seconds")
    ratescale.add_option(parser)
    parser.add_argument("--seed", type=int, default=None, help="seed for ids and random faults")
    parser.add_argument(
        "--manual-approve", action="store_true", help="keep created products pending until approved"
    )
    parser.add_argument(
        "--seller",
        action="append",
        type=_seller_arg,
        default=None,
        help="SELLER_ID:API_KEY:API_SECRET (repeatable)",
    )
    parser.add_argument("--category-tree-shape", choices=("object", "array"), default="object")
    generator_options(parser)
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    serve(
        host=args.host,
        port=args.port,
        batch_delay=args.batch_delay,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        rate_scale=args.rate_scale,
        seed=args.seed,
        auto_approve=not args.manual_approve,
        sellers=args.seller,
        category_tree_shape=args.category_tree_shape,
        order_generator=generator_args(args),
    )
    return 0
