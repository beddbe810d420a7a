"""Every local simulator (the marketplaces by channel code, and a supplier): where it lives and
its default port. ``kervan sandbox all`` starts each of them on 127.0.0.1."""

from __future__ import annotations

import importlib
from typing import Any

from sandbox.common.lifecycle import wait_for_signal

# code → (module, class, default port)
SANDBOXES: dict[str, tuple[str, str, int]] = {
    "trendyol": ("sandbox.trendyol", "TrendyolSandbox", 8701),
    "hepsiburada": ("sandbox.hepsiburada", "HepsiburadaSandbox", 8702),
    "n11": ("sandbox.n11", "N11Sandbox", 8703),
    "amazon": ("sandbox.amazon", "AmazonSandbox", 8704),
    # A dropshipping supplier: its order/tracking API and its product feeds.
    "supplier-api": ("sandbox.supplier.api", "SupplierApiSandbox", 8711),
    "supplier-feeds": ("sandbox.supplier.feeds", "SupplierFeedSandbox", 8712),
}


def sandbox_class(code: str) -> type:
    module, cls, _port = SANDBOXES[code]
    return getattr(importlib.import_module(module), cls)


def available() -> list[str]:
    """The simulators present in this checkout."""
    found = []
    for code in SANDBOXES:
        try:
            sandbox_class(code)
        except Exception:  # noqa: BLE001 - absent or unfinished: not offered
            continue
        found.append(code)
    return found


def serve(codes: list[str], host: str = "127.0.0.1", ports: dict[str, int] | None = None, **kwargs: Any) -> None:
    """Run the given simulators in the foreground until SIGTERM or SIGINT."""
    running = []
    try:
        for code in codes:
            port = (ports or {}).get(code, SANDBOXES[code][2])
            sb = sandbox_class(code)(host=host, port=port, **kwargs.get(code, {})).start()
            running.append(sb)
            print(f"{code:<12} sandbox listening on {sb.base_url}", flush=True)
        wait_for_signal()
    finally:
        for sb in reversed(running):
            sb.stop()
