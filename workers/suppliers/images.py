"""Supplier images into OpenCart's ``image/`` directory, beside the catalogue writes, not in them.

The apply step stores each image as the path ``desired.image_path`` gives it (named by the URL
without its query, so a cache-busting ``?v=`` does not download it again); this fetches the files
that are not there yet, on a small thread pool, each capped in size and checked to be an image by
its first bytes (a supplier's HTML error page saved as ``.jpg`` would break OpenCart's resizer).
A failed image is a problem of the run, never a reason to hold back the products.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def is_image(head: bytes) -> bool:
    return head.startswith(MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


@dataclass
class ImageResult:
    downloaded: int = 0
    present: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)


class ImageFetcher:
    """Downloads in the background while the run goes on; ``wait()`` at the end of the run."""

    def __init__(self, image_dir: Path, *, threads: int = 4, max_bytes: int = 10 << 20, timeout: float = 15.0,
                 pending: int = 500, session_factory: Callable[[], requests.Session] = requests.Session) -> None:
        self.dir = image_dir
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.result = ImageResult()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="feed-images")
        self._slots = threading.BoundedSemaphore(pending)  # bounded memory on a million-item feed
        self._lock = threading.Lock()
        self._local = threading.local()
        self._session_factory = session_factory
        self._asked: set[str] = set()

    def submit(self, path: str, url: str) -> None:
        if not path or not url or ".." in Path(path).parts:
            return
        target = self.dir / path
        with self._lock:
            if path in self._asked:
                return
            if len(self._asked) < 100_000:
                self._asked.add(path)
        if target.exists():
            with self._lock:
                self.result.present += 1
            return
        self._slots.acquire()
        fut: Future = self._pool.submit(self._fetch, target, url if "://" in url else "https://" + url.lstrip("/"))
        fut.add_done_callback(lambda _f: self._slots.release())

    def wait(self) -> ImageResult:
        self._pool.shutdown(wait=True)
        return self.result

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = self._session_factory()
        return s

    def _fetch(self, target: Path, url: str) -> None:
        try:
            reason = self._download(target, url)
        except requests.RequestException as exc:
            reason = f"could not be downloaded ({type(exc).__name__})"
        except OSError as exc:
            reason = f"could not be saved ({exc.strerror or type(exc).__name__})"
        with self._lock:
            if reason:
                self.result.failed.append((url, reason))
            else:
                self.result.downloaded += 1

    def _download(self, target: Path, url: str) -> str:
        with self._session().get(url, stream=True, timeout=(self.timeout, self.timeout)) as resp:
            if resp.status_code != 200:
                return f"answered HTTP {resp.status_code}"
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".img-", dir=target.parent)
            size, head = 0, b""
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in resp.iter_content(1 << 16):
                        if len(head) < 16:
                            head = (head + chunk)[:16]
                        size += len(chunk)
                        if size > self.max_bytes:
                            return f"is larger than {self.max_bytes >> 20} MB"
                        out.write(chunk)
                if not is_image(head):
                    return "is not a JPEG, PNG, GIF or WebP image"
                os.replace(tmp, target)
                return ""
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)


__all__ = ["ImageFetcher", "ImageResult", "is_image"]
