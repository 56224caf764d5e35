"""The numbers `/research remove` and `/research mark` suggest (`search_store.choices_for`): the member's own
first, then the newest; read from the episode's newest CHOICES_WINDOW contributions, the member's own and the
exact number typed, so that a 100,000-contribution episode answers as fast as a small one."""

from __future__ import annotations

from cogs.episodes import store as episode_store
from cogs.research import search_store, store

GUILD, VELES, ARDENT, INDY = 1001, 11, 12, 13
TS = 1_700_000_000


async def _episode(db, code: str) -> int:
    ep = await episode_store.create(
        db, guild_id=GUILD, code=code, title="Lenin's Death", description=None, created_by=INDY,
        forum_id=1, thread_id=abs(hash(code)) % 10**9, starter_message_id=1,
    )  # fmt: skip
    return ep.id


async def _add(db, episode_id: int, n: int, author: int) -> int:
    added = await store.add(
        db,
        store.NewContribution(
            guild_id=GUILD, episode_id=episode_id, author_id=author, origin="thread",
            body=f"Gorki, January 1924 (note {n})", created_at=TS + n, channel_id=5, message_id=10_000 + n,
            author_name="Veles" if author == VELES else "Ardent",
        ),
    )  # fmt: skip
    assert added.id is not None
    return added.id


async def _ids(db, episode_id: int, user: int, typed: str, limit: int = 25) -> list[int]:
    return [c.id for c in await search_store.choices_for(db, episode_id, user, typed, limit)]


async def test_own_first_then_newest_and_numbers_by_prefix(db):
    ep, other = await _episode(db, "1924-01"), await _episode(db, "1924-02")
    ids = [await _add(db, ep, n, VELES if n % 3 == 0 else ARDENT) for n in range(30)]
    await _add(db, other, 99, VELES)  # another episode's: never suggested
    own = [i for n, i in enumerate(ids) if n % 3 == 0][::-1]
    others = [i for n, i in enumerate(ids) if n % 3 != 0][::-1]
    assert await _ids(db, ep, VELES, "") == (own + others)[:25]
    assert await _ids(db, ep, ARDENT, "", limit=5) == others[:5]
    prefix = str(ids[12])[:-1]
    expected = sorted(
        (i for i in ids if str(i).startswith(prefix)), key=lambda i: (i not in own, -ids.index(i))
    )
    assert await _ids(db, ep, VELES, prefix) == expected
    assert await _ids(db, ep, VELES, "999999") == []


async def test_a_large_episode_reads_its_newest_its_own_and_the_exact_number(db, monkeypatch):
    monkeypatch.setattr(search_store, "CHOICES_WINDOW", 10)  # as 5,000 are to a large episode
    ep = await _episode(db, "1924-01")
    ids = [await _add(db, ep, n, VELES if n < 3 else ARDENT) for n in range(40)]
    old_other = ids[15]  # Ardent's, before the newest ten
    assert await _ids(db, ep, VELES, "") == ids[2::-1] + ids[:-11:-1]
    # Typed in full, an old number is found; a prefix of it only among the newest and the member's own.
    assert await _ids(db, ep, VELES, str(old_other)) == [old_other]
    prefix = str(old_other)[:-1]
    assert prefix == str(ids[0])  # "1": Veles's first contribution is numbered so
    assert await _ids(db, ep, VELES, prefix) == [i for i in ids[2::-1] if str(i).startswith(prefix)]
    assert old_other in await _ids(db, ep, ARDENT, prefix)  # Ardent's own, however old
