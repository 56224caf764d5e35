"""Author requests in storage: one pending per member and episode, decisions made exactly once."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.core.db import Database
from bot.errors import Conflict
from cogs.assignments import store
from cogs.assignments.store import RequestStatus
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store

GUILD, OTHER_GUILD = 100, 200
ALICE, BOB, HOST = 1, 2, 9
_ids = itertools.count(1000)


async def make_episode(db: Database, code: str = "1924-01", guild_id: int = GUILD):
    return await episode_store.create(
        db,
        guild_id=guild_id,
        code=code,
        title="Lenin's Death",
        description=None,
        created_by=HOST,
        forum_id=10,
        thread_id=next(_ids),
        starter_message_id=next(_ids),
    )


async def request(db: Database, episode, user_id: int = ALICE, pitch: str | None = "Let me write it"):
    return await store.create(
        db, guild_id=episode.guild_id, episode_id=episode.id, user_id=user_id, pitch=pitch
    )


async def kinds(db: Database, episode) -> list[str]:
    return [e.kind for e in await episode_store.history(db, episode.id)]


async def test_create_and_read_back(db):
    episode = await make_episode(db)
    pitch = "First line\n" + "é" * 989
    created = await request(db, episode, pitch=pitch)
    assert created.status is RequestStatus.PENDING
    assert created.is_pending
    assert created.pitch == pitch  # stored whole
    assert not created.review_posted
    assert await store.get(db, created.id) == created
    assert await store.pending_for(db, episode.id, ALICE) == created
    assert await store.pending_for(db, episode.id, BOB) is None
    assert (await kinds(db, episode))[-1] == "author_requested"


async def test_one_pending_request_per_member_and_episode(db):
    episode = await make_episode(db)
    other = await make_episode(db, "1924-02")
    first = await request(db, episode)
    with pytest.raises(Conflict):
        await request(db, episode, pitch="again")
    await request(db, episode, user_id=BOB)  # someone else may
    await request(db, other)  # and the same member for another episode
    await store.decline(db, first.id, HOST, None)
    again = await request(db, episode)  # once decided, they may ask again
    assert again.id != first.id


async def test_requests_are_per_server(db):
    episode = await make_episode(db)
    foreign = await make_episode(db, guild_id=OTHER_GUILD)
    mine = await request(db, episode)
    theirs = await request(db, foreign)
    assert await store.get(db, mine.id, GUILD) == mine
    assert await store.get(db, theirs.id, GUILD) is None
    assert [r.id for r in await store.list_pending(db, GUILD)] == [mine.id]
    assert [r.id for r in await store.list_pending(db, OTHER_GUILD)] == [theirs.id]


async def test_list_pending_by_episode_oldest_first(db):
    one = await make_episode(db)
    two = await make_episode(db, "1924-02")
    a = await request(db, one)
    b = await request(db, two, user_id=BOB)
    c = await request(db, one, user_id=BOB)
    await store.withdraw(db, c.id, BOB)
    assert [r.id for r in await store.list_pending(db, GUILD)] == [a.id, b.id]
    assert [r.id for r in await store.list_pending(db, GUILD, one.id)] == [a.id]
    assert await store.count_pending(db, GUILD) == 2 and await store.count_pending(db, GUILD, one.id) == 1
    assert [r.id for r in await store.list_pending(db, GUILD, offset=1, limit=1)] == [b.id]
    assert await store.list_pending(db, GUILD, offset=2, limit=10) == []


async def test_review_message_is_remembered(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    await store.set_review_message(db, created.id, 55, 66)
    loaded = await store.get(db, created.id)
    assert loaded.review_posted
    assert (loaded.review_channel_id, loaded.review_message_id) == (55, 66)


async def test_approve_adds_the_author_once(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    approved = await store.approve(db, created.id, HOST)
    assert approved.status is RequestStatus.APPROVED
    assert approved.decided_by == HOST
    assert approved.decided_at is not None
    assert await authors_store.authors(db, episode.id) == [ALICE]
    assert "author_added" in await kinds(db, episode)

    assert await store.approve(db, created.id, HOST) is None
    assert await store.decline(db, created.id, HOST, "late") is None
    assert await store.withdraw(db, created.id, ALICE) is None
    assert (await store.get(db, created.id)).status is RequestStatus.APPROVED
    assert (await kinds(db, episode)).count("author_added") == 1


async def test_approve_when_already_an_author_adds_no_duplicate(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    await authors_store.add_author(db, episode.id, ALICE, HOST)
    assert (await store.approve(db, created.id, HOST)) is not None
    assert await authors_store.authors(db, episode.id) == [ALICE]
    assert (await kinds(db, episode)).count("author_added") == 1


async def test_decline_keeps_the_reason(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    declined = await store.decline(db, created.id, HOST, "Already taken")
    assert declined.status is RequestStatus.DECLINED
    assert declined.reason == "Already taken"
    assert await authors_store.authors(db, episode.id) == []
    assert await store.approve(db, created.id, HOST) is None
    assert (await kinds(db, episode))[-1] == "author_request_declined"


async def test_concurrent_decisions_exactly_one_wins(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    results = await asyncio.gather(
        store.approve(db, created.id, HOST),
        store.decline(db, created.id, HOST + 1, "no"),
        store.approve(db, created.id, HOST + 2),
        store.withdraw(db, created.id, ALICE),
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert (await store.get(db, created.id)).status is winners[0].status


async def test_only_the_requester_can_withdraw(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    assert await store.withdraw(db, created.id, BOB) is None
    assert (await store.get(db, created.id)).is_pending
    withdrawn = await store.withdraw(db, created.id, ALICE)
    assert withdrawn.status is RequestStatus.WITHDRAWN
    assert withdrawn.decided_by == ALICE
    assert await store.approve(db, created.id, HOST) is None
    assert await authors_store.authors(db, episode.id) == []
    assert (await kinds(db, episode))[-1] == "author_request_withdrawn"


async def test_becoming_an_author_another_way_settles_the_request(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    settled = await store.settle_for_author(db, episode.id, ALICE, HOST)
    assert settled.id == created.id
    assert settled.status is RequestStatus.APPROVED
    assert settled.decided_by == HOST
    assert await store.settle_for_author(db, episode.id, ALICE, HOST) is None
    assert await store.settle_for_author(db, episode.id, BOB, HOST) is None


async def test_requests_go_with_their_episode(db):
    episode = await make_episode(db)
    created = await request(db, episode)
    await db.execute("DELETE FROM episodes WHERE id = ?", (episode.id,))
    assert await store.get(db, created.id) is None
