"""Recurrence in an IANA time zone: the weekly digest's next time and ISO week, and repeating reminders.

Times are computed on the wall clock of the zone and converted to UTC last, so a daily or weekly 09:00
stays 09:00 local across daylight-saving changes (the UTC instant moves by an hour instead).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.timeparse import localize
from bot.errors import InvalidInput

MAX_EVERY_DAYS = 365
_KINDS = ("daily", "weekly", "monthly", "days")
_STEP_DAYS = {"daily": 1, "weekly": 7}


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


@dataclass(frozen=True, slots=True)
class Repeat:
    """How a reminder repeats: `daily`, `weekly`, `monthly`, or every `every` days (kind `days`)."""

    kind: str  # "daily" | "weekly" | "monthly" | "days"
    every: int = 1  # days between occurrences for kind "days"; 1 otherwise

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown repeat kind {self.kind!r}")
        if self.kind == "days":
            if not 1 <= self.every <= MAX_EVERY_DAYS:
                raise ValueError(f"every must be 1..{MAX_EVERY_DAYS} days, not {self.every}")
        elif self.every != 1:
            raise ValueError(f"every must be 1 for {self.kind}, not {self.every}")

    @property
    def code(self) -> str:
        """The storage form: `daily`, `weekly`, `monthly`, `days:3`."""
        return f"days:{self.every}" if self.kind == "days" else self.kind

    @classmethod
    def from_code(cls, code: str) -> Repeat:
        """The rule a stored `code` names; ValueError for anything that `code` never produces."""
        kind, sep, every = code.partition(":")
        if kind == "days" and sep and every.isdigit():
            return cls("days", int(every))
        if not sep and kind in {"daily", "weekly", "monthly"}:
            return cls(kind)
        raise ValueError(f"not a repeat code: {code!r}")

    @property
    def label(self) -> str:
        """Human text: `every day`, `every week`, `every month`, `every 3 days`."""
        if self.kind == "days":
            return "every day" if self.every == 1 else f"every {self.every} days"
        return {"daily": "every day", "weekly": "every week", "monthly": "every month"}[self.kind]


_NO_REPEAT = frozenset({"none", "never", "off", "no", "once"})
_EVERY = re.compile(r"^every\s+(?:(\d+)\s*)?(day|days|week|weeks|month|months)$")
REPEAT_CHOICES = (
    "`daily`, `weekly`, `monthly` or `every N days` (N from 1 to 365), or `none` for no repetition"
)


def parse_repeat(text: str) -> Repeat | None:
    """The rule a member typed; None for `none` / `never` / `off` / `no` (no repetition).

    Accepts `daily`, `weekly`, `monthly`, `every day` / `week` / `month`, `every N days` (1–365) and
    `every N weeks` (read as N×7 days); anything else is an InvalidInput saying what is accepted."""
    raw = " ".join((text or "").lower().split())
    if raw in _NO_REPEAT:
        return None
    if raw in {"daily", "weekly", "monthly"}:
        return Repeat(raw)
    match = _EVERY.match(raw)
    if match:
        number, unit = match.group(1), match.group(2).rstrip("s")
        count = 1 if number is None else int(number) if len(number) <= 6 else 10**6
        if unit == "month":
            if count == 1:
                return Repeat("monthly")
            raise InvalidInput(f"I can repeat every month, not every {count} months. Use {REPEAT_CHOICES}.")
        days = count * (7 if unit == "week" else 1)
        if count == 1:
            return Repeat("weekly" if unit == "week" else "daily")
        if not 1 <= days <= MAX_EVERY_DAYS:
            apart = "less than a day" if days == 0 else "more than a year"
            raise InvalidInput(
                f"`{_quote(raw)}` is {apart} apart: a reminder repeats every 1 to {MAX_EVERY_DAYS} days. "
                f"Use {REPEAT_CHOICES}."
            )
        return Repeat("days", days)
    raise InvalidInput(f"I can't read `{_quote(raw)}` as a repetition. Use {REPEAT_CHOICES}.")


def next_occurrence(rule: Repeat, anchor_local: datetime, zone: str, after: datetime) -> datetime:
    """The first occurrence of `rule` strictly after `after` (aware), as aware UTC.

    `anchor_local` is the wall time of the first occurrence in `zone` (naive; an aware one is first
    converted to `zone`'s wall clock). Occurrences are wall-clock times: 09:00 stays 09:00 across DST, a
    time skipped by a spring-forward change moves forward by the gap, a repeated autumn time is its first
    occurrence. Monthly keeps the anchor's day, on the last day of shorter months (31 Jan, 28 Feb,
    31 Mar). The occurrence is found arithmetically, however long ago the anchor was. Raises
    OverflowError or ValueError only past the end of the calendar (year 9999)."""
    tz = ZoneInfo(zone)
    if anchor_local.tzinfo is not None:
        anchor_local = anchor_local.astimezone(tz).replace(tzinfo=None)
    after = after.astimezone(UTC)
    after_wall = after.astimezone(tz).replace(tzinfo=None)
    if rule.kind == "monthly":
        months = (after_wall.year - anchor_local.year) * 12 + after_wall.month - anchor_local.month
        step = max(0, months - 1)
        while (when := localize(_add_months(anchor_local, step), tz)) <= after:
            step += 1
        return when
    days = rule.every if rule.kind == "days" else _STEP_DAYS[rule.kind]
    elapsed = (after_wall - anchor_local) // timedelta(days=1)
    step = max(0, elapsed // days - 1)
    while (when := localize(anchor_local + timedelta(days=step * days), tz)) <= after:
        step += 1
    return when


def wall_clock(when: datetime, zone: str) -> datetime:
    """`when` (aware) as the naive wall time in `zone`: the anchor of a repeating reminder set then."""
    return when.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole calendar months, on the last day of a month shorter than its day."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def _quote(text: str) -> str:
    return text.replace("`", "'")[:60]
