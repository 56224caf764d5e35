"""Reading the `when` of reminders and deadlines: durations, dates, Discord timestamps, plain English.

Compact forms are handled here, exactly (`2h30m`, `in 2 hours`, `2026-01-10 18:00`, `<t:…>`); everything
else goes to `dateparser` with "now" in the member's time zone as its base and a preference for the
future. Durations are added to the real instant (so "in 2 hours" is 2 real hours even across a
daylight-saving change); wall-clock times are read in the member's IANA zone.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput

MAX_AHEAD = timedelta(days=5 * 366)
EXAMPLES = (
    "`in 2 hours`, `2h30m`, `tomorrow 18:00`, `next friday 9am`, `2026-01-10 18:00` or `<t:1767000000>`"
)

_UNIT_SECONDS = {
    "w": 7 * 86400, "week": 7 * 86400, "weeks": 7 * 86400, "wk": 7 * 86400, "wks": 7 * 86400,
    "d": 86400, "day": 86400, "days": 86400,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
}  # fmt: skip
_UNIT_NAMES = "|".join(sorted(_UNIT_SECONDS, key=len, reverse=True))
_DURATION_PART = re.compile(rf"(\d+(?:\.\d+)?)\s*({_UNIT_NAMES})(?![a-z])")
_DURATION = re.compile(
    rf"^(?:in\s+)?(?:(?:\d+(?:\.\d+)?|an?)\s*(?:{_UNIT_NAMES})(?![a-z])(?:\s*,\s*|\s+and\s+|\s*)?)+(?:\s+from\s+now)?$"
)
_DISCORD_TS = re.compile(r"^<t:(-?\d{1,13})(?::[tTdDfFsSR])?>$")
_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_NEXT_WEEKDAY = re.compile(
    r"^next\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b(.*)$"
)
_CLOCK_TEXT = r"\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?"
_DAY_CLOCK = re.compile(rf"^(?:(?P<day>today|tonight|tomorrow)\s+)?(?:at\s+|@\s*)?(?P<clock>{_CLOCK_TEXT})$")
_CLOCK_DAY = re.compile(rf"^(?:at\s+)?(?P<clock>{_CLOCK_TEXT})\s+(?P<day>today|tonight|tomorrow)$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class ParsedTime:
    when: datetime  # aware, UTC
    zone: str  # the IANA zone the input was read in

    @property
    def timestamp(self) -> int:
        return int(self.when.timestamp())


def parse_when(text: str, *, now: datetime, zone: str = "UTC") -> ParsedTime:
    """The instant `text` means, read in `zone` with `now` (aware) as "now".

    Raises InvalidInput, echoing how the input was understood, when it is unreadable, in the past,
    or more than five years ahead."""
    raw = " ".join((text or "").split())
    if not raw:
        raise InvalidInput(f"Tell me when, for example {EXAMPLES}.")
    if len(raw) > 100:
        raise InvalidInput(f"That time is too long to read. Use something like {EXAMPLES}.")
    tz = ZoneInfo(zone)
    now = now.astimezone(UTC)
    when = _read(raw, now, tz)
    if when is None:
        raise InvalidInput(f"I couldn't read `{_quote(raw)}` as a time. Try {EXAMPLES}.")
    when = when.astimezone(UTC).replace(microsecond=0)
    shown = _explain(when, zone)
    if when <= now:
        raise InvalidInput(
            f"I read `{_quote(raw)}` as {shown}, which is in the past. Give a time in the future "
            f"(times without a zone are read in `{zone}`)."
        )
    if when - now > MAX_AHEAD:
        raise InvalidInput(
            f"I read `{_quote(raw)}` as {shown}, more than five years ahead. Pick a nearer time."
        )
    return ParsedTime(when, zone)


def parse_duration(text: str) -> timedelta | None:
    """`2h30m`, `in 2 hours`, `1 day and 3 hours`, `an hour` → timedelta; None when not a duration."""
    raw = " ".join(text.lower().split())
    if not _DURATION.match(raw):
        return None
    body = re.sub(r"\ban?\b(?=\s*[a-z])", "1", raw)
    total = 0.0
    for amount, unit in _DURATION_PART.findall(body):
        total += float(amount) * _UNIT_SECONDS[unit]
    return timedelta(seconds=total) if total > 0 else None


def _read(raw: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    match = _DISCORD_TS.match(raw)
    if match:
        try:
            return datetime.fromtimestamp(int(match.group(1)), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    lowered = raw.lower()
    if lowered in {"now", "right now"}:
        return now
    duration = parse_duration(lowered)
    if duration is not None:
        try:
            return now + duration
        except OverflowError:
            return None
    iso = _read_iso(raw, tz)
    if iso is not False:
        return iso
    match = _NEXT_WEEKDAY.match(lowered)
    if match:
        return _next_weekday(match.group(1), match.group(2).strip(), now, tz)
    if lowered.isdigit():  # "5": five o'clock, five minutes, the 5th? Too ambiguous to guess.
        return None
    day_and_clock = _day_and_clock(lowered, now, tz)
    if day_and_clock is not None:
        return day_and_clock
    return _dateparser(raw, now, tz)


def _day_and_clock(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """`18:00`, `9am`, `today 18:00`, `tomorrow at 9`, `9pm tomorrow`: a wall-clock time on a near day."""
    match = _DAY_CLOCK.match(text) or _CLOCK_DAY.match(text)
    if not match:
        return None
    day, clock_text = match.group("day"), match.group("clock")
    clock = _clock(clock_text)
    if clock is None:
        return None
    local_now = now.astimezone(tz)
    date = local_now.date() + timedelta(days=1 if day == "tomorrow" else 0)
    when = localize(datetime.combine(date, clock), tz)
    if day is None and when <= now:  # a bare time of day that has passed today means tomorrow
        when = localize(datetime.combine(date + timedelta(days=1), clock), tz)
    return when


def _read_iso(raw: str, tz: ZoneInfo) -> datetime | bool | None:
    """An ISO-like date (and time); False when `raw` is not of that shape, None when it is invalid."""
    match = _ISO.match(raw)
    if not match:
        return False
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        naive = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))  # noqa: DTZ001
    except ValueError:
        return None
    if zone is None:
        return localize(naive, tz)
    if zone.upper() in {"Z", "UTC"}:
        return naive.replace(tzinfo=UTC)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (naive - sign * offset).replace(tzinfo=UTC)


def _next_weekday(day: str, rest: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """`next friday [9am]`: the first such weekday after today, at the given time (default: now's time)."""
    index = next(i for i, name in enumerate(_WEEKDAYS) if name.startswith(day[:3]))
    local_now = now.astimezone(tz)
    days = (index - local_now.weekday()) % 7 or 7
    date = (local_now + timedelta(days=days)).date()
    rest = re.sub(r"^(at|@)\s+", "", rest)
    if not rest:
        clock = local_now.time().replace(second=0, microsecond=0, tzinfo=None)
    else:
        parsed = _clock(rest)
        if parsed is None:
            return None
        clock = parsed
    return localize(datetime.combine(date, clock), tz)


def _clock(text: str) -> time | None:
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", text.strip())
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _dateparser(raw: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    import dateparser  # imported lazily: it takes a moment to load its language data

    local_now = now.astimezone(tz).replace(tzinfo=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = dateparser.parse(
                raw,
                languages=["en"],
                settings={
                    "RELATIVE_BASE": local_now,
                    "PREFER_DATES_FROM": "future",
                    "RETURN_AS_TIMEZONE_AWARE": True,
                    "TIMEZONE": tz.key,
                    "TO_TIMEZONE": "UTC",
                },
            )
        except (ValueError, OverflowError, TypeError):
            return None
    if result is None:
        return None
    if result.tzinfo is None:
        return localize(result, tz)
    return result.astimezone(UTC)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as aware UTC. A time skipped by a spring-forward change moves forward
    by the gap (02:30 → 03:30); a repeated autumn time means its first occurrence."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _explain(when: datetime, zone: str) -> str:
    local = when.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y %H:%M} {zone} (<t:{int(when.timestamp())}:f>)"


def _quote(text: str) -> str:
    return text.replace("`", "'")[:100]
