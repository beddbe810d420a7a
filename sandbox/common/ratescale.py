"""One factor on a sandbox's documented rate limits (``rate_scale``, ``--rate-scale``).

A factor ``k`` admits ``k`` times the documented requests per window (a token bucket: ``k`` times
its refill rate); the fleet's clients are scaled by the same factor with ``[ratelimit] scale``.
1 — the default — leaves every limit exactly as documented. Used where 100,000 products must be
listed in minutes (the benchmarks), never to describe a real marketplace.
"""

from __future__ import annotations

import argparse


def scaled(limit: int, scale: float) -> int:
    """``limit`` requests per window at ``scale``: rounded down, at least 1; 0 (unlimited) stays 0."""
    if scale == 1 or limit <= 0:
        return limit
    return max(1, int(limit * scale))


def check(scale: float) -> float:
    value = float(scale)
    if not value > 0:
        raise ValueError(f"rate_scale must be > 0, not {scale!r}")
    return value


def add_option(parser: argparse.ArgumentParser) -> None:
    """``--rate-scale`` on a sandbox's command line."""
    parser.add_argument(
        "--rate-scale", type=float, default=1.0,
        help="multiply every documented rate limit by this (10 = ten times the requests per window;"
             " the fleet needs the same [ratelimit] scale)",
    )


__all__ = ["add_option", "check", "scaled"]
