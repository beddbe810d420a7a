"""``kervan scheduler``: the fleet's clock. It only enqueues commands — through the outbox, so a
command is never lost while the broker is down — and the workers do the work.

Exactly one scheduler is active per database: the MariaDB leader lock the relay uses
(``bridge/leader.py``) rather than a Redis lock with a TTL. The lock lives as long as the holder's
connection, so a killed scheduler frees it at once and a standby takes over within its check
interval, and a scheduler that stalls past a TTL cannot keep running jobs while another one
starts. APScheduler (3.x) runs the jobs only while this process holds the lock, each job with
``max_instances=1``; every run is recorded in ``kervan_job_run``.

Jobs:
- ``poll_orders:<channel>`` — ``cmd.poll_orders`` for each enabled channel's orders worker;
- ``reconcile`` — listings failed or waiting for reconciliation longer than a grace period, and
  products changed since the last run, go back to their channel's catalog worker as
  ``cmd.resync``; outbox rows left unpublished too long are counted (the relay's rescan picks
  them up; a count above zero in the run says it is not keeping up or not running);
- ``full_reconcile:<channel>`` — nightly: ``cmd.full_reconcile`` makes the channel's catalog
  worker compare what the marketplace really holds with OpenCart and fix drift
  (``workers/catalog/reconcile.py``, report in ``kervan_reconcile_report``);
- ``parked_digest`` — open parked messages by queue and reason, recorded with the run;
- ``cleanup`` — published outbox rows and job runs past their retention.

Batch results are not a scheduler job: each catalog worker polls its open batches continuously
(``workers/batches.py``), every ``worker.batch_poll_interval`` seconds.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from loguru import logger

from bridge import outbox
from bridge.db import Database
from bridge.envelope import Event
from bridge.leader import LeaderLock


@dataclass(frozen=True)
class SchedulerSettings:
    channels: tuple[str, ...]
    orders_interval: float = 60.0
    reconcile_interval: float = 300.0
    reconcile_grace: float = 600.0  # seconds a listing may stay failed/reconcile before a resync
    cleanup_interval: float = 3600.0
    outbox_retention_hours: float = 72.0
    job_retention_days: float = 14.0
    leader_check: float = 1.0
    lock_name: str = "kervan_scheduler"
    full_reconcile_cron: str = "30 3 * * *"
    outbox_stuck_after: float = 60.0
    parked_digest_interval: float = 3600.0
    # The alerts job (kervan/alerts.py) reads status through the whole config; 0 or no config: off.
    alerts_interval: float = 0.0
    config: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_config(cls, cfg: Any) -> SchedulerSettings:
        return cls(
            channels=tuple(cfg.getlist("channels", "enabled")),
            orders_interval=cfg.getfloat("orders", "poll_interval"),
            reconcile_interval=cfg.getfloat("scheduler", "reconcile_interval"),
            reconcile_grace=cfg.getfloat("scheduler", "reconcile_grace"),
            cleanup_interval=cfg.getfloat("scheduler", "cleanup_interval"),
            outbox_retention_hours=cfg.getfloat("relay", "retention_hours"),
            job_retention_days=cfg.getfloat("scheduler", "job_retention_days"),
            leader_check=cfg.getfloat("scheduler", "leader_check"),
            full_reconcile_cron=cfg.get("scheduler", "full_reconcile_cron"),
            outbox_stuck_after=cfg.getfloat("scheduler", "outbox_stuck_after"),
            parked_digest_interval=cfg.getfloat("scheduler", "parked_digest_interval"),
            alerts_interval=cfg.getfloat("alerts", "interval"),
            config=cfg,
        )


class Jobs:
    """The jobs themselves: each returns counts for ``kervan_job_run``."""

    def __init__(self, db: Database, settings: SchedulerSettings) -> None:
        self.db = db
        self.s = settings

    def poll_orders(self, channel: str) -> dict[str, int]:
        outbox.write_many(self.db, [Event("cmd.poll_orders", "channel", channel, {"channel": channel},
                                          source="scheduler")])
        return {"commands": 1}

    def full_reconcile(self, channel: str) -> dict[str, int]:
        outbox.write_many(self.db, [Event("cmd.full_reconcile", "channel", channel, {"channel": channel},
                                          source="scheduler")])
        return {"commands": 1}

    def reconcile(self) -> dict[str, int]:
        last = self.db.one("SELECT MAX(started_at) AS at FROM {p}kervan_job_run WHERE job = 'reconcile'"
                           " AND outcome = 'ok'")
        changed: set[int] = set()
        if last and last["at"]:
            # Products changed in OpenCart since the last run whose event may have been missed
            # (e.g. edited while the extension was disabled).
            changed = {int(r["product_id"]) for r in self.db.query(
                "SELECT product_id FROM {p}product WHERE date_modified >= %s", (last["at"],))}
        stuck = self.db.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE published_at IS NULL"
                            " AND created_at < CURRENT_TIMESTAMP(6) - INTERVAL %s SECOND",
                            (int(self.s.outbox_stuck_after),))
        counts = {"outbox_stuck": int(stuck["n"])}
        if counts["outbox_stuck"]:
            logger.warning("{} outbox rows unpublished for over {} s: is the relay running?", counts["outbox_stuck"],
                           int(self.s.outbox_stuck_after))
        events = []
        for channel in self.s.channels:
            rows = self.db.query(
                "SELECT l.product_id FROM {p}kervan_listing l JOIN {p}kervan_channel c ON c.channel_id = l.channel_id"
                " WHERE c.code = %s AND l.status IN ('failed', 'reconcile')"
                " AND l.updated_at < CURRENT_TIMESTAMP(6) - INTERVAL %s SECOND", (channel, int(self.s.reconcile_grace)))
            ids = {int(r["product_id"]) for r in rows} | changed
            if ids:
                events.append(Event("cmd.resync", "channel", channel,
                                    {"channel": channel, "product_ids": sorted(ids), "reason": "reconcile"},
                                    source="scheduler"))
            counts[channel] = len(ids)
        outbox.write_many(self.db, events)
        return counts

    def parked_digest(self) -> dict[str, int]:
        """Open parked messages by queue and reason, for the job's record (and the alerts that read it)."""
        rows = self.db.query("SELECT queue, LEFT(reason, 80) AS reason, COUNT(*) AS n FROM {p}kervan_parked"
                             " WHERE status = 'open' GROUP BY queue, LEFT(reason, 80) ORDER BY n DESC LIMIT 50")
        return {f"{r['queue']}: {r['reason']}": int(r["n"]) for r in rows}

    def import_feeds(self) -> dict[str, int]:
        """``cmd.import_feed.<code>`` for each enabled supplier whose import interval elapsed."""
        from workers.suppliers.feeds_worker import enqueue_due

        return enqueue_due(self.db)

    def cleanup(self) -> dict[str, int]:
        purged = outbox.purge(self.db, self.s.outbox_retention_hours)
        runs = self.db.execute("DELETE FROM {p}kervan_job_run WHERE started_at < CURRENT_TIMESTAMP(6)"
                               " - INTERVAL %s DAY", (int(self.s.job_retention_days),))
        return {"outbox_rows": purged, "job_runs": runs}


class Scheduler:
    def __init__(self, db: Database, settings: SchedulerSettings) -> None:
        self.db = db
        self.s = settings
        self.jobs = Jobs(db, settings)
        self.lock = LeaderLock(db, settings.lock_name)
        self.host = socket.gethostname()[:128]
        self._aps: BackgroundScheduler | None = None

    def _recorded(self, name: str, fn: Callable[[], dict[str, Any]]) -> Callable[[], None]:
        def run() -> None:
            if not self.lock.held:
                return  # lost the lock between the trigger and now: the new leader runs it
            def start(cur: Any) -> int:
                cur.execute("INSERT INTO {p}kervan_job_run (job, host, pid) VALUES (%s, %s, %s)",
                            (name, self.host, os.getpid()))
                return int(cur.lastrowid)

            run_id = self.db.run_in_transaction(start)
            try:
                counts = fn()
            except Exception as exc:  # noqa: BLE001 - recorded; the next run tries again
                self.db.execute("UPDATE {p}kervan_job_run SET finished_at = CURRENT_TIMESTAMP(6), outcome = 'error',"
                                " error = %s WHERE run_id = %s", (str(exc)[:2000], run_id))
                logger.warning("job {} failed: {}", name, exc)
                return
            self.db.execute("UPDATE {p}kervan_job_run SET finished_at = CURRENT_TIMESTAMP(6), outcome = 'ok',"
                            " counts = %s WHERE run_id = %s", (json.dumps(counts), run_id))
        run.__name__ = name
        return run

    def _start_jobs(self) -> None:
        aps = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True})
        for channel in self.s.channels:
            aps.add_job(self._recorded(f"poll_orders:{channel}", lambda c=channel: self.jobs.poll_orders(c)),
                        "interval", seconds=self.s.orders_interval, id=f"poll_orders:{channel}",
                        next_run_time=_now())
        aps.add_job(self._recorded("reconcile", self.jobs.reconcile), "interval", seconds=self.s.reconcile_interval,
                    id="reconcile")
        for channel in self.s.channels:
            aps.add_job(self._recorded(f"full_reconcile:{channel}", lambda c=channel: self.jobs.full_reconcile(c)),
                        CronTrigger.from_crontab(self.s.full_reconcile_cron, timezone="UTC"),
                        id=f"full_reconcile:{channel}")
        aps.add_job(self._recorded("parked_digest", self.jobs.parked_digest), "interval",
                    seconds=self.s.parked_digest_interval, id="parked_digest")
        aps.add_job(self._recorded("import_feeds", self.jobs.import_feeds), "interval", seconds=60, id="import_feeds",
                    next_run_time=_now())
        aps.add_job(self._recorded("cleanup", self.jobs.cleanup), "interval", seconds=self.s.cleanup_interval,
                    id="cleanup")
        if self.s.config is not None and self.s.alerts_interval > 0:
            from kervan import alerts

            aps.add_job(self._recorded("alerts", lambda: alerts.run_job(self.s.config)), "interval",
                        seconds=self.s.alerts_interval, id="alerts")
        aps.start()
        self._aps = aps
        logger.info("scheduler active: {} jobs", len(aps.get_jobs()))

    def _stop_jobs(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=True)
            self._aps = None

    def run(self, stop: threading.Event) -> None:
        """Stand by until the lock is ours, run the jobs while it stays ours, repeat."""
        try:
            while not stop.is_set():
                if self.lock.held and not self.lock.check():
                    logger.warning("scheduler lost the leader lock; standing by")
                    self._stop_jobs()
                elif not self.lock.held and self.lock.try_acquire():
                    self._start_jobs()
                stop.wait(self.s.leader_check)
        finally:
            self._stop_jobs()
            self.lock.release()


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


__all__ = ["Jobs", "Scheduler", "SchedulerSettings"]
