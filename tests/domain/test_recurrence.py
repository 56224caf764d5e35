"""Recurrence in IANA zones across daylight-saving changes: the weekly digest's next time and ISO week,
and repeating reminders (their rules as members type them, and their next occurrence)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from time import perf_counter
from zoneinfo import ZoneInfo

import pytest

from bot.core.recurrence import Repeat, next_occurrence, next_weekly, parse_repeat, wall_clock, week_key
from bot.errors import InvalidInput


def test_next_monday_nine_in_utc():
    thursday = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert next_weekly(thursday, 0, time(9, 0), "UTC") == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_strictly_after():
    monday_nine = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert next_weekly(monday_nine, 0, time(9, 0), "UTC") == datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    before = datetime(2026, 1, 5, 8, 59, tzinfo=UTC)
    assert next_weekly(before, 0, time(9, 0), "UTC") == monday_nine


def test_nine_stays_nine_across_spring_and_autumn_changes_in_berlin():
    at = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # Monday 23 March, 09:00 CET
    following = next_weekly(at, 0, time(9, 0), "Europe/Berlin")
    assert following == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST after the change
    autumn = next_weekly(datetime(2026, 10, 19, 7, 0, tzinfo=UTC), 0, time(9, 0), "Europe/Berlin")
    assert autumn == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # 09:00 CET again


def test_local_weekday_not_utc_weekday():
    # Sunday 23:30 UTC is already Monday 08:30 in Tokyo: Monday 09:00 Tokyo is half an hour away.
    sunday_late = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    assert next_weekly(sunday_late, 0, time(9, 0), "Asia/Tokyo") == datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


def test_week_key_uses_the_zone_calendar():
    instant = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)  # Sunday in UTC, Monday in Tokyo
    assert week_key(instant, "UTC") == "2026-W01"
    assert week_key(instant, "Asia/Tokyo") == "2026-W02"
    assert week_key(datetime(2027, 1, 1, 12, tzinfo=UTC), "UTC") == "2026-W53"


def test_bad_weekday():
    with pytest.raises(ValueError, match="weekday"):
        next_weekly(datetime(2026, 1, 1, tzinfo=UTC), 7, time(9), "UTC")


# Repeating reminders -------------------------------------------------------------------------------

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
DAILY, WEEKLY, MONTHLY = Repeat("daily"), Repeat("weekly"), Repeat("monthly")


def local(when: datetime, zone: str) -> datetime:
    return when.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def run(rule: Repeat, anchor: datetime, zone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` occurrences after `after`, each computed from the previous one, as wall times."""
    found = []
    for _ in range(count):
        after = next_occurrence(rule, anchor, zone, after)
        assert after.tzinfo is not None and after.utcoffset() == timedelta(0)
        found.append(local(after, zone))
    return found


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [(BERLIN, datetime(2026, 3, 29), datetime(2026, 10, 25)),
     (NEW_YORK, datetime(2026, 3, 8), datetime(2026, 11, 1))],
)  # fmt: skip
def test_daily_nine_stays_nine_across_both_changes(zone, spring, autumn):
    for change in (spring, autumn):
        anchor = change.replace(hour=9) - timedelta(days=2)
        start = datetime.combine(anchor.date(), time(0), ZoneInfo(zone))
        days = run(DAILY, anchor, zone, start, 5)
        assert days == [anchor + timedelta(days=n) for n in range(5)]
        # The UTC instant moved by the hour the clocks did.
        before = next_occurrence(DAILY, anchor, zone, start)
        after = next_occurrence(DAILY, anchor, zone, before + timedelta(days=4) - timedelta(hours=2))
        shift = timedelta(hours=-1) if change == spring else timedelta(hours=1)
        assert after - before == timedelta(days=4) + shift


@pytest.mark.parametrize(("zone", "winter_utc", "summer_utc"), [(BERLIN, 8, 7), (NEW_YORK, 14, 13)])
def test_weekly_and_monthly_keep_the_wall_time_across_both_changes(zone, winter_utc, summer_utc):
    anchor = datetime(2026, 3, 2, 9)  # a Monday in winter time
    weeks = run(WEEKLY, anchor, zone, datetime(2026, 3, 1, tzinfo=UTC), 35)
    assert all(w.weekday() == 0 and w.time() == time(9) for w in weeks)
    assert weeks[0] == anchor and weeks[-1] == datetime(2026, 10, 26, 9)  # past both changes
    months = run(MONTHLY, datetime(2026, 1, 15, 9, 30), zone, datetime(2026, 1, 1, tzinfo=UTC), 12)
    assert months == [datetime(2026, m, 15, 9, 30) for m in range(1, 13)]
    in_utc = [next_occurrence(MONTHLY, datetime(2026, 1, 15, 9), zone, datetime(2026, m, 1, tzinfo=UTC))
              for m in (1, 7, 12)]  # fmt: skip
    assert [t.hour for t in in_utc] == [winter_utc, summer_utc, winter_utc]


def test_a_time_the_spring_change_skips_moves_forward_and_comes_back_after():
    anchor = datetime(2026, 3, 28, 2, 30)  # 02:30 does not exist in Berlin on 29 March
    days = run(DAILY, anchor, BERLIN, datetime(2026, 3, 27, tzinfo=UTC), 3)
    assert days == [datetime(2026, 3, 28, 2, 30), datetime(2026, 3, 29, 3, 30), datetime(2026, 3, 30, 2, 30)]


def test_a_time_the_autumn_change_repeats_is_its_first_occurrence_and_comes_once():
    anchor = datetime(2026, 10, 24, 2, 30)  # 02:30 happens twice in Berlin on 25 October
    first = next_occurrence(DAILY, anchor, BERLIN, datetime(2026, 10, 24, 12, tzinfo=UTC))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, not 02:30 CET an hour later
    assert next_occurrence(DAILY, anchor, BERLIN, first) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    months = run(MONTHLY, datetime(2026, 1, 31, 18), "UTC", datetime(2026, 1, 1, tzinfo=UTC), 7)
    assert [m.day for m in months] == [31, 28, 31, 30, 31, 30, 31]
    assert all(m.time() == time(18) for m in months)


def test_monthly_on_the_29th_of_february_and_the_30th_in_a_leap_year():
    leap = run(MONTHLY, datetime(2028, 1, 30, 8), "UTC", datetime(2028, 1, 1, tzinfo=UTC), 3)
    assert leap == [datetime(2028, 1, 30, 8), datetime(2028, 2, 29, 8), datetime(2028, 3, 30, 8)]
    from_leap_day = run(MONTHLY, datetime(2028, 2, 29, 8), "UTC", datetime(2028, 2, 1, tzinfo=UTC), 13)
    assert [m.day for m in from_leap_day] == [29] * 12 + [28]  # February 2029 has no 29th


def test_every_n_days_steps_from_the_anchor_date():
    anchor = datetime(2026, 1, 1, 9)
    assert run(Repeat("days", 3), anchor, BERLIN, datetime(2026, 1, 1, tzinfo=UTC), 4) == [
        datetime(2026, 1, d, 9) for d in (1, 4, 7, 10)
    ]
    # Asked in the middle of a step, the next one is still on the anchor's rhythm.
    nxt = next_occurrence(Repeat("days", 10), anchor, BERLIN, datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert local(nxt, BERLIN) == datetime(2026, 4, 1, 9)  # 1 January + 90 days


def test_strictly_after_and_never_before_the_anchor():
    anchor = datetime(2026, 5, 1, 9)
    exactly = datetime(2026, 5, 1, 9, tzinfo=UTC)
    assert next_occurrence(DAILY, anchor, "UTC", exactly) == datetime(2026, 5, 2, 9, tzinfo=UTC)
    long_before = datetime(2020, 1, 1, tzinfo=UTC)
    for rule in (DAILY, WEEKLY, MONTHLY, Repeat("days", 365)):
        assert next_occurrence(rule, anchor, "UTC", long_before) == exactly


def test_after_years_offline_the_next_occurrence_is_computed_without_walking_every_day():
    anchor = datetime(2026, 1, 1, 9)
    back = datetime(2029, 3, 5, 12, tzinfo=UTC)
    started = perf_counter()
    for _ in range(200):
        daily = next_occurrence(DAILY, anchor, BERLIN, back)
        monthly = next_occurrence(MONTHLY, anchor, BERLIN, back)
    assert perf_counter() - started < 0.5
    assert local(daily, BERLIN) == datetime(2029, 3, 6, 9)
    assert local(monthly, BERLIN) == datetime(2029, 4, 1, 9)


def test_an_aware_anchor_is_read_on_the_zones_wall_clock():
    aware = datetime(2026, 1, 1, 8, tzinfo=UTC)  # 09:00 in Berlin
    assert wall_clock(aware, BERLIN) == datetime(2026, 1, 1, 9)
    after = datetime(2026, 7, 1, tzinfo=UTC)
    assert next_occurrence(DAILY, aware, BERLIN, after) == next_occurrence(
        DAILY, datetime(2026, 1, 1, 9), BERLIN, after
    )


@pytest.mark.parametrize(
    ("text", "expected", "code", "label"),
    [
        ("daily", Repeat("daily"), "daily", "every day"),
        ("  Weekly ", Repeat("weekly"), "weekly", "every week"),
        ("MONTHLY", Repeat("monthly"), "monthly", "every month"),
        ("every day", Repeat("daily"), "daily", "every day"),
        ("every 1 day", Repeat("daily"), "daily", "every day"),
        ("every week", Repeat("weekly"), "weekly", "every week"),
        ("every month", Repeat("monthly"), "monthly", "every month"),
        ("every 3 days", Repeat("days", 3), "days:3", "every 3 days"),
        ("Every   3   Days", Repeat("days", 3), "days:3", "every 3 days"),
        ("every 3days", Repeat("days", 3), "days:3", "every 3 days"),
        ("every 365 days", Repeat("days", 365), "days:365", "every 365 days"),
        ("every 2 weeks", Repeat("days", 14), "days:14", "every 14 days"),
        ("every 52 weeks", Repeat("days", 364), "days:364", "every 364 days"),
    ],
)
def test_parse_repeat_reads_what_members_type(text, expected, code, label):
    rule = parse_repeat(text)
    assert rule == expected and rule.code == code and rule.label == label
    assert Repeat.from_code(code) == rule


@pytest.mark.parametrize("text", ["none", "None", "never", "off", " OFF ", "no", "once"])
def test_parse_repeat_none_means_no_repetition(text):
    assert parse_repeat(text) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("every 0 days", "less than a day"),
        ("every 366 days", "more than a year"),
        ("every 53 weeks", "more than a year"),
        ("every 0 weeks", "less than a day"),
        ("every 99999999999999999999 days", "more than a year"),
        ("every 2 months", "not every 2 months"),
        ("hourly", "can't read `hourly`"),
        ("every -1 days", "can't read"),
        ("every 1.5 days", "can't read"),
        ("yearly", "can't read"),
        ("", "can't read"),
        ("every `x` days", "can't read `every 'x' days`"),
    ],
)
def test_parse_repeat_refuses_everything_else_and_says_what_is_accepted(text, says):
    with pytest.raises(InvalidInput) as refused:
        parse_repeat(text)
    message = refused.value.message
    assert says in message and "every N days" in message and "daily" in message
    assert "\n" not in message


@pytest.mark.parametrize("code", ["", "days", "days:", "days:0", "days:366", "daily:2", "hourly", "days:x"])
def test_a_stored_code_that_was_never_written_is_an_error(code):
    with pytest.raises(ValueError, match=r"repeat|every"):
        Repeat.from_code(code)


@pytest.mark.parametrize(("kind", "every"), [("yearly", 1), ("daily", 2), ("days", 0), ("days", 366)])
def test_a_repeat_that_cannot_exist_cannot_be_built(kind, every):
    with pytest.raises(ValueError, match=r"repeat|every"):
        Repeat(kind, every)
