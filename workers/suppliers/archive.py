"""Compressed feeds: recognised from their first bytes (never a header or a file name) and unpacked
to disk through a byte-counting reader, so a decompression bomb stops at the configured cap
instead of filling the disk or the memory (supplier-feeds.md fact 3: lxml 6 no longer gunzips)."""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from pathlib import Path

from .model import FeedError

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


def compression_of(head: bytes) -> str | None:
    """``"gzip"``, ``"zip"`` or None from a file's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    return None


def file_compression(path: Path) -> str | None:
    with open(path, "rb") as f:
        return compression_of(f.read(4))


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB" if n >= 1 << 20 else f"{n:,} bytes"


def _copy_capped(src, dst, cap: int, what: str) -> int:
    total = 0
    while True:
        chunk = src.read(_CHUNK)  # GzipFile/ZipExtFile return at most this many bytes: memory stays bounded
        if not chunk:
            return total
        total += len(chunk)
        if total > cap:
            raise FeedError(
                f"the {what} feed unpacks to more than {_mb(cap)} (the configured limit); refused as a "
                "possible decompression bomb"
            )
        dst.write(chunk)


def _pick_member(zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [
        m for m in zf.infolist()
        if not m.is_dir() and not m.filename.startswith("__MACOSX/") and not Path(m.filename).name.startswith(".")
    ]
    if not members:
        raise FeedError("the zip file holds no feed file")
    if len(members) > 1:
        names = ", ".join(m.filename for m in members[:5])
        raise FeedError(f"the zip file holds {len(members)} files ({names}); Kervan expects exactly one feed file")
    return members[0]


def unpack(path: Path, dest: Path, max_inflated: int, _depth: int = 0) -> Path | None:
    """If ``path`` is gzip or zip, unpack it to ``dest`` (at most ``max_inflated`` bytes) and return
    ``dest``; None when the file is not compressed. Nested compression is unpacked once more (a
    zip quine, which unpacks to itself, stops there)."""
    kind = file_compression(path)
    if kind is None:
        return None
    if _depth >= 2:
        raise FeedError("the feed is compressed inside a compressed file more than twice; refused")
    tmp = dest.with_name(dest.name + ".part")
    try:
        with open(tmp, "wb") as out:
            if kind == "gzip":
                try:
                    with gzip.open(path, "rb") as src:
                        _copy_capped(src, out, max_inflated, "gzip")
                except (OSError, EOFError, zlib.error) as exc:
                    raise FeedError(f"the gzip file is damaged or cut short ({type(exc).__name__})") from exc
            else:
                try:
                    with zipfile.ZipFile(path) as zf:
                        member = _pick_member(zf)
                        with zf.open(member) as src:
                            _copy_capped(src, out, max_inflated, "zip")
                except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                    raise FeedError(f"the zip file is damaged or cut short ({type(exc).__name__})") from exc
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    if file_compression(dest) is not None:  # a .xml.gz inside a .zip: one more level, same cap
        inner = dest.with_name(dest.name + ".inner")
        unpack(dest, inner, max_inflated, _depth + 1)
        os.replace(inner, dest)
    return dest
