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
from collections import deque
from dataclasses import dataclass, field

import pika
import pika.exceptions
from loguru import logger

from bridge import metrics, outbox
from bridge.db import Database
from bridge.heartbeat import Heartbeat
from bridge.leader import LeaderLock
from bridge.relay_rows import Marker, Reader, frames_of
from bridge.topology import Topology, connection_parameters, declare_all


@dataclass
class RelaySettings:
    amqp_url: str
    exchange: str = "kervan"
    batch_size: int = 500
    poll_interval: float = 0.05
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
    lost or the relay stops; whatever was not confirmed stays unpublished in the table.

    The I/O loop reads rows and publishes them as the confirm window allows, like a bare
    publishing loop refilling its window on each confirm; marking runs on its own thread
    (``bridge.relay_rows``)."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.s = relay.settings
        self.channel = None
        self.next_tag = 1
        self.inflight: dict[int, int] = {}  # delivery tag → outbox id, in publish order
        self.ready: deque[tuple] = deque()  # rows read and not yet published
        self.read_again_at = 0.0  # after a failed read, not before this
        self.closing = False
        self.last_leader_check = time.monotonic()
        self.conn = RelayConnection(
            connection_parameters(self.s.amqp_url, self.s.heartbeat),
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
        )
        self.reader = Reader(relay.db, self.s.rescan_every)
        self.marker = Marker(relay.db, on_marked=self._marked)

    def run(self) -> None:
        self.marker.start()
        try:
            self.conn.ioloop.start()
        finally:
            self.marker.close()

    def _marked(self, ids: list[int]) -> None:
        """From the marker's thread: these rows are marked, and the window has room again."""
        self.reader.release(ids)
        try:
            self.conn.ioloop.add_callback_threadsafe(self._pump)
        except Exception:  # noqa: BLE001 - the loop is gone: the session is over anyway
            pass

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
        channel.add_on_close_callback(lambda ch, reason: self._close(f"channel closed: {reason}"))
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _f: self._ready(channel))

    def _ready(self, channel) -> None:
        self.channel = channel
        self._tick()

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
        if ids:
            if ack:
                self.marker.add(ids)
                self.relay.heartbeat.count("confirmed", len(ids))
                _CONFIRMED.inc(len(ids))
            else:
                self.reader.release(ids, rescan=True)  # read and sent again
                self.relay.heartbeat.count("nacked", len(ids))
                _NACKED.inc(len(ids))
                logger.warning("relay: broker nacked outbox rows {}; they will be sent again", ids)
        self._pump()

    # -- the loop -----------------------------------------------------------------------------
    def _tick(self) -> None:
        """Every poll interval: leadership, stopping, and a read if the window has room."""
        if self.closing:
            return
        try:
            now = time.monotonic()
            if now - self.last_leader_check >= self.s.leader_check_every:
                self.last_leader_check = now
                if not self.relay.lock.check():
                    self._close("leader lock lost")
                    return
            self.relay.maybe_purge()
            if self.relay.stopping.is_set():
                self.ready.clear()
                if not self.inflight:
                    self._close("stopping")
                    return
            delay = 0 if self._pump() else self.s.poll_interval  # a full batch: read on at once
        except Exception as exc:  # noqa: BLE001 - database trouble: wait and try again
            logger.warning("relay: {}", exc)
            self.relay.db.reset()
            delay = 1.0
        self.conn.ioloop.call_later(delay, self._tick)

    def _pump(self) -> bool:
        """Publish while the window has room, reading more rows when those read run out. True
        when a full batch was read (there are probably more)."""
        if self.closing or self.channel is None or not self.channel.is_open or self.relay.stopping.is_set():
            return False
        # The window holds what is not yet marked, confirmed or not: after a crash that is what
        # is sent twice, so a slow marker slows publishing rather than growing the duplicates.
        room = self.s.confirm_window - len(self.inflight) - self.marker.pending()
        full = False
        if room > 0 and len(self.ready) < room and time.monotonic() >= self.read_again_at:
            try:
                rows = self.reader.read(self.s.batch_size)
            except Exception as exc:  # noqa: BLE001 - database trouble: what is in flight goes on
                logger.warning("relay: cannot read the outbox: {}", exc)
                self.relay.db.reset()
                self.read_again_at = time.monotonic() + 1.0
                rows = []
            self.ready.extend(rows)
            full = len(rows) == self.s.batch_size
        n = min(room, len(self.ready))
        if n <= 0:
            return full
        ready, inflight, tag = self.ready, self.inflight, self.next_tag
        args = (self.s.exchange, self.channel.channel_number, self.conn.body_max)
        pieces = []
        for _ in range(n):
            row = ready.popleft()
            try:
                pieces.append(frames_of(row, *args))
            except Exception as exc:  # noqa: BLE001 - one row that cannot be a message must not stop the rest
                # Not sent and not marked: it stays unpublished (the outbox lag shows it) and held,
                # so this session does not read it again. Nothing is put in flight for it: a
                # delivery tag must match a message the broker received.
                logger.error("relay: outbox row {} ({}) cannot be sent and stays unpublished: {}: {}",
                             row[0], row[2], type(exc).__name__, str(exc)[:200])
                continue
            inflight[tag] = row[0]
            tag += 1
        if not pieces:
            return full
        # One write for the whole batch: pika would send each frame of each message with its
        # own send() (three system calls per message, as many small segments for the broker).
        self.conn.write_frames(b"".join(pieces), 3 * len(pieces))
        self.next_tag = tag
        self.relay.heartbeat.count("published", len(pieces))
        _PUBLISHED.inc(len(pieces))
        return full


class RelayConnection(pika.SelectConnection):
    """A SelectConnection that also takes frames marshalled elsewhere (``bridge.amqp_frames``)."""

    @property
    def body_max(self) -> int:
        return self.params.frame_max - pika.spec.FRAME_HEADER_SIZE - pika.spec.FRAME_END_SIZE

    def write_frames(self, data: bytes, frames: int) -> None:
        # The counters are what pika's heartbeat checker watches for outgoing traffic.
        self.bytes_sent += len(data)
        self.frames_sent += frames
        self._adapter_emit_data(data)


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
