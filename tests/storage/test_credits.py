"""`/research credits` from the stored counts (cogs.research.credits) gives exactly what the dossier's credits
gave (export.credits_text over the whole episode): the same text, the same people in the same order, with
excluded contributions, forum names linked or not, members gone from the server, ties, sources written in
several forms, and more people or sources than the 5,000 characters hold."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import now
from bot.core.db import Database
from cogs.episodes import store as episode_store
from cogs.forum_import import store as forum_store
from cogs.research import credits, export, store
from cogs.research.dossier import Dossier, DossierEpisode, Person
from cogs.research.views import credits_embed

GUILD, INDY = 1001, 13
FORUM = "https://forum.example.org"
TS = 1_700_000_000
# Members of the server as it shows them now; anyone else has left (the credits fall back on the name
# stored with their first contribution).
PRESENT = {11: "Veles", 12: "Spartacus", 13: "Indy"}


def name_of(user_id: int | None, stored: str | None) -> str:
    """As ResearchService.name_of resolves names (without Discord's user cache)."""
    if user_id is None:
        return stored or "a forum member"
    if user_id in PRESENT:
        return PRESENT[user_id]
    return stored or f"member {user_id}"


async def dossier_credits(db: Database, episode_id: int, limit: int = 5000) -> tuple[str, tuple]:
    """The credits as the dossier made them: every contribution read and named as ResearchService.dossier
    does (a member's name resolved once, from the first contribution they appear in)."""
    people: dict[int, Person] = {}

    def person(user_id, stored=None) -> Person:
        if not isinstance(user_id, int):
            return Person(None, name_of(None, user_id or stored))
        if user_id not in people:
            people[user_id] = Person(user_id, name_of(user_id, stored))
        return people[user_id]

    entries = export.entries_of(await store.for_episode(db, episode_id), {}, person)
    header = DossierEpisode("1924-01", "Lenin's Death", "In Research", None, (), now(), now(), now())
    dossier = Dossier(header, entries, export.credits_of(entries))
    return export.credits_text(dossier, limit), dossier.credits


async def assert_same_credits(db: Database, episode_id: int, limit: int = 5000) -> credits.Credits:
    text, people = await dossier_credits(db, episode_id, limit)
    got = await credits.credits_for(db, episode_id, name_of, limit, present=PRESENT.get)
    assert got.text == text
    listed = tuple(
        credits.Listed(c.person.id, None if c.person.id is not None else c.person.plain, c.contributions)
        for c in people[: credits.PEOPLE]
    )
    # The first people, at least as many as the list under the credits shows: that list is the same.
    assert got.listed == listed[: len(got.listed)]
    shown = credits_embed("1924-01", got.listed, got.total).description
    assert shown == credits_embed("1924-01", listed, len(people)).description
    assert got.total == len(people)
    assert await credits.credits_for(db, episode_id, name_of, limit) == got  # every stored name read
    return got


async def new_episode(db, code="1924-01") -> int:
    ep = await episode_store.create(
        db, guild_id=GUILD, code=code, title="Lenin's Death", description=None, created_by=INDY,
        forum_id=1, thread_id=abs(hash(code)) % 10**9, starter_message_id=1,
    )  # fmt: skip
    return ep.id


async def add(db, episode_id, n, author, body="Lenin died in January 1924.", *, name=None, sources=None,
              origin="thread", added_by=None, links=()) -> int:  # fmt: skip
    added = await store.add(
        db,
        store.NewContribution(
            guild_id=GUILD, episode_id=episode_id, author_id=author, origin=origin, body=body, sources=sources,
            created_at=TS + n, channel_id=5, message_id=10_000 + n, author_name=name, added_by=added_by,
            links=tuple(links),
        ),
    )  # fmt: skip
    assert added.id is not None
    return added.id


async def forum(db, episode_id, posts) -> tuple[list[int], dict]:
    """Imported posts [(number, username, body)], their forum names not linked to anyone."""
    async with db.transaction() as tx:
        names = await forum_store.forum_authors_in(
            tx, GUILD, FORUM, [(u.strip(), None) for u in {u for _, u, _ in posts}], TS
        )
        rows = [
            forum_store.PostRow(
                post_id=n, number=n, author_id=None, forum_author_id=names[u.strip().lower()].id, author_name=u,
                body=body, attachments="[]", links="[]", jump_url=f"{FORUM}/t/1/{n}", created_at=TS + n,
                edited_at=None, forum_likes=0,
            )
            for n, u, body in posts
        ]  # fmt: skip
        ids = await forum_store.add_posts_in(tx, GUILD, episode_id, FORUM, 1, rows, TS)
    return ids, names


async def test_no_contributions_yet(db):
    got = await assert_same_credits(db, await new_episode(db))
    assert got.text == "Research: no contributions yet" and got.total == 0


async def test_members_forum_names_exclusions_and_ties(db):
    ep = await new_episode(db)
    await add(db, ep, 1, 11, "Lenin died on 21 January 1924 at Gorki. https://en.wikipedia.org/wiki/Lenin")
    await add(db, ep, 2, 12, "Krupskaya, not Krupska.", name="Spartacus")
    await add(db, ep, 3, 77, "A member who left.", name="Old Timer")
    # Added with the menu by someone who left, before any message of their own: no stored name for them.
    await add(db, ep, 4, 11, "Petrograd became Leningrad.", origin="menu", added_by=78)
    await add(db, ep, 5, 78, "Their own message.", name="Later Name")
    excluded = await add(db, ep, 6, 12, "Off topic https://example.org/x", name="Spartacus")
    await store.set_mark(db, ep, excluded, "excluded", INDY)
    ids, names = await forum(
        db, ep, [(7, "Ardent", "Source: Service, Lenin: A Biography"), (8, "  Ardent", "x"), (9, "Zed", "y")]
    )
    got = await assert_same_credits(db, ep)
    assert got.text.startswith("Research: Veles, Ardent, Spartacus, Old Timer, member 78, Zed")
    async with db.transaction() as tx:
        await forum_store.link_in(tx, [names["zed"]], 12, INDY, TS)  # Zed was Spartacus all along
    got = await assert_same_credits(db, ep)
    # Veles, Spartacus (with Zed's post) and Ardent have two each: whoever contributed first comes first.
    assert got.text.startswith("Research: Veles, Spartacus, Ardent, Old Timer, member 78\n")
    await store.set_mark(db, ep, ids[0], "key", INDY)
    await store.set_mark(db, ep, ids[1], "excluded", INDY)
    await assert_same_credits(db, ep)


async def test_sources_written_together_count_as_one_whichever_is_read_first(db):
    ep = await new_episode(db)
    texts = [
        ("See https://example.org/paper", None),
        ("", "doi:10.1017/S0020859000001234 https://example.org/paper"),
        ("https://doi.org/10.1017/s0020859000001234", None),
        ("Service, *Lenin: A Biography*, ISBN 978-0-330-49139-6", None),
        ("Source: Service, Lenin: A Biography (2000)", None),
        ("Pipes, *The Russian Revolution* — and https://example.org/paper", None),
    ]
    ids = [await add(db, ep, n, 11 + n % 2, body, sources=src) for n, (body, src) in enumerate(texts)]
    await assert_same_credits(db, ep)
    for marked in ids:  # each read first in turn (key research is read first)
        await store.set_mark(db, ep, marked, "key", INDY)
        await assert_same_credits(db, ep)
        await store.set_mark(db, ep, marked, "excluded", INDY)
        await assert_same_credits(db, ep)
        await store.set_mark(db, ep, marked, "normal", INDY)


async def test_more_sources_than_ten(db):
    ep = await new_episode(db)
    for n in range(40):
        body = " ".join(f"https://example.org/{k}" for k in range(n % 13, 13)) + f" and https://x.org/{n}"
        await add(db, ep, n, 11, body)
    got = await assert_same_credits(db, ep)
    assert got.text.count("\n- ") == 10 and "more" in got.text.rsplit("\n", 1)[-1]


@pytest.mark.parametrize("name_length", [1, 7, 40, 400])
async def test_more_people_than_the_room_holds(db, name_length):
    ep = await new_episode(db)
    rows = [
        store.NewContribution(
            guild_id=GUILD, episode_id=ep, author_id=1000 + n % 1900, origin="thread", body="Gorki, 1924.",
            created_at=TS + n, channel_id=5, message_id=50_000 + n,
            author_name=(f"p{n % 1900}" * name_length)[:name_length],
        )
        for n in range(2500)
    ]  # fmt: skip
    await store.add_many(db, rows)
    got = await assert_same_credits(db, ep)
    assert got.total == 1900
    await assert_same_credits(db, ep, limit=300)


async def researchers_gone(db) -> int:
    """An episode of 2,500 contributions by 1,900 people named "Researcher N", none of them in the server."""
    ep = await new_episode(db)
    await store.add_many(db, [
        store.NewContribution(
            guild_id=GUILD, episode_id=ep, author_id=1000 + n % 1900, origin="thread", body="Gorki, 1924.",
            created_at=TS + n, channel_id=5, message_id=50_000 + n, author_name=f"Researcher {n % 1900}",
        )
        for n in range(2500)
    ])  # fmt: skip
    return ep


async def test_only_the_names_the_text_shows_are_read(db, monkeypatch):
    """Of 1,900 people gone from the server, the stored names of about those the 5,000 characters hold are
    read (a few more, in one or two reads), not of every person listed under them."""
    ep = await researchers_gone(db)
    reads: list[int] = []
    stored_names = credits.counts_store.stored_names

    async def counted(db, episode_id, member_ids):
        reads.append(len(member_ids))
        return await stored_names(db, episode_id, member_ids)

    monkeypatch.setattr(credits.counts_store, "stored_names", counted)
    got = await assert_same_credits(db, ep)
    named = got.text.count(", ") + 1
    assert got.total == 1900
    assert named < credits.PEOPLE and len(reads) <= 3 + 1  # (+1: assert_same_credits reads all once more)
    assert named <= sum(reads[:-1]) <= named * 1.5, (named, reads)


async def test_names_a_little_shorter_than_guessed_take_one_read_of_people_and_one_of_names(db, monkeypatch):
    """1,900 people gone from the server whose names are a little shorter than GUESS characters: the first
    read holds everyone the text names, and the first name that does not fit."""
    ep = await new_episode(db)
    await store.add_many(db, [
        store.NewContribution(
            guild_id=GUILD, episode_id=ep, author_id=1000 + n, origin="thread", body="Moscow queued for days.",
            created_at=TS + n, channel_id=5, message_id=60_000 + n, author_name=f"Memb{n:0{credits.GUESS - 5}d}",
        )
        for n in range(1900)
    ])  # fmt: skip
    people: list[int] = []
    names: list[int] = []
    credit_rows, stored_names = credits.counts_store.credit_rows, credits.counts_store.stored_names

    async def counted_rows(db, episode_id, offset, limit):
        total, rows = await credit_rows(db, episode_id, offset, limit)
        people.append(len(rows))
        return total, rows

    async def counted_names(db, episode_id, member_ids):
        names.append(len(member_ids))
        return await stored_names(db, episode_id, member_ids)

    monkeypatch.setattr(credits.counts_store, "credit_rows", counted_rows)
    monkeypatch.setattr(credits.counts_store, "stored_names", counted_names)
    got = await credits.credits_for(db, ep, name_of, present=PRESENT.get)
    assert got.total == 1900 and got.text.endswith(" more")
    assert len(people) == 1 and len(names) == 1, (people, names)
    await assert_same_credits(db, ep)


async def test_only_the_people_the_text_and_list_need_are_read(db, monkeypatch):
    """Of 1,900 people, about those the 5,000 characters name are read (the first read sized to the text,
    then as many as the rest of the room holds), not PEOPLE."""
    ep = await researchers_gone(db)
    reads: list[int] = []
    credit_rows = credits.counts_store.credit_rows

    async def counted(db, episode_id, offset, limit):
        total, rows = await credit_rows(db, episode_id, offset, limit)
        reads.append(len(rows))
        return total, rows

    monkeypatch.setattr(credits.counts_store, "credit_rows", counted)
    got = await credits.credits_for(db, ep, name_of, present=PRESENT.get)
    named = got.text.count(", ") + 1
    assert got.total == 1900 and 300 < named < 400
    assert named <= sum(reads) <= named + credits.READ and sum(reads) < credits.PEOPLE, (named, reads)
    assert len(got.listed) > 100  # the list under the credits is filled from the same people
    await assert_same_credits(db, ep)


# -- any episode -----------------------------------------------------------------------------------------

BODIES = (
    "Lenin died on 21 January 1924 at Gorki.",
    "https://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "Source: Service, Lenin: A Biography (2000)",
    "Service, *Lenin: A Biography*, ISBN 978-0-330-49139-6",
    "doi:10.1017/S0020859000001234 https://example.org/paper",
    "https://example.org/paper and https://doi.org/10.1017/s0020859000001234",
)
PEOPLE = st.sampled_from([11, 12, 13, 77, 78, None])  # None: a forum name
FORUM_NAMES = st.sampled_from(["Ardent", " Ardent", "Zed", ""])
CONTRIBUTIONS = st.lists(
    st.tuples(PEOPLE, FORUM_NAMES, st.integers(0, len(BODIES) - 1), st.integers(0, 9),
              st.sampled_from(["normal", "normal", "key", "excluded"]), st.sampled_from([None, 11, 78])),
    max_size=30,
)  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contributions=CONTRIBUTIONS, limit=st.sampled_from([5000, 400, 120]))
def test_any_episode_gets_the_dossiers_credits(contributions, limit):
    asyncio.run(_check(contributions, limit))


async def _check(contributions, limit) -> None:
    db = Database(":memory:")
    await db.open()
    try:
        ep = await new_episode(db)
        async with db.transaction() as tx:
            names = await forum_store.forum_authors_in(
                tx, GUILD, FORUM, [("Ardent", None), ("Zed", None)], TS
            )
        for n, (who, forum_name, body, at, mark, added_by) in enumerate(contributions):
            member = who is not None
            author = names["zed" if "Zed" in forum_name else "ardent"]
            await db.insert(
                "INSERT INTO contributions (guild_id, episode_id, author_id, forum_author_id, author_name, origin, "
                "body, links, created_at, mark, added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (GUILD, ep, who, None if member else author.id, f"stored {who}" if member else forum_name,
                 ("menu" if added_by else "thread") if member else "forum", BODIES[body],
                 json.dumps(["https://example.org/paper"] if n % 4 == 0 else []), TS + at, mark,
                 added_by if member else None),
            )  # fmt: skip
        await assert_same_credits(db, ep, limit)
    finally:
        await db.close()
