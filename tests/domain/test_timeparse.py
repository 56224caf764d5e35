"""Reading `when`: every form the spec lists, member time zones, DST, and the clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.timeparse import parse_duration, parse_when
from bot.errors import InvalidInput

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # a Thursday


def at(text: str, zone: str = "UTC", now: datetime = NOW) -> datetime:
    return parse_when(text, now=now, zone=zone).when


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 2 hours", datetime(2026, 1, 1, 14, 0, tzinfo=UTC)),
        ("2h30m", datetime(2026, 1, 1, 14, 30, tzinfo=UTC)),
        ("2h 30m", datetime(2026, 1, 1, 14, 30, tzinfo=UTC)),
        ("in 2h30m", datetime(2026, 1, 1, 14, 30, tzinfo=UTC)),
        ("90 minutes", datetime(2026, 1, 1, 13, 30, tzinfo=UTC)),
        ("in 1 day and 3 hours", datetime(2026, 1, 2, 15, 0, tzinfo=UTC)),
        ("an hour", datetime(2026, 1, 1, 13, 0, tzinfo=UTC)),
        ("1w", datetime(2026, 1, 8, 12, 0, tzinfo=UTC)),
        ("tomorrow 18:00", datetime(2026, 1, 2, 18, 0, tzinfo=UTC)),
        ("tomorrow at 9", datetime(2026, 1, 2, 9, 0, tzinfo=UTC)),
        ("9pm tomorrow", datetime(2026, 1, 2, 21, 0, tzinfo=UTC)),
        ("18:00", datetime(2026, 1, 1, 18, 0, tzinfo=UTC)),
        ("9am", datetime(2026, 1, 2, 9, 0, tzinfo=UTC)),  # 9am today has passed
        ("next friday 9am", datetime(2026, 1, 2, 9, 0, tzinfo=UTC)),
        ("next thursday", datetime(2026, 1, 8, 12, 0, tzinfo=UTC)),  # today is Thursday: a week on
        ("2026-01-10 18:00", datetime(2026, 1, 10, 18, 0, tzinfo=UTC)),
        ("2026-01-10T18:00Z", datetime(2026, 1, 10, 18, 0, tzinfo=UTC)),
        ("2026-01-10 18:00 +02:00", datetime(2026, 1, 10, 16, 0, tzinfo=UTC)),
        ("2026-01-10", datetime(2026, 1, 10, 0, 0, tzinfo=UTC)),
        ("<t:1767300000>", datetime(2026, 1, 1, 20, 40, tzinfo=UTC)),
        ("<t:1767300000:R>", datetime(2026, 1, 1, 20, 40, tzinfo=UTC)),
        ("jan 10 5pm", datetime(2026, 1, 10, 17, 0, tzinfo=UTC)),
    ],
)
def test_formats_in_utc(text, expected):
    assert at(text) == expected


def test_wall_clock_times_are_read_in_the_members_zone():
    assert at("tomorrow 18:00", "Europe/Berlin") == datetime(2026, 1, 2, 17, 0, tzinfo=UTC)
    assert at("2026-01-10 18:00", "America/New_York") == datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    assert at("next friday 9am", "Asia/Tokyo") == datetime(2026, 1, 2, 0, 0, tzinfo=UTC)
    # Durations and Discord timestamps do not depend on the zone.
    assert at("2h30m", "Asia/Tokyo") == at("2h30m")
    assert at("<t:1767300000>", "Asia/Tokyo") == at("<t:1767300000>")


def test_durations_are_real_time_across_a_dst_change():
    # 29 March 2026, 01:30 in Berlin (00:30 UTC): clocks jump from 02:00 to 03:00.
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert at("in 2 hours", "Europe/Berlin", before) == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    # A wall-clock time after the change uses summer time (UTC+2).
    assert at("2026-03-29 09:00", "Europe/Berlin", before) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    # A time the change skipped moves forward by the gap.
    assert at("2026-03-29 02:30", "Europe/Berlin", before) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_parse_duration():
    assert parse_duration("2h30m").total_seconds() == 9000
    assert parse_duration("in 2 hours").total_seconds() == 7200
    assert parse_duration("tomorrow") is None
    assert parse_duration("0m") is None


@pytest.mark.parametrize("text", ["yesterday", "2025-12-31 23:00", "<t:1000>", "2026-01-01 11:59"])
def test_past_times_are_refused_and_echoed(text):
    with pytest.raises(InvalidInput, match="in the past") as caught:
        at(text)
    assert "<t:" in caught.value.message  # how it was understood, as a Discord timestamp


@pytest.mark.parametrize("text", ["blah", "5", "2026-13-01", "", "   ", "next funday"])
def test_unreadable_times_are_refused_with_examples(text):
    with pytest.raises(InvalidInput) as caught:
        at(text)
    assert "2h30m" in caught.value.message or "when" in caught.value.message


def test_more_than_five_years_ahead_is_refused():
    with pytest.raises(InvalidInput, match="five years") as caught:
        at("in 10 years")
    assert "2036" in caught.value.message
    assert at("in 4 years").year == 2030


def test_too_long_input_is_refused():
    with pytest.raises(InvalidInput):
        at("in 2 hours " * 20)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en-US", datetime(2026, 1, 2, tzinfo=UTC)), ("en-GB", datetime(2026, 2, 1, tzinfo=UTC)),
     ("de", datetime(2026, 2, 1, tzinfo=UTC)), (None, datetime(2026, 1, 2, tzinfo=UTC))],
)  # fmt: skip
def test_numeric_dates_follow_the_members_language(locale, expected):
    from bot.core.timeparse import date_order_for

    for text in ("01.02.2026", "01/02/2026"):
        assert parse_when(text, now=NOW, date_order=date_order_for(locale)).when == expected
    # An ISO date is always read as written.
    assert at("2026-02-01") == datetime(2026, 2, 1, tzinfo=UTC)


def test_a_trailing_zone_and_a_zone_abbreviation():
    assert at("18:00 Europe/Berlin") == datetime(2026, 1, 1, 17, 0, tzinfo=UTC)
    assert at("tomorrow 9am CEST") == datetime(2026, 1, 2, 7, 0, tzinfo=UTC)
