"""One feed import of one supplier, all or nothing per phase.

    fetch ─▶ parse every record into the staging table (kervan_feed_item) ─▶ quarantine checks
          ─▶ apply changed products in batches ─▶ missing-products policy ─▶ kervan_feed_run row

* **Staging.** Items go to ``kervan_feed_item`` under the rules as they are parsed, a batch at a
  time, so a feed of a million items never sits in the worker's memory; the table's key makes a
  duplicate code replace the earlier record (last wins, counted and reported).
* **Quarantine.** A feed that fails anywhere (unreadable, hostile, truncated mid-stream, an HTML
  error page), that holds no item, or whose item count fell below ``min_ratio`` of the last good
  run is quarantined: nothing is written to OpenCart, nothing zeroed or disabled, and the run row
  says why in plain words. The staging rows are dropped; the bad file is kept beside the last
  good one for a look.
* **Apply.** Only products whose stored hash differs from the staged one are read and written
  (``workers.suppliers.apply``), a batch per transaction with its outbox events.
* **Missing.** Only after a clean parse and apply: links whose item the feed no longer lists get
  the missing-products policy.

A MariaDB ``GET_LOCK`` per supplier (the leader lock of ``bridge/leader.py``) keeps two workers
from running the same supplier's import at once; the second one returns ``busy`` at once.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
from loguru import logger

from bridge.db import Database, is_retryable
from bridge.leader import LeaderLock
from workers.suppliers.apply import Counts, FeedApplier
from workers.suppliers.desired import Desired, prepare
from workers.suppliers.images import ImageFetcher
from workers.suppliers.model import FeedError, FeedItem, ItemProblem
from workers.suppliers.rules import ItemRejected, RulesError
from workers.suppliers.store import Supplier, SupplierError

APPLIED = "applied"
QUARANTINED = "quarantined"
FAILED = "failed"
BUSY = "busy"
RUNNING = "running"

Fetch = Callable[[Any, Path], Path]
Parse = Callable[[Path, Any], Iterable[FeedItem | ItemProblem]]


@dataclass(frozen=True)
class FeedSettings:
    workdir: Path = Path("/var/tmp/kervan/feeds")
    min_ratio: float = 0.5
    batch_size: int = 200
    max_problems: int = 200
    image_dir: Path | None = None  # OpenCart's image/ directory; None: images are not downloaded

    @classmethod
    def from_config(cls, cfg: Any) -> FeedSettings:
        image_dir = cfg.get("feeds", "image_dir").strip()
        return cls(workdir=Path(cfg.get("feeds", "workdir")), min_ratio=cfg.getfloat("feeds", "min_ratio"),
                   batch_size=cfg.getint("feeds", "batch_size"), max_problems=cfg.getint("feeds", "max_problems"),
                   image_dir=Path(image_dir) if image_dir else None)


@dataclass
class RunResult:
    outcome: str
    run_id: int = 0
    reason: str = ""
    items: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    missing: int = 0
    rejected: int = 0
    duplicates: int = 0
    events: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_total: int = 0


class _Quarantine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Problems:
    """Per-record problems, capped; the same reason text (an unmapped category) only once."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: list[dict[str, Any]] = []
        self.total = 0
        self._seen: set[str] = set()

    def add(self, record: int, code: str, reason: str) -> None:
        self.total += 1
        if len(self.items) >= self.cap or (reason in self._seen and "not mapped" in reason):
            return
        if len(self._seen) < 10_000:
            self._seen.add(reason)
        self.items.append({"record": record, "code": code[:128], "reason": reason[:500]})


def _default_fetch(spec: Any, dest: Path) -> Path:
    from workers.suppliers.fetch import fetch_feed

    return fetch_feed(spec, dest)


def _default_parse(path: Path, spec: Any) -> Iterable[FeedItem | ItemProblem]:
    from workers.suppliers.parsers import iter_items

    return iter_items(path, spec)


class FeedRun:
    def __init__(self, db: Database, supplier: Supplier, settings: FeedSettings, *,
                 fetch: Fetch = _default_fetch, parse: Parse = _default_parse) -> None:
        self.db = db
        self.supplier = supplier
        self.s = settings
        self.fetch = fetch
        self.parse = parse
        self.dir = settings.workdir / _safe(supplier.code)
        self._usable = 0
        self.images: ImageFetcher | None = None

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> RunResult:
        lock = LeaderLock(self.db, f"kervan_feed:{self.supplier.code}")
        if not lock.try_acquire(0):
            logger.info("feed import of {} is already running elsewhere", self.supplier.code)
            return RunResult(BUSY, reason="an import of this supplier is already running")
        try:
            return self._locked()
        finally:
            lock.release()

    def _locked(self) -> RunResult:
        sid = self.supplier.supplier_id
        self._abandon_interrupted(sid)
        run_id = self.db.run_in_transaction(lambda cur: (
            cur.execute("INSERT INTO {p}kervan_feed_run (supplier_id) VALUES (%s)", (sid,)), cur.lastrowid)[1])
        result = RunResult(RUNNING, run_id=int(run_id))
        problems = _Problems(self.s.max_problems)
        raw: Path | None = None
        try:
            try:
                spec = self.supplier.spec()
                rules = self.supplier.rules
            except (SupplierError, RulesError, ValueError) as exc:
                raise _Failed(f"The supplier's settings are wrong: {exc}") from None
            self.dir.mkdir(parents=True, exist_ok=True)
            incoming = self.dir / "incoming"
            incoming.mkdir(exist_ok=True)
            raw = self.fetch(spec, incoming)
            applier = FeedApplier(self.db, sid, self.supplier.code, rules)
            rules = applier.store_rules()
            seen, distinct = self._stage(result.run_id, raw, spec, rules, problems, result)
            result.duplicates = seen - distinct
            if result.duplicates:
                problems.add(0, "", f"{result.duplicates} record(s) repeated a product code already in the feed;"
                                    " the last record of each code was used")
            self._check(result.items)
            if self.s.image_dir is not None:
                self.images = ImageFetcher(self.s.image_dir)
            counts = self._apply(result.run_id, applier, problems)
            missing = self._missing(result.run_id, applier)
            self._images_done(problems)
            counts.add(missing)
            result.created, result.updated, result.skipped = counts.created, counts.updated, counts.skipped
            result.missing, result.events = counts.missing, counts.events
            result.unchanged = max(self._usable - counts.created - counts.updated - counts.skipped, 0)
            result.outcome = APPLIED
            self._keep(raw, "last_good")
        except (FeedError, _Quarantine) as exc:
            result.outcome, result.reason = QUARANTINED, _reason(exc)
            if raw is not None:
                self._keep(raw, "quarantined")
        except _Failed as exc:
            result.outcome, result.reason = FAILED, str(exc)
        except Exception as exc:
            # Unexpected (database away, a bug): recorded for the merchant, raised for a retry.
            result.outcome, result.reason = FAILED, f"The import stopped: {exc.__class__.__name__}"
            if raw is not None:
                raw.unlink(missing_ok=True)
                raw.with_name(raw.name + ".http.json").unlink(missing_ok=True)
            self._finish(result, problems, good=False)
            raise
        finally:
            if self.images is not None:  # a run that stopped early still lets its downloads end
                self.images.wait()
                self.images = None
        self._finish(result, problems, good=result.outcome == APPLIED)
        logger.info("feed import {} of {}: {} ({} items, {} created, {} updated, {} missing){}", result.run_id,
                    self.supplier.code, result.outcome, result.items, result.created, result.updated, result.missing,
                    f": {result.reason}" if result.reason else "")
        return result

    # -- phases ---------------------------------------------------------------------------------
    def _stage(self, run_id: int, raw: Path, spec: Any, rules: Any, problems: _Problems,
               result: RunResult) -> tuple[int, int]:
        """Parse every record into the staging table. Returns (items seen, distinct items).

        Rows: an item under the rules (hash and JSON), an item the rules refuse (no hash, ``{}``),
        a record the reader could not read but whose code it knows (no hash, no JSON: still in the
        feed, so never "missing"). Items replace earlier rows of their key (last wins); the
        reader's problem rows never replace anything."""
        rows: list[tuple] = []
        unreadable: list[tuple] = []
        seen = 0
        for thing in self.parse(raw, spec):
            if isinstance(thing, ItemProblem):
                result.rejected += 1
                problems.add(thing.record, thing.code, thing.reason)
                if thing.code:
                    unreadable.append((run_id, thing.code[:255], thing.code[:255], thing.record, "", ""))
            else:
                seen += 1
                try:
                    d = prepare(thing, rules, self.supplier.code)
                except ItemRejected as exc:
                    result.rejected += 1
                    problems.add(thing.record, thing.code, str(exc))
                    rows.append((run_id, thing.key[:255], (thing.group or thing.key)[:255], thing.record, "", "{}"))
                else:
                    for p in d.problems:
                        problems.add(d.record, d.code, p)
                    rows.append((run_id, d.key[:255], ("\x01" + d.group if d.group else d.key)[:255], d.record,
                                 d.hash, d.to_json()))
            if len(rows) + len(unreadable) >= self.s.batch_size:
                self._flush(rows, unreadable)
        self._flush(rows, unreadable)
        counts = self.db.one("SELECT COUNT(*) AS total, COALESCE(SUM(data <> ''), 0) AS items, COALESCE(SUM(hash <> ''), 0)"
                             " AS usable FROM {p}kervan_feed_item WHERE run_id = %s", (run_id,))
        result.items = int(counts["total"])
        self._usable = int(counts["usable"])
        return seen, int(counts["items"])

    def _flush(self, rows: list[tuple], unreadable: list[tuple]) -> None:
        items, problems = list(rows), list(unreadable)
        rows.clear()
        unreadable.clear()
        if not items and not problems:
            return

        def run(cur: Any) -> None:
            if items:
                cur.executemany(
                    "INSERT INTO {p}kervan_feed_item (run_id, item_key, group_key, record, hash, data)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE group_key = VALUES(group_key),"
                    " record = VALUES(record), hash = VALUES(hash), data = VALUES(data)", items)
            if problems:
                cur.executemany("INSERT IGNORE INTO {p}kervan_feed_item (run_id, item_key, group_key, record, hash, data)"
                                " VALUES (%s, %s, %s, %s, %s, %s)", problems)

        self.db.run_in_transaction(run)

    def _check(self, count: int) -> None:
        if count == 0:
            raise _Quarantine("The feed lists no products. Nothing was changed in the shop.")
        last = self.supplier.last_good_count
        if last and count < self.s.min_ratio * last:
            raise _Quarantine(
                f"The feed lists {count} products, far fewer than the {last} of the last good import"
                f" (below {self.s.min_ratio:.0%}). It may be cut short, so nothing was changed in the shop;"
                " nothing was zeroed or disabled.")

    def _apply(self, run_id: int, applier: FeedApplier, problems: _Problems) -> Counts:
        """Groups with any changed item, page by page (keyset on group_key)."""
        total = Counts()
        after = ""
        while True:
            keys = [r["group_key"] for r in self.db.query(
                "SELECT DISTINCT s.group_key FROM {p}kervan_feed_item s LEFT JOIN {p}kervan_supplier_product sp"
                " ON sp.supplier_id = %s AND sp.item_key = s.item_key WHERE s.run_id = %s AND s.hash <> ''"
                " AND (sp.hash IS NULL OR sp.hash <> s.hash) AND s.group_key > %s ORDER BY s.group_key LIMIT %s",
                (self.supplier.supplier_id, run_id, after, self.s.batch_size))]
            if not keys:
                return total
            after = keys[-1]
            marks = ",".join(["%s"] * len(keys))
            grouped: dict[str, list[Desired]] = {}
            for r in self.db.query(
                    f"SELECT group_key, data FROM {{p}}kervan_feed_item WHERE run_id = %s AND hash <> ''"  # noqa: S608
                    f" AND group_key IN ({marks})", (run_id, *keys)):
                grouped.setdefault(r["group_key"], []).append(Desired.from_json(r["data"]))
            total.add(self._apply_batch(applier, list(grouped.values()), problems))
            if self.images is not None:
                for group in grouped.values():
                    for d in group:
                        for path, url in d.images:
                            self.images.submit(path, url)

    def _apply_batch(self, applier: FeedApplier, groups: list[list[Desired]], problems: _Problems) -> Counts:
        try:
            return applier.apply(groups)
        except pymysql.err.MySQLError as exc:
            if is_retryable(exc):
                raise
            if len(groups) == 1:
                d = groups[0][0]
                problems.add(d.record, d.code, f"OpenCart refused the product: {exc.args[-1] if exc.args else exc}")
                return Counts()
        # One product the database refuses (a value too long for a column) must not stop the others.
        counts = Counts()
        for g in groups:
            counts.add(self._apply_batch(applier, [g], problems))
        return counts

    def _missing(self, run_id: int, applier: FeedApplier) -> Counts:
        total = Counts()
        after = ""
        while True:
            links = self.db.query(
                "SELECT sp.item_key, sp.product_id, sp.product_option_value_id FROM {p}kervan_supplier_product sp"
                " LEFT JOIN {p}kervan_feed_item s ON s.run_id = %s AND s.item_key = sp.item_key"
                " WHERE sp.supplier_id = %s AND sp.missing_since IS NULL AND s.item_key IS NULL AND sp.item_key > %s"
                " ORDER BY sp.item_key LIMIT %s", (run_id, self.supplier.supplier_id, after, self.s.batch_size))
            if not links:
                return total
            after = links[-1]["item_key"]
            total.add(applier.mark_missing(links))

    def _images_done(self, problems: _Problems) -> None:
        fetcher, self.images = self.images, None
        if fetcher is None:
            return
        result = fetcher.wait()
        for url, reason in result.failed:
            problems.add(0, "", f"image {_redact(url)} {reason}")
        if result.downloaded or result.failed:
            logger.info("feed images of {}: {} downloaded, {} failed", self.supplier.code, result.downloaded,
                        len(result.failed))

    # -- bookkeeping ------------------------------------------------------------------------------
    def _abandon_interrupted(self, sid: int) -> None:
        """Runs of this supplier still 'running' died (we hold its lock): close them, drop their rows."""
        for r in self.db.query("SELECT run_id FROM {p}kervan_feed_run WHERE supplier_id = %s AND outcome = %s",
                               (sid, RUNNING)):
            self._drop_stage(int(r["run_id"]))
            self.db.execute("UPDATE {p}kervan_feed_run SET outcome = %s, finished_at = CURRENT_TIMESTAMP(6),"
                            " reason = %s WHERE run_id = %s",
                            (FAILED, "The import was interrupted (the worker stopped); the next one starts over.",
                             r["run_id"]))

    def _drop_stage(self, run_id: int) -> None:
        while self.db.execute("DELETE FROM {p}kervan_feed_item WHERE run_id = %s LIMIT 5000", (run_id,)) >= 5000:
            pass

    def _finish(self, result: RunResult, problems: _Problems, *, good: bool) -> None:
        result.problems, result.problem_total = problems.items, problems.total
        self._drop_stage(result.run_id)
        blob = json.dumps({"total": problems.total, "shown": problems.items}, ensure_ascii=False)

        def run(cur: Any) -> None:
            cur.execute(
                "UPDATE {p}kervan_feed_run SET finished_at = CURRENT_TIMESTAMP(6), outcome = %s, items = %s,"
                " created = %s, updated = %s, unchanged = %s, missing = %s, skipped = %s, rejected = %s,"
                " duplicates = %s, events = %s, problems = %s, reason = %s WHERE run_id = %s",
                (result.outcome, result.items, result.created, result.updated, result.unchanged, result.missing,
                 result.skipped, result.rejected, result.duplicates, result.events, blob, result.reason or None,
                 result.run_id))
            if good:
                cur.execute("UPDATE {p}kervan_supplier SET last_good_count = %s WHERE supplier_id = %s",
                            (result.items, self.supplier.supplier_id))

        self.db.run_in_transaction(run)
        if good:
            self.supplier.last_good_count = result.items

    def _keep(self, raw: Path, name: str) -> None:
        """The raw file as ``last_good`` (or ``quarantined``) beside the supplier's work directory."""
        try:
            target = self.dir / f"{name}{''.join(raw.suffixes[-2:]) or '.feed'}"
            for old in self.dir.glob(f"{name}.*"):
                old.unlink()
            shutil.move(str(raw), target)
            raw.with_name(raw.name + ".http.json").unlink(missing_ok=True)  # the fetch's HTTP notes
        except OSError as exc:
            logger.warning("could not keep the {} feed file of {}: {}", name, self.supplier.code, exc)


class _Failed(Exception):
    pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FeedError):
        where = f" (at record {exc.record})" if exc.record else ""
        return (f"The feed could not be read{where}: {exc.reason}. Nothing was changed in the shop;"
                " nothing was zeroed or disabled.")
    return str(exc)


def _redact(url: str) -> str:
    """An image URL for the merchant's eyes, without a query (which may carry a token)."""
    return url.split("?", 1)[0][:200]


def _safe(code: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in code) or "_"


def run_feed(db: Database, supplier: Supplier, settings: FeedSettings, **kw: Any) -> RunResult:
    return FeedRun(db, supplier, settings, **kw).run()


__all__ = ["APPLIED", "BUSY", "FAILED", "QUARANTINED", "FeedRun", "FeedSettings", "RunResult", "run_feed"]
