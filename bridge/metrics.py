"""Prometheus metrics of every long-running Kervan process.

Each process serves ``/metrics`` on ``[metrics] port`` (0 = any free port; the port in use is
written into the process's heartbeat as ``metrics_port``, so ``kervan status`` and a service
discovery script can find it). ``[metrics] addr`` defaults to 127.0.0.1: expose it deliberately.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

MESSAGES = Counter("kervan_messages_total", "Messages handled by workers, by queue and outcome",
                   ["queue", "outcome"])
HANDLER_SECONDS = Histogram("kervan_handler_seconds", "Time a handler spent on one message", ["queue"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
MARKETPLACE_REQUESTS = Counter("kervan_marketplace_requests_total", "Marketplace HTTP requests",
                               ["marketplace", "operation", "status"])
RATE_LIMIT_WAIT = Counter("kervan_rate_limit_wait_seconds_total", "Seconds spent waiting for the shared limiter",
                          ["marketplace", "operation"])
BATCH_ITEMS = Counter("kervan_batch_items_total", "Per-item outcomes of marketplace batches", ["channel", "status"])
RELAY_EVENTS = Counter("kervan_relay_events_total", "Outbox events by what the broker said", ["outcome"])


class _Callbacks:
    """Gauges computed when scraped (outbox lag, breaker state), registered by the process."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def collect(self):
        for name, (doc, fn) in list(self.gauges.items()):
            try:
                value = float(fn())
            except Exception:  # noqa: BLE001 - a gauge that cannot be read now is left out
                continue
            yield GaugeMetricFamily(name, doc, value=value)


_callbacks = _Callbacks()
REGISTRY.register(_callbacks)


def gauge(name: str, doc: str, fn: Callable[[], float]) -> None:
    _callbacks.gauges[name] = (doc, fn)


def serve(port: int = 0, addr: str = "127.0.0.1") -> int:
    """Start the /metrics endpoint on a daemon thread; returns the port it listens on."""
    server, _thread = start_http_server(port, addr=addr)
    return int(server.server_address[1])


__all__ = ["BATCH_ITEMS", "Gauge", "HANDLER_SECONDS", "MARKETPLACE_REQUESTS", "MESSAGES", "RATE_LIMIT_WAIT",
           "RELAY_EVENTS", "gauge", "serve"]
