"""Repeating reminders end to end: `/remind me … repeat`, delivery at the same local time across DST,
months without the day, offline catch-up, snooze and cancel of a series, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest

from cogs.reminders import store as reminder_store
from tests.e2e.clock import advance_to, at
from tests.e2e.test_delivery_exactly_once import crash_after_send


def delivered(channel, text: str) -> list[discord.Message]:
    return [m for m in channel.history() if m.content.startswith("⏰") and m.content.endswith("\n" + text)]


def times(messages: list[discord.Message]) -> list[datetime]:
    """When each message was posted, to the minute (delivery happens within a second of the due time)."""
    return [m.created_at.astimezone(UTC).replace(second=0, microsecond=0) for m in messages]


async def remind(member, channel, when: str, text: str, repeat: str, **kw):
    r = await member.slash(channel, "remind me", when=when, text=text, repeat=repeat, **kw)
    assert r.response.ephemeral
    assert "Reminder #" in r.response.content, r.response.content
    return r


def reminder_id(response) -> str:
    return response.response.content.split("#", 1)[1].split(":", 1)[0]


@pytest.mark.parametrize(
    ("first", "until", "expected"),
    [
        # Spring forward (29 March 2026): 09:00 in Berlin is 08:00 UTC before, 07:00 UTC after.
        (
            "2026-03-27 09:00",
            at(2026, 3, 31, 12),
            [
                at(2026, 3, 27, 8),
                at(2026, 3, 28, 8),
                at(2026, 3, 29, 7),
                at(2026, 3, 30, 7),
                at(2026, 3, 31, 7),
            ],
        ),
        # Fall back (25 October 2026): 07:00 UTC before, 08:00 UTC after.
        (
            "2026-10-23 09:00",
            at(2026, 10, 27, 12),
            [
                at(2026, 10, 23, 7),
                at(2026, 10, 24, 7),
                at(2026, 10, 25, 8),
                at(2026, 10, 26, 8),
                at(2026, 10, 27, 8),
            ],
        ),
    ],
)
async def test_a_daily_reminder_stays_at_nine_in_berlin_across_dst(world, first, until, expected):
    env = world.env
    await world.alice.slash(world.general, "remind timezone", tz="Europe/Berlin")
    r = await remind(world.alice, world.general, first, "Water the plant named Veles", "daily")
    assert "repeats every day at 09:00 Europe/Berlin" in r.response.content
    await advance_to(env, until)
    messages = delivered(world.general, "Water the plant named Veles")
    assert times(messages) == expected
    assert all("(repeats every day)" in m.content for m in messages)
    assert all("was due" not in m.content for m in messages)  # each on time, none late
    # Still one reminder, pending at the next 09:00.
    listing = await world.alice.slash(world.general, "remind list")
    description = listing.response.embeds[0].description
    assert description.count("**#") == 1
    assert "🔁 repeats every day at 09:00 Europe/Berlin" in description


async def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months(world):
    env = world.env
    r = await remind(
        world.alice, world.general, "2026-01-31 18:00", "Pay the Spartacus league dues", "monthly"
    )
    assert "repeats every month on the 31st (or the month's last day) at 18:00 UTC" in r.response.content
    await advance_to(env, at(2026, 6, 1))
    messages = delivered(world.general, "Pay the Spartacus league dues")
    assert times(messages) == [
        at(2026, 1, 31, 18), at(2026, 2, 28, 18), at(2026, 3, 31, 18), at(2026, 4, 30, 18), at(2026, 5, 31, 18)
    ]  # fmt: skip


async def test_every_n_days_and_weekly(world):
    env = world.env
    await remind(
        world.alice, world.general, "2026-01-02 10:00", "Reread the Krupskaya letters", "every 3 days"
    )
    await remind(world.bob, world.general, "2026-01-02 11:00", "Indy's weekly call", "weekly")
    await advance_to(env, at(2026, 1, 17))
    assert times(delivered(world.general, "Reread the Krupskaya letters")) == [
        at(2026, 1, d, 10) for d in (2, 5, 8, 11, 14)
    ]
    assert times(delivered(world.general, "Indy's weekly call")) == [at(2026, 1, d, 11) for d in (2, 9, 16)]


async def test_a_repeat_missed_while_offline_comes_once_late_then_on_schedule(world, restart):
    env = world.env
    await remind(world.alice, world.general, "2026-01-02 09:00", "Morning reading on Lenin's death", "daily")
    await advance_to(env, at(2026, 1, 2, 12))
    assert len(delivered(world.general, "Morning reading on Lenin's death")) == 1

    async def offline():  # 2, 3, 4 and 5 January 09:00 pass while the bot is down
        await advance_to(env, at(2026, 1, 6, 12))

    await restart(offline)
    messages = delivered(world.general, "Morning reading on Lenin's death")
    assert len(messages) == 2
    assert "this was due" in messages[-1].content  # marked late, once
    await advance_to(env, at(2026, 1, 8, 12))
    messages = delivered(world.general, "Morning reading on Lenin's death")
    assert times(messages)[2:] == [at(2026, 1, 7, 9), at(2026, 1, 8, 9)]
    assert all("was due" not in m.content for m in messages[2:])


async def test_cancel_stops_the_series(world):
    env = world.env
    r = await remind(world.alice, world.general, "2026-01-02 09:00", "Stretch like Spartacus", "daily")
    await advance_to(env, at(2026, 1, 3, 12))
    assert len(delivered(world.general, "Stretch like Spartacus")) == 2
    cancelled = await world.alice.slash(world.general, "remind cancel", reminder=reminder_id(r))
    assert "Cancelled" in cancelled.response.content and "won't repeat" in cancelled.response.content
    await advance_to(env, at(2026, 1, 10))
    assert len(delivered(world.general, "Stretch like Spartacus")) == 2


async def test_snoozing_an_occurrence_brings_it_back_once_and_the_series_goes_on(world):
    env = world.env
    await remind(world.alice, world.general, "2026-01-02 09:00", "Check the Krupskaya spelling", "daily")
    await advance_to(env, at(2026, 1, 2, 9, 0, 30))
    [message] = delivered(world.general, "Check the Krupskaya spelling")
    r = await world.bob.click(message, label="Snooze 1 hour")
    assert "Only the member" in r.response.content
    first = await world.alice.click(message, label="Snooze 1 hour")
    assert first.response.content.startswith("💤 Snoozed this reminder")
    second = await world.alice.click(message, label="Snooze 1 day")
    assert second.response.content.startswith("Already snoozed")
    assert "<t:" in second.response.content
    await advance_to(env, at(2026, 1, 3, 12))
    messages = delivered(world.general, "Check the Krupskaya spelling")
    assert times(messages) == [at(2026, 1, 2, 9), at(2026, 1, 2, 10), at(2026, 1, 3, 9)]
    assert "(snoozed)" in messages[1].content and "repeats" not in messages[1].content
    assert "(repeats every day)" in messages[2].content
    # The copy was one-off; the series is still one pending reminder.
    pending = await reminder_store.pending_for(world.bot.services.db, world.guild.id, world.alice.id)
    assert [r.repeat for r in pending] == ["daily"]


async def test_a_snoozed_copy_can_be_snoozed_again_and_the_series_cancelled_meanwhile(world):
    env = world.env
    r = await remind(world.alice, world.general, "2026-01-02 09:00", "Read about Veles", "daily")
    await advance_to(env, at(2026, 1, 2, 9, 0, 20))
    [message] = delivered(world.general, "Read about Veles")
    await world.alice.click(message, label="Snooze 1 hour")
    await world.alice.slash(world.general, "remind cancel", reminder=reminder_id(r))
    await advance_to(env, at(2026, 1, 2, 10, 0, 40))
    copy = delivered(world.general, "Read about Veles")[-1]
    assert "(snoozed)" in copy.content
    again = await world.alice.click(copy, label="Snooze 1 hour")
    assert again.response.content.startswith("💤 Snoozed this reminder")
    await advance_to(env, at(2026, 1, 5))
    assert times(delivered(world.general, "Read about Veles")) == [
        at(2026, 1, 2, 9), at(2026, 1, 2, 10), at(2026, 1, 2, 11)
    ]  # fmt: skip


async def test_a_private_repeat_comes_by_dm_each_time(world):
    env = world.env
    await remind(
        world.alice, world.general, "2026-01-02 09:00", "secret: Lenin's testament", "daily", private=True
    )
    await advance_to(env, at(2026, 1, 4, 12))
    dms = delivered(world.alice.user.dm_channel, "secret: Lenin's testament")
    assert times(dms) == [at(2026, 1, d, 9) for d in (2, 3, 4)]
    assert delivered(world.general, "secret: Lenin's testament") == []
    r = await world.alice.user.click(dms[0], label="Snooze 1 hour")
    assert "Snoozed" in r.response.content


@pytest.mark.parametrize(
    ("repeat", "says"),
    [
        ("every 0 days", "1 to 365"),
        ("every 400 days", "1 to 365"),
        ("fortnightly", "can't read"),
        ("every 2 months", "every month"),
    ],
)
async def test_a_repeat_that_cannot_be_read_is_refused_and_nothing_is_set(world, repeat, says):
    r = await world.alice.slash(world.general, "remind me", when="tomorrow 9am", text="Veles", repeat=repeat)
    assert r.response.ephemeral
    assert says in r.response.content, r.response.content
    assert "Reminder #" not in r.response.content
    listing = await world.alice.slash(world.general, "remind list")
    assert "no pending reminders" in listing.response.embeds[0].description


async def test_none_means_a_one_off(world):
    env = world.env
    r = await remind(world.alice, world.general, "2026-01-02 09:00", "Just once, Indy", "none")
    assert "repeats" not in r.response.content
    await advance_to(env, at(2026, 1, 5))
    assert len(delivered(world.general, "Just once, Indy")) == 1


async def test_repeat_suggestions(world):
    offered = await world.alice.autocomplete(world.general, "remind me", "repeat", "")
    values = [c["value"] for c in offered]
    assert values[:3] == ["daily", "weekly", "monthly"] and "every 2 days" in values
    assert [
        c["value"] for c in await world.alice.autocomplete(world.general, "remind me", "repeat", "mon")
    ] == ["monthly"]
    typed = await world.alice.autocomplete(world.general, "remind me", "repeat", "every 5")
    assert typed[0]["value"] == "every 5 days"


async def test_cancel_and_edit_suggestions_show_the_repetition(world):
    await remind(world.alice, world.general, "2026-01-02 09:00", "Daily Spartacus chapter", "daily")
    for command in ("remind cancel", "remind edit"):
        [choice] = await world.alice.autocomplete(world.general, command, "reminder", "")
        assert "🔁 every day" in choice["name"] and "Daily Spartacus chapter" in choice["name"]


async def test_repeats_due_together_share_a_message_and_each_goes_on(world, restart):
    env = world.env
    await remind(world.alice, world.general, "2026-01-02 09:00", "Alice reads about Veles", "daily")
    await remind(world.bob, world.general, "2026-01-02 09:00", "Bob reads about Spartacus", "daily")

    async def offline():
        await advance_to(env, at(2026, 1, 2, 12))

    await restart(offline)
    [message] = [m for m in world.general.history() if m.content.startswith("⏰")]
    assert "Alice reads about Veles" in message.content and "Bob reads about Spartacus" in message.content
    r = await world.alice.click(message, label="Snooze 1 hour")
    assert r.response.content.startswith("💤 Snoozed this reminder")
    await advance_to(env, at(2026, 1, 3, 12))
    later = [m for m in world.general.history() if m.content.startswith("⏰")][1:]
    assert len(later) == 2
    assert "Alice reads about Veles" in later[0].content and "Bob" not in later[0].content  # the snoozed copy
    assert "Alice reads about Veles" in later[1].content and "Bob reads about Spartacus" in later[1].content


@pytest.mark.simcord(check_errors=False)
async def test_an_occurrence_accepted_before_a_crash_is_not_sent_again_and_the_series_goes_on(
    world, monkeypatch, restart
):
    env = world.env
    await remind(world.alice, world.general, "2026-01-02 09:00", "Krupskaya's letters, daily", "daily")
    crash_after_send(monkeypatch)
    await advance_to(env, at(2026, 1, 2, 9, 1))
    assert len(delivered(world.general, "Krupskaya's letters, daily")) == 1
    await restart()
    await advance_to(env, at(2026, 1, 3, 12))
    assert times(delivered(world.general, "Krupskaya's letters, daily")) == [
        at(2026, 1, 2, 9),
        at(2026, 1, 3, 9),
    ]
