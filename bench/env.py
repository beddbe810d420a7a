"""A throw-away environment for one benchmark (``kervan.demo.DemoEnvironment``: a fresh OpenCart
store, its own RabbitMQ vhost and Redis prefix), created with retries.

``rabbitmqctl`` now and then refuses a command on a busy machine (another CLI call at the same
moment); a benchmark should not fail for that, nor leave the database it had already created.
"""

from __future__ import annotations

import time

from bridge import config as kconfig
from kervan.demo import DemoEnvironment
from sandbox import opencart


def fresh(tag: str = "bench", attempts: int = 5) -> DemoEnvironment:
    cfg = kconfig.load()
    for attempt in range(1, attempts + 1):
        env = DemoEnvironment.__new__(DemoEnvironment)
        try:
            env.__init__(cfg, tag=tag)
            return env
        except Exception:
            # Whatever was made before the failure goes (the database comes first).
            if getattr(env, "db", None) is not None:
                env.db.close()
            if getattr(env, "db_name", None):
                opencart.drop(env.server_url, env.db_name)
            if attempt == attempts:
                raise
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")
