"""One-shot set-up of the laptop stack (``init`` in deploy/compose.yml), safe to run again:
the OpenCart demo store in MariaDB when the configured database does not exist yet, Kervan's
tables, and the sandbox marketplaces as channel accounts pointing at the ``sandbox`` service.
A real shop skips this: its OpenCart database exists and its accounts are entered in the admin."""

from __future__ import annotations

import os
import sys

from bridge import config
from bridge.db import Database, from_config
from bridge.migrate import migrate
from kervan import demo_store
from sandbox import opencart
from sandbox.registry import SANDBOXES


def main() -> int:
    cfg = config.load()
    url = cfg.get("database", "url")
    head, _, name = url.rpartition("/")
    server = Database(f"{head}/mysql", cfg.prefix)
    exists = server.one("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    server.close()
    if exists is None:
        opencart.create(f"{head}/mysql", name, os.environ.get("OPENCART_VERSION", "4.1.0.4"))
        print(f"OpenCart demo store created in database {name}")
    db = from_config(cfg)
    done = migrate(db)
    print(f"{len(done)} migration(s) applied")
    host = os.environ.get("SANDBOX_HOST", "sandbox")
    wanted = cfg.getlist("channels", "enabled")
    ids = demo_store.install_all(db, {code: f"http://{host}:{SANDBOXES[code][2]}" for code in wanted})
    print("channel accounts: " + ", ".join(f"{c} #{i}" for c, i in ids.items()))
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
