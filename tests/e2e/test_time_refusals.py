"""Absurd times through the commands members use: a clear, private sentence each, nothing saved, no crash
(each of these raised OverflowError or was silently misread before)."""

from __future__ import annotations

import pytest


def answer(r) -> str:
    return r.response.content or ""


@pytest.mark.parametrize(
    ("when", "says"),
    [
        ("in 100000000000000000000 seconds", "five years"),
        ("99999999999 weeks", "five years"),
        ("0001-01-01 00:00 +05:00", "in the past"),
        ("tomorrow 25:00", "`25:00` is not a time of day"),
        ("in 10^20 seconds", "`^` has no meaning"),
    ],
)
async def test_absurd_reminder_times_are_refused(world, when, says):
    r = await world.alice.slash(world.general, "remind me", when=when, text="x")
    assert r.response.ephemeral and says in answer(r)
    r = await world.alice.slash(world.general, "remind list")
    assert "no pending reminders" in r.response.embeds[0].description


async def test_the_year_9999_in_new_york_is_refused_as_too_far(world):
    r = await world.alice.slash(world.general, "remind timezone", tz="America/New_York")
    assert "America/New_York" in answer(r)
    r = await world.alice.slash(world.general, "remind me", when="9999-12-31 23:59", text="x")
    assert r.response.ephemeral and "five years" in answer(r)


async def test_an_absurd_deadline_is_refused(world):
    await world.episode("1924-01")
    for when, says in (("99999999999 weeks", "five years"), ("tomorrow 25:00", "not a time of day")):
        r = await world.host.slash(
            world.general, "episode deadline", episode="1924-01", milestone="research", when=when
        )
        assert r.response.ephemeral and says in answer(r), answer(r)


async def test_absurd_reminder_settings_are_refused_and_nothing_changes(world):
    r = await world.admin.slash(world.general, "config reminders", offsets="1000000000d")
    assert r.response.ephemeral and "at most 60 days" in answer(r)
    r = await world.admin.slash(world.general, "config reminders", offsets="9" * 500 + "d")
    assert "too long" in answer(r)
    r = await world.admin.slash(world.general, "config reminders", digest_time="24:00")
    assert "not a time of day" in answer(r)
    r = await world.admin.slash(world.general, "config timezone", tz="`@everyone`")
    assert "not a time zone" in answer(r) and "``" not in answer(r)
    r = await world.admin.slash(world.general, "config show")
    reminders = next(f.value for f in r.response.embeds[0].fields if f.name == "Reminders")
    assert "`3d,1d,0`" in reminders and "Monday at 09:00" in reminders
