"""The digest's rules: which episodes still need an author, and how its week is named for members."""

from __future__ import annotations

from datetime import date

import pytest

from cogs.digest.rules import day_month, digest_day, long_date, still_needs_author, week_title
from cogs.episodes.rules import Status


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        (Status.IN_RESEARCH, True),
        (Status.WRITING, True),
        (Status.RECORDED, False),
        (Status.PUBLISHED, False),
        (Status.SHELVED, False),
    ],
)
def test_only_episodes_before_recorded_and_not_shelved_still_need_an_author(status, listed):
    assert still_needs_author(status) is listed


def test_every_status_is_decided():
    assert {s for s in Status if still_needs_author(s)} == {Status.IN_RESEARCH, Status.WRITING}


@pytest.mark.parametrize(
    ("week", "weekday", "day"),
    [
        ("2026-W02", 0, date(2026, 1, 5)),  # the default: Monday
        ("2026-W02", 6, date(2026, 1, 11)),  # a Sunday digest: its own day
        ("2026-W01", 0, date(2025, 12, 29)),  # ISO week 1 of 2026 starts in 2025
        ("2026-W53", 0, date(2026, 12, 28)),  # 2026 has 53 ISO weeks
        ("2027-W01", 0, date(2027, 1, 4)),
        ("2027-W01", 4, date(2027, 1, 8)),
    ],
)
def test_the_digests_day_from_its_week_key(week, weekday, day):
    assert digest_day(week, weekday) == day


def test_a_week_key_that_is_no_week_is_refused():
    with pytest.raises(ValueError, match="week"):
        digest_day("2026-W54", 0)
    with pytest.raises(ValueError, match="invalid literal"):
        digest_day("soon", 0)


def test_the_title_names_the_week_as_people_do():
    assert week_title(date(2026, 1, 5), today=date(2026, 1, 5)) == "Week of 5 January"
    assert week_title(date(2026, 12, 28), today=date(2026, 12, 28)) == "Week of 28 December"


def test_the_year_shows_only_when_it_is_not_this_year():
    # ISO week 2026-W01 starts on 29 December 2025: a late digest of it posted in January says so.
    assert week_title(date(2025, 12, 29), today=date(2026, 1, 2)) == "Week of 29 December 2025"
    assert week_title(date(2025, 12, 29), today=date(2025, 12, 29)) == "Week of 29 December"
    assert day_month(date(2027, 1, 4), today=date(2026, 12, 31)) == "4 January 2027"


def test_no_iso_week_number_in_what_members_see():
    for week in ("2026-W01", "2026-W02", "2026-W53", "2027-W01"):
        title = week_title(digest_day(week, 0), today=date(2026, 6, 1))
        assert "W0" not in title and "W5" not in title and "-W" not in title


def test_long_date_has_no_leading_zero():
    assert long_date(date(2026, 1, 5)) == "Monday 5 January 2026"
    assert long_date(date(2026, 11, 1)) == "Sunday 1 November 2026"
