"""A member's private reminders due together come as one DM, each one still snoozable from it; a DM
channel, once opened, is remembered in the database: later DMs neither look the member up nor open the
channel again, even after a restart; a remembered channel Discord no longer knows is opened anew, once;
closed DMs fall back as before."""

from __future__ import annotations

import discord

from bot.core import dm_store
from tests.e2e.clock import DAY, HOUR, reminders_in

FIVE = (
    "Lenin died in January 1924",
    "Krupskaya, not Krupskaja",
    "Veles and the underworld",
    "Spartacus at the Silarus",
    "Indy's list of sources",
)
SNOOZE_HOUR, SNOOZE_DAY = "archivist:snooze-one:3600", "archivist:snooze-one:86400"


def opened(env) -> int:
    """DM channels the bot asked Discord to open."""
    return sum(r.method == "POST" and r.path == "/users/@me/channels" for r in env.http_requests)


def user_look_ups(env) -> int:
    """Members the bot looked up one by one."""
    return sum(
        r.method == "GET" and r.path.startswith("/users/") and not r.path.startswith("/users/@me")
        for r in env.http_requests
    )


def posts_to(env, channel_id: int) -> int:
    return sum(r.method == "POST" and r.path == f"/channels/{channel_id}/messages" for r in env.http_requests)


def menu(message: discord.Message, custom_id: str) -> discord.SelectMenu:
    return next(c for row in message.components for c in row.children if c.custom_id == custom_id)


def reminder_id(reply) -> str:
    return reply.response.content.split("#", 1)[1].split(":", 1)[0].split(" ", 1)[0]


async def remind(member, channel, text: str, when: str = "in 1 hour", **kw) -> str:
    r = await member.slash(channel, "remind me", when=when, text=text, private=True, **kw)
    assert r.response.ephemeral and "Reminder #" in r.response.content, r.response.content
    return reminder_id(r)


async def test_five_due_together_come_as_one_dm_and_each_can_be_snoozed_alone(world, restart):
    env, alice = world.env, world.alice
    ids = [await remind(alice, world.general, text) for text in FIVE]
    await env.advance_time(HOUR + 5)
    [dm] = reminders_in(alice.user.dm_channel)
    assert all(text in dm.content for text in FIVE)
    assert dm.content.count(f"<@{alice.id}>") == 5
    assert posts_to(env, alice.user.dm_channel.id) == 1
    # Each reminder is a choice in both "Snooze just one" menus, named by its id and text.
    for custom_id in (SNOOZE_HOUR, SNOOZE_DAY):
        options = menu(dm, custom_id).options
        assert [o.value for o in options] == ids
        assert [o.label for o in options] == [f"#{i} · {text}" for i, text in zip(ids, FIVE, strict=True)]

    await restart()  # the menus answer by custom id: they work after a restart
    r = await alice.user.select(dm, [ids[1]], custom_id=SNOOZE_HOUR)
    assert r.response.ephemeral and r.response.content.startswith("💤 Snoozed this reminder")
    r = await alice.user.select(dm, [ids[2]], custom_id=SNOOZE_DAY)
    assert r.response.content.startswith("💤 Snoozed this reminder")
    r = await alice.user.select(dm, [ids[1]], custom_id=SNOOZE_DAY)
    assert r.response.content.startswith("Already snoozed")
    # The whole message's button snoozes the three left, and says two were snoozed already.
    r = await alice.user.click(dm, label="Snooze 1 hour")
    assert "Snoozed 3 reminders" in r.response.content and "2 more of yours here were" in r.response.content

    await env.advance_time(HOUR + 5)
    [_, back] = reminders_in(alice.user.dm_channel)
    assert "(snoozed)" in back.content
    assert [text in back.content for text in FIVE] == [True, True, False, True, True]
    await env.advance_time(DAY)
    [*_, last] = reminders_in(alice.user.dm_channel)
    assert FIVE[2] in last.content and FIVE[0] not in last.content
    assert len(reminders_in(alice.user.dm_channel)) == 3


async def test_in_a_shared_channel_only_the_owner_can_snooze_one_from_the_menu(world):
    env, alice, bob = world.env, world.alice, world.bob
    r = await alice.slash(world.general, "remind me", when="in 1 hour", text="Veles, for Alice")
    mine = reminder_id(r)
    r = await bob.slash(world.general, "remind me", when="in 1 hour", text="Spartacus, for Bob")
    his = reminder_id(r)
    await env.advance_time(HOUR + 5)
    [message] = reminders_in(world.general)
    assert [o.label for o in menu(message, SNOOZE_HOUR).options] == [
        f"#{mine} · Veles, for Alice",
        f"#{his} · Spartacus, for Bob",
    ]
    r = await bob.select(message, [mine], custom_id=SNOOZE_HOUR)
    assert r.response.ephemeral and "Only the member" in r.response.content
    r = await bob.select(message, [his], custom_id=SNOOZE_HOUR)
    assert r.response.content.startswith("💤 Snoozed this reminder")
    await env.advance_time(HOUR + 5)
    [_, back] = reminders_in(world.general)
    assert "Spartacus, for Bob" in back.content and "Veles" not in back.content


async def test_later_bursts_neither_open_the_dm_nor_look_members_up_even_after_a_restart(world, restart):
    env, members = world.env, (world.alice, world.bob)
    for member in members:
        await remind(member, world.general, f"{member.user.name}: Spartacus, first", when="in 1 hour")
        await remind(member, world.general, f"{member.user.name}: Spartacus, second", when="in 1 hour")
        await remind(member, world.general, f"{member.user.name}: Veles", when="in 3 hours")
        await remind(member, world.general, f"{member.user.name}: Lenin 1924", when="in 5 hours")
    before = opened(env), user_look_ups(env)
    await env.advance_time(HOUR + 5)
    assert opened(env) == before[0] + 2  # once per member, the first time
    assert user_look_ups(env) == before[1] == 0
    for member in members:
        [dm] = reminders_in(member.user.dm_channel)
        assert "Spartacus, first" in dm.content and "Spartacus, second" in dm.content
    remembered = await dm_store.get_many(env.bot.services.db, [m.id for m in members])
    assert {u: c.channel_id for u, c in remembered.items()} == {m.id: m.user.dm_channel.id for m in members}

    await env.advance_time(2 * HOUR)
    assert (opened(env), user_look_ups(env)) == (before[0] + 2, 0)
    await restart()  # a new bot knows the channels from the database alone
    await env.advance_time(2 * HOUR)
    assert (opened(env), user_look_ups(env)) == (before[0] + 2, 0)
    for member in members:
        assert len(reminders_in(member.user.dm_channel)) == 3
        assert posts_to(env, member.user.dm_channel.id) == 3


async def test_a_remembered_channel_discord_no_longer_knows_is_opened_anew_once(world):
    env, alice = world.env, world.alice
    db = env.bot.services.db
    stale = alice.user.dm_channel.id + 10_000  # no such channel in this Discord
    await dm_store.remember(db, alice.id, stale, 0.0)
    await remind(alice, world.general, "Krupskaya's memoirs, chapter 3")
    await env.advance_time(HOUR + 5)
    [dm] = reminders_in(alice.user.dm_channel)
    assert "Krupskaya's memoirs" in dm.content
    assert posts_to(env, stale) == 1 and opened(env) == 1
    assert (await dm_store.get(db, alice.id)).channel_id == alice.user.dm_channel.id
    assert reminders_in(world.general) == []  # no fall-back: it reached her DMs
    await remind(alice, world.general, "Lenin's funeral, 27 January 1924")
    await env.advance_time(HOUR + 5)
    assert len(reminders_in(alice.user.dm_channel)) == 2 and opened(env) == 1


async def test_an_assignment_dm_reopens_a_channel_discord_no_longer_knows(world):
    env, alice = world.env, world.alice
    stale = alice.user.dm_channel.id + 10_000
    await dm_store.remember(env.bot.services.db, alice.id, stale, 0.0)
    await world.episode("1924-01")
    await world.alice.slash(world.general, "episode volunteer", episode="1924-01", pitch="I read Krupskaya")
    r = await world.host.click(world.review.last_message, label="Approve")
    assert "by DM" in r.followups[-1].content, r.followups[-1].content
    [dm] = [m.content for m in alice.user.dm_channel.history()]
    assert "approved" in dm
    assert posts_to(env, stale) == 1 and opened(env) == 1 and user_look_ups(env) == 0


async def test_closed_dms_of_a_remembered_channel_fall_back_to_the_channel_without_the_texts(world):
    env, alice = world.env, world.alice
    await remind(alice, world.general, "opens the DM")
    await env.advance_time(HOUR + 5)
    assert opened(env) == 1
    env.inject_error(
        "POST", f"/channels/{alice.user.dm_channel.id}/messages", status=403, code=50007,
        message="Cannot send messages to this user", times=None,
    )  # fmt: skip
    ids = [await remind(alice, world.general, text) for text in ("Veles in secret", "Spartacus in secret")]
    await env.advance_time(HOUR + 5)
    [note] = [m for m in world.general.history() if m.content.startswith("🔒")]
    assert note.content.count("couldn't send it by DM") == 2
    assert "in secret" not in note.content
    options = menu(note, SNOOZE_HOUR).options
    assert [o.label for o in options] == [f"#{i} · private reminder" for i in ids]  # no text shown here
    assert opened(env) == 1  # closed DMs are not a reason to open the channel again
    r = await alice.select(note, [ids[0]], custom_id=SNOOZE_HOUR)
    assert r.response.content.startswith("💤 Snoozed this reminder")
    r = await alice.click(note, label="Show reminder")
    assert "Veles in secret" in r.response.content and "Spartacus in secret" in r.response.content


async def test_more_than_25_due_together_take_two_dms_each_with_every_choice(world):
    env, alice = world.env, world.alice
    for n in range(25):
        await remind(alice, world.general, f"server {n}")
    for n in range(2):
        r = await alice.user.slash("remind me", when="in 1 hour", text=f"dm {n}")
        assert "Reminder #" in r.response.content
    await env.advance_time(HOUR + 5)
    first, second = reminders_in(alice.user.dm_channel)
    assert len(menu(first, SNOOZE_HOUR).options) == 25 and len(menu(second, SNOOZE_DAY).options) == 2
    texts = [f"server {n}" for n in range(25)] + ["dm 0", "dm 1"]
    assert all((t in first.content) != (t in second.content) for t in texts)
