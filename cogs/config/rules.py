"""Reminder settings: deadline offsets like `3d,1d,0` and the weekly digest's day and time."""

from __future__ import annotations

import re
from datetime import time, timedelta

from bot.errors import InvalidInput

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_OFFSET = timedelta(days=60)
MAX_OFFSETS = 6
MAX_TEXT = 100
_PART = re.compile(r"(\d+)\s*([wdhm])")
_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}


def _quote(text: str, limit: int) -> str:
    """A member's text echoed inside `code`: cut short, its own backticks unable to break out."""
    return " ".join(text.split()).replace("`", "'")[:limit]


def parse_offset(text: str) -> timedelta:
    raw = text.strip().lower()
    if raw in {"0", "0d", "0h", "0m", "at", "due"}:
        return timedelta(0)
    pos, minutes = 0, 0
    for match in _PART.finditer(raw):
        if raw[pos : match.start()].strip():
            break
        minutes += int(match.group(1)) * _MINUTES[match.group(2)]
        pos = match.end()
    if pos == 0 or raw[pos:].strip():
        raise InvalidInput(
            f"`{_quote(text, 30)}` is not an offset: use numbers with w, d, h or m, like `3d`, `12h` or `0`."
        )
    if minutes > MAX_OFFSET.total_seconds() // 60:  # checked before timedelta(), which overflows
        raise InvalidInput(
            f"`{_quote(text, 30)}` is more than 60 days: offsets can be at most 60 days before the deadline."
        )
    return timedelta(minutes=minutes)


def parse_offsets(text: str) -> list[timedelta]:
    """`3d,1d,0` → offsets before a deadline, largest first, without repeats."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"That list of offsets is too long: give at most {MAX_OFFSETS}, like `3d,1d,0`.")
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise InvalidInput("Give at least one offset, for example `3d,1d,0`.")
    offsets = sorted({parse_offset(p) for p in parts}, reverse=True)
    if len(offsets) > MAX_OFFSETS:
        raise InvalidInput(f"At most {MAX_OFFSETS} reminder offsets, please.")
    return offsets


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "0"
    for unit, size in (("d", 24 * 60), ("h", 60), ("m", 1)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def format_offsets(offsets: list[timedelta]) -> str:
    return ",".join(format_offset(o) for o in offsets)


def parse_weekday(text: str) -> int:
    key = text.strip().lower()
    for index, name in enumerate(WEEKDAYS):
        if key in {name, name[:3]}:
            return index
    raise InvalidInput(f"`{_quote(text, 20)}` is not a weekday: use Monday … Sunday.")


def parse_clock(text: str) -> time:
    match = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\s*", text.lower())
    if match and len(text) <= MAX_TEXT:
        hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        valid = 1 <= hour <= 12 if half else hour < 24
        if half:
            hour = hour % 12 + (12 if half == "pm" else 0)
        if valid and minute < 60:
            return time(hour, minute)
    raise InvalidInput(f"`{_quote(text, 20)}` is not a time of day: use 24-hour `HH:MM`, like `09:00`.")
