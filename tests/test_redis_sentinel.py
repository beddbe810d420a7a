"""Redis through Sentinel (``[redis] sentinels``): real redis-server processes on spare ports — a
primary, a replica and a sentinel, none of them the Redis the other tests use. The client asks the
sentinel for the primary, and after the primary is SIGKILLed and the sentinel promotes the replica,
the same client writes to the new primary with no restart."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis
from redis.sentinel import Sentinel

from bridge import config as kconfig
from bridge import redisconn
from bridge.heartbeat import wait_until

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _master(sentinel: int) -> tuple[str, int] | None:
    try:
        return Sentinel([("127.0.0.1", sentinel)], sentinel_kwargs={"socket_timeout": 1}).discover_master("kv")
    except redis.RedisError:
        return None


def answers(port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_timeout=0.5).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def sentinel_setup(tmp_path):
    primary, replica, sentinel = free_port(), free_port(), free_port()
    common = ["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel}\nbind 127.0.0.1\nsentinel monitor kv 127.0.0.1 {primary} 1\n"
                    "sentinel down-after-milliseconds kv 3000\nsentinel failover-timeout kv 10000\n")
    procs = {
        "primary": subprocess.Popen(["redis-server", "--port", str(primary), "--dir", str(tmp_path), *common],
                                    stdout=subprocess.DEVNULL),
        "replica": subprocess.Popen(["redis-server", "--port", str(replica), "--dir", str(tmp_path), *common,
                                     "--replicaof", "127.0.0.1", str(primary)], stdout=subprocess.DEVNULL),
        "sentinel": subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL),
    }
    try:
        assert wait_until(lambda: answers(primary) and answers(replica) and answers(sentinel), 20)
        # The sentinel has seen the replica (it learns it from the primary) before anything fails.
        assert wait_until(lambda: len(Sentinel([("127.0.0.1", sentinel)]).discover_slaves("kv")) == 1, 30)
        assert wait_until(lambda: _master(sentinel) == ("127.0.0.1", primary), 30)
        yield primary, replica, sentinel, procs
    finally:
        for p in procs.values():
            p.kill()
            p.wait(10)


def test_the_client_finds_the_primary_through_sentinel_and_follows_a_failover(sentinel_setup):
    primary, replica, sentinel, procs = sentinel_setup
    # [redis] url names no server that answers: only the sentinel can lead the client to Redis.
    cfg = kconfig.load(environ={}).with_overrides({"redis": {
        "url": "redis://127.0.0.1:1/3", "sentinels": f" 127.0.0.1:{sentinel} ", "service_name": "kv"}})
    client = redisconn.connect(cfg, socket_timeout=2)
    client.set("kervan:probe", "before")
    assert client.info("server")["tcp_port"] == primary
    assert client.connection_pool.connection_kwargs["db"] == 3  # the database number still comes from the url
    assert wait_until(lambda: redis.Redis(port=replica, db=3).get("kervan:probe") == b"before", 20)

    procs["primary"].kill()
    procs["primary"].wait(10)

    def writes_again() -> bool:
        try:
            client.set("kervan:probe", "after")
            return True
        except redis.RedisError:
            time.sleep(0.2)
            return False

    assert wait_until(writes_again, 60)
    assert client.info("server")["tcp_port"] == replica  # promoted, and found without a restart
    assert client.get("kervan:probe") == b"after"


def test_without_sentinels_the_url_is_the_server():
    cfg = kconfig.load(environ={})
    client = redisconn.connect(cfg, socket_timeout=2)
    assert client.ping()
    assert cfg.get("redis", "sentinels") == ""


def test_a_malformed_sentinel_list_is_a_clear_error():
    assert redisconn.sentinel_addresses("a:1, [::1]:26379,") == [("a", 1), ("::1", 26379)]
    with pytest.raises(ValueError, match="host:port"):
        redisconn.sentinel_addresses("sentinel-without-port")
