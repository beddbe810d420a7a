"""Full reconciliation of one channel: read what the marketplace really holds for every synced
listing, compare its stock and price with what OpenCart says it should hold, resend what drifted,
and record a report the admin dashboard shows.

Drift comes from outside Kervan's view: the seller edits a listing in the marketplace's own panel,
a marketplace applies a sale or a return by itself, a listing is removed there. The incremental
passes cannot see any of that, because they compare OpenCart only with what the marketplace last
*confirmed*. Here the marketplace is asked.

Only listings in ``synced`` state are checked: a listing with a request in flight is about to
change anyway, and a failed one already waits for the merchant or the incremental reconciliation.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from loguru import logger

from workers.coalescer import all_of

if TYPE_CHECKING:  # the catalog calls the reconciler; only the type is needed here
    from workers.catalog.base import Catalog

MAX_DRIFT_DETAILS = 200
PRICE_TOLERANCE = 0.005


@dataclass(frozen=True)
class Drift:
    product_id: int
    key: str
    field: str  # a body field, or "listing" when the marketplace no longer holds it
    expected: Any
    held: Any


@dataclass
class Report:
    report_id: int
    checked: int = 0
    missing: int = 0
    fixed: int = 0
    drift: list[Drift] = field(default_factory=list)

    @property
    def drifted(self) -> int:
        return len({d.product_id for d in self.drift})


def _differs(expected: Any, held: Any) -> bool:
    if isinstance(expected, bool) or isinstance(held, bool):
        return expected != held
    try:
        return abs(float(expected) - float(held)) > PRICE_TOLERANCE
    except (TypeError, ValueError):
        return str(expected) != str(held)


class Reconciler:
    def __init__(self, catalog: Catalog, *, chunk: int = 50) -> None:
        self.catalog = catalog
        self.db = catalog.db
        self.channel_id = catalog.account.channel_id
        self.chunk = chunk
        # Scalar fields only: nested bodies (an Amazon offer) are resent with their scalar fields.
        self.fields = tuple(dict.fromkeys((*catalog.STOCK_FIELDS, *catalog.PRICE_FIELDS)))

    def run(self, event_id: str = "reconcile") -> tuple[Report, Future | None]:
        """Check every synced listing; returns the report and, when fixes wait in a coalescer,
        the future that completes once they are sent."""
        report = Report(self._start())
        pending: list[Future] = []
        try:
            rows = self.db.query(
                "SELECT product_id, remote_sku FROM {p}kervan_listing WHERE channel_id = %s AND status = 'synced'"
                " AND remote_sku IS NOT NULL AND remote_sku <> '' ORDER BY product_id", (self.channel_id,))
            for i in range(0, len(rows), self.chunk):
                chunk = rows[i: i + self.chunk]
                held = self.catalog.remote_states([r["remote_sku"] for r in chunk])
                for r in chunk:
                    fut = self._check(report, int(r["product_id"]), r["remote_sku"], held.get(r["remote_sku"]), event_id)
                    if fut is not None:
                        pending.append(fut)
        except Exception as exc:
            self._finish(report, "error", str(exc))
            raise
        self._finish(report, "ok")
        logger.info("full reconciliation of {}: {} checked, {} drifted, {} missing, {} resent", self.catalog.label,
                    report.checked, report.drifted, report.missing, report.fixed)
        return report, (all_of(pending) if pending else None)

    def _check(self, report: Report, product_id: int, key: str, held: dict[str, Any] | None,
               event_id: str) -> Future | None:
        cat = self.catalog
        product = cat.reader.get(product_id)
        if product is None:
            return None  # deleted in OpenCart: the product.deleted path takes the listing down
        master = cat.reader.get(product.master_id) if product.master_id else None
        try:
            desired = cat.priced(cat.desired(product, master))
        except cat.mapping_error:
            return None  # not listable any more: the next sync says why on the listing
        report.checked += 1
        if held is None:
            report.missing += 1
            report.drift.append(Drift(product_id, key, "listing", "listed", None))
            cat.binder.lost(product_id)
        else:
            drifted = [f for f in self.fields
                       if f in desired and f in held and not isinstance(desired[f], dict | list)
                       and _differs(desired[f], held[f])]
            if not drifted:
                return None
            report.drift += [Drift(product_id, key, f, desired[f], held[f]) for f in drifted]
            # What the marketplace holds is no longer what it confirmed: forget those fields (and
            # their part's companions, e.g. an Amazon offer) so the sync sends them.
            stale = tuple(drifted) + self._companions(drifted)
            cat.binder.forget(product_id, stale)
            report.fixed += 1
            return cat.sync(product_id, event_id, stale=stale)
        report.fixed += 1
        return cat.sync(product_id, event_id)

    def _companions(self, drifted: list[str]) -> tuple[str, ...]:
        stock, price = self.catalog.STOCK_FIELDS, self.catalog.PRICE_FIELDS
        out: tuple[str, ...] = ()
        if any(f in stock for f in drifted):
            out += stock
        if any(f in price for f in drifted):
            out += price
        return out

    # -- the report row -------------------------------------------------------------------------
    def _start(self) -> int:
        def insert(cur: Any) -> int:
            cur.execute("INSERT INTO {p}kervan_reconcile_report (channel_id) VALUES (%s)", (self.channel_id,))
            return int(cur.lastrowid)

        return self.db.run_in_transaction(insert)

    def _finish(self, report: Report, outcome: str, error: str | None = None) -> None:
        details = [asdict(d) for d in report.drift[:MAX_DRIFT_DETAILS]]
        self.db.execute(
            "UPDATE {p}kervan_reconcile_report SET finished_at = CURRENT_TIMESTAMP(6), outcome = %s, checked = %s,"
            " drifted = %s, missing = %s, fixed = %s, drift = %s, error = %s WHERE report_id = %s",
            (outcome, report.checked, report.drifted, report.missing, report.fixed,
             json.dumps(details, ensure_ascii=False, default=str), (error or "")[:2000] or None, report.report_id))


__all__ = ["Drift", "Reconciler", "Report"]
