"""The grader's words: what a CSV row, a feedback page or a log line says about an error."""

from __future__ import annotations

import re


def last_error_line(text: str) -> str:
    """The exception line of a traceback (``SomethingError: message``), else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line):
            return line
    return lines[-1] if lines else "unknown error"


def short(text: object, limit: int = 120) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
