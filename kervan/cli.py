"""``kervan``: the one command line of the fleet (DESIGN §4)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from loguru import logger

from bridge import config as kconfig
from bridge import logsetup, redisconn
from bridge.db import from_config


def _cfg(args) -> kconfig.Config:
    return kconfig.load(args.config)


def cmd_migrate(args) -> int:
    from bridge.migrate import migrate
    from bridge.topology import Topology, declare_all

    cfg = _cfg(args)
    done = migrate(from_config(cfg))
    print(f"database: {len(done)} migration(s) applied" + (f" ({', '.join(done)})" if done else ", up to date"))
    if not args.no_topology:
        declare_all(cfg.get("amqp", "url"), Topology.from_config(cfg))
        print("broker: topology declared")
    return 0


def cmd_relay(args) -> int:
    from bridge.relay import RelaySettings, run_forever

    cfg = _cfg(args)
    run_forever(from_config(cfg), RelaySettings.from_config(cfg), metrics_port=_serve_metrics(cfg))
    return 0


def cmd_scheduler(args) -> int:
    import threading

    from bridge.scheduler import Scheduler, SchedulerSettings

    cfg = _cfg(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Scheduler(from_config(cfg), SchedulerSettings.from_config(cfg)).run(stop)
    return 0


def _serve_metrics(cfg) -> int:
    from bridge import metrics

    port = metrics.serve(cfg.getint("metrics", "port"), cfg.get("metrics", "addr"))
    logger.info("metrics on http://{}:{}/metrics", cfg.get("metrics", "addr"), port)
    return port


def cmd_worker(args) -> int:
    from workers.roles import build_worker

    cfg = _cfg(args)
    if args.partitions is not None:
        cfg = cfg.with_overrides({"worker": {"partitions": args.partitions}})
    if args.role in ("catalog", "orders") and not args.channel:
        raise SystemExit(f"kervan worker {args.role} needs --channel (trendyol, hepsiburada, n11, amazon)")
    worker = build_worker(cfg, args.role, args.channel)
    port = _serve_metrics(cfg)
    worker.heartbeat.gauges["metrics_port"] = lambda: port
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()
    logger.info("worker {} {} stopped", args.role, args.channel)
    return 0


def cmd_sandbox(args) -> int:
    from sandbox import registry

    cfg = _cfg(args)
    codes = registry.available() if args.marketplace == "all" else [args.marketplace]
    unknown = [c for c in codes if c not in registry.available()]
    if unknown:
        print(f"no sandbox for {', '.join(unknown)} (available: {', '.join(registry.available())})", file=sys.stderr)
        return 2
    ports = {"trendyol": cfg.getint("sandbox", "trendyol_port")}
    if args.port:
        if len(codes) != 1:
            print("--port works with one marketplace; 'all' uses each one's default port", file=sys.stderr)
            return 2
        ports[codes[0]] = args.port
    extra = {"trendyol": {"batch_delay": args.batch_delay}}
    if args.rate_scale != 1:
        for code in ("trendyol", "hepsiburada", "n11", "amazon"):
            extra.setdefault(code, {})["rate_scale"] = args.rate_scale
    registry.serve(codes, args.host or cfg.get("sandbox", "host"), ports, **extra)
    return 0


def cmd_demo(args) -> int:
    from kervan.demo import run_demo

    return run_demo(_cfg(args), keep=args.keep, products=args.products,
                    log_dir=Path(args.log_dir) if args.log_dir else None)


def cmd_chaos(args) -> int:
    from kervan import chaos

    return chaos.main(["--duration", str(args.duration), *(["--no-service-restarts"] if args.no_service_restarts
                                                          else [])])


def cmd_status(args) -> int:
    from kervan.status import print_status

    return print_status(_cfg(args))


def cmd_gateway(args) -> int:
    from gateway.server import serve

    def stop(*_args) -> None:
        raise KeyboardInterrupt  # leaves waitress's loop; the server closes its connections

    signal.signal(signal.SIGTERM, stop)
    try:
        serve(_cfg(args))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_check(args) -> int:
    from kervan.services import check_services

    return 0 if check_services(_cfg(args)) else 1


def cmd_reconcile(args) -> int:
    """Queue a full reconciliation of a channel (what the nightly job does), through the outbox
    like every command, so it is not lost while the broker is down."""
    from bridge import outbox
    from bridge.db import from_config
    from bridge.envelope import Event

    db = from_config(_cfg(args))
    for channel in args.channel:
        outbox.write_many(db, [Event("cmd.full_reconcile", "channel", channel, {"channel": channel}, source="kervan")])
        print(f"full reconciliation of {channel} queued; its report lands in {db.prefix}kervan_reconcile_report"
              " and on the admin dashboard")
    return 0


def cmd_alerts(args) -> int:
    from kervan.alerts import check_command

    return check_command(_cfg(args), notify=args.check)


def cmd_parked(args) -> int:
    from kervan.status import parked_command

    return parked_command(_cfg(args), args.action, args.ids, queue=args.queue, reason=args.reason)


def cmd_categories(args) -> int:
    from bridge import channels
    from workers.categories import CategoryCatalog
    from workers.channels.errors import ChannelError
    from workers.clients import build_client

    cfg = _cfg(args)
    db = from_config(cfg)
    account = channels.get(db, args.channel, args.account)
    if account is None:
        print(f"no marketplace account {args.channel}/{args.account} in {db.prefix}kervan_channel", file=sys.stderr)
        return 2
    # Short socket timeouts: a hung Redis should cost seconds, then the catalog works without it.
    r = redisconn.connect(cfg, socket_connect_timeout=2, socket_timeout=5)
    try:
        client = build_client(cfg, account)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        catalog = CategoryCatalog.for_account(db, r, cfg.get("redis", "prefix"), account, client, args.ttl)
        if args.attributes:
            attrs = catalog.attributes(args.attributes, refresh=args.refresh)
            required = sum(1 for a in attrs if a["required"])
            print(f"{account.code}/{account.account}: {len(attrs)} attributes ({required} required) of category "
                  f"{args.attributes} synced (from {catalog.last_source})")
        else:
            cats = catalog.tree(refresh=args.refresh)
            leaves = sum(1 for c in cats if c["leaf"])
            print(f"{account.code}/{account.account}: {len(cats)} categories ({leaves} leaves) synced "
                  f"(from {catalog.last_source})")
    except (ChannelError, ValueError, TimeoutError) as exc:
        print(f"{account.code}/{account.account}: categories not synced: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
        r.close()
        db.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kervan", description="OpenCart ↔ marketplaces bridge: the worker fleet")
    p.add_argument("--config", help="INI file (default: $KERVAN_CONFIG, ./kervan.ini, /etc/kervan/kervan.ini)")
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("migrate", help="create/upgrade Kervan's tables and declare the broker topology")
    m.add_argument("--no-topology", action="store_true", help="database only")
    m.set_defaults(fn=cmd_migrate)

    sub.add_parser("relay", help="publish the outbox to RabbitMQ (leader-elected)").set_defaults(fn=cmd_relay)

    w = sub.add_parser("worker", help="run a worker role for one channel (feeds and dropship: for every supplier)")
    w.add_argument("role", choices=["catalog", "orders", "feeds", "dropship"])
    w.add_argument("--channel", default="", help="the marketplace (catalog and orders roles)")
    w.add_argument("--partitions", default=None,
                   help="catalog partitions this process consumes first, e.g. 0,1 ([worker] partitions)")
    w.set_defaults(fn=cmd_worker)

    s = sub.add_parser("sandbox", help="run local marketplace simulators")
    s.add_argument("marketplace", nargs="?", default="all", help="trendyol, hepsiburada, n11, amazon, supplier-api, supplier-feeds or all")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--batch-delay", type=float, default=0.2)
    s.add_argument("--rate-scale", type=float, default=1.0,
                   help="multiply the marketplaces' documented rate limits (the fleet needs the same [ratelimit] scale)")
    s.set_defaults(fn=cmd_sandbox)

    d = sub.add_parser("demo", help="fresh demo store → relay → catalog workers → four sandbox marketplaces, end to end")
    d.add_argument("--keep", action="store_true", help="keep the demo database afterwards")
    d.add_argument("--products", type=int, default=0, help="only the first N demo products (0 = all)")
    d.add_argument("--log-dir", help="where the processes' logs go (default ./demo-logs)")
    d.set_defaults(fn=cmd_demo)

    sub.add_parser("scheduler", help="the fleet's clock: order polls, reconciliation, cleanup (one active)").set_defaults(
        fn=cmd_scheduler)
    sub.add_parser("status", help="the fleet at a glance").set_defaults(fn=cmd_status)
    sub.add_parser("gateway", help="HTTP entry point: marketplace webhooks, /v1/health, /v1/status, /metrics"
                   ).set_defaults(fn=cmd_gateway)
    c = sub.add_parser("chaos", help="faults under load against a throw-away fleet, then the invariants")
    c.add_argument("--duration", type=float, default=300)
    c.add_argument("--no-service-restarts", action="store_true")
    c.set_defaults(fn=cmd_chaos)
    sub.add_parser("check", help="check that MariaDB, RabbitMQ and Redis answer").set_defaults(fn=cmd_check)
    rc = sub.add_parser("reconcile", help="queue a full reconciliation: compare what a marketplace really holds"
                        " with OpenCart and fix drift (runs nightly from the scheduler)")
    rc.add_argument("--channel", required=True, action="append", help="marketplace code; repeat for several")
    rc.set_defaults(fn=cmd_reconcile)

    cg = sub.add_parser("categories", help="download a channel's category tree (or one category's attributes)"
                        " into Redis and the kervan_category tables")
    cg.add_argument("--channel", required=True, help="marketplace code: trendyol, hepsiburada, n11, amazon")
    cg.add_argument("--account", default="default")
    cg.add_argument("--attributes", metavar="CATEGORY_ID", help="sync this category's attributes instead")
    cg.add_argument("--refresh", action="store_true", help="download even if the cached copy is fresh")
    cg.add_argument("--ttl", type=int, default=24 * 3600, help="seconds a download stays fresh (default 1 day)")
    cg.set_defaults(fn=cmd_categories)

    al = sub.add_parser("alerts", help="what is wrong now (breakers, parked, dead roles, outbox lag, feeds, drift);"
                        " exit 1 if anything is")
    al.add_argument("--check", action="store_true", help="also send new alerts and resolutions (webhook/e-mail)"
                    " and remember them, as the scheduler's alerts job does")
    al.set_defaults(fn=cmd_alerts)

    pk = sub.add_parser("parked", help="list, replay or discard parked messages")
    pk.add_argument("action", choices=["list", "replay", "discard"])
    pk.add_argument("ids", nargs="*", type=int)
    pk.add_argument("--queue", help="only messages parked from this queue")
    pk.add_argument("--reason", help="only messages whose reason contains this text")
    pk.set_defaults(fn=cmd_parked)
    for verb in ("replay", "discard"):
        v = sub.add_parser(verb, help=f"{verb} parked messages by id, queue or reason (= parked {verb})")
        v.add_argument("ids", nargs="*", type=int)
        v.add_argument("--queue")
        v.add_argument("--reason")
        v.set_defaults(fn=cmd_parked, action=verb)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = kconfig.load(args.config)
    # Every line of a fleet process says which role and channel wrote it (the runtime adds the
    # event and correlation ids of the message being handled).
    context = {"role": args.role if args.command == "worker" else args.command,
               "channel": getattr(args, "channel", "") or ""}
    logsetup.setup(cfg.get("log", "level"), cfg.getbool("log", "json"), **context)
    return args.fn(args) or 0


if __name__ == "__main__":
    sys.exit(main())
