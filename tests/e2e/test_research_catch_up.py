"""Catching up after downtime never loses research: a message leaves the record only on evidence
(a delete event, or Discord answering "Unknown Message" for that very message), never because a
history read came back short, empty, refused or failed.

At the start only threads with new messages are read; edits and deletions made while the bot was
away are applied by the background reconciliation, RECONCILE_DELAY seconds later (`reconciled`)."""

from __future__ import annotations

import json

import discord
import pytest
from simcord.backend.models import Overwrite
from simcord.enums import OverwriteType
from simcord.http import router

from cogs.research import catchup

CODE = "1924-01"
DEATH = "Lenin died on 21 January 1924, aged 53."
RENAME = "After his death Petrograd was renamed Leningrad."


async def research_texts(world) -> list[str]:
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="json")
    data = json.loads((await r.response.attachments[0].read()).decode("utf-8"))
    return [c["text"] for c in data["contributions"]]


@pytest.fixture
def empty_history(monkeypatch):
    """Make Discord answer every channel history read with an empty list (as it does without Read
    Message History), while single messages can still be fetched: a short read, nothing more."""

    def install() -> None:
        history = ["channels", "{channel_id}", "messages"]
        table = [(t, (lambda ctx: []) if t == history else h) for t, h in router._ROUTES["GET"]]
        assert table != router._ROUTES["GET"], "simcord's history route moved"
        monkeypatch.setitem(router._ROUTES, "GET", table)

    return install


async def reconciled(world) -> None:
    """Let the background reconciliation of recent messages run (it starts RECONCILE_DELAY seconds
    after the start's catch-up; a refused thread is tried again RECONCILE_RETRY seconds later)."""
    await world.env.advance_time(catchup.RECONCILE_DELAY + 5)


async def two_posts(world):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    rename = await world.bob.send(thread, RENAME)
    assert await research_texts(world) == [DEATH, RENAME]
    return thread, death, rename


async def test_losing_read_message_history_keeps_the_research(world, restart):
    await two_posts(world)

    async def offline():
        bot_id = world.env.backend.bot_user.id
        world.env.backend.set_overwrite(
            world.forum.id,
            Overwrite(
                target_id=bot_id,
                type=OverwriteType.MEMBER,
                allow=0,
                deny=discord.Permissions(read_message_history=True).value,
            ),
        )

    await restart(offline)
    await reconciled(world)  # the recent messages are read again in the background
    assert await research_texts(world) == [DEATH, RENAME]
    await restart()  # and again: still nothing lost
    assert await research_texts(world) == [DEATH, RENAME]


async def test_a_refused_history_read_deletes_nothing(world, restart):
    await two_posts(world)

    async def offline():
        world.env.inject_error("GET", "/channels/*/messages", status=403, code=50001, times=None)

    await restart(offline)
    await reconciled(world)  # the recent messages are read again in the background
    assert await research_texts(world) == [DEATH, RENAME]


async def test_a_failed_history_read_deletes_nothing(world, restart):
    await two_posts(world)

    async def offline():
        world.env.inject_error("GET", "/channels/*/messages", status=500, times=None)

    await restart(offline)
    await reconciled(world)  # the recent messages are read again in the background
    assert await research_texts(world) == [DEATH, RENAME]


async def test_an_empty_history_read_keeps_messages_that_are_still_there(world, restart, empty_history):
    await two_posts(world)

    async def offline():
        empty_history()

    await restart(offline)
    await reconciled(world)  # the recent messages are read again in the background
    assert await research_texts(world) == [DEATH, RENAME]


async def test_a_message_deleted_while_offline_is_removed_even_after_a_short_read(
    world, restart, empty_history
):
    _, death, _ = await two_posts(world)

    async def offline():
        await world.alice.delete(death)
        empty_history()

    await restart(offline)
    await reconciled(world)
    assert await research_texts(world) == [RENAME]  # Discord said "Unknown Message" for it


async def test_a_refused_message_fetch_keeps_the_message(world, restart, empty_history):
    await two_posts(world)

    async def offline():
        empty_history()
        world.env.inject_error("GET", "/channels/*/messages/*", status=403, code=50001, times=None)

    await restart(offline)
    await reconciled(world)  # the recent messages are read again in the background
    assert await research_texts(world) == [DEATH, RENAME]


async def test_a_failed_message_fetch_keeps_the_message(world, restart, empty_history):
    await two_posts(world)

    async def offline():
        empty_history()
        world.env.inject_error("GET", "/channels/*/messages/*", status=500, times=None)

    await restart(offline)
    await reconciled(world)  # the recent messages are read again in the background
    assert await research_texts(world) == [DEATH, RENAME]


async def test_an_unknown_thread_is_not_a_reason_to_drop_its_research(world, restart):
    """Discord answering 404 for the thread (deleted by a moderator, or an outage) keeps the record:
    the research is the archive of that thread."""
    await two_posts(world)

    async def offline():
        world.env.inject_error("GET", "/channels/*", status=404, code=10003, times=None)

    await restart(offline)
    await reconciled(world)  # the recent messages are read again in the background
    world.env.backend.faults.clear()
    assert await research_texts(world) == [DEATH, RENAME]


def lookups(world, thread, start: int) -> int:
    return sum(
        1
        for r in world.env.http_requests[start:]
        if r.method == "GET" and r.path.startswith(f"/channels/{thread.id}/messages/")
    )


async def test_look_ups_are_bounded_per_thread(world, restart, empty_history, monkeypatch):
    """An empty read of a long thread costs a bounded number of single-message look-ups, newest
    first; the messages not looked up stay in the record."""
    monkeypatch.setattr(catchup, "CONFIRM_LIMIT", 3)
    thread = await world.episode(CODE)
    posts = [await world.alice.send(thread, f"Research note {i}") for i in range(5)]

    async def offline():
        await world.alice.delete(posts[0])  # too old to be looked up this time: kept for now
        await world.alice.delete(posts[4])  # looked up: removed
        empty_history()

    start = len(world.env.http_requests)
    await restart(offline)
    await reconciled(world)
    assert lookups(world, thread, start) == 3
    assert await research_texts(world) == [f"Research note {i}" for i in range(4)]


async def test_a_refusal_stops_the_look_ups(world, restart, empty_history):
    thread = await world.episode(CODE)
    for i in range(4):
        await world.alice.send(thread, f"Research note {i}")

    async def offline():
        empty_history()
        world.env.inject_error("GET", "/channels/*/messages/*", status=403, code=50001, times=None)

    start = len(world.env.http_requests)
    await restart(offline)
    await reconciled(world)
    assert lookups(world, thread, start) == 1
    assert len(await research_texts(world)) == 4


def history_reads(world, thread, start: int) -> list:
    return [
        r
        for r in world.env.http_requests[start:]
        if r.method == "GET" and r.path == f"/channels/{thread.id}/messages"
    ]


async def notes_posted_while_away(world, restart, thread, n: int) -> int:
    """Restart the bot after Bob posted `n` notes in `thread` while it was away; where the requests of the
    restart start in simcord's log."""

    async def offline():
        for i in range(n):
            await world.bob.send(thread, f"Offline note {i}")

    start = len(world.env.http_requests)
    await restart(offline)
    return start


async def test_a_restart_reads_what_is_new_and_the_recent_messages_only(world, restart):
    """More than a page posted while away is all collected, in the thread's order (read backwards to
    the last message seen, one request per 100 messages); a restart with nothing new reads nothing at
    the start, and one page of recent messages in the background, whatever the thread's size."""
    thread = await world.episode(CODE)
    await world.alice.send(thread, "Before the outage.")
    start = await notes_posted_while_away(world, restart, thread, 150)
    assert len(history_reads(world, thread, start)) == 2
    texts = await research_texts(world)
    assert texts == ["Before the outage.", *(f"Offline note {i}" for i in range(150))]
    await reconciled(world)
    assert len(history_reads(world, thread, start)) == 2  # those two pages covered its recent messages

    start = len(world.env.http_requests)
    await restart()
    assert len(history_reads(world, thread, start)) == 0
    await reconciled(world)
    assert len(history_reads(world, thread, start)) == 1
    assert lookups(world, thread, start) == 0
    assert len(await research_texts(world)) == 151


async def test_a_long_catch_up_is_stored_several_pages_at_a_time_in_the_threads_order(
    world, restart, monkeypatch
):
    """Pages of history are stored WRITE_PAGES at a time (fewer, larger commits), oldest first: 550 messages
    posted while away, two pages a write, are six pages in three writes, every message in its place."""
    from cogs.research import store

    monkeypatch.setattr(catchup, "WRITE_PAGES", 2)
    writes: list[int] = []
    write_page = store.write_page

    async def counted(db, rows, **changes):
        writes.append(len(rows))
        return await write_page(db, rows, **changes)

    monkeypatch.setattr(store, "write_page", counted)
    thread = await world.episode(CODE)
    start = await notes_posted_while_away(world, restart, thread, 550)
    assert len(history_reads(world, thread, start)) == 6
    assert writes == [150, 200, 200]  # the oldest pages first: the last page read holds the first 50
    assert await research_texts(world) == [f"Offline note {i}" for i in range(550)]


async def test_live_messages_before_catching_up_do_not_hide_missed_ones(world, restart, monkeypatch):
    """A catch-up that fails leaves the mark where it was, even when live messages arrive meanwhile:
    the next start still finds what was posted while the bot was away."""
    monkeypatch.setattr(catchup, "RECENT", 1)  # read back only as far as the mark says
    thread = await world.episode(CODE)
    await world.alice.send(thread, "Seen live.")

    async def offline():
        await world.bob.send(thread, "Posted while away.")
        world.env.inject_error("GET", "/channels/*/messages", status=500, times=1)

    await restart(offline)  # the catch-up read fails
    await world.alice.send(thread, "Seen live after the start.")
    assert await research_texts(world) == ["Seen live.", "Seen live after the start."]
    await restart()
    assert sorted(await research_texts(world)) == [
        "Posted while away.",
        "Seen live after the start.",
        "Seen live.",
    ]


async def research_likes(world) -> dict[str, int]:
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="json")
    data = json.loads((await r.response.attachments[0].read()).decode("utf-8"))
    return {c["text"]: c["likes"] for c in data["contributions"]}


async def test_a_failed_history_read_is_read_again_and_collects_what_was_posted_offline(world, restart):
    """One failed read at the return does not lose what was posted while away: the catch-up is tried
    again through the scheduler and collects it."""
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)

    async def offline():
        await world.bob.send(thread, RENAME)
        world.env.inject_error("GET", "/channels/*/messages", status=500, times=1)

    await restart(offline)
    assert await research_texts(world) == [DEATH]  # the read at the return failed
    await world.env.advance_time(300)
    assert await research_texts(world) == [DEATH, RENAME]


async def test_a_refused_message_fetch_is_tried_again_and_applies_an_offline_deletion(world, restart):
    """A refused look-up keeps the message for now (no evidence yet); the catch-up is tried again and
    Discord's "Unknown Message" then removes it, within five minutes of the return."""
    _, death, _ = await two_posts(world)

    async def offline():
        await world.alice.delete(death)
        world.env.inject_error("GET", "/channels/*/messages/*", status=403, code=50001, times=1)

    await restart(offline)
    assert await research_texts(world) == [DEATH, RENAME]  # refused: nothing proves it is gone yet
    await world.env.advance_time(300)
    assert await research_texts(world) == [RENAME]


async def test_a_failed_reaction_read_does_not_stop_the_catch_up(world, restart):
    """A refused read of a message's reactions skips that message's likes only: what was posted after
    it is collected at once, and the likes follow when the catch-up is tried again."""
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)

    async def offline():
        await world.bob.react(death, "👍")
        await world.bob.send(thread, RENAME)
        world.env.inject_error("GET", "/channels/*/messages/*/reactions/*", status=500, times=1)

    await restart(offline)
    assert await research_likes(world) == {DEATH: 0, RENAME: 0}
    await world.env.advance_time(300)
    assert await research_likes(world) == {DEATH: 1, RENAME: 0}


async def test_a_catch_up_that_keeps_failing_is_tried_again_until_it_completes(world, restart, monkeypatch):
    """Until a thread's catch-up completes its mark does not move: live messages meanwhile don't hide
    what was posted while away, and a later retry still reads back to it."""
    monkeypatch.setattr(catchup, "RECENT", 1)  # read back only as far as the mark says
    thread = await world.episode(CODE)
    await world.alice.send(thread, "Seen live.")

    async def offline():
        await world.bob.send(thread, "Posted while away.")
        world.env.inject_error("GET", "/channels/*/messages", status=500, times=3)

    await restart(offline)  # the catch-up read fails, and its first retries too
    await world.alice.send(thread, "Seen live after the start.")
    await world.env.advance_time(100)
    assert await research_texts(world) == ["Seen live.", "Seen live after the start."]
    await world.env.advance_time(300)
    assert sorted(await research_texts(world)) == [
        "Posted while away.",
        "Seen live after the start.",
        "Seen live.",
    ]
