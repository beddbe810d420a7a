"""loguru set-up for every Kervan process: human lines on a terminal, one JSON object per line
under systemd (``[log] json = true``), never variable values in tracebacks (they could hold
credentials), and a last-chance redaction of anything that looks like a secret."""

from __future__ import annotations

import re
import sys

from loguru import logger

_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization:\s*)(basic|bearer)\s+[A-Za-z0-9+/=._-]+"),
    re.compile(r"(?i)((?:api[_-]?key|api[_-]?secret|secret|password|token)\s*[=:]\s*)([^\s,&'\"}]+)"),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@\s]+)(@)"),
]


def redact(text: str) -> str:
    text = _SECRET_PATTERNS[0].sub(r"\1\2 ***", text)
    text = _SECRET_PATTERNS[1].sub(r"\1***", text)
    return _SECRET_PATTERNS[2].sub(r"\1***\3", text)


def _patch(record) -> None:
    record["message"] = redact(record["message"])


def setup(level: str = "INFO", json_lines: bool = False, **context: str) -> None:
    logger.remove()
    logger.configure(patcher=_patch, extra=context)
    logger.add(sys.stderr, level=level.upper(), serialize=json_lines, backtrace=False, diagnose=False,
               format="{time:HH:mm:ss.SSS} {level: <7} {extra[role]} {message}" if "role" in context
               else "{time:HH:mm:ss.SSS} {level: <7} {message}")
