"""Properties of every parse of a member's time text: any string either means an instant between now and
five years ahead, or is refused with InvalidInput — never another exception, never a partial reading."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core import recurrence, timezones
from bot.core.timeparse import MAX_AHEAD, parse_when
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
     "/", ",", "@", "<t:", ">", "UTC", "CEST", "Europe/Berlin", "Z"]
)  # fmt: skip


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
    )  # fmt: skip


def attempt(parse, *args, **kwargs):
    """(value, None) when `parse` accepts, (None, the refusal's message) when it raises InvalidInput;
    any other exception fails the test."""
    try:
        return parse(*args, **kwargs), None
    except InvalidInput as refused:
        return None, refused.message


def assert_sane(text: str, now: datetime, zone: str) -> datetime | None:
    parsed, refusal = attempt(parse_when, text, now=now, zone=zone)
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
@given(text=shapes(), now=NOWS, zone=ZONES)
def test_any_time_shaped_text_is_an_instant_in_range_or_a_refusal(text, now, zone):
    assert_sane(text, now, zone)


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
