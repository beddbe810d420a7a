"""RabbitMQ topology, declared from code (idempotent; every process declares what it uses).

    outbox relay ──▶ exchange "kervan" (topic) ──▶ kervan.<role>.<channel>   quorum, one per role × channel
                                                     │ transient failure: worker republishes to
                                                     ▼
                                      kervan.<role>.<channel>.retry.<N>s   quorum, queue TTL N s,
                                                     │                      dead-letters back by name
                                                     ▼
                           (delivery limit exceeded: crash loops) ──▶ "kervan.dlx" ──▶ kervan.parked

With ``[worker] catalog_partitions`` = P > 1, a channel's catalog events are split by product
across P queues, each with its own single active consumer, so P processes work at once and one
product's events still go through one queue, in order:

    exchange "kervan" ──▶ kervan.catalog.<channel>.parts<P> (headers: "bucket" = crc32(aggregate) % 64)
                              ──▶ kervan.catalog.<channel> (partition 0), kervan.catalog.<channel>.p1 … p<P-1>

The relay stamps every message with its bucket; the buckets are dealt round-robin over the
partitions. A message without one (published before an upgrade) goes to partition 0 through the
headers exchange's alternate exchange rather than nowhere. P is a power of two up to 16; the
exchange is named after it, so a new count is routed in full before the old count's exchange is
deleted (a message in between may arrive twice, never zero times).

Rules followed (reliability.md §11): quorum queues with an explicit delivery limit (3.10 has no
default), at-least-once dead-lettering (needs overflow=reject-publish), delays by per-queue TTL
tiers instead of holding deliveries, a parking queue drained into ``kervan_parked``.
"""

from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel

DLX = "kervan.dlx"
PARKED = "kervan.parked"
# Fleet-wide commands from the admin (replay parked messages, pause/resume a channel); every
# worker process consumes this queue besides its own.
CONTROL = "kervan.control"
CONTROL_BINDINGS = ("cmd.replay", "cmd.channel_pause.*", "cmd.channel_resume.*")

# What each worker role listens to. "{channel}" is filled per channel. Roles are added here as
# they are built; a queue is declared only for roles that exist, because an unconsumed queue
# with overflow=reject-publish would eventually refuse the relay's publishes.
ROLES: dict[str, tuple[str, ...]] = {
    # Stock moved by an order (a marketplace's or the storefront's) reaches every channel's listing.
    "catalog": ("product.saved", "product.deleted", "stock.changed", "order.created", "order.status_changed",
                "cmd.resync.{channel}", "cmd.full_reconcile.{channel}"),
    "orders": ("cmd.poll_orders.{channel}", "order.status_changed"),
}

# Roles that serve suppliers rather than a marketplace: one queue each, ``kervan.<role>.suppliers``.
# Declared only when ``[suppliers] roles`` lists them (a store without dropshipping runs no such
# worker, and an unconsumed queue would fill until it refuses the relay's publishes).
SUPPLIERS = "suppliers"
SUPPLIER_ROLES: dict[str, tuple[str, ...]] = {
    "feeds": ("cmd.import_feed.*",),
    "dropship": ("order.created", "order.status_changed", "cmd.dropship.*"),
}


# Buckets a message's aggregate hashes into (bridge/relay.py stamps them); partitions take buckets
# round-robin, so any partition count up to this divides the products evenly enough.
BUCKETS = 64
BUCKET_HEADER = "bucket"
PARTITIONED_ROLES = ("catalog",)
PARTITION_COUNTS = (1, 2, 4, 8, 16)


def bucket_of(aggregate: str) -> str:
    """The bucket header of a message about ``aggregate`` ("product:40"): the same in every
    process and on every run (unlike ``hash()``)."""
    return str(zlib.crc32(aggregate.encode()) % BUCKETS)


@dataclass(frozen=True)
class Topology:
    exchange: str = "kervan"
    channels: tuple[str, ...] = ("trendyol",)
    roles: tuple[str, ...] = tuple(ROLES)
    retry_tiers: tuple[int, ...] = (1, 5, 30, 120, 600)
    delivery_limit: int = 20
    max_length: int = 1_000_000
    supplier_roles: tuple[str, ...] = ()
    catalog_partitions: int = 1

    def __post_init__(self) -> None:
        if self.catalog_partitions not in PARTITION_COUNTS:
            raise ValueError(f"[worker] catalog_partitions must be one of {', '.join(map(str, PARTITION_COUNTS))},"
                             f" not {self.catalog_partitions}")

    @classmethod
    def from_config(cls, cfg) -> Topology:
        return cls(
            exchange=cfg.get("amqp", "exchange"),
            channels=tuple(cfg.getlist("channels", "enabled")),
            retry_tiers=tuple(int(x) for x in cfg.getlist("worker", "retry_tiers")),
            delivery_limit=cfg.getint("worker", "delivery_limit"),
            supplier_roles=tuple(r for r in cfg.getlist("suppliers", "roles") if r in SUPPLIER_ROLES),
            catalog_partitions=cfg.getint("worker", "catalog_partitions"),
        )

    # -- names --------------------------------------------------------------------------------
    @staticmethod
    def queue(role: str, channel: str) -> str:
        return f"kervan.{role}.{channel}"

    def partitions(self, role: str) -> int:
        return self.catalog_partitions if role in PARTITIONED_ROLES else 1

    def queues(self, role: str, channel: str) -> list[str]:
        """The work queues of a role × channel: one, or one per partition (the first keeps the
        unpartitioned name, so switching partitions on keeps what waits in it)."""
        base = self.queue(role, channel)
        return [base] + [f"{base}.p{k}" for k in range(1, self.partitions(role))]

    @staticmethod
    def parts_exchange(queue: str, partitions: int) -> str:
        return f"{queue}.parts{partitions}"

    @staticmethod
    def retry_queue(queue: str, delay: int) -> str:
        return f"{queue}.retry.{delay}s"

    def tier_for(self, attempt: int) -> int:
        """Delay (seconds) before attempt number ``attempt`` (1-based retries)."""
        return self.retry_tiers[min(max(attempt, 1), len(self.retry_tiers)) - 1]

    def bindings(self, role: str, channel: str) -> list[str]:
        if role in SUPPLIER_ROLES:
            return list(SUPPLIER_ROLES[role])
        return [key.format(channel=channel) for key in ROLES[role]]

    def work_queues(self) -> list[str]:
        return [q for r, c in self._role_channels() for q in self.queues(r, c)]

    def _role_channels(self, roles: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
        pairs = [(r, c) for r in roles or self.roles if r in ROLES for c in self.channels]
        return pairs + [(r, SUPPLIERS) for r in roles or self.supplier_roles if r in SUPPLIER_ROLES]

    # -- arguments ----------------------------------------------------------------------------
    def _safe_args(self) -> dict:
        return {
            "x-queue-type": "quorum",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-max-length": self.max_length,
        }

    def work_args(self) -> dict:
        return {
            **self._safe_args(),
            # One process at a time consumes a role × channel queue (others stand by and take
            # over when it dies): two processes working on the same product at once could send
            # Trendyol an older value after a newer one. Threads inside the active process still
            # work in parallel, one aggregate at a time. Past the marketplace's rate limit more
            # consumers would not help anyway; partitioning by product hash is the way to scale.
            "x-single-active-consumer": True,
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": DLX,
            "x-dead-letter-routing-key": PARKED,
        }

    def retry_args(self, queue: str, delay: int) -> dict:
        return {
            **self._safe_args(),
            "x-message-ttl": delay * 1000,
            # Back to the work queue through the default exchange, addressed by queue name, so
            # a retry reaches only the queue that failed and not every queue bound to the key.
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue,
        }

    # -- declaration --------------------------------------------------------------------------
    def declare(self, ch: BlockingChannel, roles: tuple[str, ...] | None = None) -> None:
        ch.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        ch.exchange_declare(DLX, exchange_type="direct", durable=True)
        ch.queue_declare(PARKED, durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(PARKED, DLX, routing_key=PARKED)
        ch.queue_declare(CONTROL, durable=True, arguments=self.work_args())
        for key in CONTROL_BINDINGS:
            ch.queue_bind(CONTROL, self.exchange, routing_key=key)
        for role, channel in self._role_channels(roles):
            queues = self.queues(role, channel)
            for q in queues:
                ch.queue_declare(q, durable=True, arguments=self.work_args())
                for delay in self.retry_tiers:
                    ch.queue_declare(self.retry_queue(q, delay), durable=True, arguments=self.retry_args(q, delay))
            if len(queues) == 1:
                self._route_direct(ch, role, channel, queues[0])
            else:
                self._route_by_bucket(ch, role, channel, queues)

    def _route_direct(self, ch: BlockingChannel, role: str, channel: str, q: str) -> None:
        for key in self.bindings(role, channel):
            ch.queue_bind(q, self.exchange, routing_key=key)
        if role in PARTITIONED_ROLES:
            self._drop_other_counts(ch, q, keep=1)

    def _route_by_bucket(self, ch: BlockingChannel, role: str, channel: str, queues: list[str]) -> None:
        parts = self.parts_exchange(queues[0], len(queues))
        unbucketed = f"{queues[0]}.unbucketed"
        ch.exchange_declare(unbucketed, exchange_type="fanout", durable=True)
        ch.queue_bind(queues[0], unbucketed)
        ch.exchange_declare(parts, exchange_type="headers", durable=True,
                            arguments={"alternate-exchange": unbucketed})
        for b in range(BUCKETS):
            ch.queue_bind(queues[b % len(queues)], parts, arguments={"x-match": "all", BUCKET_HEADER: str(b)})
        for key in self.bindings(role, channel):
            ch.exchange_bind(parts, self.exchange, routing_key=key)
        # Only now that the new count routes everything: the old ways in stop.
        for key in self.bindings(role, channel):
            ch.queue_unbind(queues[0], self.exchange, routing_key=key)
        self._drop_other_counts(ch, queues[0], keep=len(queues))

    def _drop_other_counts(self, ch: BlockingChannel, base: str, keep: int) -> None:
        # Deleting an exchange drops its bindings and is a no-op when it does not exist. The queues
        # of a larger count are kept: what waits there is not thrown away (deploy/README.md).
        for n in PARTITION_COUNTS[1:]:
            if n != keep:
                ch.exchange_delete(self.parts_exchange(base, n))
        if keep == 1:
            ch.exchange_delete(f"{base}.unbucketed")


def amqp_urls(url: str) -> list[str]:
    """The brokers named by ``[amqp] url``: one URL, or several nodes of one cluster separated by
    commas (split only before ``amqp://``/``amqps://``, so a comma inside a password survives)."""
    urls = [u.strip() for u in re.split(r",\s*(?=amqps?://)", url) if u.strip()]
    if not urls:
        raise ValueError("[amqp] url is empty")
    return urls


# Per URL list: how many connections were made from it. Each new connection goes to the next
# node, so a process whose node died reconnects (its own retry loop) to another one.
_turns: dict[str, itertools.count] = {}


def connection_parameters(url: str, heartbeat: int = 15) -> pika.URLParameters:
    urls = amqp_urls(url)
    turn = next(_turns.setdefault(url, itertools.count())) if len(urls) > 1 else 0
    params = pika.URLParameters(urls[turn % len(urls)])
    params.heartbeat = heartbeat
    # A broker under a memory or disk alarm stops reading our socket; fail instead of hanging.
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.socket_timeout = 5
    return params


def connection_parameters_list(url: str, heartbeat: int = 15) -> list[pika.URLParameters]:
    """Every node of ``url``, starting with the next in turn: BlockingConnection tries them in order."""
    return [connection_parameters(url, heartbeat) for _ in amqp_urls(url)]


def declare_all(url: str, topology: Topology) -> None:
    conn = pika.BlockingConnection(connection_parameters_list(url))
    try:
        topology.declare(conn.channel())
    finally:
        conn.close()
