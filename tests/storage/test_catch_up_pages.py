"""A page of a thread's history stored in one transaction (`store.write_page`), against a real SQLite
file: it keeps the rules of one `store.add(..., respect_removals=True)` per message — removed messages
stay out, messages already stored are left as they are — applies edits and replaces likes, and keeps
the full-text index in step (the page's rows indexed whole, see tests/storage/test_page_writes.py)."""

from __future__ import annotations

import pytest

from cogs.episodes import store as episode_store
from cogs.research import likes_store, search_store, store
from cogs.research.rules import build_fts_query
from cogs.research.store import Attachment, MessageEdit, NewContribution

GUILD = 1001
ALICE, BOB, HOST = 11, 12, 13
THREAD = 5000


async def make_episode(db, code="1924-01", thread=THREAD):
    return await episode_store.create(
        db,
        guild_id=GUILD,
        code=code,
        title="Lenin's Death",
        description=None,
        created_by=HOST,
        forum_id=1,
        thread_id=thread,
        starter_message_id=thread + 1,
    )


def post(episode, message_id, body, author=ALICE) -> NewContribution:
    return NewContribution(
        guild_id=GUILD,
        episode_id=episode.id,
        author_id=author,
        origin="thread",
        body=body,
        created_at=1_700_000_000 + message_id,
        channel_id=episode.thread_id,
        message_id=message_id,
        jump_url=f"https://discord.com/channels/{GUILD}/{episode.thread_id}/{message_id}",
    )


async def bodies(db, episode) -> dict[int, str]:
    return {c.message_id: c.body for c in await store.for_episode(db, episode.id)}


async def test_a_page_is_stored_in_one_transaction_and_found_by_search(db):
    ep = await make_episode(db)
    rows = [post(ep, 100 + i, f"Krupskaya note n{i}") for i in range(100)]
    written = await store.write_page(db, rows)
    assert written.added == 100
    assert [c.message_id for c in await store.for_episode(db, ep.id)] == list(range(100, 200))
    for i in (0, 57, 99):
        hits = await search_store.search(db, GUILD, build_fts_query(f"n{i}"), episode_id=ep.id)
        assert [h.jump_url.rsplit("/", 1)[1] for h in hits] == [str(100 + i)]


async def test_removed_messages_stay_out_and_stored_ones_are_left_as_they_are(db):
    ep = await make_episode(db)
    kept = await store.add(db, post(ep, 10, "Lenin died in 1924."))
    removed = await store.add(db, post(ep, 11, "Petrograd kept its name."))
    contribution = await store.get(db, GUILD, removed.id)
    assert await store.remove(db, contribution, HOST)

    written = await store.write_page(
        db,
        [
            post(ep, 10, "A different text for a stored message"),
            post(ep, 11, "Petrograd kept its name."),
            post(ep, 12, "Spartacus led the revolt."),
            post(ep, 12, "Spartacus led the revolt."),  # the same message twice in one page
        ],
    )
    assert written.added == 1
    assert await bodies(db, ep) == {10: "Lenin died in 1924.", 12: "Spartacus led the revolt."}
    assert (await store.get(db, GUILD, kept.id)).body == "Lenin died in 1924."

    again = await store.write_page(db, [post(ep, 12, "Spartacus led the revolt.")])
    assert again.added == 0


async def test_the_same_message_in_two_episodes_is_kept_in_each(db):
    first = await make_episode(db)
    second = await make_episode(db, code="1924-02", thread=THREAD + 10)
    await store.write_page(db, [post(first, 10, "Veles, the god of the underworld.")])
    assert (await store.write_page(db, [post(second, 10, "Veles, the god of the underworld.")])).added == 1


async def test_edits_and_likes_of_a_page(db):
    ep = await make_episode(db)
    await store.write_page(db, [post(ep, 10, "Lenin died in 1923."), post(ep, 11, "Unchanged.")])
    await likes_store.add_like(db, 11, BOB, "👍")

    written = await store.write_page(
        db,
        [post(ep, 12, "Krupskaya outlived him.")],
        edits=[
            MessageEdit(10, "Lenin died in 1924. https://example.org/lenin", ("https://example.org/lenin",),
                        (Attachment("mausoleum.jpg", "https://cdn.example/m.jpg"),), 1_700_000_500, "Veles"),
            MessageEdit(11, "Unchanged.", (), (), 1_700_000_600),  # nothing changed: left alone
        ],
        likes={12: [(ALICE, "👍"), (BOB, "🔥")], 11: []},
    )  # fmt: skip
    assert (written.added, written.updated, written.likes_replaced) == (1, 1, 2)
    edited = await store.get_by_message(db, ep.id, 10)
    assert edited.body.startswith("Lenin died in 1924.")
    assert edited.links == ("https://example.org/lenin",)
    assert edited.attachments == (Attachment("mausoleum.jpg", "https://cdn.example/m.jpg"),)
    assert edited.author_name == "Veles"
    assert (await store.get_by_message(db, ep.id, 11)).edited_at is None
    assert await likes_store.like_counts(db, ep.id, THREAD) == {12: {"👍": 1, "🔥": 1}}
    assert await search_store.search(db, GUILD, build_fts_query("1923"), episode_id=ep.id) == []


async def test_what_a_page_finds_in_the_record(db):
    ep = await make_episode(db)
    await store.write_page(db, [post(ep, 10, "Lenin died in 1924."), post(ep, 11, "Soon removed.")])
    await store.remove(db, await store.get_by_message(db, ep.id, 11), HOST)
    await likes_store.add_like(db, 10, BOB, "👍")
    state = await store.page_state(db, ep.id, [10, 11, 12])
    assert set(state.stored) == {10}
    assert state.stored[10].body == "Lenin died in 1924."
    assert state.removed == {11}
    assert state.likes == {10: {"👍": 1}}
    assert await store.page_state(db, ep.id, []) == store.PageState({}, frozenset(), {})
    assert await store.mirrored_ids_since(db, ep.id, THREAD, 10) == [10]
    assert await store.mirrored_ids_since(db, ep.id, THREAD, 11) == []


async def test_a_page_row_without_a_message_is_refused(db):
    ep = await make_episode(db)
    form = NewContribution(GUILD, ep.id, ALICE, "form", "A form's text", 1_700_000_000)
    with pytest.raises(ValueError, match="message id"):
        await store.write_page(db, [form])
