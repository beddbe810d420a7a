"""Alerts: conditions an operator must hear about, read from ``kervan status``'s data and the
database, sent to a webhook and/or by e-mail once per episode, and again when they resolve.

Rules (thresholds in ``[alerts]``):
- ``breaker_open:<channel>/<account>`` — a breaker not closed for longer than ``breaker_open_seconds``.
  The time counts from the first check that saw it not closed, or pybreaker's ``opened_at`` if
  earlier: a breaker whose half-open trials keep failing re-opens (and resets ``opened_at``) every
  ``[breaker] reset_timeout`` seconds, and that is still one outage;
- ``parked`` — more than ``parked_threshold`` open parked messages; ``parked_growing`` — more
  than at the previous check;
- ``role_down:<role>/<channel>`` — a role seen in the heartbeats within ``role_forget_seconds``
  (or listed in ``expected_roles``) with no live process;
- ``outbox_lag`` — the oldest unpublished outbox row older than ``outbox_lag_seconds``;
- ``feed_quarantined:<supplier>`` — the supplier's latest decided feed run was quarantined;
- ``reconcile_drift:<channel>`` — the channel's latest full reconciliation found drift.

An alert fires once per episode: the first evaluator that sees the condition claims
``<prefix>alert:<key>`` in Redis with SET NX (so the scheduler and a ``kervan alerts --check``
never both send it) and sends; when the condition is gone the key is deleted and a "resolved"
notice goes out. If no channel accepted a firing notice, the claim is released so the next check
tries again. Webhook URLs (tokens in the path or query) and the SMTP password never reach a log
line: failures are logged by the channel's kind, host and exception type only.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
from loguru import logger

from bridge import redisconn
from bridge.db import Database, from_config
from bridge.logsetup import redact
from kervan.status import status_data
from workers import breaker as kbreaker


@dataclass(frozen=True)
class Alert:
    key: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertSettings:
    breaker_open_seconds: float = 300.0
    parked_threshold: int = 0
    role_forget_seconds: float = 86400.0
    expected_roles: tuple[str, ...] = ()
    outbox_lag_seconds: float = 120.0
    webhook_url: str = ""
    webhook_timeout: float = 5.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_tls: str = "none"  # none | starttls | ssl
    smtp_timeout: float = 10.0
    mail_from: str = "kervan@localhost"
    recipients: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: Any) -> AlertSettings:
        return cls(
            breaker_open_seconds=cfg.getfloat("alerts", "breaker_open_seconds"),
            parked_threshold=cfg.getint("alerts", "parked_threshold"),
            role_forget_seconds=cfg.getfloat("alerts", "role_forget_seconds"),
            expected_roles=tuple(cfg.getlist("alerts", "expected_roles")),
            outbox_lag_seconds=cfg.getfloat("alerts", "outbox_lag_seconds"),
            webhook_url=cfg.get("alerts", "webhook_url").strip(),
            webhook_timeout=cfg.getfloat("alerts", "webhook_timeout"),
            smtp_host=cfg.get("alerts", "smtp_host").strip(),
            smtp_port=cfg.getint("alerts", "smtp_port"),
            smtp_user=cfg.get("alerts", "smtp_user"),
            smtp_password=cfg.get("alerts", "smtp_password"),
            smtp_tls=cfg.get("alerts", "smtp_tls").strip().lower() or "none",
            smtp_timeout=cfg.getfloat("alerts", "smtp_timeout"),
            mail_from=cfg.get("alerts", "mail_from"),
            recipients=tuple(cfg.getlist("alerts", "recipients")),
        )


# --- rules ----------------------------------------------------------------------------------------

def breaker_alerts(status: dict[str, Any], r: redis.Redis, prefix: str, limit: float,
                   now: float | None = None) -> list[Alert]:
    now = time.time() if now is None else now
    out = []
    for b in status["breakers"]:
        seen_key = f"{prefix}alert_seen:breaker:{b['channel']}:{b['account']}"
        if b["state"] == "closed":
            r.delete(seen_key)
            continue
        r.set(seen_key, f"{now:.0f}", nx=True)
        since = float(r.get(seen_key) or now)
        opened = r.get(f"{kbreaker.namespace(prefix, b['channel'], b['account'])}:pybreaker:opened_at")
        if opened:
            since = min(since, float(opened))
        if now - since >= limit:
            out.append(Alert(f"breaker_open:{b['channel']}/{b['account']}",
                             f"breaker of {b['channel']}/{b['account']} not closed for {now - since:.0f} s",
                             {"channel": b["channel"], "account": b["account"], "state": b["state"],
                              "seconds": round(now - since)}))
    return out


def parked_alerts(status: dict[str, Any], r: redis.Redis, prefix: str, threshold: int) -> list[Alert]:
    count = int(status["parked_open"])
    previous = r.getset(f"{prefix}alert_seen:parked_open", count)
    out = []
    if count > threshold:
        out.append(Alert("parked", f"{count} parked messages open (threshold {threshold})", {"open": count}))
    if previous is not None and count > int(previous):
        out.append(Alert("parked_growing", f"parked messages grew from {int(previous)} to {count}",
                         {"open": count, "previous": int(previous)}))
    return out


def role_alerts(status: dict[str, Any], expected: tuple[str, ...], forget_after: float) -> list[Alert]:
    roles: dict[tuple[str, str], dict[str, Any]] = {}
    for p in status["processes"]:
        entry = roles.setdefault((p["role"], p["channel"]), {"alive": 0, "last_seen": p["seen_seconds_ago"]})
        entry["alive"] += int(p["alive"])
        entry["last_seen"] = min(entry["last_seen"], p["seen_seconds_ago"])
    wanted = {k for k, v in roles.items() if v["last_seen"] <= forget_after}
    for spec in expected:
        role, _, channel = spec.partition("/")
        wanted.add((role, channel))
    out = []
    for role, channel in sorted(wanted):
        entry = roles.get((role, channel))
        if entry and entry["alive"]:
            continue
        name = f"{role}/{channel}" if channel else role
        seen = f"last heartbeat {entry['last_seen']} s ago" if entry else "never seen"
        out.append(Alert(f"role_down:{name}", f"no live {name} process ({seen})",
                         {"role": role, "channel": channel, "last_seen_seconds": entry["last_seen"] if entry else None}))
    return out


def outbox_alerts(status: dict[str, Any], limit: float) -> list[Alert]:
    lag = status["outbox"]
    if lag["waiting"] and lag["oldest_seconds"] > limit:
        return [Alert("outbox_lag", f"outbox lag {lag['oldest_seconds']:.0f} s ({lag['waiting']} waiting)",
                      {"oldest_seconds": round(lag["oldest_seconds"], 1), "waiting": lag["waiting"]})]
    return []


def feed_alerts(db: Database) -> list[Alert]:
    """The latest applied-or-quarantined run of each supplier; a failed download decides nothing."""
    rows = db.query(
        "SELECT s.code, r.run_id, r.reason FROM {p}kervan_feed_run r JOIN {p}kervan_supplier s USING (supplier_id)"
        " WHERE r.run_id = (SELECT MAX(x.run_id) FROM {p}kervan_feed_run x WHERE x.supplier_id = r.supplier_id"
        " AND x.outcome IN ('applied', 'quarantined')) AND r.outcome = 'quarantined' ORDER BY s.code")
    # The reason may quote a feed URL; its secrets are redacted before it goes anywhere.
    return [Alert(f"feed_quarantined:{row['code']}",
                  f"feed of supplier {row['code']} quarantined: {redact(row['reason'] or '')}".rstrip(": "),
                  {"supplier": row["code"], "run_id": int(row["run_id"])}) for row in rows]


def reconcile_alerts(db: Database) -> list[Alert]:
    rows = db.query(
        "SELECT c.code, c.account, r.report_id, r.drifted, r.missing, r.fixed FROM {p}kervan_reconcile_report r"
        " JOIN {p}kervan_channel c USING (channel_id) WHERE r.report_id = (SELECT MAX(x.report_id)"
        " FROM {p}kervan_reconcile_report x WHERE x.channel_id = r.channel_id AND x.outcome = 'ok')"
        " AND r.drifted + r.missing > 0 ORDER BY c.code, c.account")
    return [Alert(f"reconcile_drift:{row['code']}/{row['account']}",
                  f"full reconciliation of {row['code']}/{row['account']} found {row['drifted']} drifted and"
                  f" {row['missing']} missing listings ({row['fixed']} fixed)",
                  {"channel": row["code"], "account": row["account"], "report_id": int(row["report_id"]),
                   "drifted": int(row["drifted"]), "missing": int(row["missing"]), "fixed": int(row["fixed"])})
            for row in rows]


def evaluate(cfg: Any, s: AlertSettings, r: redis.Redis) -> list[Alert]:
    """Every condition true now."""
    status = status_data(cfg)
    prefix = cfg.get("redis", "prefix")
    db = from_config(cfg)
    try:
        return [*breaker_alerts(status, r, prefix, s.breaker_open_seconds),
                *parked_alerts(status, r, prefix, s.parked_threshold),
                *role_alerts(status, s.expected_roles, s.role_forget_seconds),
                *outbox_alerts(status, s.outbox_lag_seconds),
                *feed_alerts(db), *reconcile_alerts(db)]
    finally:
        db.close()


# --- channels -------------------------------------------------------------------------------------

def _where(url_or_host: str) -> str:
    """What a log line may say about a destination: its host, never its path, query or user info."""
    if "://" not in url_or_host:
        return url_or_host
    return urlsplit(url_or_host).hostname or "?"


def send_webhook(s: AlertSettings, notice: dict[str, Any]) -> bool:
    try:
        resp = requests.post(s.webhook_url, json=notice, timeout=s.webhook_timeout)
    except requests.RequestException as exc:
        # The exception's text carries the URL (and its token): only the type is logged.
        logger.warning("alert webhook to {} failed: {}", _where(s.webhook_url), type(exc).__name__)
        return False
    if resp.status_code >= 300:
        logger.warning("alert webhook to {} answered HTTP {}", _where(s.webhook_url), resp.status_code)
        return False
    return True


def send_mail(s: AlertSettings, notice: dict[str, Any]) -> bool:
    msg = EmailMessage()
    msg["From"] = s.mail_from
    msg["To"] = ", ".join(s.recipients)
    msg["Subject"] = f"[kervan] {notice['status']}: {notice['summary']}"[:250]
    msg.set_content(json.dumps(notice, indent=2, ensure_ascii=False))
    try:
        if s.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        with smtp:
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # A server's answer could echo what it was sent: the type and SMTP code only.
        code = getattr(exc, "smtp_code", "")
        logger.warning("alert mail via {}:{} failed: {} {}", s.smtp_host, s.smtp_port, type(exc).__name__, code)
        return False
    return True


def deliver(s: AlertSettings, notice: dict[str, Any]) -> bool:
    """True when at least one configured channel took the notice (or none is configured)."""
    results = []
    if s.webhook_url:
        results.append(send_webhook(s, notice))
    if s.smtp_host and s.recipients:
        results.append(send_mail(s, notice))
    return any(results) if results else True


# --- episodes -------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    active: list[Alert]
    fired: list[str]
    resolved: list[str]
    undelivered: list[str]


def _notice(status: str, alert: Alert) -> dict[str, Any]:
    return {"status": status, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **asdict(alert)}


def check(cfg: Any, *, notify: bool = True) -> CheckResult:
    """Evaluate every rule; with ``notify``, send new episodes and resolutions and remember them."""
    s = AlertSettings.from_config(cfg)
    prefix = cfg.get("redis", "prefix")
    r = redisconn.connect(cfg, socket_timeout=5, decode_responses=True)
    try:
        active = evaluate(cfg, s, r)
        result = CheckResult(active, [], [], [])
        if not notify:
            return result
        fired_prefix = f"{prefix}alert:"
        for alert in active:
            key = fired_prefix + alert.key
            if not r.set(key, json.dumps(asdict(alert)), nx=True):
                continue  # this episode was already announced
            if deliver(s, _notice("firing", alert)):
                logger.warning("alert firing: {}", alert.summary)
                result.fired.append(alert.key)
            else:
                r.delete(key)  # nobody heard it: the next check tries again
                result.undelivered.append(alert.key)
        current = {a.key for a in active}
        for key in r.scan_iter(match=fired_prefix + "*", count=500):
            name = key[len(fired_prefix):]
            if name in current:
                continue
            stored = r.get(key)
            if stored is None:
                continue
            alert = Alert(**json.loads(stored))
            if deliver(s, _notice("resolved", alert)) and r.delete(key):
                logger.info("alert resolved: {}", alert.summary)
                result.resolved.append(name)
        return result
    finally:
        r.close()


def run_job(cfg: Any) -> dict[str, int]:
    """The scheduler's ``alerts`` job: counts for ``kervan_job_run``."""
    res = check(cfg)
    return {"active": len(res.active), "fired": len(res.fired), "resolved": len(res.resolved),
            "undelivered": len(res.undelivered)}


def check_command(cfg: Any, notify: bool) -> int:
    """``kervan alerts [--check]``: print what is wrong now; exit 1 if anything is, 2 if the
    check itself could not run (Redis, where episodes live, unreachable)."""
    try:
        res = check(cfg, notify=notify)
    except redis.RedisError as exc:
        print(f"alerts not checked: Redis unreachable ({type(exc).__name__})")
        return 2
    for a in res.active:
        mark = " (sent)" if a.key in res.fired else " (NOT delivered)" if a.key in res.undelivered else ""
        print(f"ALERT {a.key}: {a.summary}{mark}")
    for key in res.resolved:
        print(f"resolved {key}")
    if not res.active:
        print("no alerts")
    return 1 if res.active else 0


__all__ = ["Alert", "AlertSettings", "CheckResult", "check", "check_command", "deliver", "evaluate", "run_job"]
