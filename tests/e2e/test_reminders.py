"""Personal reminders end to end: `/remind me|list|cancel|timezone`, delivery, snooze, restarts, faults."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest

HOUR = 3600


def now() -> datetime:
    return discord.utils.utcnow()


def stamp(when: datetime) -> int:
    return int(when.timestamp())


def bot_posts(env, channel_id: int) -> list:
    """What the bot asked Discord to post in one channel (successful or not)."""
    return [
        r for r in env.http_requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
    ]


def reminders_in(channel) -> list[discord.Message]:
    return [m for m in channel.history() if "⏰" in (m.content or "") or "🔒" in (m.content or "")]


async def remind(member, channel, when="in 2 hours", text="check the Krupskaya spelling", **kw):
    r = await member.slash(channel, "remind me", when=when, text=text, **kw)
    assert r.response.ephemeral
    return r


async def test_the_clock_starts_at_new_year_2026(world):
    assert now() == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("in 2 hours", datetime(2026, 1, 1, 2, 0, tzinfo=UTC)),
        ("2h30m", datetime(2026, 1, 1, 2, 30, tzinfo=UTC)),
        ("tomorrow 18:00", datetime(2026, 1, 2, 18, 0, tzinfo=UTC)),
        ("next friday 9am", datetime(2026, 1, 2, 9, 0, tzinfo=UTC)),
        ("2026-01-10 18:00", datetime(2026, 1, 10, 18, 0, tzinfo=UTC)),
        ("<t:1767300000>", datetime(2026, 1, 1, 20, 40, tzinfo=UTC)),
        ("<t:1767300000:R>", datetime(2026, 1, 1, 20, 40, tzinfo=UTC)),
    ],
)
async def test_each_time_format_is_confirmed_as_discord_timestamps(world, when, expected):
    r = await remind(world.alice, world.general, when=when)
    content = r.response.content
    assert f"<t:{stamp(expected)}:f>" in content
    assert f"<t:{stamp(expected)}:R>" in content
    assert "in <#" in content


async def test_delivered_not_early_not_late_mentioning_only_the_owner(world):
    env = world.env
    await remind(world.alice, world.general, when="in 2 hours", text="read *Lenin's Testament*")
    await env.advance_time(2 * HOUR - 10)
    assert reminders_in(world.general) == []
    await env.advance_time(20)
    [message] = reminders_in(world.general)
    assert message.content.startswith(f"⏰ <@{world.alice.id}>")
    assert message.content.endswith("\nread *Lenin's Testament*")  # verbatim
    assert "was due" not in message.content
    [request] = bot_posts(env, world.general.id)[-1:]
    assert request.json["allowed_mentions"] == {"users": [world.alice.id], "parse": []}
    labels = [c.label for row in message.components for c in row.children]
    assert labels == ["Snooze 1 hour", "Snooze 1 day"]
    await env.advance_time(10 * HOUR)
    assert len(reminders_in(world.general)) == 1


async def test_hostile_text_never_pings_anyone_but_the_owner(world):
    env = world.env
    hostile = f"@everyone @here <@&{world.host_role.id}> <@{world.bob.id}> look!"
    await remind(world.alice, world.general, when="1h", text=hostile)
    await env.advance_time(HOUR + 5)
    [message] = reminders_in(world.general)
    assert hostile in message.content
    assert not message.mention_everyone
    # Discord pings what allowed_mentions permits: the owner, and no role, @everyone or other member.
    request = bot_posts(env, world.general.id)[-1]
    assert request.json["allowed_mentions"]["parse"] == []
    assert request.json["allowed_mentions"]["users"] == [world.alice.id]


async def test_member_time_zone_then_server_time_zone(world):
    suggestions = await world.alice.autocomplete(world.general, "remind timezone", "tz", "tok")
    assert {"name": "Asia/Tokyo", "value": "Asia/Tokyo"} in suggestions
    r = await world.alice.slash(world.general, "remind timezone", tz="asia/tokyo")
    assert r.response.ephemeral
    assert "Asia/Tokyo" in r.response.content
    r = await remind(world.alice, world.general, when="tomorrow 09:00")
    assert f"<t:{stamp(datetime(2026, 1, 2, 0, 0, tzinfo=UTC))}:f>" in r.response.content
    # Bob has no zone of his own: the server's is used.
    await world.admin.slash(world.general, "config timezone", tz="Europe/Berlin")
    r = await remind(world.bob, world.general, when="tomorrow 09:00")
    assert f"<t:{stamp(datetime(2026, 1, 2, 8, 0, tzinfo=UTC))}:f>" in r.response.content


async def test_unknown_time_zone_is_refused(world):
    r = await world.alice.slash(world.general, "remind timezone", tz="Mars/Olympus")
    assert r.response.ephemeral
    assert "not a time zone" in r.response.content


async def test_past_unreadable_and_absurd_times_are_clear_errors(world):
    r = await world.alice.slash(world.general, "remind me", when="yesterday", text="x")
    assert r.response.ephemeral
    assert "in the past" in r.response.content and "<t:" in r.response.content
    r = await world.alice.slash(world.general, "remind me", when="whenever you like", text="x")
    assert "couldn't read" in r.response.content and "2h30m" in r.response.content
    r = await world.alice.slash(world.general, "remind me", when="in 6 years", text="x")
    assert "five years" in r.response.content
    r = await world.alice.slash(world.general, "remind list")
    assert "no pending reminders" in r.response.embeds[0].description


async def test_text_limit(world):
    r = await world.alice.slash(world.general, "remind me", when="1h", text="x" * 1501)
    assert r.response.ephemeral
    assert "1,501" in r.response.content and "1,500" in r.response.content
    text = "y" * 1500
    await remind(world.alice, world.general, when="1h", text=text)
    await world.env.advance_time(HOUR + 1)
    [message] = reminders_in(world.general)
    assert message.content.endswith("\n" + text)
    assert len(message.content) <= 2000


async def test_at_most_25_pending_per_member(world):
    for n in range(25):
        await remind(world.alice, world.general, when=f"{n + 1}h", text=f"r{n}")
    r = await world.alice.slash(world.general, "remind me", when="30h", text="one too many")
    assert r.response.ephemeral
    assert "25 pending reminders" in r.response.content and "/remind cancel" in r.response.content
    await remind(world.bob, world.general, when="1h", text="bob is fine")
    r = await world.alice.slash(world.general, "remind list")
    embed = r.response.embeds[0]
    assert "(25/25)" in embed.title
    assert embed.footer.text == "Page 1 of 3"


async def test_private_reminder_goes_by_dm(world):
    env = world.env
    r = await remind(world.alice, world.general, when="1h", text="secret plan", private=True)
    assert "by DM" in r.response.content
    await env.advance_time(HOUR + 1)
    assert reminders_in(world.general) == []
    [dm] = reminders_in(world.alice.user.dm_channel)
    assert dm.content.endswith("\nsecret plan")


async def test_closed_dms_fall_back_to_a_mention_in_the_channel_without_showing_the_text(world):
    env = world.env
    dm = world.alice.user.dm_channel
    env.inject_error(
        "POST", f"/channels/{dm.id}/messages", status=403, code=50007,
        message="Cannot send messages to this user", times=None,
    )  # fmt: skip
    await remind(world.alice, world.general, when="1h", text="secret plan", private=True)
    await env.advance_time(HOUR + 1)
    [note] = reminders_in(world.general)
    assert f"<@{world.alice.id}>" in note.content
    assert "secret plan" not in note.content
    assert "couldn't send it by DM" in note.content
    r = await world.bob.click(note, label="Show reminder")
    assert r.response.ephemeral and "not yours" in r.response.content
    r = await world.alice.click(note, label="Show reminder")
    assert r.response.ephemeral
    assert "secret plan" in r.response.content
    await env.advance_time(HOUR)
    assert len(reminders_in(world.general)) == 1


async def test_list_and_cancel_only_ones_own(world):
    env = world.env
    await remind(world.alice, world.general, when="1h", text="first thing")
    await remind(world.alice, world.general, when="3h", text="second thing", private=True)
    r = await world.alice.slash(world.general, "remind list")
    assert r.response.ephemeral
    listing = r.response.embeds[0].description
    assert listing.index("first thing") < listing.index("second thing")
    assert "by DM" in listing
    r = await world.bob.slash(world.general, "remind list")
    assert "no pending reminders" in r.response.embeds[0].description

    choices = await world.alice.autocomplete(world.general, "remind cancel", "reminder", "")
    assert len(choices) == 2 and "first thing" in choices[0]["name"]
    assert await world.bob.autocomplete(world.general, "remind cancel", "reminder", "") == []
    narrowed = await world.alice.autocomplete(world.general, "remind cancel", "reminder", "second")
    assert [c["value"] for c in narrowed] == [choices[1]["value"]]

    first = choices[0]["value"]
    r = await world.bob.slash(world.general, "remind cancel", reminder=first)
    assert r.response.ephemeral and "someone else" in r.response.content
    r = await world.alice.slash(world.general, "remind cancel", reminder="424242")
    assert "no reminder" in r.response.content
    r = await world.alice.slash(world.general, "remind cancel", reminder=first)
    assert r.response.ephemeral and "Cancelled" in r.response.content
    r = await world.alice.slash(world.general, "remind cancel", reminder=first)
    assert "not pending" in r.response.content

    await env.advance_time(4 * HOUR)
    assert reminders_in(world.general) == []
    [dm] = reminders_in(world.alice.user.dm_channel)
    assert "second thing" in dm.content


async def test_snooze_owner_only_once_per_delivery(world):
    env = world.env
    await remind(world.alice, world.general, when="1h", text="stretch")
    await env.advance_time(HOUR + 1)
    [message] = reminders_in(world.general)
    r = await world.bob.click(message, label="Snooze 1 hour")
    assert r.response.ephemeral and "Only the member" in r.response.content
    r = await world.alice.click(message, label="Snooze 1 hour")
    assert r.response.ephemeral and "Snoozed" in r.response.content
    r = await world.alice.click(message, label="Snooze 1 day")
    assert "Already snoozed" in r.response.content
    await env.advance_time(HOUR - 10)
    assert len(reminders_in(world.general)) == 1
    await env.advance_time(20)
    assert len(reminders_in(world.general)) == 2
    await env.advance_time(2 * 86400)
    assert len(reminders_in(world.general)) == 2


async def test_restart_before_due_still_delivers_once(world, restart):
    env = world.env
    await remind(world.alice, world.general, when="2h", text="survive restarts")
    await restart()
    await env.advance_time(2 * HOUR + 1)
    assert len(reminders_in(world.general)) == 1
    await restart()
    await env.advance_time(HOUR)
    assert len(reminders_in(world.general)) == 1


async def test_snooze_buttons_work_after_a_restart(world, restart):
    env = world.env
    await remind(world.alice, world.general, when="1h", text="after restart")
    await env.advance_time(HOUR + 1)
    [message] = reminders_in(world.general)
    await restart()
    r = await world.alice.click(message, label="Snooze 1 day")
    assert "Snoozed" in r.response.content
    await env.advance_time(86400 + 1)
    assert len(reminders_in(world.general)) == 2


async def test_due_while_offline_is_delivered_once_marked_late(world, restart):
    env = world.env
    await remind(world.alice, world.general, when="1h", text="while you were out")

    async def offline():
        await env.advance_time(3 * HOUR)

    await restart(offline)
    [message] = reminders_in(world.general)
    assert "this was due <t:" in message.content and ":R>" in message.content
    assert message.content.endswith("\nwhile you were out")
    await restart()
    await env.advance_time(HOUR)
    assert len(reminders_in(world.general)) == 1


async def test_many_due_at_once_are_grouped_into_few_messages(world, restart):
    env = world.env
    for n in range(6):
        await remind(world.alice, world.general, when="1h", text=f"alice {n}")
        await remind(world.bob, world.general, when="1h", text=f"bob {n}")

    async def offline():
        await env.advance_time(2 * HOUR)

    await restart(offline)
    posts = bot_posts(env, world.general.id)
    assert len(posts) == 1
    [message] = reminders_in(world.general)
    assert all(f"alice {n}" in message.content and f"bob {n}" in message.content for n in range(6))
    assert sorted(posts[0].json["allowed_mentions"]["users"]) == sorted([world.alice.id, world.bob.id])
    # One Snooze for a whole grouped message snoozes the clicker's reminders in it, and only theirs.
    r = await world.admin.click(message, label="Snooze 1 hour")
    assert "None of these reminders are yours" in r.response.content
    r = await world.alice.click(message, label="Snooze 1 hour")
    assert "6 reminders" in r.response.content
    await env.advance_time(HOUR + 1)
    later = reminders_in(world.general)
    assert len(later) == 2
    assert "alice 5" in later[1].content and "bob" not in later[1].content


async def test_injected_500_is_retried_and_delivered_exactly_once(world):
    env = world.env
    await remind(world.alice, world.general, when="1h", text="flaky discord")
    env.inject_error("POST", "/channels/*/messages", status=500, times=1)
    await env.advance_time(HOUR + 1)
    assert reminders_in(world.general) == []
    await env.advance_time(60)
    assert len(reminders_in(world.general)) == 1
    await env.advance_time(HOUR)
    assert len(reminders_in(world.general)) == 1
    assert len(bot_posts(env, world.general.id)) == 2  # the refused attempt and the delivery


async def test_injected_429_is_retried_and_delivered_exactly_once(world):
    env = world.env
    await remind(world.alice, world.general, when="1h", text="slow down")
    env.inject_error(
        "POST", "/channels/*/messages", status=429, message="You are being rate limited.", times=2
    )
    await env.advance_time(HOUR + 1)
    assert reminders_in(world.general) == []
    await env.advance_time(120)
    assert len(reminders_in(world.general)) == 1
    await env.advance_time(HOUR)
    assert len(reminders_in(world.general)) == 1


async def test_deleted_channel_falls_back_to_the_announcements_channel(world):
    env = world.env
    scratch = world.guild.create_text_channel("scratch")
    await remind(world.alice, scratch, when="1h", text="where did it go")
    await env.bot.get_channel(scratch.id).delete()
    await env.advance_time(HOUR + 1)
    [message] = reminders_in(world.announcements)
    assert "couldn't post in" in message.content
    assert message.content.endswith("\nwhere did it go")
    assert [u.id for u in message.mentions] == [world.alice.id]


async def test_reminder_list_pages_turn_after_a_restart(world, restart):
    for n in range(12):
        await world.alice.slash(world.general, "remind me", when=f"in {n + 1} days", text=f"Read chapter {n}")
    first = await world.alice.slash(world.general, "remind list")
    assert first.response.embeds[0].footer.text == "Page 1 of 2"
    assert "Read chapter 9" in first.response.embeds[0].description
    await restart()
    second = await world.alice.click(first.response, label="Next")
    embed = second.response.embeds[0]
    assert embed.footer.text == "Page 2 of 2"
    assert "Read chapter 10" in embed.description and "Read chapter 9" not in embed.description
    back = await world.alice.click(second.response, label="Previous")
    assert "Read chapter 0" in back.response.embeds[0].description
