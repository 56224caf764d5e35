"""`when` as members of each Discord language write it: numeric dates in their language's order, the
rest the same for everyone. Times are read in Europe/Berlin; expectations are Berlin wall-clock times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.timeparse import date_order_for, parse_when
from bot.errors import InvalidInput

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # Thursday 1 January 2026, 13:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
LOCALES = ("en-US", "en-GB", "de", "fr", "pl", "ja")


def d(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute)  # a Berlin wall time, naive


# For each text: what each language gets (a wall time in Berlin, or words of the refusal); one value
# stands for every language.
TABLE: list[tuple[str, dict[str, datetime | str] | datetime | str]] = [
    ("01.02.2026", {"en-US": d(1, 2), "en-GB": d(2, 1), "de": d(2, 1), "fr": d(2, 1), "pl": d(2, 1),
                    "ja": "write the year first"}),
    ("01/02/2026", {"en-US": d(1, 2), "en-GB": d(2, 1), "de": d(2, 1), "fr": d(2, 1), "pl": d(2, 1),
                    "ja": "write the year first"}),
    ("01-02-2026", {"en-US": d(1, 2), "en-GB": d(2, 1), "de": d(2, 1), "fr": d(2, 1), "pl": d(2, 1),
                    "ja": "write the year first"}),
    ("1.2.2026 18:00", {"en-US": d(1, 2, 18), "en-GB": d(2, 1, 18), "de": d(2, 1, 18), "fr": d(2, 1, 18),
                        "pl": d(2, 1, 18), "ja": "write the year first"}),
    ("10/01/2026 9am", {"en-US": d(10, 1, 9), "en-GB": d(1, 10, 9), "de": d(1, 10, 9), "fr": d(1, 10, 9),
                        "pl": d(1, 10, 9), "ja": "write the year first"}),
    ("1.2.26", {"en-US": d(1, 2), "en-GB": d(2, 1), "de": d(2, 1), "fr": d(2, 1), "pl": d(2, 1),
                "ja": "write the year first"}),
    ("18:00 on 3/4/2026", {"en-US": d(3, 4, 18), "en-GB": d(4, 3, 18), "de": d(4, 3, 18),
                           "fr": d(4, 3, 18), "pl": d(4, 3, 18), "ja": "write the year first"}),
    ("13/02/2026", {"en-US": "there is no month 13", "en-GB": d(2, 13), "de": d(2, 13), "fr": d(2, 13),
                    "pl": d(2, 13), "ja": d(2, 13)}),
    ("02/13/2026", {"en-US": d(2, 13), "en-GB": "there is no month 13", "de": "there is no month 13",
                    "fr": "there is no month 13", "pl": "there is no month 13", "ja": d(2, 13)}),
    ("31.02.2026", {"en-US": "there is no month 31", "en-GB": "February 2026 has no 31st",
                    "de": "February 2026 has no 31st", "fr": "February 2026 has no 31st",
                    "pl": "February 2026 has no 31st", "ja": "February 2026 has no 31st: I read `31.02.2026` day first."}),
    ("2/1", {"en-US": d(2, 1), "en-GB": d(1, 2), "de": d(1, 2), "fr": d(1, 2), "pl": d(1, 2), "ja": d(2, 1)}),
    ("1.2.", {"en-US": d(1, 2), "en-GB": d(2, 1), "de": d(2, 1), "fr": d(2, 1), "pl": d(2, 1), "ja": d(1, 2)}),
    # Year first, and everything that is not a numeric date, read the same in every language.
    ("2026-02-01", d(2, 1)),
    ("2026/02/01 18:00", d(2, 1, 18)),
    ("2026.2.1", d(2, 1)),
    ("2026-01-10 18:00", d(1, 10, 18)),
    ("tomorrow 18:00", d(1, 2, 18)),
    ("next friday 9am", d(1, 2, 9)),
    ("in 2 hours", d(1, 1, 15)),
    ("jan 10 5pm", d(1, 10, 17)),
    ("18:00 Europe/Berlin", d(1, 1, 18)),
    ("9am CEST", d(1, 2, 8)),  # 09:00 at +02:00 is 08:00 in Berlin's winter
    ("01.02.2026 18:00 UTC", {"en-US": d(1, 2, 19), "en-GB": d(2, 1, 19), "de": d(2, 1, 19),
                              "fr": d(2, 1, 19), "pl": d(2, 1, 19), "ja": "write the year first"}),
    ("9am IST", "could be India (Asia/Kolkata)"),
    ("2026-02-30", "February 2026 has no 30th"),
    ("01.02.2025", {"en-US": "in the past", "en-GB": "in the past", "de": "in the past", "fr": "in the past",
                    "pl": "in the past", "ja": "write the year first"}),
]  # fmt: skip


def cases():
    for text, expected in TABLE:
        for locale in LOCALES:
            want = expected[locale] if isinstance(expected, dict) else expected
            yield pytest.param(text, locale, want, id=f"{text}-{locale}")


@pytest.mark.parametrize(("text", "locale", "expected"), list(cases()))
def test_when_by_discord_language(text, locale, expected):
    order = date_order_for(locale)
    if isinstance(expected, str):
        with pytest.raises(InvalidInput) as refused:
            parse_when(text, now=NOW, zone="Europe/Berlin", date_order=order)
        assert expected in refused.value.message
        assert "\n" not in refused.value.message
    else:
        parsed = parse_when(text, now=NOW, zone="Europe/Berlin", date_order=order)
        assert parsed.when.astimezone(BERLIN).replace(tzinfo=None) == expected


def test_a_refusal_in_the_members_order_says_how_it_was_read():
    with pytest.raises(InvalidInput) as refused:
        parse_when("13/13/2026", now=NOW, zone="Europe/Berlin", date_order=date_order_for("de"))
    assert "read `13/13/2026` day first, as your Discord language writes dates" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        parse_when("13/13/2026", now=NOW, zone="Europe/Berlin", date_order=date_order_for("en-US"))
    assert "month first, as your Discord language writes dates" in refused.value.message


def test_every_language_gets_the_same_instant_for_the_same_day_written_its_own_way():
    written = {"en-US": "02/01/2026 18:00", "en-GB": "01/02/2026 18:00", "de": "1.2.2026 18:00",
               "fr": "01/02/2026 18:00", "pl": "01.02.2026 18:00", "ja": "2026/02/01 18:00"}  # fmt: skip
    instants = {
        parse_when(text, now=NOW, zone="Europe/Berlin", date_order=date_order_for(locale)).when
        for locale, text in written.items()
    }
    assert instants == {datetime(2026, 2, 1, 17, 0, tzinfo=UTC)}
