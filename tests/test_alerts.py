"""Alerts: each condition fires once per episode and resolves, through a real webhook receiver
(http.server on 127.0.0.1) and a real SMTP server (aiosmtpd), with secrets kept out of the logs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from loguru import logger

from bridge import channels
from bridge.scheduler import Scheduler, SchedulerSettings
from kervan import alerts
from tests.conftest import REDIS_URL

TOKEN = "hooktoken-" + uuid.uuid4().hex
SMTP_PASSWORD = "smtp-pass-" + uuid.uuid4().hex
NO_BROKER = "amqp://guest:guest@127.0.0.1:1/%2F"  # refused at once: status reports the broker unreachable


class Receiver:
    """A webhook endpoint: records every POST; answers ``status`` (settable)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.status = 200
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((self.path, json.loads(body)))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/kervan?token={TOKEN}"

    def keys(self, status: str) -> list[str]:
        return sorted(p["key"] for _, p in self.posts if p["status"] == status)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode())
        return AuthResult(success=False)

    def subjects(self) -> list[str]:
        return sorted(m["Subject"] for _, m in self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def mailbox():
    box = Mailbox()
    ctl = Controller(box, hostname="127.0.0.1", port=_free_port(), authenticator=box.authenticate,
                     auth_require_tls=False)
    ctl.start()
    box.port = ctl.port
    yield box
    ctl.stop()


@pytest.fixture
def logs():
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


def _cfg(cfg_factory, db, receiver, mailbox, **alert_overrides):
    values = {"webhook_url": receiver.url, "smtp_host": "127.0.0.1", "smtp_port": str(mailbox.port),
              "smtp_user": "ops", "smtp_password": SMTP_PASSWORD, "recipients": "ops@example.com,oncall@example.com",
              "breaker_open_seconds": "60", "outbox_lag_seconds": "120", "parked_threshold": "0"}
    values.update(alert_overrides)
    return cfg_factory(db, NO_BROKER, alerts=values)


def _beat(db, role, channel, age_seconds, pid):
    db.execute("INSERT INTO {p}kervan_heartbeat (process_id, role, channel, host, pid, state, last_seen)"
               " VALUES (%s, %s, %s, 'h', %s, 'running', CURRENT_TIMESTAMP(6) - INTERVAL %s SECOND)"
               " ON DUPLICATE KEY UPDATE last_seen = VALUES(last_seen)",
               (f"h:{pid}:{role}:{channel}", role, channel, pid, age_seconds))


def _park(db, message_id):
    db.execute("INSERT INTO {p}kervan_parked (message_id, queue, body, reason) VALUES (%s, 'kervan.catalog.trendyol',"
               " 'x', 'unknown event type')", (message_id,))


def _break_everything(db, prefix):
    account = channels.upsert(db, "trendyol", name="Trendyol", base_url="http://127.0.0.1:1", seller_id="1",
                              credentials={})
    _beat(db, "relay", "", 0, 100)
    _beat(db, "catalog", "trendyol", 600, 101)  # died ten minutes ago
    db.execute("INSERT INTO {p}kervan_outbox (event_id, event_type, aggregate_type, aggregate_id, payload, created_at)"
               " VALUES (%s, 'product.saved', 'product', '42', '{}', CURRENT_TIMESTAMP(6) - INTERVAL 600 SECOND)",
               (str(uuid.uuid4()),))
    _park(db, "m1")
    r = redis.Redis.from_url(REDIS_URL)
    ns = f"{prefix}breaker:trendyol:default:pybreaker"
    r.set(f"{ns}:state", "open")
    r.set(f"{ns}:opened_at", int(time.time()) - 1000)
    r.close()
    db.execute("INSERT INTO {p}kervan_supplier (code, name) VALUES ('tedarik', 'Tedarik A.Ş.')")
    sid = db.one("SELECT supplier_id FROM {p}kervan_supplier WHERE code = 'tedarik'")["supplier_id"]
    db.execute("INSERT INTO {p}kervan_feed_run (supplier_id, outcome, reason) VALUES (%s, 'applied', NULL),"
               " (%s, 'quarantined', 'feed has 3 items, last good run had 500'), (%s, 'failed', 'timeout')",
               (sid, sid, sid))
    db.execute("INSERT INTO {p}kervan_reconcile_report (channel_id, outcome, checked, drifted, missing, fixed)"
               " VALUES (%s, 'ok', 19, 2, 1, 3)", (account.channel_id,))
    return account, sid


ALL = ["breaker_open:trendyol/default", "feed_quarantined:tedarik", "outbox_lag", "parked",
       "reconcile_drift:trendyol/default", "role_down:catalog/trendyol"]


def test_each_condition_fires_once_then_resolves(store41, cfg_factory, redis_prefix, receiver, mailbox, logs):
    cfg = _cfg(cfg_factory, store41, receiver, mailbox)
    account, sid = _break_everything(store41, redis_prefix)

    first = alerts.check(cfg)
    assert sorted(first.fired) == ALL and not first.undelivered
    assert receiver.keys("firing") == ALL
    assert all(path == f"/hooks/kervan?token={TOKEN}" for path, _ in receiver.posts)
    assert len(mailbox.messages) == len(ALL)
    assert mailbox.logins and all(p == SMTP_PASSWORD.encode() for _, p in mailbox.logins)
    assert all(rcpt == ["ops@example.com", "oncall@example.com"] for rcpt, _ in mailbox.messages)
    posted = {p["key"]: p for _, p in receiver.posts}
    assert posted["feed_quarantined:tedarik"]["summary"].endswith("last good run had 500")
    assert posted["reconcile_drift:trendyol/default"]["details"]["drifted"] == 2
    assert posted["breaker_open:trendyol/default"]["details"]["seconds"] >= 1000

    # Same conditions, one more parked message: only the growth is news.
    _park(store41, "m2")
    second = alerts.check(cfg)
    assert second.fired == ["parked_growing"] and second.resolved == []
    assert len(receiver.posts) == len(ALL) + 1

    # Everything recovers.
    _beat(store41, "catalog", "trendyol", 0, 102)
    store41.execute("UPDATE {p}kervan_outbox SET published_at = CURRENT_TIMESTAMP(6)")
    store41.execute("UPDATE {p}kervan_parked SET status = 'discarded'")
    r = redis.Redis.from_url(REDIS_URL)
    r.set(f"{redis_prefix}breaker:trendyol:default:pybreaker:state", "closed")
    r.close()
    store41.execute("INSERT INTO {p}kervan_feed_run (supplier_id, outcome) VALUES (%s, 'applied')", (sid,))
    store41.execute("INSERT INTO {p}kervan_reconcile_report (channel_id, outcome, checked) VALUES (%s, 'ok', 19)",
                    (account.channel_id,))
    third = alerts.check(cfg)
    assert third.active == [] and third.fired == []
    assert sorted(third.resolved) == sorted([*ALL, "parked_growing"])
    assert receiver.keys("resolved") == sorted([*ALL, "parked_growing"])
    assert sum(1 for s in mailbox.subjects() if s.startswith("[kervan] resolved")) == len(ALL) + 1

    # Nothing left to say.
    before = len(receiver.posts)
    assert alerts.check(cfg).fired == [] and len(receiver.posts) == before
    text = "\n".join(logs)
    assert "alert firing" in text and "alert resolved" in text
    assert TOKEN not in text and SMTP_PASSWORD not in text


def test_breaker_flapping_open_counts_from_first_sighting(store41, cfg_factory, redis_prefix, receiver, mailbox):
    """A breaker whose half-open trials keep failing re-opens (new opened_at) every reset timeout;
    the outage still counts from when a check first saw it not closed."""
    cfg = _cfg(cfg_factory, store41, receiver, mailbox)
    channels.upsert(store41, "trendyol", name="Trendyol", base_url="http://127.0.0.1:1", seller_id="1", credentials={})
    r = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    ns = f"{redis_prefix}breaker:trendyol:default:pybreaker"
    r.set(f"{ns}:state", "open")
    r.set(f"{ns}:opened_at", int(time.time()))
    assert "breaker_open:trendyol/default" not in alerts.check(cfg).fired
    r.set(f"{redis_prefix}alert_seen:breaker:trendyol:default", int(time.time()) - 120)  # first seen 2 min ago
    r.set(f"{ns}:opened_at", int(time.time()))  # just re-opened after a failed trial
    assert "breaker_open:trendyol/default" in alerts.check(cfg).fired
    r.set(f"{ns}:state", "closed")
    assert alerts.check(cfg).resolved == ["breaker_open:trendyol/default"]
    assert r.get(f"{redis_prefix}alert_seen:breaker:trendyol:default") is None
    r.close()


def test_undelivered_alert_is_retried_and_secrets_stay_out_of_logs(store41, cfg_factory, receiver, mailbox, logs):
    _park(store41, "m1")
    receiver.status = 500
    cfg = _cfg(cfg_factory, store41, receiver, mailbox, smtp_password="wrong-" + SMTP_PASSWORD,
               smtp_timeout="3")
    res = alerts.check(cfg)
    assert res.undelivered == ["parked"] and res.fired == []
    assert len(receiver.posts) == 1 and mailbox.messages == []  # tried both, neither took it

    # A webhook nobody listens on: the connection error's text carries the URL; the log must not.
    port = _free_port()
    dead = cfg.with_overrides({"alerts": {"webhook_url": f"http://127.0.0.1:{port}/h?token={TOKEN}"}})
    assert alerts.check(dead).undelivered == ["parked"]

    receiver.status = 204
    assert alerts.check(cfg).fired == ["parked"]  # the episode was not lost
    text = "\n".join(logs)
    assert "HTTP 500" in text and "ConnectionError" in text and "alert mail via 127.0.0.1" in text, text
    assert TOKEN not in text and SMTP_PASSWORD not in text


def test_roles_forgotten_after_a_while_unless_expected(store41, cfg_factory, receiver, mailbox):
    _beat(store41, "orders", "n11", 10 * 86400, 200)  # decommissioned long ago
    _beat(store41, "relay", "", 0, 201)
    cfg = _cfg(cfg_factory, store41, receiver, mailbox, expected_roles="relay,scheduler,orders/n11")
    keys = [a.key for a in alerts.check(cfg, notify=False).active]
    assert keys == ["role_down:orders/n11", "role_down:scheduler"]
    assert receiver.posts == []  # notify=False sends nothing
    cfg = _cfg(cfg_factory, store41, receiver, mailbox)
    assert [a.key for a in alerts.check(cfg, notify=False).active] == []


def test_scheduler_runs_the_alerts_job(store41, cfg_factory, receiver, mailbox):
    _park(store41, "m1")
    cfg = _cfg(cfg_factory, store41, receiver, mailbox, interval="0.5")
    settings = SchedulerSettings.from_config(cfg)
    assert settings.alerts_interval == 0.5
    sched = Scheduler(store41, settings)
    stop = threading.Event()
    t = threading.Thread(target=sched.run, args=(stop,), daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not receiver.keys("firing"):
            time.sleep(0.1)
    finally:
        stop.set()
        t.join(30)
    assert receiver.keys("firing") == ["parked"]
    run = store41.one("SELECT outcome, counts FROM {p}kervan_job_run WHERE job = 'alerts' AND outcome = 'ok'"
                      " ORDER BY run_id LIMIT 1")
    assert run is not None and json.loads(run["counts"])["active"] == 1


def test_cli_check_exits_1_with_alerts_and_keeps_secrets_out(store41, cfg_factory, receiver, mailbox):
    _park(store41, "m1")
    cfg = _cfg(cfg_factory, store41, receiver, mailbox)
    env = {**cfg.env(), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "kervan.cli", "alerts", "--check"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    assert "ALERT parked: 1 parked messages open" in out.stdout and "(sent)" in out.stdout
    assert receiver.keys("firing") == ["parked"]
    store41.execute("UPDATE {p}kervan_parked SET status = 'discarded'")
    out = subprocess.run([sys.executable, "-m", "kervan.cli", "alerts", "--check"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "resolved parked" in out.stdout and "no alerts" in out.stdout
    assert TOKEN not in out.stdout + out.stderr and SMTP_PASSWORD not in out.stdout + out.stderr


def test_a_quarantine_reason_quoting_a_feed_url_is_redacted(store41, cfg_factory, receiver, mailbox):
    store41.execute("INSERT INTO {p}kervan_supplier (code, name) VALUES ('gizli', 'Gizli')")
    sid = store41.one("SELECT supplier_id FROM {p}kervan_supplier WHERE code = 'gizli'")["supplier_id"]
    store41.execute("INSERT INTO {p}kervan_feed_run (supplier_id, outcome, reason) VALUES (%s, 'quarantined', %s)",
                    (sid, f"https://feeds.example/urunler.xml?token={TOKEN} had 2 items, last good run 900"))
    cfg = _cfg(cfg_factory, store41, receiver, mailbox)
    assert alerts.check(cfg).fired == ["feed_quarantined:gizli"]
    (_, notice), = receiver.posts
    assert "last good run 900" in notice["summary"] and TOKEN not in json.dumps(notice)
    assert all(TOKEN not in m.as_string() for _, m in mailbox.messages)


def test_cli_says_when_redis_is_away(store41, cfg_factory, receiver, mailbox):
    cfg = _cfg(cfg_factory, store41, receiver, mailbox).with_overrides({"redis": {"url": "redis://127.0.0.1:1/0"}})
    out = subprocess.run([sys.executable, "-m", "kervan.cli", "alerts", "--check"],
                         env={**cfg.env(), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Redis unreachable" in out.stdout
    assert receiver.posts == []
