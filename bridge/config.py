"""Kervan configuration: one INI file, then ``KERVAN_<SECTION>_<KEY>`` environment overrides.

The file is found at ``--config``, ``$KERVAN_CONFIG``, ``./kervan.ini`` or ``/etc/kervan/kervan.ini``
(first that exists). Every key has a default, so a bare machine with the local services runs
without any file at all.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULTS: dict[str, dict[str, str]] = {
    "database": {
        # The OpenCart database Kervan lives beside; Kervan's tables use OpenCart's prefix.
        "url": "mysql://root:@127.0.0.1:3306/opencart",
        "prefix": "oc_",
        # A replica of it for the catalog's product reads (bridge/replica.py); empty: the primary
        "read_url": "",
        # seconds a read waits for the replica to reach the primary's position before asking the primary
        "read_wait": "1.0",
    },
    "amqp": {
        "url": "amqp://guest:guest@127.0.0.1:5672/%2F",
        "exchange": "kervan",
        "heartbeat": "15",
    },
    "redis": {
        "url": "redis://127.0.0.1:6379/0",
        "prefix": "kervan:",
        # host:port of Redis Sentinels, comma separated; empty: [redis] url is the server itself
        "sentinels": "",
        "service_name": "mymaster",
    },
    "relay": {
        "batch_size": "500",
        "poll_interval": "0.05",
        "confirm_window": "1000",
        "retention_hours": "72",
        "leader_lock": "kervan_relay",
    },
    "worker": {
        # Messages in hand per worker process: coalesced price/stock changes are acked only when
        # their request was sent, so a batch can only be as large as this.
        "prefetch": "1000",
        "threads": "4",
        "delivery_limit": "20",
        "max_attempts": "8",
        "retry_tiers": "1,5,30,120,600",
        "heartbeat_interval": "5",
        "batch_poll_interval": "2",
        # Seconds price/stock changes of one channel gather before one request carries them all
        # (up to the marketplace's largest batch); 0 sends each change alone.
        "coalesce_window": "0.3",
        # Catalog queues per channel (1, 2, 4, 8 or 16): products are split over them by hash,
        # each queue has one active consumer, so that many processes work on one channel at once.
        "catalog_partitions": "1",
        # The partitions this process consumes first (e.g. "0,1"); it takes the others only as a
        # standby, "standby_after" seconds later. Empty: all of them at once.
        "partitions": "",
        "standby_after": "5",
    },
    "orders": {
        # Seconds between order polls of the orders worker (until the scheduler sends the polls),
        # the overlap each poll re-reads before the last one, and how far back the first poll looks.
        "poll_interval": "60",
        "overlap": "600",
        "first_days": "7",
    },
    "suppliers": {
        # Supplier roles this fleet runs (feeds, dropship); their queues exist only when listed.
        "roles": "",
    },
    "feeds": {
        # Supplier feed imports: where downloads and each supplier's last good (and last
        # quarantined) raw file are kept; the share of the last good run's item count below which
        # a feed is quarantined; products per apply transaction; per-record problems kept per run;
        # OpenCart's image/ directory, where supplier images are downloaded ("": not downloaded).
        "workdir": "/var/tmp/kervan/feeds",
        "min_ratio": "0.5",
        "batch_size": "200",
        "max_problems": "200",
        "image_dir": "",
    },
    "dropship": {
        # OpenCart order statuses that forward an order to its suppliers when a supplier's forward
        # settings name none (2 Processing, 15 Processed: paid), and the status tracking sets (3 Shipped).
        "trigger_status_ids": "2,15",
        "shipped_status_id": "3",
        # Seconds between tracking questions about one sent supplier order (a supplier's own
        # "tracking": {"interval"} wins), and between rounds of the tracking poller.
        "tracking_interval": "300",
        "tracking_poll_every": "30",
        # Seconds between sweeps for orders due to be forwarded whose event was missed (or whose
        # forward a crash interrupted), and how many days back the sweep looks.
        "sweep_interval": "60",
        "lookback_days": "14",
    },
    "scheduler": {
        # Seconds between incremental reconciliations, how long a listing may stay failed before
        # one resends it, seconds between cleanups, days job runs are kept, seconds between checks
        # of the leader lock (a standby takes over within about this long).
        "reconcile_interval": "300",
        "reconcile_grace": "600",
        "cleanup_interval": "3600",
        "job_retention_days": "14",
        "leader_check": "1",
        # When each channel's full reconciliation runs (crontab, UTC): the marketplace's own view
        # of every listing compared with OpenCart's. An outbox row unpublished this many seconds
        # is counted as stuck by the incremental reconciliation.
        "full_reconcile_cron": "30 3 * * *",
        "outbox_stuck_after": "60",
        "parked_digest_interval": "3600",
    },
    "breaker": {
        # Consecutive transient failures (network, 5xx) that open an account's breaker, and the
        # seconds it stays open before a trial call.
        "fail_max": "5",
        "reset_timeout": "30",
    },
    "channels": {
        # Comma list of channel codes workers and topology serve (rows in kervan_channel carry
        # the credentials and base URL of each account).
        "enabled": "trendyol",
    },
    "ratelimit": {
        # Factor on every documented marketplace rate limit the fleet's shared limiters enforce:
        # 10 = ten times the documented requests per window. Only for sandboxes started with the
        # same factor (`kervan sandbox --rate-scale`, benchmarks); against real marketplaces: 1.
        "scale": "1",
    },
    "sandbox": {
        "host": "127.0.0.1",
        "trendyol_port": "8701",
    },
    "gateway": {
        # kervan gateway: listen address, the Bearer token of /v1/status and /metrics (empty: those
        # routes are off), the largest webhook body in bytes, webhooks admitted per source address
        # per rate_period seconds (shared by every instance through Redis), server threads, load
        # balancer addresses whose X-Forwarded-For is believed, seconds account credentials are cached.
        "host": "127.0.0.1",
        "port": "8780",
        "token": "",
        "max_body": "1048576",
        "rate_limit": "120",
        "rate_period": "60",
        "threads": "8",
        "trusted_proxies": "",
        "account_cache": "5",
    },
    "alerts": {
        # kervan/alerts.py, run by the scheduler every `interval` seconds (0: not run) and by
        # `kervan alerts --check`. Thresholds: seconds a breaker may stay not closed, open parked
        # messages tolerated, seconds of outbox lag; roles whose last heartbeat is older than
        # role_forget_seconds are forgotten (decommissioned) unless listed in expected_roles
        # ("relay,scheduler,catalog/trendyol"). Channels: a webhook (JSON POST; a token in its URL
        # is never logged) and/or e-mail (smtp_tls: none, starttls or ssl) to the recipients.
        "interval": "60",
        "breaker_open_seconds": "300",
        "parked_threshold": "0",
        "outbox_lag_seconds": "120",
        "role_forget_seconds": "86400",
        "expected_roles": "",
        "webhook_url": "",
        "webhook_timeout": "5",
        "smtp_host": "",
        "smtp_port": "25",
        "smtp_user": "",
        "smtp_password": "",
        "smtp_tls": "none",
        "smtp_timeout": "10",
        "mail_from": "kervan@localhost",
        "recipients": "",
    },
    "metrics": {
        # 0 = any free port (written into the heartbeat); set one per unit to scrape it.
        "port": "0",
        "addr": "127.0.0.1",
    },
    "log": {
        "level": "INFO",
        "json": "false",
    },
}


@dataclass
class Config:
    """Resolved configuration; sections are plain dicts of strings, read via the typed getters."""

    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str | None = None

    def get(self, section: str, key: str) -> str:
        try:
            return self.sections[section][key]
        except KeyError:
            raise KeyError(f"config has no [{section}] {key}") from None

    def getint(self, section: str, key: str) -> int:
        return int(self.get(section, key))

    def getfloat(self, section: str, key: str) -> float:
        return float(self.get(section, key))

    def getbool(self, section: str, key: str) -> bool:
        return self.get(section, key).strip().lower() in {"1", "true", "yes", "on"}

    def getlist(self, section: str, key: str) -> list[str]:
        return [p.strip() for p in self.get(section, key).split(",") if p.strip()]

    def with_overrides(self, overrides: dict[str, dict[str, str]]) -> Config:
        merged = {s: dict(v) for s, v in self.sections.items()}
        for section, values in overrides.items():
            merged.setdefault(section, {}).update({k: str(v) for k, v in values.items()})
        return Config(merged, self.source)

    def env(self) -> dict[str, str]:
        """The configuration as KERVAN_* variables, to hand to a child process."""
        return {
            f"KERVAN_{s.upper()}_{k.upper()}": v for s, values in self.sections.items() for k, v in values.items()
        }

    @property
    def prefix(self) -> str:
        return self.get("database", "prefix")


def _candidate_files(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit)]
    paths = []
    if os.environ.get("KERVAN_CONFIG"):
        paths.append(Path(os.environ["KERVAN_CONFIG"]))
    paths += [Path("kervan.ini"), Path("/etc/kervan/kervan.ini")]
    return paths


def load(path: str | None = None, environ: dict[str, str] | None = None) -> Config:
    """Defaults, then the INI file, then KERVAN_<SECTION>_<KEY> environment variables."""
    environ = os.environ if environ is None else environ
    sections = {s: dict(v) for s, v in DEFAULTS.items()}
    source = None
    for candidate in _candidate_files(path):
        if candidate.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(candidate, encoding="utf-8")
            for s in parser.sections():
                sections.setdefault(s, {}).update(parser[s])
            source = str(candidate)
            break
        if path:
            raise FileNotFoundError(f"config file {candidate} does not exist")
    for name, value in environ.items():
        if not name.startswith("KERVAN_") or name == "KERVAN_CONFIG":
            continue
        rest = name[len("KERVAN_") :].lower()
        # Section names contain no underscore, so the first one splits section from key.
        section, _, key = rest.partition("_")
        if section and key:
            sections.setdefault(section, {})[key] = value
    return Config(sections, source)
