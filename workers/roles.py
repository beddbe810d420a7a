"""Assemble a worker process for a role and a channel from configuration."""

from __future__ import annotations

import functools
import importlib

from bridge import channels, metrics, redisconn
from bridge.db import from_config
from bridge.replica import FreshReads
from bridge.topology import SUPPLIER_ROLES, SUPPLIERS, Topology
from workers import batches
from workers.breaker import blocks_consumers, make_breaker
from workers.runtime import Worker, WorkerSettings


def build_worker(cfg, role: str, channel: str) -> Worker:
    db = from_config(cfg)
    topology = Topology.from_config(cfg)
    if role in SUPPLIER_ROLES:
        return _supplier_worker(cfg, db, topology, role)
    account = channels.get(db, channel)
    if account is None:
        raise SystemExit(f"no marketplace account {channel!r} in {db.prefix}kervan_channel; add one first")
    settings = _settings(cfg, topology.queue(role, channel))
    settings.queues = tuple(topology.queues(role, channel))
    settings.first = _first_partitions(cfg, settings.queues)
    if role == "orders":
        from workers.clients import build_client
        from workers.orders.importer import OrderImporter

        breaker = make_breaker(redisconn.connect(cfg), cfg.get("redis", "prefix"), account.code, account.account,
                               fail_max=cfg.getint("breaker", "fail_max"),
                               reset_timeout=cfg.getfloat("breaker", "reset_timeout"))
        importer = OrderImporter(db, account, build_client(cfg, account, breaker),
                                 overlap=cfg.getfloat("orders", "overlap"),
                                 first_days=cfg.getfloat("orders", "first_days"))
        # Until the scheduler sends cmd.poll_orders, the worker polls on its own clock too; a
        # standby process polling as well is harmless (imports are exactly-once).
        poll = functools.partial(importer.poll_loop, cfg.getfloat("orders", "poll_interval"))
        poll.__name__ = "order-poller"  # type: ignore[attr-defined]
        return Worker(db, settings, importer, topology, role=role, channel=channel, background=[poll],
                      paused=lambda: bool(getattr(channels.get(db, channel), "paused", False))
                      or blocks_consumers(breaker))
    if role == "catalog":
        from workers.catalog import handler_for
        from workers.channels.errors import BatchNotFound
        from workers.clients import build_client

        breaker = make_breaker(redisconn.connect(cfg), cfg.get("redis", "prefix"), account.code, account.account,
                               fail_max=cfg.getint("breaker", "fail_max"),
                               reset_timeout=cfg.getfloat("breaker", "reset_timeout"))
        client = build_client(cfg, account, breaker)
        window = cfg.getfloat("worker", "coalesce_window")
        handler = handler_for(db, account, client, coalesce_window=window if window > 0 else None,
                              replica=FreshReads.from_config(cfg, db),
                              # Partitions split a channel's events over processes; an order's
                              # products may sit in other partitions than the order.
                              shared_locks=len(settings.queues) > 1)
        poll = functools.partial(
            batches.poll_loop, db, account.channel_id, client.batch_result, handler.on_created, BatchNotFound,
            cfg.getfloat("worker", "batch_poll_interval"),
        )
        poll.__name__ = "batch-poller"  # type: ignore[attr-defined]

        def paused() -> bool:
            # The merchant's switch, or the account's breaker open: messages wait in RabbitMQ.
            return bool(getattr(channels.get(db, channel), "paused", False)) or blocks_consumers(breaker)

        worker = Worker(db, settings, handler, topology, role=role, channel=channel, background=[poll],
                        paused=paused)
        worker.heartbeat.gauges["breaker_open"] = lambda: blocks_consumers(breaker)
        metrics.gauge("kervan_breaker_open", "1 while this account's breaker keeps consumers paused",
                      lambda: int(blocks_consumers(breaker)))
        return worker
    raise SystemExit(f"no {role} worker for {account.code} yet")


def _first_partitions(cfg, queues: tuple[str, ...]) -> tuple[str, ...]:
    """``[worker] partitions`` ("0,1") as queue names; empty, or a role with one queue: all of them
    (a shared configuration naming partitions must not stop the orders or supplier workers)."""
    picked = cfg.getlist("worker", "partitions")
    if len(queues) == 1:
        return queues
    try:
        indexes = [int(p) for p in picked]
    except ValueError:
        raise SystemExit(f"[worker] partitions must be partition numbers like 0,1; got {','.join(picked)}") from None
    wrong = [i for i in indexes if not 0 <= i < len(queues)]
    if wrong:
        raise SystemExit(f"[worker] partitions {wrong} do not exist: this channel's catalog has {len(queues)}"
                         f" (0..{len(queues) - 1}, [worker] catalog_partitions)")
    return tuple(queues[i] for i in indexes)


def _settings(cfg, queue: str) -> WorkerSettings:
    return WorkerSettings(
        amqp_url=cfg.get("amqp", "url"),
        queue=queue,
        prefetch=cfg.getint("worker", "prefetch"),
        threads=cfg.getint("worker", "threads"),
        max_attempts=cfg.getint("worker", "max_attempts"),
        heartbeat=cfg.getint("amqp", "heartbeat"),
        heartbeat_interval=cfg.getfloat("worker", "heartbeat_interval"),
        standby_after=cfg.getfloat("worker", "standby_after"),
    )


def _supplier_worker(cfg, db, topology: Topology, role: str) -> Worker:
    """A feeds or dropship worker: one queue for every supplier (``kervan.<role>.suppliers``).
    Each role's module offers ``build_handler(cfg, db) -> (handler, background loops)``."""
    if role not in topology.supplier_roles:
        raise SystemExit(f"the {role} role is not enabled: add it to [suppliers] roles (KERVAN_SUPPLIERS_ROLES)")
    module = importlib.import_module(f"workers.suppliers.{role}_worker")
    handler, background = module.build_handler(cfg, db)
    return Worker(db, _settings(cfg, topology.queue(role, SUPPLIERS)), handler, topology, role=role,
                  channel=SUPPLIERS, background=background)
