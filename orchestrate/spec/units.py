"""Durations ("1h30m") and sizes ("256m", "1g"): parsed once, at the spec boundary.

Only ASCII digits count, and every value must fit what the engine holds (int64 nanoseconds,
int64 bytes): anything else is a ValueError, which the models report at the value's position.
"""

from __future__ import annotations

import math
import re

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|us|h|m|s)")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)[ \t]*([kmgt]?)i?b?", re.IGNORECASE)
_SIZE_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
INT64_MAX = 2**63 - 1
MAX_SECONDS = INT64_MAX // 1_000_000_000  # the engine keeps durations in int64 nanoseconds
_DURATION_HINT = "expected a duration like 30s, 2m or 1h30m"


def parse_duration(value: object) -> float:
    """Seconds from `30s`, `2m`, `1h30m`, `500ms`, or a bare number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(_DURATION_HINT)
    if isinstance(value, int) and abs(value) > INT64_MAX:  # float() of it could overflow
        raise ValueError(f"a duration is at most {format_duration(MAX_SECONDS)}")
    seconds = _duration_text(value) if isinstance(value, str) else float(value)
    if math.isnan(seconds):
        raise ValueError(_DURATION_HINT)
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_SECONDS:
        raise ValueError(f"a duration is at most {format_duration(MAX_SECONDS)}")
    return seconds


def _duration_text(value: str) -> float:
    text = value.strip()
    if not text:
        raise ValueError(_DURATION_HINT)
    if _NUMBER.fullmatch(text):
        return float(text)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f"{value!r} is not a duration (expected e.g. 30s, 2m, 1h30m)")
    return total


def parse_size(value: object) -> int:
    """Bytes from `64m`, `1g`, `512MiB` or a bare number of bytes."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("expected a size like 512m or 1g (a bare number is a whole number of bytes)")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a size (expected e.g. 512m, 1g)")
        amount = float(match.group(1)) * _SIZE_FACTOR[match.group(2).lower()]
        size = int(amount) if amount <= INT64_MAX else INT64_MAX + 1
    if size < 0:
        raise ValueError("a size cannot be negative")
    if size > INT64_MAX:
        raise ValueError("a size is at most 8 EiB (2^63-1 bytes)")
    return size


def format_duration(seconds: float) -> str:
    if seconds and seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"
