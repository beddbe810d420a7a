"""Running sandboxes in the foreground, as `kervan sandbox` and `python -m sandbox.<name>` do."""

from __future__ import annotations

import signal
import threading


def wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT (handlers are installed only on the main thread)."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
