"""Properties of every parse of a member's time text: any string either means an instant between now and
five years ahead, or is refused with InvalidInput — never another exception, never a partial reading."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core import recurrence, timezones
from bot.core.timeparse import MAX_AHEAD, localize, parse_when
from bot.errors import InvalidInput
from cogs.config import rules as schedule_rules

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata",
     "Australia/Lord_Howe", "America/St_Johns"]
)  # fmt: skip
NOWS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))
BIG = st.one_of(st.integers(0, 100), st.integers(0, 10**6), st.integers(0, 10**40))
UNITS = st.sampled_from(["s", "seconds", "m", "minutes", "h", "hours", "d", "days", "w", "weeks", "months"])
WORDS = st.sampled_from(
    ["in", "at", "on", "tomorrow", "today", "tonight", "next", "friday", "mon", "jan", "december", "of",
     "and", "from", "now", "ago", "am", "pm", "noon", "week", "year", "the", "5th", "^", "-", "+", ":", ".",
     "/", ",", "@", "<t:", ">", "UTC", "CEST", "Europe/Berlin", "Z", "IST", "EST", "cest", "XYZT", "(CEST)",
     "UTC+2", "GMT-3:30", "UTC+99", "ET", "MESZ", "1.2.", "01/02/2026", "31.02.2026", "13/13/26"]
)  # fmt: skip
ZONE_WORDS = st.sampled_from(
    ["", " CEST", " CET", " EST", " PST", " IST", " CST", " BST", " ET", " UTC", " Z", " UTC+2", " UTC-14:30",
     " GMT+05:45", " Europe/Berlin", " Etc/GMT-14", " XYZT", " (CEST)", " cest", " ChST", " NPT"]
)  # fmt: skip
ORDERS = st.sampled_from(["DMY", "MDY", "YMD", "XYZ"])


def shapes():
    """Texts shaped like what members type, with numbers of any size in every slot."""
    n, h, m = BIG, st.integers(0, 99), st.integers(0, 99)
    year, month, day = st.integers(0, 12000), st.integers(0, 13), st.integers(0, 32)
    sign = st.sampled_from(["+", "-"])
    return st.one_of(
        st.builds(lambda a, u: f"in {a} {u}", n, UNITS),
        st.builds(lambda a, u, b: f"{a}{u}{b}m", n, st.sampled_from(["w", "d", "h"]), n),
        st.builds(lambda a, u: f"{a} {u} from now", n, UNITS),
        st.builds(lambda d, hh, mm: f"{d} {hh}:{mm:02d}", st.sampled_from(["tomorrow", "today", "next friday"]), h, m),
        st.builds(lambda hh, d: f"{hh}pm {d}", h, st.sampled_from(["tomorrow", "today"])),
        st.builds(
            lambda y, mo, d, hh, mm, s, oh, om: f"{y:04d}-{mo:02d}-{d:02d} {hh:02d}:{mm:02d} {s}{oh:02d}:{om:02d}",
            year, month, day, h, m, sign, h, m,
        ),
        st.builds(lambda y, mo, d: f"{y:04d}-{mo:02d}-{d:02d}", year, month, day),
        st.builds(lambda t: f"<t:{t}>", st.integers(-(10**13), 10**13)),
        st.builds(lambda a, b: f"in {a}^{b} seconds", n, n),
        st.builds(lambda mo, d, y: f"{mo} {d} {y}", st.sampled_from(["jan", "march", "dec"]), n, n),
        st.lists(st.one_of(WORDS, n.map(str)), min_size=1, max_size=6).map(" ".join),
        numeric_dates(),
    )  # fmt: skip


def numeric_dates():
    """`01.02.2026`, `1/2/26 9am CEST`, `2026/02/31`, `1.2.`: numeric dates of any size, with a clock and
    a zone or not."""
    part = st.one_of(st.integers(0, 99), st.integers(0, 12000), st.integers(0, 10**6))
    digits = part.map(str) | part.map(lambda v: f"{v:02d}")
    sep = st.sampled_from([".", "/", "-"])
    clock = st.sampled_from(["", " 18:00", " 9am", " at 9", " 25:00", " 9.30", ", 12pm", " 13pm"])
    with_year = st.builds(
        lambda a, s, b, c, t, z: f"{a}{s}{b}{s}{c}{t}{z}", digits, sep, digits, digits, clock, ZONE_WORDS
    )
    without = st.builds(
        lambda a, s, b, e, t: f"{a}{s}{b}{e}{t}", digits, sep, digits, st.sampled_from(["", "."]), clock
    )
    clock_first = st.builds(
        lambda t, a, b, c: f"{t.strip(' ,') or '9am'} on {a}/{b}/{c}", clock, digits, digits, digits
    )
    return st.one_of(with_year, without, clock_first)


def attempt(parse, *args, **kwargs):
    """(value, None) when `parse` accepts, (None, the refusal's message) when it raises InvalidInput;
    any other exception fails the test."""
    try:
        return parse(*args, **kwargs), None
    except InvalidInput as refused:
        return None, refused.message


def assert_sane(text: str, now: datetime, zone: str, date_order: str = "MDY") -> datetime | None:
    parsed, refusal = attempt(parse_when, text, now=now, zone=zone, date_order=date_order)
    if refusal is not None:
        assert refusal and "\n" not in refusal
        return None
    assert parsed.when.tzinfo is not None and parsed.when.utcoffset() == timedelta(0)
    assert now < parsed.when <= now + MAX_AHEAD + timedelta(seconds=1)
    return parsed.when


@relaxed
@given(text=st.text(max_size=110), now=NOWS, zone=ZONES)
@example(text="in 100000000000000000000 seconds", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC")
@example(text="99999999999 weeks", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC")
@example(text="9999-12-31 23:59", now=datetime(2026, 1, 1, tzinfo=UTC), zone="America/New_York")
@example(text="0001-01-01 00:00 +05:00", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC")
@example(text="1 Jan 0001", now=datetime(2026, 1, 1, tzinfo=UTC), zone="Pacific/Kiritimati")
def test_any_text_is_an_instant_in_range_or_a_refusal(text, now, zone):
    assert_sane(text, now, zone)


@relaxed
@given(text=shapes(), now=NOWS, zone=ZONES, order=ORDERS)
@example(text="31.02.2026", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", order="DMY")
@example(text="29.2.", now=datetime(2026, 3, 1, tzinfo=UTC), zone="UTC", order="DMY")
@example(text="1.1.0000", now=datetime(2026, 1, 1, tzinfo=UTC), zone="Pacific/Kiritimati", order="DMY")
@example(text="31/12/9999 23:59 UTC+14", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", order="DMY")
@example(text="01/02/2026", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", order="YMD")
def test_any_time_shaped_text_is_an_instant_in_range_or_a_refusal(text, now, zone, order):
    assert_sane(text, now, zone, order)


@relaxed
@given(text=st.builds(lambda t, z: t + z, shapes(), ZONE_WORDS), now=NOWS, zone=ZONES, order=ORDERS)
@example(text="9am IST", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", order="DMY")
@example(text="CEST", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", order="DMY")
@example(text="9999-12-31 23:59 UTC-14:30", now=datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", order="DMY")
def test_any_time_with_a_zone_word_is_an_instant_in_range_or_a_refusal(text, now, zone, order):
    assert_sane(text, now, zone, order)


@relaxed
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    order=st.sampled_from(["DMY", "MDY", "YMD"]),
    sep=st.sampled_from([".", "/", "-"]),
    short=st.booleans(),
    zone=ZONES,
)
def test_a_numeric_date_written_in_the_members_order_is_that_day(day, order, sep, short, zone):
    now = datetime.combine(day, time(12), UTC) - timedelta(days=40)
    year = f"{day.year % 100:02d}" if short and order != "YMD" and day.year >= 2000 else f"{day.year}"
    parts = {
        "DMY": (day.day, day.month, year),
        "MDY": (day.month, day.day, year),
        "YMD": (year, day.month, day.day),
    }
    text = sep.join(f"{p:02d}" if isinstance(p, int) else p for p in parts[order]) + " 12:00"
    if order == "YMD" and sep == "-":
        text = f"{day.year}-{day.month:02d}-{day.day:02d} 12:00"
    when = assert_sane(text, now, zone, order)
    assert when is not None, text
    local = when.astimezone(ZoneInfo(zone))
    assert local.date() == day and local.time() == time(12)


@relaxed
@given(
    name=st.sampled_from(sorted(set(timezones.abbreviations(2026)) - set(timezones.AMBIGUOUS))),
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    zone=ZONES,
)
def test_an_unambiguous_abbreviation_reads_the_clock_time_at_its_offset(name, now, zone):
    word = timezones.zone_word(name, year=2026)
    when = assert_sane(f"tomorrow 9:30am {name}", now, zone)
    assert when is not None
    assert when.astimezone(word.tz).time() == time(9, 30) or word.iana is not None  # a region may skip 09:30


@relaxed
@given(hour=st.integers(0, 99), minute=st.integers(0, 99), now=NOWS, zone=ZONES)
@example(hour=25, minute=0, now=datetime(2026, 1, 1, 12, tzinfo=UTC), zone="UTC")
def test_tomorrow_at_a_clock_time_is_that_time_or_refused(hour, minute, now, zone):
    when = assert_sane(f"tomorrow {hour}:{minute:02d}", now, zone)
    if hour > 23 or minute > 59:
        assert when is None  # never "tomorrow, at the current time"
    elif when is not None:
        local = when.astimezone(ZoneInfo(zone))
        tomorrow = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
        # A time skipped by a spring-forward change moves by the gap; otherwise it is exactly as typed.
        assert local.date() == tomorrow or local.time() != time(hour, minute)
        assert local.time() == time(hour, minute) or local.hour in {hour + 1, hour + 2}


@relaxed
@given(amount=BIG, unit=st.sampled_from(["seconds", "minutes", "hours", "days", "weeks"]), now=NOWS)
@example(amount=10**20, unit="seconds", now=datetime(2026, 1, 1, tzinfo=UTC))
def test_a_duration_is_exactly_that_long_or_refused_as_too_far(amount, unit, now):
    seconds = amount * {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}[unit]
    when = assert_sane(f"in {amount} {unit}", now, "UTC")
    if 0 < seconds <= MAX_AHEAD.total_seconds():
        assert when == (now + timedelta(seconds=seconds)).replace(microsecond=0)
    else:
        assert when is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("in 100000000000000000000 seconds", "five years"),
        ("99999999999 weeks", "five years"),
        ("9999-12-31 23:59", "five years"),
        ("0001-01-01 00:00 +05:00", "in the past"),
        ("tomorrow 25:00", "`25:00` is not a time of day"),
        ("tomorrow at 99", "`99` is not a time of day"),
        ("next friday 24:30", "not a time of day"),
        ("in 2 days 25:00", "not a time of day"),
        ("in 10^20 seconds", "`^` has no meaning"),
        ("in 2 days 99", "what `99` means"),
        ("2026-01-10 18:00 +99:00", "not a UTC offset"),
        ("<t:99999999999999>", "five years"),
    ],
)
def test_bad_times_get_a_sentence_that_says_why(text, says):
    with pytest.raises(InvalidInput, match=None) as refused:
        parse_when(text, now=datetime(2026, 1, 1, 12, tzinfo=UTC), zone="America/New_York")
    assert says in refused.value.message


def test_a_trailing_zone_name_is_the_zone_the_time_is_read_in():
    parsed = parse_when("18:00 Europe/Berlin", now=datetime(2026, 1, 1, 12, tzinfo=UTC), zone="Asia/Tokyo")
    assert parsed.when == datetime(2026, 1, 1, 17, tzinfo=UTC) and parsed.zone == "Europe/Berlin"


def test_a_stored_zone_that_no_longer_exists_is_a_refusal_not_a_crash():
    with pytest.raises(InvalidInput, match="/remind timezone"):
        parse_when("tomorrow 9am", now=datetime(2026, 1, 1, tzinfo=UTC), zone="Mars/Olympus_Mons")


@relaxed
@given(text=st.text(max_size=200))
@example(text="1000000000d")
@example(text="9" * 5000 + "d")
def test_offsets_are_sane_or_refused(text):
    offsets, refusal = attempt(schedule_rules.parse_offsets, text)
    if refusal is not None:
        assert "\n" not in refusal
        return
    assert 1 <= len(offsets) <= schedule_rules.MAX_OFFSETS
    assert all(timedelta(0) <= o <= schedule_rules.MAX_OFFSET for o in offsets)
    assert schedule_rules.parse_offsets(schedule_rules.format_offsets(offsets)) == offsets


@relaxed
@given(text=st.text(max_size=120))
@example(text="24:00")
@example(text="09:00" + " " * 200 + "x")
def test_clock_weekday_and_zone_texts_are_sane_or_refused(text):
    for parse, check in (
        (schedule_rules.parse_clock, lambda v: isinstance(v, time)),
        (schedule_rules.parse_weekday, lambda v: 0 <= v <= 6),
        (timezones.validate, lambda v: v in timezones.all_zones() or v == "UTC"),
    ):
        value, refusal = attempt(parse, text)
        if refusal is not None:
            assert "\n" not in refusal and refusal.count("`") % 2 == 0
            continue
        assert check(value), (parse.__name__, text, value)


@relaxed
@given(
    after=NOWS,
    weekday=st.integers(0, 6),
    at=st.times(),
    zone=st.sampled_from(sorted(timezones.all_zones())),
)
def test_the_next_weekly_digest_is_after_now_within_a_week_on_its_weekday(after, weekday, at, zone):
    at = at.replace(second=0, microsecond=0)
    when = recurrence.next_weekly(after, weekday, at, zone)
    assert after < when <= after + timedelta(days=7, hours=3)
    local = when.astimezone(ZoneInfo(zone))
    assert local.weekday() == weekday or local.time() != at  # only a skipped (DST) time moves


RULES = st.one_of(
    st.sampled_from([recurrence.Repeat("daily"), recurrence.Repeat("weekly"), recurrence.Repeat("monthly")]),
    st.integers(1, recurrence.MAX_EVERY_DAYS).map(lambda n: recurrence.Repeat("days", n)),
)


def occurrence(rule: recurrence.Repeat, anchor: datetime, index: int) -> datetime:
    """The wall time of occurrence `index` (0 = the anchor), computed the plain way."""
    if rule.kind == "monthly":
        year, month = divmod(anchor.year * 12 + anchor.month - 1 + index, 12)
        return anchor.replace(
            year=year, month=month + 1, day=min(anchor.day, calendar.monthrange(year, month + 1)[1])
        )
    step = rule.every if rule.kind == "days" else {"daily": 1, "weekly": 7}[rule.kind]
    return anchor + timedelta(days=index * step)


@relaxed
@given(
    rule=RULES,
    anchor=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31)),
    after=NOWS,
    zone=st.sampled_from(sorted(timezones.all_zones())),
)
@example(
    rule=recurrence.Repeat("monthly"),
    anchor=datetime(2026, 1, 31, 2, 30),
    after=datetime(2026, 3, 1, tzinfo=UTC),
    zone="Europe/Berlin",
)
@example(
    rule=recurrence.Repeat("daily"),
    anchor=datetime(2026, 3, 28, 2, 30),
    after=datetime(2026, 3, 29, tzinfo=UTC),
    zone="Europe/Berlin",
)
def test_the_next_occurrence_is_the_first_one_after(rule, anchor, after, zone):
    anchor = anchor.replace(second=0, microsecond=0)
    tz = ZoneInfo(zone)
    when = recurrence.next_occurrence(rule, anchor, zone, after)
    assert when > after and when.utcoffset() == timedelta(0)
    local = when.astimezone(tz).replace(tzinfo=None)
    if rule.kind == "monthly":
        guess = (local.year - anchor.year) * 12 + local.month - anchor.month
    else:
        guess = (local - anchor) // (occurrence(rule, anchor, 1) - anchor)
    # It is one of the rule's occurrences (a time a spring change skips moved forward by its gap) ...
    index = next(
        i for i in (guess - 1, guess, guess + 1) if localize(occurrence(rule, anchor, i), tz) == when
    )
    assert index >= 0
    assert local.time() == anchor.time() or tz.utcoffset(local) != tz.utcoffset(
        occurrence(rule, anchor, index)
    )
    # ... and the one before it was not after `after`: none was skipped.
    if index > 0:
        assert localize(occurrence(rule, anchor, index - 1), tz) <= after
