"""The weekly digest's next time and ISO week, in IANA zones across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.core.recurrence import next_weekly, week_key


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
