"""``kervan worker dropship``: orders forwarded to suppliers, tracking brought back.

Events (queue ``kervan.dropship.suppliers``): ``order.created`` and ``order.status_changed`` forward
what is due of that order (the status is read from OpenCart, not from the event);
``cmd.dropship`` with ``{"action": "retry", "order_id", "supplier_id"}`` sends an on-hold or failed
forward again, ``{"action": "forward", "order_id"}`` forwards now, ``{"action": "poll_tracking"}``
asks the suppliers for tracking now.

Background: a sweep forwards orders whose event was missed or whose forward a crash left
'reserved' (``[dropship] sweep_interval``), and the tracking poller (``tracking_poll_every``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from loguru import logger

from bridge.db import Database
from bridge.envelope import Event
from workers.channels.errors import PermanentError
from workers.suppliers.forward import Forwarder, Supplier
from workers.suppliers.tracking import TrackingPoller


class DropshipHandler:
    def __init__(self, forwarder: Forwarder, poller: TrackingPoller) -> None:
        self.forwarder = forwarder
        self.poller = poller

    def handle(self, event: Event) -> None:
        payload = event.payload
        if event.type in ("order.created", "order.status_changed"):
            self.forwarder.forward_order(_order_id(event))
            return
        if event.type.startswith("cmd.dropship"):
            action = payload.get("action")
            if action == "retry":
                self.forwarder.retry(_order_id(event), int(payload.get("supplier_id") or 0))
            elif action == "forward":
                self.forwarder.forward_order(_order_id(event))
            elif action == "poll_tracking":
                self.poller.poll_once()
            else:
                raise PermanentError(f"unknown dropship action {action!r}")
            return
        raise PermanentError(f"the dropship worker does not handle {event.type}")


def _order_id(event: Event) -> int:
    raw = event.payload.get("order_id") or (event.aggregate_id if event.aggregate_type == "order" else None)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise PermanentError(f"{event.type} names no order id") from None


def _loop(name: str, every: float, fn: Callable[[], object], db: Database) -> Callable[[threading.Event], None]:
    def run(stop: threading.Event) -> None:
        while not stop.wait(every):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - the database may be away; next round
                logger.warning("{} failed: {}", name, exc)
                db.reset()

    run.__name__ = name
    return run


def build_handler(cfg, db: Database) -> tuple[DropshipHandler, list[Callable[[threading.Event], None]]]:
    triggers = frozenset(int(x) for x in cfg.getlist("dropship", "trigger_status_ids"))
    forwarder = Forwarder(db, default_triggers=triggers)

    def tracker(supplier: Supplier):
        return forwarder.sender(supplier)  # a REST sender also reads tracking

    poller = TrackingPoller(db, forwarder.suppliers, tracker, interval=cfg.getfloat("dropship", "tracking_interval"),
                            shipped_status_id=cfg.getint("dropship", "shipped_status_id"))
    sweep = functools.partial(forwarder.sweep, cfg.getfloat("dropship", "lookback_days"))
    loops = [_loop("forward-sweep", cfg.getfloat("dropship", "sweep_interval"), sweep, db),
             _loop("tracking-poller", cfg.getfloat("dropship", "tracking_poll_every"), poller.poll_once, db)]
    return DropshipHandler(forwarder, poller), loops


__all__ = ["DropshipHandler", "build_handler"]
