"""`/remind` in a DM with the bot: set, listed, edited, cancelled, snoozed and delivered there, with a
time zone of its own; a DM's reminders and a server's never see each other; every other command stays
server-only."""

from __future__ import annotations

from tests.e2e.clock import HOUR, advance_to, at, reminders_in, stamp


def reminder_id(content: str) -> str:
    return content.split("#", 1)[1].split(":", 1)[0]


async def test_only_remind_works_in_a_dm(world):
    commands = world.alice.user.available_commands()
    assert commands and all(c.startswith("remind ") for c in commands), commands
    assert {"remind me", "remind list", "remind edit", "remind cancel", "remind timezone"} <= set(commands)
    assert "episode create" in world.alice.available_commands(world.general)


async def test_a_reminder_set_in_a_dm_is_delivered_there(world):
    env = world.env
    r = await world.alice.user.slash("remind me", when="in 2 hours", text="Reread Krupskaya's memoirs")
    assert r.response.ephemeral
    assert "Reminder #" in r.response.content and "here in our DMs" in r.response.content
    await env.advance_time(2 * HOUR + 5)
    [message] = reminders_in(world.alice.user.dm_channel)
    assert message.content.startswith(f"⏰ <@{world.alice.id}>")
    assert message.content.endswith("\nReread Krupskaya's memoirs")
    assert reminders_in(world.general) == [] and reminders_in(world.announcements) == []
    # Snooze works in the DM.
    snoozed = await world.alice.user.click(message, label="Snooze 1 hour")
    assert snoozed.response.content.startswith("💤 Snoozed this reminder")
    again = await world.alice.user.click(message, label="Snooze 1 day")
    assert again.response.content.startswith("Already snoozed")
    await env.advance_time(HOUR + 5)
    assert len(reminders_in(world.alice.user.dm_channel)) == 2


async def test_a_dm_and_a_server_keep_their_reminders_apart(world):
    dm = await world.alice.user.slash("remind me", when="in 1 hour", text="DM: light a candle for Veles")
    server = await world.alice.slash(world.general, "remind me", when="in 1 hour", text="Server: Spartacus")
    dm_id, server_id = reminder_id(dm.response.content), reminder_id(server.response.content)

    listing = (await world.alice.user.slash("remind list")).response.embeds[0].description
    assert "Veles" in listing and "Spartacus" not in listing
    listing = (await world.alice.slash(world.general, "remind list")).response.embeds[0].description
    assert "Spartacus" in listing and "Veles" not in listing
    [choice] = await world.alice.user.autocomplete("remind cancel", "reminder", "")
    assert choice["value"] == dm_id
    [choice] = await world.alice.autocomplete(world.general, "remind edit", "reminder", "")
    assert choice["value"] == server_id

    # Neither is reachable from the other place.
    r = await world.alice.user.slash("remind cancel", reminder=server_id)
    assert "no reminder" in r.response.content
    r = await world.alice.slash(world.general, "remind edit", reminder=dm_id, text="moved")
    assert "no reminder" in r.response.content
    # And another member cannot touch a DM reminder from their own DM.
    r = await world.bob.user.slash("remind cancel", reminder=dm_id)
    assert "someone else" in r.response.content


async def test_edit_cancel_and_repeat_in_a_dm(world):
    env = world.env
    r = await world.alice.user.slash(
        "remind me", when="2026-01-02 09:00", text="Daily DM note", repeat="daily"
    )
    rid = reminder_id(r.response.content)
    assert "repeats every day at 09:00 UTC" in r.response.content
    r = await world.alice.user.slash("remind edit", reminder=rid, text="Daily DM note on Lenin")
    assert "changed (text)" in r.response.content
    await advance_to(env, at(2026, 1, 3, 12))
    dms = reminders_in(world.alice.user.dm_channel)
    assert [m.content.rsplit("\n", 1)[1] for m in dms] == ["Daily DM note on Lenin"] * 2
    r = await world.alice.user.slash("remind cancel", reminder=rid)
    assert "Cancelled" in r.response.content
    await advance_to(env, at(2026, 1, 6))
    assert len(reminders_in(world.alice.user.dm_channel)) == 2


async def test_a_dm_has_its_own_time_zone(world):
    await world.admin.slash(world.general, "config timezone", tz="Europe/Berlin")
    # In a DM there is no server: times are read in UTC until the member sets a zone there.
    r = await world.alice.user.slash("remind me", when="tomorrow 09:00", text="UTC morning")
    assert stamp(at(2026, 1, 2, 9)) in r.response.content
    r = await world.alice.user.slash("remind timezone", tz="Asia/Tokyo")
    assert "in our DMs" in r.response.content and "Asia/Tokyo" in r.response.content
    r = await world.alice.user.slash("remind me", when="tomorrow 09:00", text="Tokyo morning")
    assert stamp(at(2026, 1, 2, 0)) in r.response.content
    # The server still reads her times in its own zone.
    r = await world.alice.slash(world.general, "remind me", when="tomorrow 09:00", text="Berlin morning")
    assert stamp(at(2026, 1, 2, 8)) in r.response.content


async def test_a_dm_reminder_whose_dm_is_closed_fails_without_posting_anywhere_else(world):
    env = world.env
    dm = world.alice.user.dm_channel
    await world.alice.user.slash("remind me", when="in 1 hour", text="only for my eyes")
    env.inject_error(
        "POST", f"/channels/{dm.id}/messages", status=403, code=50007,
        message="Cannot send messages to this user", times=None,
    )  # fmt: skip
    await env.advance_time(2 * HOUR)
    for channel in (world.general, world.announcements, world.review):
        assert all("only for my eyes" not in m.content for m in channel.history())
    listing = await world.alice.user.slash("remind list")
    assert "no pending reminders" in listing.response.embeds[0].description
