"""``iter_items(path, spec)``: every FeedItem (and ItemProblem) of a downloaded feed file, streamed.

The file may still be gzip/zip (recognised from its bytes): it is unpacked beside itself first,
within ``spec.max_inflated``. A FeedError raised at any point — even after items were yielded —
means the whole run must be quarantined: a truncated feed yields its first records and *then*
fails, and nothing may be zeroed or disabled on the strength of it.

Repeated keys (FeedItem.key) are reported as an ItemProblem just before the later item; the later
item is still yielded, so applying in feed order makes the last one win.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..archive import unpack
from ..model import FeedError, FeedItem, ItemProblem
from ..spec import FeedSpec
from .csv_feed import iter_csv
from .dedupe import SeenKeys
from .gmc import iter_gmc
from .json_feed import iter_json
from .xml_mapped import iter_xml

_PARSERS = {"gmc": iter_gmc, "xml": iter_xml, "csv": iter_csv, "json": iter_json}


def iter_items(path: Path | str, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    path = Path(path)
    if not path.is_file():
        raise FeedError(f"the feed file {path.name} does not exist")
    unpacked = unpack(path, path.with_name(path.name + ".unpacked"), spec.max_inflated)
    try:
        if (unpacked or path).stat().st_size == 0:
            raise FeedError("the feed file is empty")
        seen = SeenKeys()
        for x in _PARSERS[spec.format](unpacked or path, spec):
            if isinstance(x, FeedItem):
                previous = seen.add(x.key, x.record)
                if previous is not None:
                    where = "the same record" if previous == x.record else f"record {previous}"
                    yield ItemProblem(x.record, f"duplicate code {x.code!r} (also in {where}); the last one wins", x.code)
            yield x
    finally:
        if unpacked is not None:
            unpacked.unlink(missing_ok=True)


__all__ = ["iter_items"]
