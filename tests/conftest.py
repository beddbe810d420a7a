"""Shared fixtures: every test gets its own OpenCart database, RabbitMQ vhost and Redis prefix on
the machine's real services, created here and removed afterwards, so runs never see each
other's leftovers."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis

from bridge import config as kconfig
from bridge.db import Database
from bridge.migrate import migrate
from sandbox import opencart

MYSQL_URL = os.environ.get("KERVAN_TEST_MYSQL", "mysql://root:@127.0.0.1:3306/mysql")
AMQP_HOST = os.environ.get("KERVAN_TEST_AMQP_HOST", "127.0.0.1:5672")
REDIS_URL = os.environ.get("KERVAN_TEST_REDIS", "redis://127.0.0.1:6379/0")

VERSIONS = ["4.1.0.4", "4.0.2.3"]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _fresh_store(version: str) -> Iterator[Database]:
    name = unique("kervan_test")
    opencart.create(MYSQL_URL, name, version)
    db = Database(opencart.server_url(MYSQL_URL, name), "oc_")
    migrate(db)
    db.opencart_version = version  # type: ignore[attr-defined]
    try:
        yield db
    finally:
        db.close()
        opencart.drop(MYSQL_URL, name)


@pytest.fixture(params=VERSIONS, ids=["oc4104", "oc4023"])
def store(request) -> Iterator[Database]:
    """A fresh migrated OpenCart demo store; the test runs once per supported OpenCart version."""
    yield from _fresh_store(request.param)


@pytest.fixture
def store41() -> Iterator[Database]:
    """A fresh migrated OpenCart 4.1.0.4 demo store (tests of fleet mechanics, not of OpenCart)."""
    yield from _fresh_store("4.1.0.4")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """A RabbitMQ vhost of this test's own."""
    vhost = unique("kervan_test")
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"amqp://guest:guest@{AMQP_HOST}/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=120)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = unique("kervan_test") + ":"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def cfg_factory(redis_prefix):
    """Build a Config for a store (and optionally a vhost), as a process of the fleet would see it."""

    def build(db: Database, amqp: str | None = None, **overrides: dict[str, str]) -> kconfig.Config:
        base = kconfig.load(path=None, environ={})
        sections = {
            "database": {"url": db.url, "prefix": db.prefix},
            "redis": {"url": REDIS_URL, "prefix": redis_prefix},
        }
        if amqp:
            sections["amqp"] = {"url": amqp}
        for section, values in overrides.items():
            sections.setdefault(section, {}).update(values)
        return base.with_overrides(sections)

    return build
