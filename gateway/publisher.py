"""Publishing a command so that a 2xx means "it is in RabbitMQ": persistent, mandatory, and
confirmed by the broker before the call returns (reliability §11 rule 2). One confirmed channel
per server thread, the worker runtime's ``_Publisher``. Per-message confirms are the slow way for
a relay, but a webhook is answered one at a time and must not be answered before its own confirm.
"""

from __future__ import annotations

import pika

from bridge.envelope import Event
from workers.runtime import _Publisher


class CommandPublisher:
    def __init__(self, amqp_url: str, exchange: str, heartbeat: int = 15) -> None:
        self.exchange = exchange
        self._publisher = _Publisher(amqp_url, heartbeat)

    def publish(self, event: Event) -> None:
        """Returns once the broker confirmed the message into at least one queue; raises
        otherwise (nacked, unroutable, connection lost twice)."""
        props = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=event.id,
            correlation_id=event.correlation_id or event.id,
            type=event.type,
        )
        self._publisher.publish(self.exchange, event.routing_key, event.to_json(), props)

    def close(self) -> None:
        self._publisher.close()
