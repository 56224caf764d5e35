"""IANA time zones: validation and the suggestions shown while typing."""

from __future__ import annotations

import functools
import zoneinfo

from bot.errors import InvalidInput

_ALIASES = {"utc": "UTC", "gmt": "UTC", "z": "UTC"}


@functools.cache
def all_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


@functools.cache
def _lower_index() -> dict[str, str]:
    return {z.lower(): z for z in all_zones()}


def validate(name: str) -> str:
    """The canonical IANA name for `name` (case-insensitive), or InvalidInput."""
    key = name.strip().lower().replace(" ", "_")
    canonical = _ALIASES.get(key) or _lower_index().get(key)
    if canonical is None:
        # Echoed inside `code`: one line, short, and its own backticks can't break out.
        shown = " ".join(name.split()).replace("`", "'")[:60]
        raise InvalidInput(
            f"`{shown}` is not a time zone I know. Use an IANA name such as "
            "`Europe/Berlin` or `America/New_York` (the suggestions list them)."
        )
    return canonical


def suggest(text: str, limit: int = 25) -> list[str]:
    text = text.strip().lower().replace(" ", "_")
    if not text:
        common = ["UTC", "Europe/London", "Europe/Berlin", "Europe/Warsaw", "America/New_York",
                  "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"]  # fmt: skip
        return common[:limit]
    zones = all_zones()
    starts = [z for z in zones if z.lower().startswith(text) or z.lower().split("/")[-1].startswith(text)]
    contains = [z for z in zones if text in z.lower() and z not in starts]
    return (starts + contains)[:limit]
