"""Are MariaDB, RabbitMQ and Redis answering? Says exactly which URL failed and how to start it."""

from __future__ import annotations

import pika

from bridge import redisconn
from bridge.db import Database
from bridge.logsetup import redact
from bridge.topology import connection_parameters_list

START = {
    "MariaDB": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    "RabbitMQ": "rabbitmq-server -detached",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379",
}


def probe(cfg) -> dict[str, str | None]:
    """Service name → None if it answers, else the error text."""
    out: dict[str, str | None] = {}
    try:
        db = Database(cfg.get("database", "url"), cfg.prefix, connect_timeout=3)
        db.connect(database=False).close()
        out["MariaDB"] = None
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        out["MariaDB"] = str(exc)
    try:
        params = connection_parameters_list(cfg.get("amqp", "url"))
        for p in params:
            p.socket_timeout = 3
        pika.BlockingConnection(params).close()
        out["RabbitMQ"] = None
    except Exception as exc:  # noqa: BLE001
        out["RabbitMQ"] = repr(exc)
    try:
        client = redisconn.connect(cfg, socket_timeout=3)
        client.ping()
        client.close()
        out["Redis"] = None
    except Exception as exc:  # noqa: BLE001
        out["Redis"] = str(exc)
    return out


def check_services(cfg) -> bool:
    urls = {"MariaDB": cfg.get("database", "url"), "RabbitMQ": cfg.get("amqp", "url"), "Redis": cfg.get("redis", "url")}
    ok = True
    for name, err in probe(cfg).items():
        if err is None:
            print(f"ok    {name:<8} {redact(urls[name])}")
        else:
            ok = False
            print(f"FAIL  {name:<8} {redact(urls[name])}: {redact(err)}")
            print(f"      start it with: {START[name]}")
    return ok
