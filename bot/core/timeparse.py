"""Reading the `when` of reminders and deadlines: durations, dates, Discord timestamps, plain English.

Compact forms are handled here, exactly (`2h30m`, `in 2 hours`, `2026-01-10 18:00`, `<t:…>`); everything
else goes to `dateparser` with "now" in the member's time zone as its base and a preference for the
future. Durations are added to the real instant (so "in 2 hours" is 2 real hours even across a
daylight-saving change); wall-clock times are read in the member's IANA zone.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core import timezones
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
_DISCORD_TS = re.compile(r"^<t:(-?\d{1,30})(?::[tTdDfFsSR])?>$")
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


def date_order_for(locale: str | None) -> str:
    """How a member's Discord language writes numeric dates: month first for `en-US`, else day first."""
    return "MDY" if (locale or "en-US") == "en-US" else "DMY"


def parse_when(text: str, *, now: datetime, zone: str = "UTC", date_order: str = "MDY") -> ParsedTime:
    """The instant `text` means, read in `zone` with `now` (aware) as "now".

    Raises InvalidInput, echoing how the input was understood, when it is unreadable, in the past,
    or more than five years ahead — never another exception, and never a reading that ignored part of
    the input (`tomorrow 25:00` is refused, not read as "tomorrow")."""
    raw = " ".join((text or "").split())
    if not raw:
        raise InvalidInput(f"Tell me when, for example {EXAMPLES}.")
    if len(raw) > 100:
        raise InvalidInput(f"That time is too long to read. Use something like {EXAMPLES}.")
    raw, zone = _split_zone(raw, zone)
    tz = _zone(zone)
    now = now.astimezone(UTC)
    try:
        when = _read(raw, now, tz, date_order)
        if when is not None:
            when = when.astimezone(UTC).replace(microsecond=0)
    except (OverflowError, ValueError, OSError) as exc:  # a date beyond what a calendar can hold
        raise InvalidInput(
            f"I couldn't read `{_quote(raw)}` as a time between now and five years ahead. Try {EXAMPLES}."
        ) from exc
    if when is None:
        raise InvalidInput(f"I couldn't read `{_quote(raw)}` as a time. Try {EXAMPLES}.")
    shown = _explain(when, zone)
    if when <= now:
        raise InvalidInput(
            f"I read `{_quote(raw)}` as {shown}, which is in the past. Give a time in the future "
            f"(times without a zone are read in `{zone}`)."
        )
    if when - now > MAX_AHEAD:
        raise _too_far(raw, shown)
    return ParsedTime(when, zone)


def _too_far(raw: str, shown: str | None = None) -> InvalidInput:
    read = f" as {shown}" if shown else ""
    return InvalidInput(
        f"I read `{_quote(raw)}`{read}, more than five years ahead (the furthest I schedule). "
        "Pick a nearer time."
    )


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError: caught below
        raise InvalidInput(
            f"`{_quote(zone)}` is not a time zone I know; set yours with `/remind timezone`."
        ) from exc
    except KeyError as exc:
        raise InvalidInput(
            f"The time zone `{_quote(zone)}` is not known any more; set yours again with `/remind timezone`."
        ) from exc


def _split_zone(raw: str, zone: str) -> tuple[str, str]:
    """`18:00 Europe/Berlin`: a trailing IANA zone name is the zone to read the rest in."""
    head, _, last = raw.rpartition(" ")
    if head and "/" in last and not any(c.isdigit() for c in last):
        try:
            return head, timezones.validate(last)
        except InvalidInput:
            return raw, zone
    return raw, zone


def parse_duration(text: str) -> timedelta | None:
    """`2h30m`, `in 2 hours`, `1 day and 3 hours`, `an hour` → timedelta; None when not a duration.

    Raises InvalidInput for a duration longer than five years (`99999999999 weeks`)."""
    raw = " ".join(text.lower().split())
    if not _DURATION.match(raw):
        return None
    body = re.sub(r"\ban?\b(?=\s*[a-z])", "1", raw)
    total = 0.0
    for amount, unit in _DURATION_PART.findall(body):
        total += float(amount) * _UNIT_SECONDS[unit]  # float(): no int digit limit; huge is inf
    if not math.isfinite(total) or total > MAX_AHEAD.total_seconds():
        raise _too_far(text.strip())
    return timedelta(seconds=total) if total > 0 else None


def _read(raw: str, now: datetime, tz: ZoneInfo, date_order: str = "MDY") -> datetime | None:
    match = _DISCORD_TS.match(raw)
    if match:
        stamp = int(match.group(1))
        if stamp > now.timestamp() + MAX_AHEAD.total_seconds():
            raise _too_far(raw)
        return datetime.fromtimestamp(max(stamp, 0), tz=UTC)  # before 1970 is as past as 1970
    lowered = raw.lower()
    if lowered in {"now", "right now"}:
        return now
    duration = parse_duration(lowered)
    if duration is not None:
        return now + duration
    iso = _read_iso(raw, now, tz)
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
    _check_every_part_is_read(raw)
    return _dateparser(raw, now, tz, date_order)


def _day_and_clock(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """`18:00`, `9am`, `today 18:00`, `tomorrow at 9`, `9pm tomorrow`: a wall-clock time on a near day."""
    match = _DAY_CLOCK.match(text) or _CLOCK_DAY.match(text)
    if not match:
        return None
    day, clock_text = match.group("day"), match.group("clock")
    clock = _clock(clock_text)
    if clock is None:
        raise _not_a_clock(clock_text)
    local_now = now.astimezone(tz)
    date = local_now.date() + timedelta(days=1 if day == "tomorrow" else 0)
    when = localize(datetime.combine(date, clock), tz)
    if day is None and when <= now:  # a bare time of day that has passed today means tomorrow
        when = localize(datetime.combine(date + timedelta(days=1), clock), tz)
    return when


def _read_iso(raw: str, now: datetime, tz: ZoneInfo) -> datetime | bool | None:
    """An ISO-like date (and time); False when `raw` is not of that shape, None when it is invalid."""
    match = _ISO.match(raw)
    if not match:
        return False
    year, month, day, hour, minute, second, zone = match.groups()
    if int(year) > now.year + 6:  # also keeps the arithmetic below inside the calendar (year 9999)
        raise _too_far(raw)
    try:
        naive = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))  # noqa: DTZ001
    except ValueError:
        return None
    if naive.year < now.year - 1:  # long past; also keeps year 1 from leaving the calendar in UTC
        raise InvalidInput(
            f"I read `{_quote(raw)}` as a date in the year {naive.year}, which is in the past. Give a time "
            "in the future."
        )
    if zone is None:
        return localize(naive, tz)
    if zone.upper() in {"Z", "UTC"}:
        return naive.replace(tzinfo=UTC)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise InvalidInput(f"`{_quote(zone)}` is not a UTC offset: they run from -12:00 to +14:00.")
    return (naive - sign * timedelta(hours=hours, minutes=minutes)).replace(tzinfo=UTC)


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
            if re.fullmatch(_CLOCK_TEXT, rest):
                raise _not_a_clock(rest)
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


# Words that give a number next to them its meaning, for `_check_every_part_is_read`.
_UNIT_WORDS = frozenset({
    "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "h", "hr", "hrs",
    "hour", "hours", "d", "day", "days", "w", "wk", "wks", "week", "weeks", "fortnight", "fortnights",
    "mo", "month", "months", "y", "yr", "yrs", "year", "years", "am", "pm", "a.m.", "p.m.", "a.m", "p.m",
    "noon", "midnight", "o'clock", "oclock",
})  # fmt: skip
_MONTHS = frozenset({
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul",
    "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec",
    "december",
})  # fmt: skip
_ALLOWED = re.compile(r"[\w\s:.,/+\-@'’()]*")
_CLOCKS = re.compile(r"(?<![\d:])(\d+):(\d+)(?::(\d+))?(?![\d:])")
_BARE_NUMBER = re.compile(r"(?<![\w.:/+\-])(\d+)(?![\w.:/\-])")


def _check_every_part_is_read(raw: str) -> None:
    """Before free text goes to dateparser, which silently skips what it can't use (`tomorrow 25:00` as
    "tomorrow", `in 10^20 seconds` as "in 20 seconds"): refuse symbols, impossible clock times, numbers
    too large for any date, and numbers that nothing around them gives a meaning."""
    lowered = raw.lower()
    if not _ALLOWED.fullmatch(lowered):
        odd = next(c for c in lowered if not _ALLOWED.fullmatch(c))
        raise InvalidInput(
            f"I couldn't read `{_quote(raw)}` as a time: `{_quote(odd)}` has no meaning in one. Try {EXAMPLES}."
        )
    for match in _CLOCKS.finditer(lowered):
        hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise _not_a_clock(match.group(0))
    big = re.search(r"\d{5,}", lowered)
    if big:
        raise InvalidInput(
            f"I couldn't read `{_quote(raw)}` as a time: `{_quote(big.group(0))}` is too large a number "
            f"for a date or time. Try {EXAMPLES}."
        )
    for match in _BARE_NUMBER.finditer(lowered):
        number = match.group(1)
        before = re.findall(r"[a-z.'’]+|\d+", lowered[: match.start()])
        after = re.findall(r"[a-z.'’]+|\d+", lowered[match.end() :])
        previous, following = (before[-1] if before else ""), (after[0] if after else "")
        if following.strip(".") in _UNIT_WORDS or following in _UNIT_WORDS or following in _MONTHS:
            continue
        if previous.strip(".") in _MONTHS or (len(number) == 4 and number[0] != "0"):
            continue
        if previous in {"at", "@"} or lowered[: match.start()].rstrip().endswith("@"):
            if int(number) > 23:
                raise _not_a_clock(number)
            continue
        if following in {"of", "st", "nd", "rd", "th"} and int(number) <= 31:
            continue
        raise InvalidInput(
            f"I couldn't tell what `{number}` means in `{_quote(raw)}`: give a clock time (`9am`, `18:00`), "
            f"a date (`jan 10`) or a duration (`in 2 hours`). Try {EXAMPLES}."
        )


def _not_a_clock(text: str) -> InvalidInput:
    return InvalidInput(
        f"`{_quote(text.strip())}` is not a time of day: use 00:00–23:59, or 1–12 with am/pm (`9pm`)."
    )


def _dateparser(raw: str, now: datetime, tz: ZoneInfo, date_order: str = "MDY") -> datetime | None:
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
                    "DATE_ORDER": date_order if date_order in {"MDY", "DMY", "YMD"} else "MDY",
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
    try:
        local = when.astimezone(ZoneInfo(zone))
    except (OverflowError, ValueError):  # the very edge of the calendar: said in UTC
        local, zone = when, "UTC"
    return f"{local:%a %d %b %Y %H:%M} {zone} (<t:{int(when.timestamp())}:f>)"


def _quote(text: str) -> str:
    return text.replace("`", "'")[:100]
