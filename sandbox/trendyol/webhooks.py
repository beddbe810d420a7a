"""Trendyol's order webhooks, as the sandbox delivers them (marketplace-apis.md §1.12).

Every change of a shipment package (created, status moved) is POSTed as the full package to the
configured URL, authenticated the way the seller registered it — ``BASIC_AUTHENTICATION`` (user and
password) or ``API_KEY`` (sent as ``x-api-key``) — from a background thread, so the order book
never waits on the network. A non-2xx answer or a network error is retried with a doubling delay;
after ``deactivate_after`` consecutive failures the webhook is deactivated, as Trendyol does after
13. Faults, each a share of the deliveries drawn from a seeded random: ``duplicate_rate`` (sent
twice), ``reorder_rate`` (held back ``reorder_delay`` seconds, so a later change of the same package
may arrive first).

Control: ``GET/POST /__sandbox/webhooks`` (settings, counters, the last deliveries), e.g.
``{"url": "http://127.0.0.1:8780/v1/webhooks/trendyol/default", "auth": "basic", "username": "ty",
"password": "…"}``; ``{"url": ""}`` turns delivery off (the default).
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, fields
from typing import Any

import requests

AUTH_KINDS = ("basic", "api_key", "none")
STATUSES = ("CREATED", "PICKING", "INVOICED", "SHIPPED", "CANCELLED", "DELIVERED", "UNDELIVERED", "RETURNED",
            "UNSUPPLIED", "AWAITING", "UNPACKED", "AT_COLLECTION_POINT", "VERIFIED")


def subscription_status(package_status: str) -> str:
    """``AtCollectionPoint`` → ``AT_COLLECTION_POINT``: the subscription's spelling of a status."""
    out = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(package_status))
    return out.upper()


@dataclass
class WebhookSettings:
    url: str = ""
    auth: str = "basic"
    username: str = ""
    password: str = ""
    api_key: str = ""
    statuses: str = ""  # comma list of subscription statuses; empty = all
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    reorder_delay: float = 0.5
    retry_delay: float = 0.2  # first retry; doubles, at most 30 s
    deactivate_after: int = 13
    timeout: float = 5.0
    seed: int = 0

    def update(self, **changes: Any) -> None:
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown webhook setting(s): {', '.join(sorted(unknown))}")
        # Checked as a whole before anything is applied: a refused change leaves the settings as they were.
        merged = {**self.__dict__, **{k: type(getattr(self, k))(v) for k, v in changes.items()}}
        if merged["auth"] not in AUTH_KINDS:
            raise ValueError(f"auth must be one of {', '.join(AUTH_KINDS)}")
        if not all(0 <= merged[k] <= 1 for k in ("duplicate_rate", "reorder_rate")):
            raise ValueError("rates are shares between 0 and 1")
        if merged["deactivate_after"] < 1 or merged["retry_delay"] < 0 or merged["timeout"] <= 0:
            raise ValueError("deactivate_after must be ≥ 1, retry_delay ≥ 0 and timeout > 0")
        self.__dict__.update(merged)

    def public(self) -> dict[str, Any]:
        shown = dict(self.__dict__)
        for secret in ("password", "api_key"):
            shown[secret] = "***" if shown[secret] else ""
        return shown


class WebhookSender:
    def __init__(self, settings: WebhookSettings | None = None) -> None:
        self.settings = settings or WebhookSettings()
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, dict[str, Any], int]] = []
        self._seq = itertools.count()
        self._rng = random.Random(self.settings.seed)
        self._session = requests.Session()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.reset_counters()

    def reset_counters(self) -> None:
        with self._cv:
            self.active = True
            self.counters = {"queued": 0, "delivered": 0, "failed_attempts": 0, "duplicated": 0, "reordered": 0}
            self._consecutive_failures = 0
            self.log: deque[dict[str, Any]] = deque(maxlen=2000)

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self._cv:
            self.settings.update(**changes)
            if "seed" in changes:
                self._rng = random.Random(self.settings.seed)
            if "url" in changes:
                self.active = True
                self._consecutive_failures = 0
            self._cv.notify_all()
        return self.status()

    def status(self) -> dict[str, Any]:
        with self._cv:
            return {"settings": self.settings.public(), "active": self.active, "pending": len(self._heap),
                    "counters": dict(self.counters), "deliveries": list(self.log)[-200:]}

    def idle(self) -> bool:
        with self._cv:
            return not self._heap and not self._busy

    # -- the order book's hook (called under the store's lock: only queues) --------------------------
    def notify(self, package: dict[str, Any]) -> None:
        s = self.settings
        if not s.url or not self.active:
            return
        wanted = {x.strip().upper() for x in s.statuses.split(",") if x.strip()}
        if wanted and subscription_status(str(package.get("status"))) not in wanted:
            return
        with self._cv:
            now = time.monotonic()
            delay = 0.0
            if self._rng.random() < s.reorder_rate:
                delay = s.reorder_delay
                self.counters["reordered"] += 1
            copies = 2 if self._rng.random() < s.duplicate_rate else 1
            self.counters["duplicated"] += copies - 1
            for _ in range(copies):
                heapq.heappush(self._heap, (now + delay, next(self._seq), package, 1))
                self.counters["queued"] += 1
            self._ensure_thread()
            self._cv.notify_all()

    # -- delivery --------------------------------------------------------------------------------------
    _busy = False

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="trendyol-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._heap.clear()
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cv.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stopping:
                    return
                _due, _n, package, attempt = heapq.heappop(self._heap)
                if not self.active or not self.settings.url:
                    continue
                self._busy = True
                s = self.settings
                url, auth, timeout = s.url, self._auth(s), s.timeout
            try:
                code, error = self._post(url, auth, timeout, package)
            finally:
                with self._cv:
                    self._busy = False
            self._settle(package, attempt, code, error)

    @staticmethod
    def _auth(s: WebhookSettings) -> dict[str, Any]:
        if s.auth == "basic":
            return {"auth": (s.username, s.password)}
        if s.auth == "api_key":
            return {"headers": {"x-api-key": s.api_key}}
        return {}

    def _post(self, url: str, auth: dict[str, Any], timeout: float, package: dict[str, Any]) -> tuple[int, str]:
        try:
            r = self._session.post(url, json=package, timeout=timeout, **auth)
            return r.status_code, "" if r.ok else r.text[:200]
        except requests.RequestException as exc:
            return 0, type(exc).__name__

    def _settle(self, package: dict[str, Any], attempt: int, code: int, error: str) -> None:
        with self._cv:
            ok = 200 <= code < 300
            self.log.append({"shipmentPackageId": package.get("shipmentPackageId"), "status": package.get("status"),
                             "attempt": attempt, "answer": code, "error": error, "at": time.time()})
            if ok:
                self.counters["delivered"] += 1
                self._consecutive_failures = 0
                return
            self.counters["failed_attempts"] += 1
            self._consecutive_failures += 1
            if self._consecutive_failures >= self.settings.deactivate_after:
                self.active = False  # Trendyol e-mails the seller and stops calling
                self._heap.clear()
                return
            delay = min(self.settings.retry_delay * (2 ** (attempt - 1)), 30.0)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), package, attempt + 1))
            self._cv.notify_all()


def handle_admin(sender: WebhookSender, method: str, payload: dict[str, Any]) -> tuple[int, Any]:
    if method == "GET":
        return 200, sender.status()
    if method == "POST":
        if payload.pop("reset", False):
            sender.reset_counters()
        return 200, sender.configure(**payload)
    return 405, {"error": f"{method} /__sandbox/webhooks is not supported"}
