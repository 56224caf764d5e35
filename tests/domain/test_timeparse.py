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


@pytest.mark.parametrize("text", ["blah", "5", "", "   ", "next funday"])
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


# Zone abbreviations and offsets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9am CEST", datetime(2026, 1, 2, 7, 0, tzinfo=UTC)),  # CEST is +02:00 even in January
        ("18:00 CET", datetime(2026, 1, 1, 17, 0, tzinfo=UTC)),
        ("tomorrow 9am EST", datetime(2026, 1, 2, 14, 0, tzinfo=UTC)),
        ("2026-01-10 18:00 PST", datetime(2026, 1, 11, 2, 0, tzinfo=UTC)),
        ("next friday 9am EDT", datetime(2026, 1, 2, 13, 0, tzinfo=UTC)),
        ("jan 10 5pm EST", datetime(2026, 1, 10, 22, 0, tzinfo=UTC)),
        ("9am (CEST)", datetime(2026, 1, 2, 7, 0, tzinfo=UTC)),
        ("9am cest", datetime(2026, 1, 2, 7, 0, tzinfo=UTC)),
        ("9am MESZ", datetime(2026, 1, 2, 7, 0, tzinfo=UTC)),  # the German name of CEST
        ("9am JST", datetime(2026, 1, 2, 0, 0, tzinfo=UTC)),
        ("9am NPT", datetime(2026, 1, 2, 3, 15, tzinfo=UTC)),  # +05:45
        ("9am NST", datetime(2026, 1, 1, 12, 30, tzinfo=UTC)),  # Newfoundland, -03:30
        ("9am VET", datetime(2026, 1, 1, 13, 0, tzinfo=UTC)),  # -04:00 since 2016
        ("18:00 UTC", datetime(2026, 1, 1, 18, 0, tzinfo=UTC)),
        ("18:00 GMT", datetime(2026, 1, 1, 18, 0, tzinfo=UTC)),
        ("18:00 UTC+2", datetime(2026, 1, 1, 16, 0, tzinfo=UTC)),
        ("18:00 GMT-3:30", datetime(2026, 1, 1, 21, 30, tzinfo=UTC)),
        ("18:00 UTC+05:30", datetime(2026, 1, 1, 12, 30, tzinfo=UTC)),
        ("9am CEST tomorrow", datetime(2026, 1, 2, 7, 0, tzinfo=UTC)),  # the zone may stand anywhere
    ],
)
def test_an_abbreviation_or_offset_is_its_fixed_offset_whatever_the_members_zone(text, expected):
    for zone in ("UTC", "Asia/Tokyo", "America/New_York"):
        assert at(text, zone) == expected, zone


def test_a_fixed_offset_keeps_the_members_zone_for_repeats_and_a_named_zone_is_its_own():
    assert parse_when("9am CEST", now=NOW, zone="Asia/Tokyo").zone == "Asia/Tokyo"
    assert parse_when("9am UTC+2", now=NOW, zone="Asia/Tokyo").zone == "Asia/Tokyo"
    assert parse_when("9am UTC", now=NOW, zone="Asia/Tokyo").zone == "UTC"
    assert parse_when("18:00 Europe/Berlin", now=NOW, zone="Asia/Tokyo").zone == "Europe/Berlin"
    assert parse_when("18:00 europe/berlin", now=NOW, zone="Asia/Tokyo").zone == "Europe/Berlin"
    assert parse_when("18:00 Etc/GMT-2", now=NOW).when == datetime(2026, 1, 1, 16, 0, tzinfo=UTC)


def test_a_us_region_follows_its_daylight_saving_time():
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert parse_when("tomorrow 9am ET", now=summer, zone="UTC").when == datetime(2026, 7, 2, 13, tzinfo=UTC)
    assert parse_when("tomorrow 9am PT", now=summer, zone="UTC").zone == "America/Los_Angeles"
    assert at("tomorrow 9am ET") == datetime(2026, 1, 2, 14, tzinfo=UTC)  # EST in winter


def test_how_a_time_in_an_abbreviation_was_read_is_said_in_it():
    with pytest.raises(InvalidInput, match="in the past") as refused:
        at("2026-01-01 09:00 CEST")
    assert "Thu 01 Jan 2026 09:00 CEST (UTC+02:00)" in refused.value.message


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("tomorrow 9am IST", ["India (Asia/Kolkata)", "Ireland (Europe/Dublin)", "Israel (Asia/Jerusalem)"]),
        ("18:00 CST", ["US Central (America/Chicago)", "China (Asia/Shanghai)", "Cuba (America/Havana)"]),
        ("9am AST", ["Atlantic (America/Halifax)", "Arabia (Asia/Riyadh)"]),
        ("next friday 9am BST", ["Britain (Europe/London)", "Bangladesh (Asia/Dhaka)"]),
        ("9am SST", ["Samoa (Pacific/Pago_Pago)", "Singapore (Asia/Singapore)"]),
        ("9am ist", ["India (Asia/Kolkata)"]),
    ],
)
def test_an_ambiguous_abbreviation_asks_which_zone(text, places):
    with pytest.raises(InvalidInput, match="could be") as refused:
        at(text)
    message = refused.value.message
    assert all(place in message for place in places)
    first_zone = places[0].split("(")[1].rstrip(")")
    rest = text.rsplit(" ", 1)[0]
    assert f"write the zone, e.g. `{rest} {first_zone}`." in message


def test_the_ambiguous_refusal_reads_exactly_as_promised():
    with pytest.raises(InvalidInput) as refused:
        at("9am IST")
    assert refused.value.message == (
        "`IST` could be India (Asia/Kolkata), Ireland (Europe/Dublin) or Israel (Asia/Jerusalem): "
        "write the zone, e.g. `9am Asia/Kolkata`."
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("9am XYZT", "`XYZT` is not a time zone I know"),
        ("tomorrow 18:00 FOO", "`FOO` is not a time zone I know"),
        ("18:00 UTC+15", "`UTC+15` is not a UTC offset"),
        ("18:00 UTC+5:75", "not a UTC offset"),
        ("9am CEST Europe/Berlin", "names two time zones, `CEST` and `Europe/Berlin`"),
        ("9am EST PST", "names two time zones"),
        ("CEST", "Tell me when in CEST (UTC+02:00)"),
        ("Europe/Berlin", "Tell me when in Europe/Berlin"),
    ],
)
def test_zones_that_cannot_be_used_are_refused_with_a_reason(text, says):
    with pytest.raises(InvalidInput) as refused:
        at(text)
    assert says in refused.value.message


@pytest.mark.parametrize("text", ["9 AM", "9 PM TOMORROW", "IN 2 HOURS", "NEXT FRI 9AM", "JAN 10 5PM"])
def test_time_words_in_capitals_are_not_taken_for_zones(text):
    assert at(text) > NOW


# Numeric dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "says"),
    [
        ("31.02.2026", "DMY", "February 2026 has no 31st: I read `31.02.2026` day first, as your Discord language"),
        ("02/31/2026", "MDY", "February 2026 has no 31st: I read `02/31/2026` month first"),
        ("31/04/2026", "DMY", "April 2026 has no 31st"),
        ("29.02.2027", "DMY", "February 2027 has no 29th"),
        ("2026-02-30", "DMY", "February 2026 has no 30th: I read `2026-02-30` as year-month-day"),
        ("2026/02/30", "MDY", "February 2026 has no 30th: I read `2026/02/30` year first"),
        ("2026-13-01", "DMY", "there is no month 13"),
        ("13/13/2026", "MDY", "I read `13/13/2026` month first, as your Discord language writes dates, and there is no month 13."),
        ("13/13/2026", "DMY", "there is no month 13"),
        ("00.01.2026", "DMY", "no month has a day 0"),
        ("45.01.2026", "DMY", "no month has a day 45"),
        ("01.00.2026", "DMY", "there is no month 0"),
        ("1.2.202", "DMY", "write the year with four digits"),
        ("1.2.20266", "DMY", "`20266` is too large a number"),
        ("2026/1/100", "DMY", "write the year with four digits"),
        ("01.02.2026 25:00", "DMY", "`25:00` is not a time of day"),
        ("01.02.2025", "DMY", "in the past"),
        ("01.02.2019", "DMY", "in the year 2019, which is in the past"),
        ("01.02.2099", "DMY", "five years"),
        ("01/02/99", "MDY", "five years"),  # two-digit years are 20xx
        ("01/02/2026", "YMD", "write the year first, e.g. `2026/02/01`"),
        ("01/02/26", "YMD", "write the year first"),
    ],
)  # fmt: skip
def test_impossible_numeric_dates_say_what_is_wrong(text, order, says):
    with pytest.raises(InvalidInput) as refused:
        parse_when(text, now=NOW, date_order=order)
    assert says in refused.value.message


@pytest.mark.parametrize(
    ("text", "order", "meant"),
    [("13/01/2026", "MDY", "If you meant 13 January 2026, write `2026-01-13`."),
     ("01/13/2026", "DMY", "If you meant 13 January 2026, write `2026-01-13`.")],
)  # fmt: skip
def test_a_month_13_that_is_a_day_in_the_other_order_suggests_the_iso_date(text, order, meant):
    with pytest.raises(InvalidInput) as refused:
        parse_when(text, now=NOW, date_order=order)
    assert refused.value.message.endswith(meant)


def test_a_year_less_date_is_the_next_such_day():
    late = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert parse_when("1.2.", now=late, date_order="DMY").when == datetime(2027, 2, 1, tzinfo=UTC)
    assert parse_when("1/4", now=late, date_order="DMY").when == datetime(2026, 4, 1, tzinfo=UTC)
    assert parse_when("4/1 9am", now=late, date_order="MDY").when == datetime(2026, 4, 1, 9, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="in the past"):  # today, at a time that has passed
        parse_when("10.3. 09:00", now=late, date_order="DMY")
    with pytest.raises(InvalidInput, match="February 2027 has no 29th"):
        parse_when("29.2.", now=late, date_order="DMY")


def test_a_dot_between_two_numbers_without_a_year_is_a_clock_time():
    assert parse_when("18.00", now=NOW, date_order="DMY").when == datetime(2026, 1, 1, 18, tzinfo=UTC)
    assert parse_when("10.05", now=NOW, date_order="DMY").when == datetime(2026, 1, 2, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "order"),
    [("en-US", "MDY"), (None, "MDY"), ("en_us", "MDY"), ("en-GB", "DMY"), ("de", "DMY"), ("fr", "DMY"),
     ("pl", "DMY"), ("ru", "DMY"), ("uk", "DMY"), ("es-ES", "DMY"), ("es-419", "DMY"), ("pt-BR", "DMY"),
     ("sv-SE", "DMY"), ("ja", "YMD"), ("zh-CN", "YMD"), ("zh-TW", "YMD"), ("ko", "YMD"), ("hu", "YMD"),
     ("lt", "YMD"), ("xx-unknown", "DMY")],
)  # fmt: skip
def test_date_order_for_each_discord_language(locale, order):
    from bot.core.timeparse import date_order_for

    assert date_order_for(locale) == order


# The abbreviation table ----------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2026, 2030])
def test_every_abbreviation_with_several_offsets_in_the_tz_database_is_refused_or_decided(year):
    from bot.core.timezones import AMBIGUOUS, PREFERRED, abbreviations

    several = {name for name, offsets in abbreviations(year).items() if len(offsets) > 1}
    assert several, "the tz database names some abbreviations with several offsets (IST, CST)"
    assert several <= set(AMBIGUOUS) | set(PREFERRED)


def test_every_supplementary_abbreviation_has_an_offset_and_dateparser_agrees_where_it_is_current():
    from dateparser.timezones import timezone_info_list

    from bot.core.timezones import AMBIGUOUS, SUPPLEMENT, abbreviations, zone_word

    table = abbreviations(2026)
    assert set(SUPPLEMENT) <= set(table)
    theirs: dict[str, set[int]] = {}
    for name, seconds in timezone_info_list[1]["timezones"]:
        theirs.setdefault(name, set()).add(seconds)
    disagree = set()
    for name in set(table) - set(AMBIGUOUS):
        word = zone_word(name, year=2026)
        assert word is not None, name
        seconds = int(word.tz.utcoffset(None).total_seconds()) if word.iana is None else None
        if name in theirs and seconds is not None and seconds not in theirs[name]:
            disagree.add(name)
    # Venezuela (2016) and Novosibirsk (2016) changed offsets after dateparser's table was written.
    assert disagree <= {"VET", "NOVT"}


@pytest.mark.parametrize(
    "word",
    ["AM", "PM", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN", "JAN", "MAR", "MAY", "DEC", "NOW", "IN",
     "at", "on", "eat", "west", "may", "sat", "9am", "18:00", "10/01/2026", "2026-01-10"],
)  # fmt: skip
def test_time_words_and_dates_are_no_zone_words(word):
    from bot.core.timezones import zone_word

    assert zone_word(word, year=2026) is None
