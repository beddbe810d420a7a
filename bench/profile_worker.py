"""Where a catalog worker's time goes: one worker process under cProfile while it lists generated
products on one sandbox (``python -m bench.profile_worker --channel trendyol --products 5000``).

A worker does its work on consumer and pool threads, which ``python -m cProfile`` does not see;
here every thread gets its own profiler (``threading.setprofile``) and the profiles are merged when
the process exits. The fleet around it is ``bench.fleet`` (relay, sandbox in this process, rate
limits × ``--rate-scale`` on both sides). Prints the top functions by cumulative and by own time,
and the worker's CPU seconds against the wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


def _child(out: str, argv: list[str]) -> int:
    """Runs inside the worker process: profile every thread, run the CLI, merge on exit."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profile(*_args) -> None:
        prof = cProfile.Profile()
        with lock:
            profiles.append(prof)
        prof.enable()  # replaces this hook for the rest of the thread

    threading.setprofile(start_thread_profile)
    main = cProfile.Profile()
    profiles.append(main)
    from kervan import cli

    main.enable()
    try:
        return cli.main(argv)
    finally:
        main.disable()
        with lock:
            for p in profiles:
                p.disable()
            stats = pstats.Stats(profiles[0])
            for p in profiles[1:]:
                try:
                    stats.add(p)
                except TypeError:  # a thread that never ran a profiled call
                    continue
        stats.dump_stats(out)


def profile(channel: str, products: int, rate_scale: float, top: int = 35, threads: int | None = None) -> str:
    from bench.env import fresh
    from bench.fleet import Fleet
    from bench.generate import generate
    from kervan.procs import ROOT

    env = fresh()
    fleet = Fleet(env, (channel,), rate_scale=rate_scale, worker={"threads": str(threads)} if threads else None)
    out = Path(tempfile.mkdtemp(prefix="kervan-profile-")) / f"{channel}.pstats"
    log = open(fleet.log_dir / "profiled-worker.log", "wb")  # noqa: SIM115 - closed below
    try:
        env.db.execute("UPDATE {p}product SET status = 0")
        ids = generate(env.db, products)
        fleet.start_relay()
        child_env = {**os.environ, **env.cfg.env(), "PYTHONUNBUFFERED": "1"}
        child_env.pop("KERVAN_CONFIG", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.profile_worker", "--child", str(out), "--",
             "worker", "catalog", "--channel", channel],
            cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wall = fleet.list_products(ids, timeout=120 + products * 0.5, every=0.5)
            cpu = _cpu_seconds(proc.pid)
        finally:
            proc.terminate()
            proc.wait(60)
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        text.write(f"{channel}: {products} products listed in {wall:.1f} s; worker CPU {cpu:.1f} s"
                   f" ({cpu / max(wall, 1e-9):.0%} of one core); {1000 * cpu / products:.1f} ms CPU per listing\n")
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        return text.getvalue()
    finally:
        log.close()
        fleet.close()
        env.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child(argv[1], argv[3:])
    p = argparse.ArgumentParser()
    p.add_argument("--channel", default="trendyol")
    p.add_argument("--products", type=int, default=5000)
    p.add_argument("--rate-scale", type=float, default=100.0)
    p.add_argument("--top", type=int, default=35)
    p.add_argument("--threads", type=int, default=None, help="[worker] threads of the profiled worker")
    args = p.parse_args(argv)
    from bridge import logsetup

    logsetup.setup("WARNING")
    print(profile(args.channel, args.products, args.rate_scale, args.top, args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
