"""Streaming feed import against a naive full-tree parse of the same file, in the same run.

A Ticimax-shaped XML feed of 1,000,000 products (QUICK: 100,000; one variant each, so one
FeedItem per product) is generated to disk from the supplier sandbox's catalogue. Then, each in
its own child process so peak RSS (``ru_maxrss``) belongs to that method alone:

- **Kervan**: ``iter_items`` — iterparse, records cleared as it goes, field mapping, numbers,
  dedupe — consuming every item;
- **baseline**: ``etree.parse`` of the whole file (same safe parser settings), then the very same
  per-record extraction over the tree;
- **interpreter**: a child that only imports the same modules (the floor both stand on).

Reported: items/s and peak RSS of both, and the ratios (target: Kervan's peak < 150 MB whatever
the feed size; the baseline grows with the file).

``python -m bench.feed_import`` runs it alone (``QUICK=1`` for the short form); ``run(quick)``
returns the figures for bench/run.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPE = os.environ.get("FEED_BENCH_SHAPE", "ticimax")
FULL, QUICK = 1_000_000, 100_000
_FLUSH = 1 << 20


def generate(path: Path, count: int, shape: str = SHAPE, seed: int = 1) -> int:
    """Write ``count`` products of ``shape`` to ``path``, streamed; returns the file size."""
    from sandbox.supplier.feed_catalog import products
    from sandbox.supplier.feed_render import render

    size = 0
    buf: list[bytes] = []
    pending = 0
    with open(path, "wb") as f:
        for _kind, text in render(shape, products(seed, count, 1), "UTF-8"):
            data = text.encode("utf-8")
            buf.append(data)
            pending += len(data)
            if pending >= _FLUSH:
                f.write(b"".join(buf))
                size += pending
                buf, pending = [], 0
        f.write(b"".join(buf))
        size += pending
    return size


def _maxrss_mb() -> float:
    """This process's peak RSS since it was exec'd. Not ``ru_maxrss``: Linux carries that over
    from the parent through fork and exec, so a child of a runner grown to 3 GB (the bulk-listing
    benchmark's sandboxes) reported 3 GB whatever it did. ``VmHWM`` belongs to this image alone."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(mode: str, path: str, shape: str) -> dict:
    from lxml import etree

    from sandbox.supplier.feed_render import SPECS
    from workers.suppliers.model import FeedItem
    from workers.suppliers.parsers import iter_items
    from workers.suppliers.parsers.xml_mapped import RecordReader
    from workers.suppliers.spec import FeedSpec

    spec = FeedSpec.from_dict(SPECS[shape])
    items = problems = 0
    t0 = time.perf_counter()
    if mode == "stream":
        for x in iter_items(Path(path), spec):
            if isinstance(x, FeedItem):
                items += 1
            else:
                problems += 1
    elif mode == "naive":
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
        tree = etree.parse(path, parser)  # huge_tree: a whole-file tree needs it past 10 MB text runs
        reader = RecordReader(spec)
        for n, el in enumerate(tree.iter("{*}" + spec.record), start=1):
            for x in reader.items(n, el):
                if isinstance(x, FeedItem):
                    items += 1
                else:
                    problems += 1
    seconds = time.perf_counter() - t0
    return {"mode": mode, "items": items, "problems": problems, "seconds": seconds, "peak_rss_mb": _maxrss_mb()}


def _run_child(mode: str, path: Path, shape: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.feed_import", "--child", mode, str(path), shape],
                         capture_output=True, text=True, check=True, timeout=3600,
                         cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False, count: int | None = None, shape: str = SHAPE) -> dict:
    """Generate the feed, measure both methods in child processes, return the figures."""
    n = count or (QUICK if quick else FULL)
    with tempfile.TemporaryDirectory(prefix="kervan-feed-bench-") as d:
        path = Path(d) / f"{shape}-{n}.xml"
        size = generate(path, n, shape)
        floor = _run_child("idle", path, shape)
        stream = _run_child("stream", path, shape)
        naive = _run_child("naive", path, shape)
    if stream["items"] != n or naive["items"] != n:
        raise RuntimeError(f"expected {n} items, got stream={stream['items']} naive={naive['items']}")
    return {
        "items": n,
        "file_mb": size / (1 << 20),
        "interpreter_rss_mb": floor["peak_rss_mb"],
        "stream_items_per_s": n / stream["seconds"],
        "stream_peak_rss_mb": stream["peak_rss_mb"],
        "naive_items_per_s": n / naive["seconds"],
        "naive_peak_rss_mb": naive["peak_rss_mb"],
        "rss_ratio": naive["peak_rss_mb"] / stream["peak_rss_mb"],
        "speed_ratio": (n / stream["seconds"]) / (n / naive["seconds"]),
    }


def report(r: dict) -> str:
    return (
        f"| supplier feed import, {int(r['items']):,} items ({r['file_mb']:,.0f} MB XML) | "
        f"{r['stream_items_per_s']:,.0f} items/s, peak {r['stream_peak_rss_mb']:,.0f} MB | "
        f"etree.parse full tree: {r['naive_items_per_s']:,.0f} items/s, peak {r['naive_peak_rss_mb']:,.0f} MB "
        f"(interpreter alone {r['interpreter_rss_mb']:,.0f} MB) | speed {r['speed_ratio']:.2f}, "
        f"memory 1/{r['rss_ratio']:.1f} | peak < 150 MB |"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        mode, path, shape = args[1], args[2], args[3]
        print(json.dumps(_child(mode, path, shape)))
        return 0
    quick = os.environ.get("QUICK") == "1" or "--quick" in args
    r = run(quick)
    print("| benchmark | Kervan | baseline (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    print(report(r))
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
