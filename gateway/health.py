"""Readiness: can this instance reach what an accepted webhook needs? Each check answers
``None`` when fine, else a short reason without URLs or passwords."""

from __future__ import annotations

import pika
import pika.exceptions
import pymysql
import redis

from bridge.db import Database
from bridge.topology import connection_parameters


def database(db: Database) -> str | None:
    try:
        db.one("SELECT 1 AS ok")
        return None
    except (pymysql.MySQLError, OSError) as exc:
        db.reset()
        return f"database unreachable ({type(exc).__name__})"


def broker(amqp_url: str) -> str | None:
    try:
        conn = pika.BlockingConnection(connection_parameters(amqp_url))
    except (pika.exceptions.AMQPError, OSError) as exc:
        return f"broker unreachable ({type(exc).__name__})"
    try:
        conn.close()
    except pika.exceptions.AMQPError:
        pass
    return None


def cache(client: redis.Redis) -> str | None:
    try:
        client.ping()
        return None
    except redis.RedisError as exc:
        return f"redis unreachable ({type(exc).__name__})"
