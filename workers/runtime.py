"""The consumer runtime every worker role uses: small, explicit, and strict about acks.

- The pika connection lives on the main thread, which only pumps I/O (so broker heartbeats keep
  flowing while a handler spends a minute on a slow marketplace); handlers run on a thread pool
  and hand their ack back through ``add_callback_threadsafe`` (reliability §2, rule 8).
- Ack only after the handler returned, i.e. after its write-back committed (rule 3).
- Transient failure: a copy goes to the queue's TTL retry tier with the attempt count, confirmed,
  then the original is acked (rule 7). Attempts exhausted: parked.
- Permanent failure that the handler did not record itself: parked with the reason, acked.
- Poison (unreadable, unknown type): parked at once with the reason.
- A worker that crashes on a message makes RabbitMQ redeliver it; past the queue's delivery limit
  RabbitMQ dead-letters it to ``kervan.parked``, which every worker drains into ``kervan_parked``.
- SIGTERM: stop taking messages, finish the ones in hand, ack them, exit.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import pika
import pika.exceptions
from loguru import logger

from bridge import metrics
from bridge.db import Database
from bridge.envelope import Event, PoisonMessage
from bridge.heartbeat import Heartbeat
from bridge.topology import CONTROL, PARKED, Topology, connection_parameters, connection_parameters_list
from workers.channels.errors import PermanentError
from workers.parking import park, replay

ATTEMPT_HEADER = "x-kervan-attempt"


class Handler(Protocol):
    """What a role implements: apply one event, raising on failure.

    Raise ``PermanentError`` for what will not get better by retrying (after recording it where
    the merchant sees it, if the handler can); any other exception is treated as transient."""

    def handle(self, event: Event) -> None: ...


@dataclass
class WorkerSettings:
    amqp_url: str
    queue: str
    prefetch: int = 8
    threads: int = 4
    max_attempts: int = 8
    heartbeat: int = 15
    heartbeat_interval: float = 5.0
    drain_parked: bool = True
    pause_check_every: float = 2.0
    # A partitioned role's work queues (``queue`` is the first); empty: just ``queue``.
    queues: tuple[str, ...] = ()
    # The queues consumed at once; the rest are taken ``standby_after`` seconds later, by which
    # time their owners are their active consumers and this process waits behind them.
    first: tuple[str, ...] = ()
    standby_after: float = 5.0

    def work_queues(self) -> tuple[str, ...]:
        return self.queues or (self.queue,)

    def first_queues(self) -> tuple[str, ...]:
        return tuple(q for q in self.work_queues() if q in self.first) or self.work_queues()


class _Publisher:
    """One confirmed publishing connection per thread (pika connections are not thread-safe)."""

    def __init__(self, url: str, heartbeat: int) -> None:
        self.url, self.heartbeat = url, heartbeat
        self._local = threading.local()

    def publish(self, exchange: str, routing_key: str, body: bytes, props: pika.BasicProperties) -> None:
        for attempt in (1, 2):
            ch = getattr(self._local, "channel", None)
            try:
                if ch is None or not ch.is_open:
                    # Every node of a cluster URL list, the next in turn first: a dead node is skipped.
                    conn = pika.BlockingConnection(connection_parameters_list(self.url, self.heartbeat))
                    ch = conn.channel()
                    ch.confirm_delivery()
                    self._local.conn, self._local.channel = conn, ch
                ch.basic_publish(exchange, routing_key, body, props, mandatory=True)
                return
            except (pika.exceptions.AMQPError, OSError):
                self.close()
                if attempt == 2:
                    raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = self._local.channel = None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass


class Worker:
    def __init__(
        self,
        db: Database,
        settings: WorkerSettings,
        handler: Handler,
        topology: Topology,
        *,
        role: str,
        channel: str = "",
        background: list[Callable[[threading.Event], None]] | None = None,
        paused: Callable[[], bool] | None = None,
    ) -> None:
        self.db = db
        self.s = settings
        self.handler = handler
        self.topology = topology
        self.stopping = threading.Event()
        self.heartbeat = Heartbeat(db, role, channel, settings.heartbeat_interval)
        self.publisher = _Publisher(settings.amqp_url, settings.heartbeat)
        self.pool = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix=f"{role}-{channel}")
        self.background = background or []
        # The merchant's pause switch (kervan_channel.paused): while it is on, this worker takes
        # nothing from its queue; messages wait in RabbitMQ, not in a retry loop.
        self.paused = paused or (lambda: False)
        self._inflight: set[Future] = set()
        self._aggregate_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._resumed_at: float | None = None  # when consuming last (re)started

    def stop(self, *_args: Any) -> None:
        self.stopping.set()

    # -- main loop (I/O thread) ---------------------------------------------------------------
    def run(self) -> None:
        self.heartbeat.start()
        threads = [threading.Thread(target=fn, args=(self.stopping,), daemon=True, name=getattr(fn, "__name__", "bg"))
                   for fn in self.background]
        for t in threads:
            t.start()
        backoff = 0.5
        try:
            while not self.stopping.is_set():
                try:
                    self._consume_session()
                    backoff = 0.5
                except (pika.exceptions.AMQPConnectionError, pika.exceptions.StreamLostError, OSError) as exc:
                    logger.warning("worker {}: broker connection lost: {}", self.s.queue, exc)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, 10)
                except pika.exceptions.AMQPChannelError as exc:
                    logger.error("worker {}: channel error: {}", self.s.queue, exc)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, 10)
        finally:
            self.pool.shutdown(wait=True)
            for t in threads:
                t.join(timeout=10)
            self.publisher.close()
            self.heartbeat.stop()
            self.db.close()

    def _consume_session(self) -> None:
        conn = pika.BlockingConnection(connection_parameters(self.s.amqp_url, self.s.heartbeat))
        try:
            ch = conn.channel()
            self.topology.declare(ch)
            ch.basic_qos(prefetch_count=self.s.prefetch)
            side_tags = [ch.basic_consume(CONTROL, functools.partial(self._on_message, conn, CONTROL))]
            if self.s.drain_parked:
                side_tags.append(ch.basic_consume(PARKED, functools.partial(self._on_message, conn, PARKED)))
            tags: dict[str, str] = {}
            checked = 0.0
            self._resumed_at = None
            while not self.stopping.is_set():
                if time.monotonic() - checked >= self.s.pause_check_every:
                    checked = time.monotonic()
                    self._follow_pause(ch, conn, tags)
                conn.process_data_events(time_limit=0.2)
            # Stop taking new messages; finish and ack the ones in hand, then close.
            for t in [*tags.values(), *side_tags]:
                ch.basic_cancel(t)
            self.heartbeat.state = "draining"
            deadline = time.monotonic() + 120
            while self._inflight and time.monotonic() < deadline:
                conn.process_data_events(time_limit=0.1)
            conn.process_data_events(time_limit=0.2)
        finally:
            if conn.is_open:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass

    def _follow_pause(self, ch, conn, tags: dict[str, str]) -> None:
        """Consume while the channel is not paused: this process's own queues at once, the others
        (a partitioned role's) ``standby_after`` seconds after each start or resume, so their owners,
        starting or resuming alike, are registered first and stay their active consumers."""
        try:
            paused = self.paused()
        except Exception as exc:  # noqa: BLE001 - cannot tell: keep doing what we do
            logger.warning("worker {}: pause state unknown ({})", self.s.queue, exc)
            return
        if paused:
            if tags:
                for t in tags.values():
                    ch.basic_cancel(t)  # unacked deliveries in hand still finish and are acked
                tags.clear()
                logger.info("worker {}: channel paused by the merchant", self.s.queue)
            self.heartbeat.state = "paused"
            self._resumed_at = None
            return
        if self._resumed_at is None:
            self._resumed_at = time.monotonic()
        standby = time.monotonic() - self._resumed_at >= self.s.standby_after
        wanted = self.s.work_queues() if standby else self.s.first_queues()
        for q in wanted:
            if q not in tags:
                tags[q] = ch.basic_consume(q, functools.partial(self._on_message, conn, q))
                logger.info("worker consuming {}", q)
        self.heartbeat.state = "consuming"

    def _on_message(self, conn, queue: str, ch, method, props, body: bytes) -> None:
        fut = self.pool.submit(self._process, conn, ch, queue, method, props, body)
        self._inflight.add(fut)
        fut.add_done_callback(self._inflight.discard)

    # -- per message (worker threads) ---------------------------------------------------------
    def _ack(self, conn, ch, tag: int) -> None:
        self._settle(conn, functools.partial(self._safe, ch.basic_ack, tag))

    def _nack(self, conn, ch, tag: int) -> None:
        self._settle(conn, functools.partial(self._safe, ch.basic_nack, tag, requeue=True))

    @staticmethod
    def _settle(conn, callback) -> None:
        try:
            conn.add_callback_threadsafe(callback)
        except pika.exceptions.ConnectionWrongStateError:
            # The connection died while the handler ran: RabbitMQ redelivers the message, and
            # handlers are idempotent, so the second application changes nothing.
            logger.warning("connection closed before the ack; the message will be redelivered")

    @staticmethod
    def _safe(fn, *args, **kwargs) -> None:
        # The channel may have closed since the message arrived; RabbitMQ then redelivers it.
        if fn.__self__.is_open:
            fn(*args, **kwargs)

    def _aggregate_lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._aggregate_locks) > 10_000:
                self._aggregate_locks = {k: v for k, v in self._aggregate_locks.items() if v.locked()}
            return self._aggregate_locks.setdefault(key, threading.Lock())

    def _process(self, conn, ch, queue: str, method, props, body: bytes) -> None:
        tag = method.delivery_tag
        headers = dict(props.headers or {})
        message_id = props.message_id or headers.get("message_id") or f"tag-{tag}-{time.time_ns()}"
        try:
            if queue == PARKED:
                self._park_dead_letter(props, body, headers, message_id)
            elif queue == CONTROL:
                self._control(method, body, headers, message_id)
            else:
                pending = self._apply(queue, method, props, body, headers, message_id)
                if pending is not None:
                    # The handler handed its work on (a coalesced marketplace batch): settle the
                    # message when that work is done, without holding a thread until then.
                    self._inflight.add(pending)
                    pending.add_done_callback(self._inflight.discard)
                    pending.add_done_callback(functools.partial(
                        self._settle_deferred, conn, ch, queue, method, props, body, headers, message_id))
                    return
        except Exception as exc:  # noqa: BLE001 - could not even park or retry: let RabbitMQ redeliver
            logger.error("message {} on {} not settled ({}); requeued", message_id, queue, exc)
            time.sleep(1)  # no hot loop while the database or broker is away
            self._nack(conn, ch, tag)
            return
        self._ack(conn, ch, tag)

    def _settle_deferred(self, conn, ch, queue, method, props, body, headers, message_id, fut: Future) -> None:
        tag = method.delivery_tag
        try:
            exc = fut.exception()
            if exc is None:
                self.heartbeat.count("acked")
                metrics.MESSAGES.labels(queue, "acked").inc()
            else:
                event = Event.from_json(body)
                attempt = _attempt(headers)
                with logger.contextualize(event_id=event.id, correlation_id=event.correlation_id, queue=queue):
                    self._failed(exc, queue, method, props, body, headers, event, attempt)
        except Exception as err:  # noqa: BLE001 - could not park or retry: let RabbitMQ redeliver
            logger.error("message {} on {} not settled ({}); requeued", message_id, queue, err)
            self._nack(conn, ch, tag)
            return
        self._ack(conn, ch, tag)

    def _apply(self, queue, method, props, body, headers, message_id) -> Future | None:
        self.heartbeat.count("consumed")
        metrics.MESSAGES.labels(queue, "consumed").inc()
        attempt = _attempt(headers)
        try:
            event = Event.from_json(body)
        except PoisonMessage as exc:
            logger.warning("poison message {} on {}: {}", message_id, queue, exc)
            self._park(queue, method.routing_key, message_id, body, headers, f"poison: {exc}", attempt, None)
            return
        with logger.contextualize(event_id=event.id, correlation_id=event.correlation_id, queue=queue):
            try:
                # Events of one aggregate are applied one at a time in this process.
                with self._aggregate_lock(event.aggregate), metrics.HANDLER_SECONDS.labels(queue).time():
                    result = self.handler.handle(event)
                if isinstance(result, Future):
                    return result
                self.heartbeat.count("acked")
                metrics.MESSAGES.labels(queue, "acked").inc()
            except Exception as exc:  # noqa: BLE001 - sorted in _failed
                self._failed(exc, queue, method, props, body, headers, event, attempt)
        return None

    def _failed(self, exc: BaseException, queue, method, props, body, headers, event: Event, attempt: int) -> None:
        """A handler failed: park a permanent failure, retry anything else through the tiers until
        the attempts run out."""
        if isinstance(exc, PermanentError):
            logger.warning("event {} failed permanently: {}", event.type, exc)
            self._park(queue, method.routing_key, event.id, body, headers, f"permanent: {exc}", attempt, event.type)
            return
        attempt += 1
        if attempt >= self.s.max_attempts:
            logger.error("event {} failed {} times, parking: {}", event.type, attempt, exc)
            self._park(queue, method.routing_key, event.id, body, headers,
                       f"gave up after {attempt} attempts: {exc}", attempt, event.type)
            return
        delay = self.topology.tier_for(attempt)
        logger.warning("event {} failed (attempt {}), retrying in {}s: {}", event.type, attempt, delay, exc)
        retry_props = pika.BasicProperties(
            content_type=props.content_type,
            delivery_mode=2,
            message_id=props.message_id,
            correlation_id=props.correlation_id,
            type=props.type,
            headers={**{k: v for k, v in headers.items() if not k.startswith("x-")},
                     ATTEMPT_HEADER: attempt, "x-kervan-last-error": str(exc)[:500]},
        )
        self.publisher.publish("", self.topology.retry_queue(queue, delay), body, retry_props)
        self.heartbeat.count("retried")
        metrics.MESSAGES.labels(queue, "retried").inc()

    def _control(self, method, body: bytes, headers: dict, message_id: str) -> None:
        try:
            event = Event.from_json(body)
        except PoisonMessage as exc:
            self._park(CONTROL, method.routing_key, message_id, body, headers, f"poison: {exc}", 0, None)
            return
        if event.type == "cmd.replay":
            for parked_id in event.payload.get("parked_ids") or []:
                done = replay(self.db, self._publish_confirmed, int(parked_id))
                logger.info("parked message {} {}", parked_id, "replayed" if done else "was not open")
        else:
            # Pause and resume act through kervan_channel.paused, which every worker polls; the
            # command itself only tells the log when the merchant pressed the button.
            logger.info("{} for {}", event.type, event.payload.get("channel"))

    def _publish_confirmed(self, exchange: str, routing_key: str, body: bytes, props) -> None:
        self.publisher.publish(exchange, routing_key, body, props)

    def _park(self, queue, routing_key, message_id, body, headers, reason, attempts, event_type) -> None:
        park(self.db, queue=queue, message_id=message_id, body=body, reason=reason, routing_key=routing_key,
             event_type=event_type, headers=headers, attempts=attempts)
        self.heartbeat.count("parked")
        metrics.MESSAGES.labels(queue, "parked").inc()

    def _park_dead_letter(self, props, body, headers, message_id) -> None:
        deaths = headers.get("x-death") or []
        origin = deaths[0] if deaths else {}
        queue = str(origin.get("queue", "unknown"))
        reason = str(origin.get("reason", "dead-lettered"))
        if reason == "delivery_limit":
            reason = "delivery limit exceeded: the worker crashed or gave the message back every time"
        park(self.db, queue=queue, message_id=message_id, body=body, reason=reason,
             routing_key=",".join(map(str, origin.get("routing-keys", []))), event_type=props.type,
             headers=headers, attempts=_attempt(headers))
        self.heartbeat.count("parked")


def _attempt(headers: dict[str, Any]) -> int:
    """The retry count a message carries; a header that is not a number (a hostile or broken
    publisher) counts as a first attempt rather than making the message unhandleable."""
    try:
        return max(0, int(headers.get(ATTEMPT_HEADER, 0) or 0))
    except (TypeError, ValueError):
        return 0
