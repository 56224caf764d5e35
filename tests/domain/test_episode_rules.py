"""Episode rules: codes, titles, statuses, milestones, thread names, reminder settings, zones."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from bot.core import timezones
from bot.errors import InvalidInput
from cogs.config import rules as schedule_rules
from cogs.episodes.rules import (
    Milestone,
    Status,
    managed_tag_names,
    thread_name,
    validate_code,
    validate_title,
)


@pytest.mark.parametrize("code", ["1924-01", "a", "x" * 20, "S1.E2_b"])
def test_valid_codes(code):
    assert validate_code(code) == code


@pytest.mark.parametrize("code", ["", "x" * 21, "19 24", "1924/01", "ép", "<@1>"])
def test_invalid_codes(code):
    with pytest.raises(InvalidInput):
        validate_code(code)


def test_title_limits():
    assert validate_title("t" * 90) == "t" * 90
    with pytest.raises(InvalidInput):
        validate_title("t" * 91)
    with pytest.raises(InvalidInput):
        validate_title("   ")


def test_thread_name_is_cut_visibly():
    assert thread_name("1924-01", "Lenin") == "1924-01 Lenin"
    long = thread_name("x" * 20, "y" * 90)
    assert len(long) == 100 and long.endswith("…")


def test_status_labels_and_tags():
    assert [s.label for s in Status] == ["In Research", "Writing", "Recorded", "Published", "Shelved"]
    assert managed_tag_names(Status.IN_RESEARCH, has_authors=False) == ["In Research", "Needs Author"]
    assert managed_tag_names(Status.WRITING, has_authors=True) == ["Writing"]


def test_milestones_met_by_status():
    assert Milestone.RESEARCH.met_by(Status.WRITING)
    assert not Milestone.RESEARCH.met_by(Status.IN_RESEARCH)
    assert Milestone.SCRIPT.met_by(Status.RECORDED) and not Milestone.SCRIPT.met_by(Status.WRITING)
    assert Milestone.PUBLISH.met_by(Status.PUBLISHED) and not Milestone.PUBLISH.met_by(Status.RECORDED)
    assert not Milestone.RECORDING.met_by(Status.SHELVED)


def test_offsets():
    assert schedule_rules.parse_offsets("3d,1d,0") == [timedelta(days=3), timedelta(days=1), timedelta(0)]
    assert schedule_rules.format_offsets(schedule_rules.parse_offsets("12h, 7d 2d")) == "7d,2d,12h"
    assert schedule_rules.parse_offset("1d12h") == timedelta(hours=36)
    for bad in ["", "3x", "d3", "-1d", "99d", "1,2,3,4,5,6,7"]:
        with pytest.raises(InvalidInput):
            schedule_rules.parse_offsets(bad)


def test_weekday_and_clock():
    assert schedule_rules.parse_weekday("Mon") == 0 and schedule_rules.parse_weekday("sunday") == 6
    assert schedule_rules.parse_clock("09:00") == time(9, 0)
    assert schedule_rules.parse_clock("6pm") == time(18, 0)
    for bad in ["25:00", "9:75", "noon", "13pm"]:
        with pytest.raises(InvalidInput):
            schedule_rules.parse_clock(bad)
    with pytest.raises(InvalidInput):
        schedule_rules.parse_weekday("funday")


def test_timezones():
    assert timezones.validate("europe/berlin") == "Europe/Berlin"
    assert timezones.validate("utc") == "UTC"
    with pytest.raises(InvalidInput):
        timezones.validate("Mars/Olympus")
    assert timezones.suggest("berl")[0] == "Europe/Berlin"
    assert len(timezones.suggest("a")) <= 25


def test_suggestions_rank_code_prefix_first_then_newest():
    from cogs.episodes.rules import suggest

    rows = [
        (1, "1924-01", "Lenin's Death"),
        (2, "1939-01", "About 1924 in hindsight"),
        (3, "1924-02", "Rapallo"),
    ]
    assert suggest(rows, "1924") == [
        ("1924-02", "Rapallo"),
        ("1924-01", "Lenin's Death"),
        ("1939-01", "About 1924 in hindsight"),
    ]
    assert suggest(rows, "RAPALLO") == [("1924-02", "Rapallo")]
    assert suggest(rows, "") == [
        ("1924-02", "Rapallo"),
        ("1939-01", "About 1924 in hindsight"),
        ("1924-01", "Lenin's Death"),
    ]
    assert suggest(rows, "%") == []
    assert len(suggest([(i, f"c{i}", "t") for i in range(100)], "c")) == 25
