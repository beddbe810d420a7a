"""The outbox relay: ``kervan_outbox`` → exchange ``kervan``, with publisher confirms.

One relay is active at a time (a MariaDB leader lock); others stand by and take over within a
second or so when the leader dies, which keeps the publish order of one database's events.

Publishing uses pika's SelectConnection with asynchronous confirms and a window of unconfirmed
messages (reliability §1.2: per-message blocking confirms are 15–35× slower). A row is marked
published only after the broker confirmed it; a nack, a connection loss or a lost leader lock
leaves rows unpublished and they are sent again (consumers are idempotent, so a duplicate is
harmless and a loss is impossible).
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field

import pika
import pika.exceptions
from loguru import logger

from bridge import metrics, outbox
from bridge.db import Database
from bridge.heartbeat import Heartbeat
from bridge.leader import LeaderLock
from bridge.topology import BUCKET_HEADER, Topology, bucket_of, connection_parameters, declare_all


@dataclass
class RelaySettings:
    amqp_url: str
    exchange: str = "kervan"
    batch_size: int = 500
    poll_interval: float = 0.1
    confirm_window: int = 1000
    retention_hours: float = 72
    lock_name: str = "kervan_relay"
    heartbeat: int = 15
    purge_every: float = 300.0
    leader_check_every: float = 1.0
    rescan_every: float = 1.0
    topology: Topology = field(default_factory=Topology)

    @classmethod
    def from_config(cls, cfg) -> RelaySettings:
        return cls(
            amqp_url=cfg.get("amqp", "url"),
            exchange=cfg.get("amqp", "exchange"),
            batch_size=cfg.getint("relay", "batch_size"),
            poll_interval=cfg.getfloat("relay", "poll_interval"),
            confirm_window=cfg.getint("relay", "confirm_window"),
            retention_hours=cfg.getfloat("relay", "retention_hours"),
            lock_name=cfg.get("relay", "leader_lock"),
            heartbeat=cfg.getint("amqp", "heartbeat"),
            topology=Topology.from_config(cfg),
        )


class _Session:
    """One connection's worth of publishing. Ends when the connection closes, leadership is
    lost or the relay stops; whatever was not confirmed stays unpublished in the table."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.s = relay.settings
        self.channel = None
        self.next_tag = 1
        self.inflight: dict[int, int] = {}  # delivery tag → outbox id, in publish order
        self.confirmed: list[int] = []
        self.closing = False
        self.last_leader_check = time.monotonic()
        # Highest id published in this session: polls read past it; a rescan from 0 every
        # rescan_every seconds (and after a nack) picks up rows that appeared below it.
        self.high_water = 0
        self.last_rescan = 0.0
        self.conn = pika.SelectConnection(
            connection_parameters(self.s.amqp_url, self.s.heartbeat),
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
        )

    def run(self) -> None:
        self.conn.ioloop.start()

    # -- connection lifecycle -----------------------------------------------------------------
    def _on_open(self, conn) -> None:
        conn.channel(on_open_callback=self._on_channel)

    def _on_open_error(self, conn, err) -> None:
        logger.warning("relay: cannot connect to RabbitMQ: {}", err)
        conn.ioloop.stop()

    def _on_closed(self, conn, reason) -> None:
        if not self.closing:
            logger.warning("relay: RabbitMQ connection closed: {}", reason)
        self.inflight.clear()
        conn.ioloop.stop()

    def _on_channel(self, channel) -> None:
        self.channel = channel
        channel.add_on_close_callback(lambda ch, reason: self._close(f"channel closed: {reason}"))
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _f: self._tick())

    def _close(self, why: str) -> None:
        if self.closing:
            return
        self.closing = True
        logger.info("relay: closing session ({})", why)
        self.inflight.clear()
        if self.conn.is_open:
            self.conn.close()
        else:
            self.conn.ioloop.stop()

    # -- confirms -----------------------------------------------------------------------------
    def _on_return(self, channel, method, props, body) -> None:
        # Unroutable: no queue is bound for this event type, so no consumer wants it (the
        # topology was declared before the session). The ack follows; the row is marked published.
        logger.warning("relay: event {} ({}) routed to no queue", props.message_id, method.routing_key)

    def _on_confirm(self, frame) -> None:
        method = frame.method
        ack = isinstance(method, pika.spec.Basic.Ack)
        if method.multiple:
            # inflight is in tag order: the confirmed ones are a prefix of it.
            tags = []
            for t in self.inflight:
                if t > method.delivery_tag:
                    break
                tags.append(t)
        else:
            tags = [method.delivery_tag]
        ids = [i for i in (self.inflight.pop(t, None) for t in tags) if i is not None]
        if not ids:
            return
        if ack:
            self.confirmed.extend(ids)
            self.relay.heartbeat.count("confirmed", len(ids))
            _CONFIRMED.inc(len(ids))
        else:
            self.relay.heartbeat.count("nacked", len(ids))
            _NACKED.inc(len(ids))
            self.last_rescan = 0.0  # the next claim reads them again
            logger.warning("relay: broker nacked outbox rows {}; they will be sent again", ids)

    # -- the loop -----------------------------------------------------------------------------
    def _flush(self) -> None:
        if self.confirmed:
            ids, self.confirmed = self.confirmed, []
            try:
                outbox.mark_published(self.relay.db, ids)
            except Exception:
                # Keep them: they are confirmed, and marking is retried on the next tick.
                self.confirmed = ids + self.confirmed
                raise

    def _tick(self) -> None:
        if self.closing:
            return
        delay = self.s.poll_interval
        try:
            now = time.monotonic()
            if now - self.last_leader_check >= self.s.leader_check_every:
                self.last_leader_check = now
                if not self.relay.lock.check():
                    self._close("leader lock lost")
                    return
            self._flush()
            if self.relay.stopping.is_set():
                if not self.inflight:
                    self._close("stopping")
                    return
            else:
                room = self.s.confirm_window - len(self.inflight)
                if room > 0:
                    after = self.high_water
                    if now - self.last_rescan >= self.s.rescan_every:
                        after, self.last_rescan = 0, now
                    rows = outbox.claim(self.relay.db, min(room, self.s.batch_size), set(self.inflight.values()),
                                        after=after)
                    if after == 0 and rows and rows[0]["id"] < self.high_water:
                        # The rescan found rows below what was already read: a transaction's rows
                        # became claimable late (SKIP LOCKED passes over rows whose locks are still
                        # being released as a large insert commits), or a nack. There may be many
                        # more, so the next claim rescans too — not one batch a second.
                        self.last_rescan = 0.0
                    for row in rows:
                        self._publish(row)
                    if len(rows) == min(room, self.s.batch_size):
                        delay = 0  # busy: keep going
                elif self.inflight:
                    delay = 0.01  # window full: let confirms arrive
            self.relay.maybe_purge()
        except Exception as exc:  # noqa: BLE001 - database trouble: wait and try again
            logger.warning("relay: {}", exc)
            self.relay.db.reset()
            delay = 1.0
        self.conn.ioloop.call_later(delay, self._tick)

    def _publish(self, row: dict) -> None:
        event = outbox.to_event(row)
        props = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=event.id,
            correlation_id=event.correlation_id,
            type=event.type,
            # bucket: which partition of a partitioned queue takes it (bridge/topology.py).
            headers={"aggregate": event.aggregate, "seq": event.seq, BUCKET_HEADER: bucket_of(event.aggregate)},
        )
        self.channel.basic_publish(self.s.exchange, event.routing_key, event.to_json(), props, mandatory=True)
        self.inflight[self.next_tag] = row["id"]
        self.next_tag += 1
        self.high_water = max(self.high_water, row["id"])
        self.relay.heartbeat.count("published")
        _PUBLISHED.inc()


_PUBLISHED = metrics.RELAY_EVENTS.labels("published")
_CONFIRMED = metrics.RELAY_EVENTS.labels("confirmed")
_NACKED = metrics.RELAY_EVENTS.labels("nacked")


class Relay:
    def __init__(self, db: Database, settings: RelaySettings) -> None:
        self.db = db
        self.settings = settings
        self.lock = LeaderLock(db, settings.lock_name)
        self.stopping = threading.Event()
        self.heartbeat = Heartbeat(db, "relay")
        self.heartbeat.state_fn = lambda: "leader" if self.lock.held else "standby"
        self._last_purge = 0.0
        metrics.gauge("kervan_outbox_lag_seconds", "Age of the oldest unpublished outbox row",
                      lambda: outbox.lag(db)["oldest_seconds"])
        metrics.gauge("kervan_outbox_waiting", "Unpublished outbox rows", lambda: outbox.lag(db)["waiting"])
        metrics.gauge("kervan_relay_leader", "1 while this relay holds the leader lock", lambda: int(self.lock.held))

    def maybe_purge(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < self.settings.purge_every:
            return
        self._last_purge = now
        n = outbox.purge(self.db, self.settings.retention_hours)
        if n:
            logger.info("relay: purged {} published outbox rows", n)

    def stop(self, *_args) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Stand by until leader, then publish; reconnect with back-off; return on stop()."""
        self.heartbeat.start()
        backoff = 0.5
        try:
            while not self.stopping.is_set():
                if not self.lock.try_acquire(wait=1):
                    continue
                started = time.monotonic()
                try:
                    # Declared before the first publish: an event published before its queue
                    # exists would be unroutable and silently dropped.
                    declare_all(self.settings.amqp_url, self.settings.topology)
                    _Session(self).run()
                except (pika.exceptions.AMQPError, OSError) as exc:
                    logger.warning("relay: session failed: {}", exc)
                if self.stopping.is_set():
                    break
                # A session that lasted a while was healthy: start the back-off again.
                backoff = 0.5 if time.monotonic() - started > 10 else min(backoff * 2, 10)
                self.stopping.wait(backoff)
        finally:
            self.lock.release()
            self.heartbeat.stop()
            self.db.close()


def run_forever(db: Database, settings: RelaySettings, metrics_port: int | None = None) -> None:
    relay = Relay(db, settings)
    if metrics_port:
        relay.heartbeat.gauges["metrics_port"] = lambda: metrics_port
    signal.signal(signal.SIGTERM, relay.stop)
    signal.signal(signal.SIGINT, relay.stop)
    logger.info("relay starting (exchange {}, window {})", settings.exchange, settings.confirm_window)
    relay.run()
    logger.info("relay stopped")
