"""Job kinds take turns in a burst: two hundred members' private reminders fall due, and another server's
deadline reminder (another kind of job) due at the same moment, or a card update asked for in the middle
of the burst, is posted within the burst's first turns, not after the last DM; the pace stays under 45."""

from __future__ import annotations

from datetime import timedelta

from bot.core.scheduler import SLICE
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store
from cogs.research.messages import CARD_DELAY
from tests.conftest import build_world
from tests.e2e.clock import now, reminders_in
from tests.e2e.test_global_pace import MEMBERS, busiest_second, paced, timed

THE_HOUR = "%Y-%m-%d %H:%M"


async def private_reminders(world, when: str, text: str) -> list:
    members = [world.guild.add_member(world.env.create_user(f"reader{n}")) for n in range(MEMBERS)]
    for n, member in enumerate(members):
        r = await member.slash(world.general, "remind me", when=when, text=f"{text} {n}", private=True)
        assert r.response.ephemeral
    return members


def dms_to(members, sent) -> list[float]:
    """When each DM of the burst was posted."""
    channels = {f"/channels/{m.user.dm_channel.id}/messages" for m in members if m.user.dm_channel}
    return [t for t, e in sent if e.method == "POST" and e.path in channels]


async def test_another_servers_deadline_reminder_takes_its_turn_in_a_burst_of_dms(world):
    env = world.env
    due = (now() + timedelta(hours=1)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    members = await private_reminders(world, due.strftime(THE_HOUR), "Reread the Spartacus chapter, page")
    other = await build_world(env, name="Veles Readers")
    thread = await other.episode("1924-01", "Lenin's death in January 1924")
    episode = await episode_store.get_by_code(env.bot.services.db, other.guild.id, "1924-01")
    await authors_store.add_author(env.bot.services.db, episode.id, other.alice.id, other.host.id)
    r = await other.host.slash(
        other.general,
        "episode deadline",
        episode="1924-01",
        milestone="research",
        when=due.strftime(THE_HOUR),
    )
    assert r.response.ephemeral or r.followups
    log = timed(env)
    start = len(log)
    await env.advance_time((due - now()).total_seconds())
    for _ in range(10):  # at 45 a second the burst takes a while: follow it second by second
        await env.advance_time(1)
    sent = paced(log, start)
    dms = dms_to(members, sent)
    deadline = [t for t, e in sent if e.method == "POST" and e.path == f"/channels/{thread.id}/messages"]
    assert len(dms) == MEMBERS and len(deadline) == 1
    # Its kind had the second turn, after one slice of reminders (a DM to a new member is 2 requests).
    assert deadline[0] - min(dms) <= 2
    assert deadline[0] < max(dms) - 4  # while the burst still had seconds to go
    assert busiest_second([t for t, _ in sent]) <= 45
    assert [m for m in thread.history() if m.content.startswith(f"<@{other.alice.id}>")]


async def test_a_card_update_falling_due_during_a_burst_waits_one_turn_not_the_whole_burst(world):
    """A contribution made half a minute before the burst asks for its episode's card to be updated a
    moment after the burst began: the round that is delivering the burst takes it in at its next turn."""
    env = world.env
    due = (now() + timedelta(hours=1)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    members = await private_reminders(
        world, due.strftime(THE_HOUR), "Compare the accounts of Lenin's death, page"
    )
    other = await build_world(env, name="Veles Readers")
    thread = await other.episode("1924-01", "Lenin's death in January 1924")
    await env.advance_time((due - now()).total_seconds() - CARD_DELAY + 1)
    await other.alice.send(thread, "Krupskaya's memoir dates his death to 21 January 1924")
    log = timed(env)
    start = len(log)
    await env.advance_time((due - now()).total_seconds())
    for _ in range(10):
        await env.advance_time(1)
    sent = paced(log, start)
    dms = dms_to(members, sent)
    edits = [t for t, e in sent if e.method == "PATCH" and str(thread.id) in e.path]
    assert len(dms) == MEMBERS and edits
    assert edits[0] < max(dms) - 1.5  # it took a turn: the burst went on after it
    assert busiest_second([t for t, _ in sent]) <= 45


async def test_a_members_reminders_due_together_stay_one_dm_across_slices(world):
    """Forty-four members' private reminders, then three of Veles's, all due at once: the slice the
    scheduler hands over keeps Veles's three together, so they still come as one DM."""
    env = world.env
    due = (now() + timedelta(hours=1)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    when = due.strftime(THE_HOUR)
    members = [world.guild.add_member(env.create_user(f"reader{n}")) for n in range(SLICE - 1)]
    for n, member in enumerate(members):
        await member.slash(world.general, "remind me", when=when, text=f"Indy's source {n}", private=True)
    mine = ("Lenin died on 21 January 1924", "Krupskaya, not Krupskaja", "Veles and the underworld")
    for text in mine:
        r = await world.alice.slash(world.general, "remind me", when=when, text=text, private=True)
        assert r.response.ephemeral
    await env.advance_time((due - now()).total_seconds())
    for _ in range(5):
        await env.advance_time(1)
    [dm] = reminders_in(world.alice.user.dm_channel)
    assert all(text in dm.content for text in mine)
    assert all(len(reminders_in(m.user.dm_channel)) == 1 for m in members)
