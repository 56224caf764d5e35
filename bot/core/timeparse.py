"""Reading the `when` of reminders and deadlines: durations, dates, Discord timestamps, plain English.

Compact forms are handled here, exactly (`2h30m`, `in 2 hours`, `2026-01-10 18:00`, `<t:…>`); everything
else goes to `dateparser` with "now" in the member's time zone as its base and a preference for the
future. Durations are added to the real instant (so "in 2 hours" is 2 real hours even across a
daylight-saving change); wall-clock times are read in the member's IANA zone.
"""

from __future__ import annotations

import calendar
import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
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
    # The IANA zone a repeat of this time keeps its wall clock in: a zone named in the text
    # (`18:00 Europe/Berlin`, `9am ET`, `9am UTC`), else the member's zone, also when an abbreviation
    # or offset (`9am CEST`, `9am UTC+2`) fixed the instant.
    zone: str

    @property
    def timestamp(self) -> int:
        return int(self.when.timestamp())


# How each Discord language writes numeric dates. Month first: American English only. Year first:
# Japanese, Chinese, Korean, Hungarian and Lithuanian (year-less dates there are month first: 2/1 is
# 1 February). Day first: every other language. No language known (None): month first, as before.
_YEAR_FIRST = frozenset({"ja", "zh-cn", "zh-tw", "ko", "hu", "lt"})


def date_order_for(locale: str | None) -> str:
    """The order ("DMY", "MDY" or "YMD") in which a member's Discord language (`str(interaction.locale)`,
    e.g. "en-US", "de") writes numeric dates."""
    key = (locale or "en-US").strip().replace("_", "-").lower()
    if key == "en-us":
        return "MDY"
    return "YMD" if key in _YEAR_FIRST else "DMY"


def parse_when(text: str, *, now: datetime, zone: str = "UTC", date_order: str = "MDY") -> ParsedTime:
    """The instant `text` means, read in `zone` with `now` (aware) as "now", numeric dates in `date_order`
    (see `date_order_for`). A zone in the text (`18:00 Europe/Berlin`, `9am CEST`, `9am UTC+2`) is the
    one the rest is read in.

    Raises InvalidInput, echoing how the input was understood, when it is unreadable, in the past,
    or more than five years ahead — never another exception, and never a reading that ignored part of
    the input (`tomorrow 25:00` is refused, not read as "tomorrow")."""
    raw = " ".join((text or "").split())
    if not raw:
        raise InvalidInput(f"Tell me when, for example {EXAMPLES}.")
    if len(raw) > 100:
        raise InvalidInput(f"That time is too long to read. Use something like {EXAMPLES}.")
    now = now.astimezone(UTC)
    raw, word = _split_zone(raw, now)
    if word is None:
        tz, label, repeat_zone = _zone(zone), zone, zone
    else:
        tz, label, repeat_zone = word.tz, word.label, word.iana or _zone(zone).key
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
    shown = _explain(when, tz, label)
    if when <= now:
        read_in = f"times without a zone are read in `{zone}`" if word is None else f"read in {label}"
        raise InvalidInput(
            f"I read `{_quote(raw)}` as {shown}, which is in the past. Give a time in the future ({read_in})."
        )
    if when - now > MAX_AHEAD:
        raise _too_far(raw, shown)
    return ParsedTime(when, repeat_zone)


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


# Words of a time that are written in capitals without being zones (`9 AM`, `FRI`), for the refusal of
# an unknown abbreviation.
_TIME_WORDS = frozenset({
    "am", "pm", "at", "on", "in", "and", "of", "the", "from", "now", "ago", "next", "today", "tonight",
    "tomorrow", "noon", "midnight", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat",
    "sun", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "st", "nd",
    "rd", "th", "a", "an",
})  # fmt: skip


def _split_zone(raw: str, now: datetime) -> tuple[str, timezones.ZoneWord | None]:
    """A zone written in the text (`18:00 Europe/Berlin`, `9am CEST`, `(UTC+2)`), and the text without it.

    Refuses two zones, an ambiguous abbreviation (`IST`), and a last word in capitals that looks like
    an abbreviation but is none (`9am XYZT`)."""
    words = raw.split(" ")
    found: list[tuple[int, timezones.ZoneWord]] = []
    for index, token in enumerate(words):
        word = token.strip(",")
        rest = " ".join(words[:index] + words[index + 1 :])
        meaning = timezones.zone_word(word, year=now.year, example=rest)
        if meaning is not None:
            found.append((index, meaning))
    if len(found) > 1:
        named = " and ".join(f"`{_quote(words[i].strip(','))}`" for i, _ in found)
        raise InvalidInput(f"`{_quote(raw)}` names two time zones, {named}: keep one.")
    if found:
        index, meaning = found[0]
        rest = " ".join(words[:index] + words[index + 1 :]).strip(" ,")
        if not rest:
            raise InvalidInput(f"Tell me when in {meaning.label}, for example `9am {words[index]}`.")
        return rest, meaning
    last = words[-1].strip("(),")
    if (
        len(words) > 1
        and re.fullmatch(r"[A-Z]{2,5}", last)
        and last.lower() not in _TIME_WORDS | _MONTHS | _UNIT_WORDS
    ):
        raise InvalidInput(
            f"`{_quote(last)}` is not a time zone I know: write an IANA zone such as "
            f"`{_quote(' '.join(words[:-1]))} Europe/Berlin`, or an offset such as `UTC+2`."
        )
    return raw, None


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


def _read(raw: str, now: datetime, tz: tzinfo, date_order: str = "MDY") -> datetime | None:
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
    numeric = _read_numeric_date(lowered, now, tz, date_order)
    if numeric is not None:
        return numeric
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


def _day_and_clock(text: str, now: datetime, tz: tzinfo) -> datetime | None:
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


def _read_iso(raw: str, now: datetime, tz: tzinfo) -> datetime | bool | None:
    """An ISO-like date (and time); False when `raw` is not of that shape, None when it is invalid."""
    match = _ISO.match(raw)
    if not match:
        return False
    year, month, day, hour, minute, second, zone = match.groups()
    _check_year(int(year), raw, now)
    calendar_day = _calendar_date(int(year), int(month), int(day), raw, "as year-month-day")
    try:
        naive = datetime.combine(calendar_day, time(int(hour or 0), int(minute or 0), int(second or 0)))
    except ValueError:
        return None
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


_DATE = r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?:(?P=sep)(?P<c>\d{1,4}))?(?P<dot>\.)?"
_DATE_CLOCK = re.compile(rf"^(?:on\s+)?{_DATE}(?:,?\s+(?:at\s+|@\s*)?(?P<clock>{_CLOCK_TEXT}))?$")
_CLOCK_DATE = re.compile(rf"^(?:at\s+|@\s*)?(?P<clock>{_CLOCK_TEXT}),?\s+(?:on\s+)?{_DATE}$")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")  # fmt: skip
_ORDER_SAID = {
    "DMY": "day first, as your Discord language writes dates",
    "MDY": "month first, as your Discord language writes dates",
    "YMD": "year first",
}


def _read_numeric_date(text: str, now: datetime, tz: tzinfo, date_order: str) -> datetime | None:
    """`01.02.2026`, `1/2/26 18:00`, `9am 10/01/2026`, `2026/01/10`, `1/2`, `1.2.`: a numeric date (and
    time), day and month in the member's `date_order`; a four-digit year first is read as written.
    None when `text` is not of that shape; InvalidInput when it is, but names no day of a calendar."""
    match = _DATE_CLOCK.match(text) or _CLOCK_DATE.match(text)
    if not match:
        return None
    a, sep, b, c, clock_text = (match.group(k) for k in ("a", "sep", "b", "c", "clock"))
    if c is None and (len(a) > 2 or not (sep == "/" or (sep == "." and match.group("dot")))):
        return None  # `18.00` is a clock, `2026/01` no date
    shown = match.group(0)
    order = date_order if date_order in _ORDER_SAID else "MDY"
    if c is None:  # no year: the next such day, this year or next
        month, day = (int(b), int(a)) if order == "DMY" else (int(a), int(b))
        local_today = now.astimezone(tz).date()
        year = local_today.year + (1 if (month, day) < (local_today.month, local_today.day) else 0)
        how = "day first" if order == "DMY" else "month first"
        how += ", as your Discord language writes dates"
    elif len(a) == 4:
        if len(c) > 2:
            raise _unreadable_date(shown)
        year, month, day, how = int(a), int(b), int(c), _ORDER_SAID["YMD"]
    elif len(a) <= 2 and len(c) in (2, 4):
        year = int(c) + (2000 if len(c) == 2 else 0)
        first, second = int(a), int(b)
        if order == "YMD":
            if len(c) == 2 or (first <= 12 and second <= 12 and first != second):
                raise InvalidInput(
                    f"I can't tell the day from the month in `{_quote(shown)}`: write the year first, "
                    f"e.g. `{year:04d}/{second:02d}/{first:02d}`."
                )
            order = "DMY" if first > 12 else "MDY"
            how = "day first" if order == "DMY" else "month first"  # the only reading with a month
        else:
            how = _ORDER_SAID[order]
        day, month = (first, second) if order == "DMY" else (second, first)
    else:
        raise _unreadable_date(shown)
    _check_year(year, shown, now)
    calendar_day = _calendar_date(year, month, day, shown, how, swap=c is not None and len(a) <= 2)
    clock = time(0, 0)
    if clock_text is not None:
        parsed = _clock(clock_text)
        if parsed is None:
            raise _not_a_clock(clock_text)
        clock = parsed
    return localize(datetime.combine(calendar_day, clock), tz)


def _calendar_date(year: int, month: int, day: int, raw: str, how: str, *, swap: bool = False) -> date:
    """The day `year`, `month`, `day` name, or InvalidInput saying which part is impossible and how `raw`
    was read (`how`: "day first, as your Discord language writes dates"); with `swap`, the other reading
    of day and month is suggested when it is a real day."""
    read = f"I read `{_quote(raw)}` {how}"
    if not 1 <= month <= 12:
        hint = ""
        if swap and 1 <= day <= 12 and 1 <= month <= calendar.monthrange(year, day)[1]:
            hint = f" If you meant {month} {_MONTH_NAMES[day - 1]} {year}, write `{year:04d}-{day:02d}-{month:02d}`."
        raise InvalidInput(f"{read}, and there is no month {month}.{hint}")
    last = calendar.monthrange(year, month)[1]
    if day < 1 or day > 31:
        raise InvalidInput(f"{read}, and no month has a day {day}.")
    if day > last:
        raise InvalidInput(f"{_MONTH_NAMES[month - 1]} {year} has no {_ordinal(day)}: {read}.")
    return date(year, month, day)


def _check_year(year: int, raw: str, now: datetime) -> None:
    """Refuses a year far outside the next five years, before any arithmetic can leave the calendar."""
    if year > min(now.year + 6, 9999):
        raise _too_far(raw)
    if year < max(now.year - 1, 1):
        raise InvalidInput(
            f"I read `{_quote(raw)}` as a date in the year {year}, which is in the past. Give a time "
            "in the future."
        )


def _unreadable_date(raw: str) -> InvalidInput:
    return InvalidInput(
        f"I couldn't read `{_quote(raw)}` as a date: write the year with four digits, e.g. `01.02.2026`, "
        "`01/02/2026` or `2026-02-01`."
    )


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _next_weekday(day: str, rest: str, now: datetime, tz: tzinfo) -> datetime | None:
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


def _dateparser(raw: str, now: datetime, tz: tzinfo, date_order: str = "MDY") -> datetime | None:
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
                    "TIMEZONE": _dateparser_zone(tz, local_now),
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


def _dateparser_zone(tz: tzinfo, local_now: datetime) -> str:
    """The zone as dateparser takes it: an IANA name, or a fixed offset written `+0200`."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    minutes = int((tz.utcoffset(local_now) or timedelta(0)).total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """A wall-clock time in `tz` as aware UTC. A time skipped by a spring-forward change moves forward
    by the gap (02:30 → 03:30); a repeated autumn time means its first occurrence."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _explain(when: datetime, tz: tzinfo, label: str) -> str:
    try:
        local = when.astimezone(tz)
    except (OverflowError, ValueError):  # the very edge of the calendar: said in UTC
        local, label = when, "UTC"
    return f"{local:%a %d %b %Y %H:%M} {label} (<t:{int(when.timestamp())}:f>)"


def _quote(text: str) -> str:
    return text.replace("`", "'")[:100]
