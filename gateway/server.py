"""``kervan gateway``: the application under waitress, a production WSGI server in pure Python.

One process with a thread pool (``[gateway] threads``); for more, run more instances (they share
nothing but RabbitMQ, MariaDB and Redis) behind the load balancer.
"""

from __future__ import annotations

from loguru import logger

from bridge.topology import Topology, connection_parameters


def _declare_orders_queues(cfg) -> None:
    """The queues a webhook command lands in exist before the first webhook is accepted, even when
    no orders worker has started yet: otherwise the broker would drop it as unroutable (the
    gateway would answer 503, so nothing is lost — but nothing is accepted either)."""
    import pika

    conn = pika.BlockingConnection(connection_parameters(cfg.get("amqp", "url")))
    try:
        Topology.from_config(cfg).declare(conn.channel(), roles=("orders",))
    finally:
        conn.close()


def serve(cfg) -> None:
    import waitress

    from gateway.app import build

    app, deps = build(cfg)
    s = deps.settings
    _declare_orders_queues(cfg)
    logger.info("gateway listening on http://{}:{} ({} threads)", s.host, s.port, s.threads)
    try:
        # Waitress refuses bodies far over the limit itself; the application answers the rest
        # with its own reason.
        waitress.serve(app, host=s.host, port=s.port, threads=s.threads, ident="kervan",
                       max_request_body_size=max(4 * s.max_body, 1 << 20), _quiet=True)
    finally:
        deps.publisher.close()
        deps.db.close()
        logger.info("gateway stopped")
