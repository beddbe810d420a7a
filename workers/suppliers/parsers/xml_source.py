"""Reading an XML feed safely and in bounded memory: one record element at a time.

- The encoding comes from the bytes (encoding.py) and overrides whatever the declaration says.
- Parser settings are pinned: no entity resolution, no network, no DTD loading, no huge tree
  (supplier-feeds.md fact 2/3). A document that *declares* entities is refused before parsing
  (billion laughs, quadratic blow-up and XXE all need a declaration); a DOCTYPE without one (Yandex
  YML's ``shops.dtd``) is fine.
- Strict parsing, never ``recover=True``: a truncated download must fail the run (fact 4). The only
  repairs are the known, lossless ones, done on the byte stream outside CDATA: a bare ``&`` becomes
  ``&amp;``, HTML named entities (``&nbsp;``) become character references, C0 control characters
  are dropped.
- Each record is handed out, then cleared and its preceding siblings deleted (fact 1), so memory
  does not grow with the feed.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from html.entities import html5
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from ..encoding import Decision, decide
from ..model import FeedError

_CHUNK = 1 << 16
_MAX_PROLOG = 1 << 20
_MAX_CARRY = 16 << 20
_C0 = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_AMP = re.compile(rb"&(?!#[0-9]{1,7};|#x[0-9A-Fa-f]{1,6};)(?:([A-Za-z][A-Za-z0-9]{0,31});)?")
_XML_ENTITIES = {b"amp", b"lt", b"gt", b"quot", b"apos"}
_HTML_ENTITIES = {
    k[:-1].encode("ascii"): v for k, v in html5.items() if k.endswith(";") and k[:-1].encode("ascii") not in _XML_ENTITIES
}
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_:]")
_COMMENT = re.compile(rb"<!--.*?(?:-->|\Z)", re.DOTALL)
_CDATA_OPEN = b"<![CDATA["
_CDATA_CLOSE = b"]]>"


def _entity(m: re.Match[bytes]) -> bytes:
    name = m.group(1)
    if name is None:
        return b"&amp;"  # a bare ampersand (xmlbankasi: "Kaş & Kirpik")
    if name in _XML_ENTITIES:
        return m.group(0)
    chars = _HTML_ENTITIES.get(name)
    if chars is None:
        return m.group(0)  # unknown: left for the strict parser to report
    return b"".join(b"&#%d;" % ord(c) for c in chars)


class FeedReader:
    """A file-like ``read()`` over the feed's bytes for lxml: skips the BOM and whitespace before
    the declaration, checks the prolog for entity declarations and (``fix``) repairs the stream."""

    def __init__(self, f: BinaryIO, *, skip: int, fix: bool) -> None:
        self.f = f
        self.f.seek(skip)
        self.fix = fix
        self.carry = b""
        self.in_prolog = True
        self.in_cdata = False
        self.eof = False

    def read(self, n: int = -1) -> bytes:
        while True:
            if self.eof:
                return b""
            chunk = self.f.read(max(n, _CHUNK) if n and n > 0 else _CHUNK)
            data = self.carry + chunk
            self.carry = b""
            if not chunk:
                self.eof = True
            if self.in_prolog:
                data = data.lstrip()  # CRLF before "<?xml" is a syntax error for libxml2
                visible = _COMMENT.sub(b"", data)  # "<a>" inside a prolog comment is no element
                m = _FIRST_ELEMENT.search(visible)
                if m is None and not self.eof:
                    if len(data) > _MAX_PROLOG:
                        raise FeedError("the feed has no XML element in its first megabyte")
                    self.carry = data
                    continue
                prolog = visible[: m.start()] if m else visible
                if b"<!ENTITY" in prolog:
                    raise FeedError(
                        "the feed declares XML entities in a DTD; refused (entity-expansion or external-entity attack)"
                    )
                self.in_prolog = False
            if not self.eof:
                # Cut after the last '>': no CDATA marker and no entity reference spans a '>'.
                cut = data.rfind(b">") + 1
                if cut == 0 and len(data) < _MAX_CARRY:
                    self.carry = data
                    continue
                if cut:
                    data, self.carry = data[:cut], data[cut:]
            out = self._repair(data) if self.fix else data
            if out or self.eof:
                return out

    def _repair(self, data: bytes) -> bytes:
        data = _C0.sub(b"", data)
        out: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            if self.in_cdata:
                end = data.find(_CDATA_CLOSE, pos)
                if end < 0:
                    out.append(data[pos:])
                    break
                out.append(data[pos : end + 3])
                pos = end + 3
                self.in_cdata = False
            else:
                start = data.find(_CDATA_OPEN, pos)
                segment = data[pos:] if start < 0 else data[pos:start]
                if b"&" in segment:
                    segment = _AMP.sub(_entity, segment)
                out.append(segment)
                if start < 0:
                    break
                out.append(_CDATA_OPEN)
                pos = start + len(_CDATA_OPEN)
                self.in_cdata = True
        return b"".join(out)


class Utf8Transcoder:
    """UTF-16/32 bytes in, UTF-8 bytes out (a ``read``/``seek`` pair as FeedReader needs)."""

    def __init__(self, f: BinaryIO, decision: Decision) -> None:
        self.f = f
        self.f.seek(decision.bom)
        self.decoder = codecs.getincrementaldecoder(decision.encoding)("strict")

    def seek(self, _pos: int) -> None:
        return None

    def read(self, n: int = -1) -> bytes:
        while True:
            chunk = self.f.read(n if n and n > 0 else _CHUNK)
            try:
                out = self.decoder.decode(chunk, final=not chunk).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise FeedError(f"the feed is not readable as {exc.encoding}") from exc
            if out or not chunk:
                return out


def _local(tag: str) -> str:
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


def _ends_with_root_close(path: Path, root: str, encoding: str) -> bool:
    """Whether the file ends with ``</root>`` (a cut-short download does not)."""
    with open(path, "rb") as f:
        f.seek(max(path.stat().st_size - 4096, 0))
        tail = f.read()
    if encoding.startswith(("utf-16", "utf-32")):
        tail = tail[len(tail) % 4:].decode(encoding, errors="ignore").encode("utf-8")
    return re.search(rb"</(?:[\w.-]+:)?" + re.escape(root.encode("utf-8")) + rb"\s*>\s*\Z", tail) is not None


def _explain(exc: etree.XMLSyntaxError, seen: int, truncated: bool) -> str:
    # The exception's own text can be a generic "no element found"; the error log has the cause.
    entries = [e for e in exc.error_log if e.level >= etree.ErrorLevels.ERROR] if exc.error_log else []
    first = entries[-1] if entries else None  # the log may still hold an earlier parse's errors
    msg = (first.message if first else str(exc.msg or exc)).strip()
    line = first.line if first else (exc.lineno or 0)
    low = msg.lower()
    where = f"line {line}" if line else "the start"
    if "amplification" in low or "entity reference loop" in low:
        return "the feed uses entity expansion (a 'billion laughs' attack); refused"
    if truncated or "premature end" in low:
        return (f"the feed ends in the middle of the XML (line {line}) after {seen} complete records — the "
                f"download was probably cut short; nothing from this run may be applied ({msg})")
    if "invalid bytes" in low or "encoding" in low:
        return f"the feed's bytes do not match its text encoding at {where} ({msg})"
    if "entity" in low and "not defined" in low:
        return f"the feed uses an undefined entity at {where} ({msg})"
    if "huge" in low or "too long" in low or "too big" in low or "limit" in low:
        return f"the feed has an oversized text or element at {where}; refused ({msg})"
    return f"the feed is not well-formed XML at {where}, after {seen} complete records ({msg})"


def iter_elements(
    path: Path, tags: tuple[str, ...], *, fallback: str, fix: bool
) -> Iterator[tuple[int, etree._Element]]:
    """Yield (record number from 1, element) for every element whose local name (or Clark name)
    is in ``tags``. The element is cleared once the caller moves on. Raises FeedError when the
    document is unreadable, hostile, cut short, an HTML page, or has no record at all."""
    decision: Decision = decide(path, fallback)
    wide = decision.encoding.startswith(("utf-16", "utf-32"))
    match = tuple(t if t.startswith("{") else "{*}" + t for t in tags)
    seen = 0
    root_name: str | None = None
    with open(path, "rb") as f:
        if wide:  # transcoded to UTF-8 on the fly, so the byte-level checks and repairs apply
            source = FeedReader(Utf8Transcoder(f, decision), skip=0, fix=fix)
            encoding = "utf-8"
        else:
            source = FeedReader(f, skip=decision.bom, fix=fix)
            encoding = decision.encoding
        context = etree.iterparse(
            source,
            events=("end",),
            tag=match,
            encoding=encoding,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_blank_text=False,
            recover=False,
        )
        try:
            for _event, el in context:
                seen += 1
                if root_name is None:
                    root_name = _local(el.getroottree().getroot().tag)
                yield seen, el
                el.clear(keep_tail=True)
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as exc:
            truncated = root_name is not None and not _ends_with_root_close(path, root_name, decision.encoding)
            raise FeedError(_explain(exc, seen, truncated), record=seen + 1) from exc
        except LookupError as exc:  # an encoding libxml2 does not know
            raise FeedError(f"the feed's text encoding {decision.encoding!r} cannot be read ({exc})") from exc
        root = context.root
    if seen == 0:
        root_name = _local(root.tag) if root is not None and isinstance(root.tag, str) else ""
        if root_name.lower() == "html":
            raise FeedError("the supplier sent an HTML page instead of the feed")
        names = " or ".join(f"<{_local(t)}>" for t in tags)
        raise FeedError(f"the feed holds no {names} element (root is <{root_name}>): wrong record setting or an empty feed")
