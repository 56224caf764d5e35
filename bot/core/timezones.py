"""Time zones: IANA names (validation, the suggestions shown while typing) and the zone words of a `when`.

Abbreviations (`CEST`, `EST`) mean the fixed offset the tz database gives them, read from the installed
tz database itself (plus a short supplement of names it no longer uses, each read from its zone); those
that stand for different offsets in different places (`IST`, `CST`) are refused, naming the zones.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

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


# Zone words in a `when`: `Europe/Berlin`, `CEST`, `UTC+2` ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneWord:
    """What a zone written in a time means."""

    tz: tzinfo  # a ZoneInfo for a named zone, a fixed offset for an abbreviation or `UTC+2`
    label: str  # how it is shown back: `Europe/Berlin`, `CEST (UTC+02:00)`
    iana: str | None  # the IANA zone it names (`ET` → America/New_York); None for a fixed offset


# Abbreviations read as a US region's zone, following its daylight-saving time.
_REGIONS = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}
_UTC_WORDS = frozenset({"UTC", "GMT", "UT", "Z"})
# Abbreviations that name different offsets in different places: refused with these places to pick from.
AMBIGUOUS: dict[str, tuple[tuple[str, str], ...]] = {
    "IST": (("India", "Asia/Kolkata"), ("Ireland", "Europe/Dublin"), ("Israel", "Asia/Jerusalem")),
    "CST": (("US Central", "America/Chicago"), ("China", "Asia/Shanghai"), ("Cuba", "America/Havana")),
    "AST": (("Atlantic", "America/Halifax"), ("Arabia", "Asia/Riyadh")),
    "BST": (("Britain", "Europe/London"), ("Bangladesh", "Asia/Dhaka")),
    "SST": (("Samoa", "Pacific/Pago_Pago"), ("Singapore", "Asia/Singapore")),
    "AMT": (("Amazon", "America/Manaus"), ("Armenia", "Asia/Yerevan")),
}
# Where the tz database uses one abbreviation for several offsets and one reading is what people mean.
PREFERRED = {"CDT": "America/Chicago", "PST": "America/Los_Angeles"}
# Abbreviations in common use that the tz database replaced by numbers (`+08`): the zone they stand
# for, and whether they name its daylight-saving time. Their offset is read from that zone.
SUPPLEMENT: dict[str, tuple[str, bool]] = {
    "MEZ": ("Europe/Berlin", False), "MESZ": ("Europe/Berlin", True),
    "TRT": ("Europe/Istanbul", False), "GET": ("Asia/Tbilisi", False), "AZT": ("Asia/Baku", False),
    "GST": ("Asia/Dubai", False), "IRST": ("Asia/Tehran", False), "AFT": ("Asia/Kabul", False),
    "UZT": ("Asia/Tashkent", False), "NPT": ("Asia/Kathmandu", False), "ICT": ("Asia/Bangkok", False),
    "SGT": ("Asia/Singapore", False), "MYT": ("Asia/Kuala_Lumpur", False), "PHT": ("Asia/Manila", False),
    "SAMT": ("Europe/Samara", False), "YEKT": ("Asia/Yekaterinburg", False), "OMST": ("Asia/Omsk", False),
    "NOVT": ("Asia/Novosibirsk", False), "KRAT": ("Asia/Krasnoyarsk", False), "IRKT": ("Asia/Irkutsk", False),
    "YAKT": ("Asia/Yakutsk", False), "VLAT": ("Asia/Vladivostok", False), "MAGT": ("Asia/Magadan", False),
    "PETT": ("Asia/Kamchatka", False), "FJT": ("Pacific/Fiji", False), "TOT": ("Pacific/Tongatapu", False),
    "ART": ("America/Argentina/Buenos_Aires", False), "BRT": ("America/Sao_Paulo", False),
    "CLT": ("America/Santiago", False), "CLST": ("America/Santiago", True), "UYT": ("America/Montevideo", False),
    "BOT": ("America/La_Paz", False), "PET": ("America/Lima", False), "COT": ("America/Bogota", False),
    "VET": ("America/Caracas", False),
}  # fmt: skip
# English words that are also abbreviations: read as zones only when written in capitals.
_WORDS = frozenset({"eat", "met", "cat", "art", "bot", "get", "pet", "tot", "wat", "west", "wet", "wit"})
_UTC_OFFSET = re.compile(r"^(?:UTC|GMT)([+-−])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_ABBREVIATION = re.compile(r"^[A-Za-z]{1,5}$")


def zone_word(word: str, *, year: int, example: str = "9am") -> ZoneWord | None:
    """What `word` means as a zone: an IANA name, `UTC`/`GMT`, `UTC+2`, or an abbreviation (`CEST`, its
    fixed offset in the tz database in or around `year`); None when it is not a zone word.

    Raises InvalidInput for an abbreviation that names several offsets (`IST`), naming the IANA zones to
    write instead (shown after `example`), and for an offset beyond ±14 hours (`UTC+15`)."""
    word = word.strip("()")
    if "/" in word and word[0].isalpha():
        try:
            name = validate(word)
        except InvalidInput:
            return None
        return ZoneWord(ZoneInfo(name), name, name)
    offset = _UTC_OFFSET.match(word)
    if offset:
        return _fixed_offset(offset, word)
    if not _ABBREVIATION.match(word):
        return None
    upper = word.upper()
    if word != upper and (word.lower() in _WORDS or len(word) < 3):
        return None
    if upper in _UTC_WORDS:
        return ZoneWord(ZoneInfo("UTC"), "UTC", "UTC")
    if upper in _REGIONS:
        name = _REGIONS[upper]
        return ZoneWord(ZoneInfo(name), f"{name} ({upper})", name)
    key = "ChST" if upper == "CHST" else upper
    if key in AMBIGUOUS:
        raise _ambiguous(key, AMBIGUOUS[key], example)
    offsets = abbreviations(year).get(key)
    if not offsets:
        return None
    if len(offsets) > 1:
        if key not in PREFERRED:
            places = tuple((name, name) for name in sorted(zones[0] for zones in offsets.values()))
            raise _ambiguous(key, places, example)
        offsets = {o: z for o, z in offsets.items() if PREFERRED[key] in z}
    ((delta, _zones),) = offsets.items()
    return ZoneWord(timezone(delta, key), f"{key} ({format_offset(delta)})", None)


def format_offset(delta: timedelta) -> str:
    """`UTC+02:00`, `UTC-03:30`."""
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _fixed_offset(match: re.Match[str], word: str) -> ZoneWord:
    sign = -1 if match.group(1) in "-−" else 1
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        shown = word.replace("`", "'")[:20]
        raise InvalidInput(f"`{shown}` is not a UTC offset: they run from UTC-12:00 to UTC+14:00.")
    delta = sign * timedelta(hours=hours, minutes=minutes)
    if not delta:
        return ZoneWord(ZoneInfo("UTC"), "UTC", "UTC")
    return ZoneWord(timezone(delta), format_offset(delta), None)


def _ambiguous(name: str, places: tuple[tuple[str, str], ...], example: str) -> InvalidInput:
    named = [f"{place} ({zone})" if place != zone else zone for place, zone in places]
    listed = ", ".join(named[:-1]) + f" or {named[-1]}"
    shown = f"{' '.join(example.split())[:60]} {places[0][1]}".strip().replace("`", "'")
    return InvalidInput(f"`{name}` could be {listed}: write the zone, e.g. `{shown}`.")


@functools.cache
def abbreviations(year: int) -> dict[str, dict[timedelta, tuple[str, ...]]]:
    """Every alphabetic abbreviation the tz database uses between `year - 1` and `year + 1` (plus the
    supplement), with each offset it stands for and the zones that use it (preferred names first). Built
    once per year (about 80 ms): the bot's start-up builds this year's in a thread, before any member's
    `when` needs it."""
    found: dict[str, dict[timedelta, set[str]]] = {}
    for name in all_zones():
        try:
            tz = ZoneInfo(name)
        except (ValueError, OSError, KeyError):  # pragma: no cover - a broken tzdata install
            continue
        for when in _samples(year):
            local = when.astimezone(tz)
            abbreviation, delta = local.tzname(), local.utcoffset()
            if abbreviation and abbreviation[0].isalpha() and delta is not None:
                found.setdefault(abbreviation, {}).setdefault(delta, set()).add(name)
    for abbreviation, (name, daylight) in SUPPLEMENT.items():
        delta = _offset_of(name, daylight, year)
        if delta is not None and abbreviation not in found:
            found[abbreviation] = {delta: {name}}
    return {
        abbreviation: {delta: tuple(sorted(zones, key=_zone_rank)) for delta, zones in offsets.items()}
        for abbreviation, offsets in found.items()
    }


def _samples(year: int) -> list[datetime]:
    return [datetime(y, m, 15, 12, tzinfo=UTC) for y in (year - 1, year, year + 1) for m in (1, 4, 7, 10)]


def _offset_of(name: str, daylight: bool, year: int) -> timedelta | None:
    """`name`'s standard (or daylight-saving) offset around `year`; None if it has no such time."""
    tz = ZoneInfo(name)
    for when in _samples(year):
        local = when.astimezone(tz)
        if bool(local.dst()) == daylight:
            return local.utcoffset()
    return None


def _zone_rank(name: str) -> tuple[int, str]:
    """Canonical `Area/City` names before legacy aliases (`Cuba`, `US/Central`, `Etc/GMT-2`)."""
    legacy = "/" not in name or name.split("/")[0] in {"Etc", "US", "Canada", "Mexico", "Brazil", "Chile"}
    return (1 if legacy else 0, name)
