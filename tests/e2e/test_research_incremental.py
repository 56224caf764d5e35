"""A restart costs Discord requests in proportion to what changed while the bot was away: unchanged
threads are not read at all, only new messages are read, archived threads are left alone until they
are active again, and edits, deletions and reactions made meanwhile arrive in the background within a
fixed request budget, going on where a restart interrupted them."""

from __future__ import annotations

import json

import pytest

from cogs.research import catchup

DEATH = "Lenin died on 21 January 1924, aged 53."
RENAME = "After his death Petrograd was renamed Leningrad."
SPELLING = "Krupskaya is spelled with a y, not Krupskaia."
SLAVE = "Spartacus led the slave revolt of 73 BC."


async def texts_of(world, code: str) -> list[str]:
    return [c["text"] for c in await contributions(world, code)]


async def contributions(world, code: str) -> list[dict]:
    r = await world.bob.slash(world.general, "research export", episode=code, format="json")
    return json.loads((await r.response.attachments[0].read()).decode("utf-8"))["contributions"]


async def episodes(world, count: int) -> list:
    """`count` episode threads, oldest first (codes 1924-01, 1924-02, …)."""
    return [await world.episode(f"1924-{i:02d}", title=f"Lenin, part {i}") for i in range(1, count + 1)]


def gets_of(world, start: int, thread) -> list[str]:
    """The GET requests about one thread since `start`: its history, its messages, the thread itself."""
    base = f"/channels/{thread.id}"
    return [
        r.path
        for r in world.env.http_requests[start:]
        if r.method == "GET" and (r.path == base or r.path.startswith(base + "/"))
    ]


def history_reads(world, start: int, thread=None) -> list[str]:
    """Paths of the history reads since `start` (of one thread, or of any)."""
    return [
        r.path
        for r in world.env.http_requests[start:]
        if r.method == "GET"
        and r.path.endswith("/messages")
        and (thread is None or r.path == f"/channels/{thread.id}/messages")
    ]


async def reconciled(world) -> None:
    await world.env.advance_time(catchup.RECONCILE_DELAY + 5)


def set_archived(world, thread, archived: bool) -> None:
    """What Discord does when a thread is archived or unarchived: the flag and its archive timestamp
    (simcord changes only the flag), and a THREAD_UPDATE when the bot is connected."""
    world.env.backend.edit_channel(
        thread.id,
        {},
        thread_metadata={"archived": archived, "archive_timestamp": world.env.backend.now_iso()},
    )


def catch_up(world):
    return world.bot.services.research.catch_up


async def test_a_restart_with_unchanged_threads_reads_nothing(world, restart):
    threads = await episodes(world, 5)
    for thread in threads[:4]:  # the fifth has only the bot's starter message
        await world.alice.send(thread, DEATH)
    await world.bob.send(threads[0], RENAME)

    start = len(world.env.http_requests)
    await restart()
    assert all(gets_of(world, start, t) == [] for t in threads)
    report = catch_up(world).started
    assert (report.threads, report.unchanged, report.read, report.requests) == (5, 5, 0, 0)

    # Live messages after the start move each thread's mark as before, the bot's own posts too (a note
    # that the episode moved to writing): the next restart reads nothing.
    await world.alice.send(threads[1], SPELLING)
    await world.host.slash(world.general, "episode status", episode="1924-03", status="writing")
    await world.env.advance_time(60)
    assert threads[2].history()[-1].author.id == world.bot.user.id
    start = len(world.env.http_requests)
    await restart()
    assert history_reads(world, start) == []
    assert await texts_of(world, "1924-02") == [DEATH, SPELLING]


async def test_only_threads_with_posts_made_while_away_are_read(world, restart):
    threads = await episodes(world, 5)
    for thread in threads:
        await world.alice.send(thread, DEATH)

    async def offline():
        await world.bob.send(threads[1], RENAME)
        await world.bob.send(threads[3], SPELLING)
        await world.alice.send(threads[3], SLAVE)

    start = len(world.env.http_requests)
    await restart(offline)
    read = {t.id for t in threads if history_reads(world, start, t)}
    assert read == {threads[1].id, threads[3].id}
    assert all(len(history_reads(world, start, t)) <= 1 for t in threads)
    assert all(f"/channels/{t.id}" not in gets_of(world, start, t) for t in threads)
    assert await texts_of(world, "1924-02") == [DEATH, RENAME]
    assert await texts_of(world, "1924-04") == [DEATH, SPELLING, SLAVE]
    report = catch_up(world).started
    assert (report.unchanged, report.read, report.added) == (3, 2, 3)


async def test_an_archived_thread_is_not_read_and_is_caught_up_when_unarchived(world, restart):
    """A thread archived before the bot last knew every thread collected is not read, nor fetched;
    unarchived while the bot runs, it is read back to its mark."""
    active, archived = await episodes(world, 2)
    await world.alice.send(archived, DEATH)
    await world.env.advance_time(60)  # the status card follows first (updating it unarchives a thread)
    set_archived(world, archived, True)
    await world.env.settle()
    await world.env.advance_time(3600)
    await restart()  # the bot now knows every thread collected as of this start

    async def offline():
        # Discord would unarchive a thread a member posts in; a thread the start could not check is
        # the same case: the bot finds out when the thread is active again.
        await world.bob.send(archived, RENAME)

    start = len(world.env.http_requests)
    await restart(offline)
    assert gets_of(world, start, archived) == []
    assert catch_up(world).started.archived_skipped == 1
    assert await texts_of(world, "1924-02") == [DEATH]

    set_archived(world, archived, False)  # a moderator reopens it
    await world.env.settle()
    assert len(history_reads(world, start, archived)) == 1
    assert await texts_of(world, "1924-02") == [DEATH, RENAME]
    assert gets_of(world, start, active) == []


async def test_a_thread_unarchived_while_the_bot_runs_is_caught_up(world):
    """Archived while the bot runs, a thread leaves discord.py's cache (Discord does not send the bot
    what happens in it); unarchived, it is read back to its mark."""
    thread = (await episodes(world, 1))[0]
    await world.alice.send(thread, DEATH)
    await world.env.advance_time(60)
    set_archived(world, thread, True)
    await world.env.settle()
    await world.bob.send(thread, RENAME)  # simcord lets a member post in an archived thread
    assert await texts_of(world, "1924-01") == [DEATH]

    start = len(world.env.http_requests)
    set_archived(world, thread, False)
    await world.env.settle()
    assert await texts_of(world, "1924-01") == [DEATH, RENAME]
    assert len(history_reads(world, start, thread)) == 1


async def test_posts_made_while_away_in_a_thread_archived_since_are_collected(world, restart):
    """Posts made while the bot was away in a thread that was archived afterwards (Discord archives
    an inactive thread on its own) are found through the forum's list of archived threads."""
    first, second = await episodes(world, 2)
    await world.alice.send(second, DEATH)

    async def offline():
        await world.bob.send(second, RENAME)
        set_archived(world, second, True)

    start = len(world.env.http_requests)
    await restart(offline)
    listings = [r.path for r in world.env.http_requests[start:] if "/threads/archived/" in r.path]
    assert listings == [f"/channels/{world.forum.id}/threads/archived/public"]
    assert len(history_reads(world, start, second)) == 1
    assert await texts_of(world, "1924-02") == [DEATH, RENAME]
    assert gets_of(world, start, first) == []


async def test_edits_deletions_and_reactions_made_while_away_arrive_in_the_background(world, restart):
    thread = (await episodes(world, 1))[0]
    death = await world.alice.send(thread, "Lenin died in 1924.")
    doomed = await world.bob.send(thread, "Petrograd kept its name.")
    await world.alice.send(thread, SPELLING)

    async def offline():
        await world.alice.edit(death, DEATH)
        await world.bob.delete(doomed)
        await world.host.react(death, "👍")

    start = len(world.env.http_requests)
    await restart(offline)
    assert history_reads(world, start) == []  # nothing new: nothing read at the start
    assert await texts_of(world, "1924-01") == ["Lenin died in 1924.", "Petrograd kept its name.", SPELLING]

    await reconciled(world)
    rows = await contributions(world, "1924-01")
    assert [(r["text"], r["likes"]) for r in rows] == [(DEATH, 1), (SPELLING, 0)]
    assert len(history_reads(world, start)) == 1
    assert not catch_up(world).reconciling


@pytest.fixture
def small_budget(monkeypatch):
    monkeypatch.setattr(catchup, "RECONCILE_BUDGET", 2)


def reconciliation_requests(world, start: int, threads) -> int:
    return sum(len(gets_of(world, start, t)) for t in threads)


async def test_the_reconciliation_keeps_to_its_budget(world, restart, small_budget):
    """Two requests in any minute: the five threads take three minutes, newest thread first."""
    threads = await episodes(world, 5)
    for thread in threads:
        await world.alice.send(thread, DEATH)
    start = len(world.env.http_requests)
    await restart()

    steps = []  # requests in each 20-second step
    for _ in range(15):
        before = reconciliation_requests(world, start, threads)
        await world.env.advance_time(20)
        steps.append(reconciliation_requests(world, start, threads) - before)
    assert all(sum(steps[i : i + 3]) <= 2 for i in range(len(steps))), steps  # any 60 s
    order = [p for p in history_reads(world, start)]
    assert order == [f"/channels/{t.id}/messages" for t in reversed(threads)]
    assert not catch_up(world).reconciling


async def test_a_restart_goes_on_with_the_reconciliation_where_it_stopped(world, restart, small_budget):
    """A restart storm does not read the newest threads again and again: the next process goes on
    from where the last one stopped, and round to where it began."""
    threads = await episodes(world, 5)
    for thread in threads:
        await world.alice.send(thread, DEATH)
    await restart()
    start = len(world.env.http_requests)
    await world.env.advance_time(catchup.RECONCILE_DELAY + 20)  # two threads within the budget
    assert history_reads(world, start) == [f"/channels/{t.id}/messages" for t in (threads[4], threads[3])]

    start = len(world.env.http_requests)
    await restart()
    await world.env.advance_time(catchup.RECONCILE_DELAY + 150)
    expected = [threads[2], threads[1], threads[0], threads[4], threads[3]]
    assert history_reads(world, start) == [f"/channels/{t.id}/messages" for t in expected]


async def test_a_refused_reconciliation_read_is_tried_again(world, restart):
    """A refused read of recent messages deletes nothing and is tried again: the deletion made while
    away arrives once Discord answers."""
    thread = (await episodes(world, 1))[0]
    death = await world.alice.send(thread, DEATH)
    await world.bob.send(thread, RENAME)

    async def offline():
        await world.alice.delete(death)
        world.env.inject_error("GET", f"/channels/{thread.id}/messages", status=500, times=2)

    await restart(offline)
    await reconciled(world)
    assert await texts_of(world, "1924-01") == [DEATH, RENAME]
    await world.env.advance_time(catchup.RECONCILE_RETRY * 3 + 5)
    assert await texts_of(world, "1924-01") == [RENAME]
