"""Numeric dates are read the way each member's Discord language writes them: month first in American
English, day first in British English, German and Polish; ISO dates as written; impossible dates refused.
The same reading applies to `/remind me`, `/remind edit` and `/episode deadline`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.e2e.locale import speaks


def stamp(*args: int) -> str:
    return f"<t:{int(datetime(*args, tzinfo=UTC).timestamp())}:f>"


TABLE = [
    # (locale, typed, read as)
    ("en-US", "01.02.2026 18:00", stamp(2026, 1, 2, 18, 0)),
    ("en-GB", "01.02.2026 18:00", stamp(2026, 2, 1, 18, 0)),
    ("de", "01.02.2026 18:00", stamp(2026, 2, 1, 18, 0)),
    ("pl", "01.02.2026 18:00", stamp(2026, 2, 1, 18, 0)),
    ("en-US", "10/01/2026 9am", stamp(2026, 10, 1, 9, 0)),
    ("en-GB", "10/01/2026 9am", stamp(2026, 1, 10, 9, 0)),
    ("de", "10/01/2026 9am", stamp(2026, 1, 10, 9, 0)),
    ("pl", "10/01/2026 9am", stamp(2026, 1, 10, 9, 0)),
    ("de", "2026-03-04 09:00", stamp(2026, 3, 4, 9, 0)),  # ISO: as written, whatever the language
    ("en-US", "2026-03-04 09:00", stamp(2026, 3, 4, 9, 0)),
]


@pytest.mark.parametrize(("locale", "typed", "expected"), TABLE)
async def test_remind_me_reads_numeric_dates_in_the_members_language(
    world, monkeypatch, locale, typed, expected
):
    speaks(monkeypatch, world.alice, locale)
    r = await world.alice.slash(world.general, "remind me", when=typed, text="Lenin's funeral, 1924")
    assert r.response.ephemeral
    assert expected in r.response.content, r.response.content


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "de", "pl"])
async def test_an_impossible_date_is_refused_in_every_language(world, monkeypatch, locale):
    speaks(monkeypatch, world.alice, locale)
    r = await world.alice.slash(world.general, "remind me", when="31.02.2026", text="Veles day")
    assert r.response.ephemeral
    assert "Reminder #" not in r.response.content
    assert "31.02.2026" in r.response.content
    listing = await world.alice.slash(world.general, "remind list")
    assert "no pending reminders" in listing.response.embeds[0].description


async def test_each_member_is_read_in_their_own_language(world, monkeypatch):
    speaks(monkeypatch, world.alice, "de")
    american = await world.bob.slash(world.general, "remind me", when="01.02.2026 18:00", text="Spartacus")
    german = await world.alice.slash(world.general, "remind me", when="01.02.2026 18:00", text="Krupskaya")
    assert stamp(2026, 1, 2, 18, 0) in american.response.content
    assert stamp(2026, 2, 1, 18, 0) in german.response.content


async def test_remind_edit_reads_the_new_time_in_the_members_language(world, monkeypatch):
    speaks(monkeypatch, world.alice, "pl")
    r = await world.alice.slash(world.general, "remind me", when="in 2 hours", text="Check the 1924 dates")
    rid = r.response.content.split("#")[1].split(":")[0]
    r = await world.alice.slash(world.general, "remind edit", reminder=rid, when="10/01/2026 9am")
    assert stamp(2026, 1, 10, 9, 0) in r.response.content, r.response.content


@pytest.mark.parametrize(
    ("locale", "expected"), [("en-US", stamp(2026, 1, 2, 18, 0)), ("de", stamp(2026, 2, 1, 18, 0))]
)
async def test_episode_deadline_reads_numeric_dates_in_the_members_language(
    world, monkeypatch, locale, expected
):
    await world.episode("1924-01")
    speaks(monkeypatch, world.host, locale)
    r = await world.host.slash(
        world.general, "episode deadline", episode="1924-01", milestone="script", when="01.02.2026 18:00"
    )
    assert expected in r.response.content, r.response.content
