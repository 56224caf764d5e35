"""The forum import's storage on a real SQLite file: topics and posts by their key on the forum, forum
names and their links, and the research reads (list, search, card, credits, digest) of contributions
whose author is a forum name not linked to a member yet."""

from __future__ import annotations

from cogs.digest import store as digest_store
from cogs.episodes import authors_store, lists_store
from cogs.episodes import store as episode_store
from cogs.forum_import import store
from cogs.forum_import.store import EpisodeFields, PostRow, TopicRef
from cogs.research import likes_store, search_store
from cogs.research import store as research_store
from cogs.research.rules import build_fts_query

GUILD, VELES, SPARTACUS, HOST, ADMIN = 1001, 11, 12, 13, 14
FORUM = "https://forum.example.org"
TS = 1_700_000_000


def fields(code="1924-01", status="in_research", **kw) -> EpisodeFields:
    values = {
        "code": code, "title": "Lenin's Death", "description": "Please post research here.", "status": status,
        "created_at": TS, "thanked": status in ("recorded", "published"),
    }  # fmt: skip
    return EpisodeFields(**{**values, **kw})


def ref(topic_id=4711) -> TopicRef:
    return TopicRef(GUILD, FORUM, topic_id, f"{FORUM}/t/x/{topic_id}", "f1")


def post(post_id, number, author, body, likes=0, **kw) -> PostRow:
    values = {
        "post_id": post_id, "number": number, "author_id": author.member_id, "forum_author_id": author.id,
        "author_name": author.username, "body": body, "attachments": "[]", "links": "[]",
        "jump_url": f"{FORUM}/t/x/4711/{number}", "created_at": TS + number, "edited_at": None, "forum_likes": likes,
    }  # fmt: skip
    return PostRow(**{**values, **kw})


async def import_seed(db):
    """The seed topic as the service writes it: Veles linked to a member, Ardent not."""
    async with db.transaction() as tx:
        episode_id = await store.create_episode_in(tx, ref(), fields(), ADMIN, TS)
        names = await store.forum_authors_in(
            tx, GUILD, FORUM, [("Spartacus", None), ("Veles", "Veles"), ("Ardent", "A. Ardent")], TS
        )
        await store.link_in(tx, [names["veles"]], VELES, ADMIN, TS)
        names = await store.forum_authors_in(
            tx, GUILD, FORUM, [("Spartacus", None), ("Veles", None), ("Ardent", None)], TS
        )
        await store.set_episode_authors_in(tx, episode_id, [names["spartacus"], names["veles"]], ADMIN, TS)
        ids = await store.add_posts_in(
            tx, GUILD, episode_id, FORUM, 4711,
            [
                post(2, 2, names["veles"], "Lenin died on 21 January 1924 at Gorki."),
                post(3, 3, names["ardent"], "A nitpick: Krupskaya is the correct spelling."),
                post(4, 4, names["veles"], "You're right, I wrote it the Polish way.", likes=1),
                post(5, 5, names["ardent"], "Petrograd became Leningrad.", likes=2),
            ],
            TS,
        )  # fmt: skip
        await store.set_replies_in(tx, [(ids[0], ids[1]), (ids[1], ids[2])])
    return episode_id, ids, names


async def test_a_topic_is_found_again_by_its_key_and_its_code_any_case(db):
    episode_id, ids, _ = await import_seed(db)
    async with db.transaction() as tx:
        known = await store.imported_topic_in(tx, GUILD, FORUM, 4711)
        assert (known.episode_id, known.code, known.status, known.thread_id, known.fingerprint) == (
            episode_id, "1924-01", "in_research", None, "f1",
        )  # fmt: skip
        assert await store.imported_topic_in(tx, GUILD, FORUM, 4712) is None
        assert await store.imported_topic_in(tx, GUILD, "https://elsewhere.example", 4711) is None
        assert await store.code_taken_in(tx, GUILD, "1924-01") and await store.code_taken_in(
            tx, GUILD, "1924-01".upper()
        )
        assert not await store.code_taken_in(tx, 999, "1924-01")
    assert ids == [1, 2, 3, 4]
    assert await store.topic_url(db, episode_id) == f"{FORUM}/t/x/4711"
    episode = await episode_store.get(db, episode_id)
    assert (episode.thread_id, episode.thanked_at, episode.created_by) == (None, None, ADMIN)
    [event] = [e for e in await episode_store.history(db, episode_id) if e.kind == "created"]
    assert event.note == f"imported from {FORUM}/t/x/4711"


async def test_a_recorded_topic_counts_as_thanked_and_an_update_records_its_history(db):
    async with db.transaction() as tx:
        episode_id = await store.create_episode_in(tx, ref(), fields(status="recorded"), ADMIN, TS)
    assert (await episode_store.get(db, episode_id)).thanked_at is not None
    async with db.transaction() as tx:
        episode_id2 = await store.create_episode_in(tx, ref(4712), fields("1925-10"), ADMIN, TS)
        await store.update_episode_in(
            tx, episode_id2, ref(4712), fields("1925-10", "published", title="Locarno"), ADMIN, TS
        )
    episode = await episode_store.get(db, episode_id2)
    assert (episode.title, episode.status.value, episode.thanked_at is not None) == (
        "Locarno",
        "published",
        True,
    )
    changes = [(e.kind, e.from_value, e.to_value) for e in await episode_store.history(db, episode_id2)][1:]
    assert changes == [("title", "Lenin's Death", "Locarno"), ("status", "in_research", "published")]


async def test_forum_names_are_kept_once_per_forum_whatever_their_case(db):
    async with db.transaction() as tx:
        first = await store.forum_authors_in(tx, GUILD, FORUM, [("Ardent", "A. Ardent")], TS)
        again = await store.forum_authors_in(tx, GUILD, FORUM, [("ARDENT", None), ("Mirna", None)], TS)
        other = await store.forum_authors_in(tx, GUILD, "https://other.example", [("Ardent", None)], TS)
    assert first["ardent"] == again["ardent"] and first["ardent"].username == "Ardent"
    assert other["ardent"].id != first["ardent"].id
    assert [a.id for a in await store.named(db, GUILD, "ardent")] == [first["ardent"].id, other["ardent"].id]
    assert await store.named(db, 999, "Ardent") == []


async def test_research_of_a_forum_name_reads_everywhere_with_the_forum_name_and_likes(db):
    episode_id, ids, _ = await import_seed(db)
    await likes_store.add_likes_many(db, [(ids[2], SPARTACUS, "👍")])  # a live like on top of the forum's one
    research = await research_store.for_episode(db, episode_id)
    assert [(c.author_id, c.author_name, c.origin, c.likes, c.forum_likes) for c in research] == [
        (VELES, "Veles", "forum", 0, 0),
        (None, "Ardent", "forum", 0, 0),
        (VELES, "Veles", "forum", 2, 1),
        (None, "Ardent", "forum", 2, 2),
    ]
    assert [c.reply_to_id for c in research] == [None, ids[0], ids[1], None]
    total, page = await search_store.page_for_episode(db, episode_id, offset=0, limit=2)
    assert total == 4 and [c.id for c in page] == [ids[3], ids[2]]
    [hit] = await search_store.search(db, GUILD, build_fts_query("Krupskaya"))
    assert (hit.author_id, hit.author_name, hit.episode_code) == (None, "Ardent", "1924-01")
    choices = await search_store.choices_for(db, episode_id, VELES, "")
    assert [c.id for c in choices] == [ids[2], ids[0], ids[3], ids[1]]  # the member's own first, then newest
    assert await research_store.contributor_ids(db, episode_id) == [VELES]  # forum names can't be thanked
    card = await lists_store.card_data(db, episode_id)
    assert (card.authors, card.contributors, card.contribution_count, card.contributor_total) == (
        [VELES, "Spartacus"], [VELES, "Ardent"], 4, 2,
    )  # fmt: skip
    [counts] = await digest_store.research_counts(db, GUILD)
    assert (counts.contributions, counts.contributors) == (4, 2)


async def test_a_forum_name_author_counts_as_an_author_until_linked(db):
    episode_id, _, names = await import_seed(db)
    assert await authors_store.forum_authors(db, episode_id) == ["Spartacus"]
    assert await authors_store.authors(db, episode_id) == [VELES]  # named and linked: a member author
    async with db.transaction() as tx:
        await store.set_episode_authors_in(tx, episode_id, [names["ardent"]], ADMIN, TS)
    assert await authors_store.forum_authors(db, episode_id) == ["Ardent"]  # Spartacus no longer named
    await authors_store.remove_author(db, episode_id, VELES, HOST)
    assert [e.id for e in await lists_store.list_filtered(db, GUILD, needs_author=True)] == []
    assert [e.id for e in await digest_store.needing_author(db, GUILD)] == []
    async with db.transaction() as tx:
        # The topic names Veles again: a member a host removed is not added back by a re-run.
        assert not await store.set_episode_authors_in(
            tx, episode_id, [names["ardent"], names["veles"]], ADMIN, TS
        )
    assert await authors_store.authors(db, episode_id) == []


async def test_linking_moves_contributions_and_authorships_and_is_counted(db):
    episode_id, _, names = await import_seed(db)
    async with db.transaction() as tx:
        await store.set_episode_authors_in(tx, episode_id, [names["spartacus"], names["ardent"]], ADMIN, TS)
    assert await store.unlinked(db, GUILD) == [("Ardent", 3), ("Spartacus", 1)]
    assert await store.names_starting(db, GUILD, "") == ["Ardent", "Spartacus", "Veles"]
    assert await store.names_starting(db, GUILD, "v") == ["Veles"]
    assert (
        await store.names_starting(db, GUILD, "%") == [] and await store.names_starting(db, GUILD, "_") == []
    )
    async with db.transaction() as tx:
        linked = await store.link_in(tx, await store.named(tx, GUILD, "ardent"), SPARTACUS, ADMIN, TS + 5)
    assert (linked.contributions, linked.authorships, linked.episodes, linked.jobs) == (
        2,
        1,
        (episode_id,),
        (),
    )
    assert [c.author_id for c in await research_store.for_episode(db, episode_id)] == [
        VELES,
        SPARTACUS,
        VELES,
        SPARTACUS,
    ]
    assert await authors_store.authors(db, episode_id) == [VELES, SPARTACUS]
    assert await authors_store.forum_authors(db, episode_id) == ["Spartacus"]
    assert await store.unlinked(db, GUILD) == [("Spartacus", 1)]
    card = await lists_store.card_data(db, episode_id)
    assert card.contributors == [VELES, SPARTACUS] and card.authors == [VELES, SPARTACUS, "Spartacus"]
    events = [(e.kind, e.subject_id, e.note) for e in await episode_store.history(db, episode_id)]
    assert ("author_added", SPARTACUS, "linked from the forum name Ardent") in events
    async with db.transaction() as tx:  # nothing left to link: nothing changes
        again = await store.link_in(tx, [], SPARTACUS, ADMIN, TS)
    assert (again.contributions, again.authorships) == (0, 0)


async def test_posts_are_found_again_by_key_updated_and_a_removal_is_remembered(db):
    episode_id, ids, names = await import_seed(db)
    async with db.transaction() as tx:
        stored = await store.stored_posts_in(tx, GUILD, FORUM, [2, 3, 4, 5, 99])
        assert sorted(stored) == [2, 3, 4, 5]
        assert (stored[3].contribution_id, stored[3].number, stored[3].reply_to_id) == (ids[1], 3, ids[0])
        await store.update_posts_in(
            tx, [(ids[1], post(3, 3, names["ardent"], "Krupskaya, with a y.", likes=3, edited_at=TS + 99))]
        )
        assert await store.post_numbers_in(tx, GUILD, FORUM, 4711) == {
            2: ids[0],
            3: ids[1],
            4: ids[2],
            5: ids[3],
        }
    changed = await research_store.get(db, GUILD, ids[1])
    assert (changed.body, changed.likes, changed.edited_at.timestamp()) == (
        "Krupskaya, with a y.",
        3,
        TS + 99,
    )
    await research_store.remove(db, changed, HOST)
    async with db.transaction() as tx:
        assert (await store.stored_posts_in(tx, GUILD, FORUM, [3]))[3].contribution_id is None
        assert 3 not in await store.post_numbers_in(tx, GUILD, FORUM, 4711)
        # New posts get numbers after every number ever given (the removed one is not given again).
        more = await store.add_posts_in(
            tx, GUILD, episode_id, FORUM, 4711, [post(6, 6, names["veles"], "Zinoviev and Kamenev.")], TS
        )
    assert more == [ids[-1] + 1]


async def test_the_post_job_is_made_once_and_a_post_is_saved_once(db):
    async with db.transaction() as tx:
        episode_id = await store.create_episode_in(tx, ref(), fields(), ADMIN, TS)
        job = await store.post_job_in(tx, GUILD, episode_id, TS + 30, TS)
        assert await store.post_job_in(tx, GUILD, episode_id, TS + 30, TS) is None
    assert (job.kind, job.payload, job.dedupe_key) == (
        store.POST_JOB,
        {"episode_id": episode_id},
        f"import-post:{episode_id}:",
    )
    intent = await db.insert(
        "INSERT INTO post_intents (guild_id, forum_id, name, created_at) VALUES (?, 1, '1924-01 x', 1)",
        (GUILD,),
    )
    assert await store.set_post(
        db, episode_id, forum_id=1, thread_id=500, starter_message_id=501, intent_id=intent
    )
    assert not await store.set_post(
        db, episode_id, forum_id=1, thread_id=600, starter_message_id=601, intent_id=intent
    )
    episode = await episode_store.get(db, episode_id)
    assert (episode.thread_id, episode.starter_message_id) == (500, 501)
    assert await db.fetchval("SELECT COUNT(*) FROM post_intents") == 0
    async with db.transaction() as tx:
        [card] = await store.card_jobs_in(tx, [episode_id], TS)
    assert card.kind == "card_sync"


def test_images_are_kept_as_attachments_by_their_file_name():
    assert store.attachments_json(["https://forum.example.org/uploads/default/original/1X/abc.png?dl=1"]) == (
        '[{"filename": "abc.png", "url": "https://forum.example.org/uploads/default/original/1X/abc.png?dl=1"}]'
    )
