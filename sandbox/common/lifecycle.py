"""Running sandboxes: served on a background thread (``ServedSandbox``), or in the foreground as
`kervan sandbox` and `python -m sandbox.<name>` do."""

from __future__ import annotations

import signal
import threading
from typing import Any, Self


def wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT (handlers are installed only on the main thread)."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


class ServedSandbox:
    """A simulator served over HTTP on a background thread: ``start``/``stop`` (also as a context
    manager), its address, and hooks for the threads it runs beside the server (order
    generators, batch processors). Subclasses set ``server_class`` (built as
    ``server_class((host, port), sandbox)``), ``thread_name`` and ``base_path``, and create
    ``host``, ``port`` and ``stop_event`` in their ``__init__``."""

    server_class: type
    thread_name = "sandbox-http"
    base_path = ""  # what the real service's URLs start with (e.g. Trendyol's "/integration")
    host: str
    port: int
    stop_event: threading.Event
    _server: Any = None
    _thread: threading.Thread | None = None

    def _start_workers(self) -> None:
        """Threads that run beside the server; started once it listens."""

    def _stop_workers(self) -> None:
        """Stop them again, after the server is down."""

    def start(self) -> Self:
        if self._server is not None:
            return self
        self.stop_event.clear()
        self._server = self.server_class((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        self._start_workers()
        return self

    def stop(self) -> None:
        self.stop_event.set()  # releases handlers held by latency/timeout faults
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._stop_workers()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.base_path}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.port}/__sandbox"
