"""Which text encoding a feed file is in, decided from its bytes, never from what it declares.

Real feeds lie: UTF-8 bytes declared ``ISO-8859-9`` parse without error into mojibake, and
windows-1254 bytes declared UTF-8 fail (supplier-feeds.md fact 5, §3.2). So: a BOM wins; else
bytes that are strictly valid UTF-8 are UTF-8 (checked over the whole file, streaming); else the
supplier's fallback, windows-1254 by default. ISO-8859-9 labels are read as windows-1254, its
superset (0x80–0x9F are ``€`` and friends there, C1 controls in ISO-8859-9).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_FALLBACK = "windows-1254"
_CHUNK = 1 << 20

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_ALIASES = {
    "iso-8859-9": DEFAULT_FALLBACK, "iso8859-9": DEFAULT_FALLBACK, "iso_8859-9": DEFAULT_FALLBACK,
    "latin5": DEFAULT_FALLBACK, "latin-5": DEFAULT_FALLBACK, "l5": DEFAULT_FALLBACK,
    "cp1254": DEFAULT_FALLBACK, "windows-1254": DEFAULT_FALLBACK, "win-1254": DEFAULT_FALLBACK,
    "x-cp1254": DEFAULT_FALLBACK, "iso-ir-148": DEFAULT_FALLBACK, "turkish": DEFAULT_FALLBACK,
    "utf8": "utf-8", "utf-8": "utf-8",
}


def normalise_label(label: str) -> str:
    """A supplier's encoding label as the name Python and libxml2 both know; ISO-8859-9 → windows-1254.
    Raises ValueError for a label Python does not know."""
    key = label.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        name = codecs.lookup(key).name
    except LookupError as exc:
        raise ValueError(f"unknown text encoding {label!r}") from exc
    return _ALIASES.get(name.replace("_", "-"), name.replace("_", "-"))


@dataclass(frozen=True)
class Decision:
    """``encoding`` to read the file with after skipping ``bom`` bytes; ``reason`` says why."""

    encoding: str
    bom: int
    reason: str


def bom_of(head: bytes) -> tuple[str, int] | None:
    for mark, name in _BOMS:
        if head.startswith(mark):
            return name, len(mark)
    return None


def is_strict_utf8(path: Path, skip: int = 0) -> bool:
    """Whether the whole file decodes as UTF-8 without one error (read in 1 MiB chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with open(path, "rb") as f:
        f.seek(skip)
        try:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def decide(path: Path, fallback: str = DEFAULT_FALLBACK) -> Decision:
    """The encoding of the file at ``path``: BOM, else strict UTF-8, else ``fallback``."""
    with open(path, "rb") as f:
        head = f.read(4)
    found = bom_of(head)
    if found:
        return Decision(found[0], found[1], "byte order mark")
    if is_strict_utf8(path):
        return Decision("utf-8", 0, "valid UTF-8")
    return Decision(normalise_label(fallback), 0, "not UTF-8: the supplier's fallback encoding")


_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


def declared_encoding(head: bytes) -> str | None:
    """The ``encoding=`` of an XML declaration at the start of ``head`` (for reports only)."""
    m = _DECL.match(head)
    return m.group(1).decode("ascii") if m else None
