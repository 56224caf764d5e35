"""Weekly recurrence in an IANA time zone: the next digest time and the ISO week it belongs to.

Times are computed on the wall clock of the zone and converted to UTC last, so a weekly 09:00 stays
09:00 local across daylight-saving changes (the UTC instant moves by an hour instead).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.timeparse import localize


def next_weekly(after: datetime, weekday: int, at: time, zone: str) -> datetime:
    """The first instant strictly after `after` that is `weekday` (0 = Monday) at `at` in `zone`, as UTC."""
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0..6, not {weekday}")
    tz = ZoneInfo(zone)
    after = after.astimezone(UTC)
    local_date = after.astimezone(tz).date()
    date = local_date + timedelta(days=(weekday - local_date.weekday()) % 7)
    candidate = localize(datetime.combine(date, at), tz)
    while candidate <= after:
        date += timedelta(days=7)
        candidate = localize(datetime.combine(date, at), tz)
    return candidate


def week_key(when: datetime, zone: str) -> str:
    """The ISO week (`2026-W02`) that `when` falls in, on the calendar of `zone`."""
    year, week, _ = when.astimezone(ZoneInfo(zone)).isocalendar()
    return f"{year}-W{week:02d}"


def parse_hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))
