"""Database trips per command (issue #12): what a member waits for stays within a fixed count of trips
to the database thread, so a regression (the episode read again after a change, a check read row by
row) shows. Counts, not times: deterministic under the simulator (see tests/e2e/trips.py)."""

from __future__ import annotations

from cogs.episodes import authors_store, posts_store
from cogs.episodes import store as episode_store
from cogs.research import store as research_store
from tests.e2e.trips import Trips

CODE = "1924-01"

# Before issue #12: status 11 (the episode read twice before the answer, a third time for the card),
# claim 7–9; then 7 each (one transaction whose statements read back what they changed). Now that
# transaction is one trip to the database thread (`Database.run_transaction`).
STATUS_TRIPS = 2  # read the episode (resolving the option); the move, its history, note and jobs
CLAIM_TRIPS = 2  # read the episode; the author (finds a pending request too), history, note and jobs


async def test_status_by_a_host_answers_within_its_trips(world):
    await world.episode(CODE)
    trips = Trips(world.env)
    with trips.counting():
        r = await world.host.slash(world.general, "episode status", episode=CODE, status="writing")
    assert r.response.content == f"**{CODE}** is now **Writing**."
    assert trips.before_answer <= STATUS_TRIPS, trips.before_answer
    assert trips.total > trips.before_answer  # the card and the note follow the answer
    assert "to **Writing**" in world.thread_of(CODE).history()[-1].content


async def test_status_by_an_author_answers_within_its_trips(world):
    await world.episode(CODE)
    found = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    await authors_store.add_author(world.bot.services.db, found.id, world.alice.id, world.host.id)
    trips = Trips(world.env)
    with trips.counting():
        r = await world.alice.slash(
            world.general, "episode status", episode=CODE, status="writing", note="Lenin died in 1924"
        )
    assert r.response.content == f"**{CODE}** is now **Writing**."
    assert trips.before_answer <= STATUS_TRIPS, trips.before_answer


async def test_claim_answers_within_its_trips(world):
    await world.episode(CODE)
    trips = Trips(world.env)
    with trips.counting():
        r = await world.host.slash(world.general, "episode claim", episode=CODE)
    assert "You're now an author" in r.response.content
    assert trips.before_answer <= CLAIM_TRIPS, trips.before_answer
    assert (
        world.thread_of(CODE).history()[-1].content == f"✍️ {world.host.mention} is now writing this episode."
    )


async def test_the_note_kept_with_a_claim_is_posted_once(world):
    """The claim keeps its note in its own transaction: posted right after the answer, and never again."""
    await world.episode(CODE)
    await world.host.slash(world.general, "episode claim", episode=CODE)
    await world.env.advance_time(3600)  # the note's job (kept as a retry) finds it posted
    notes = [m.content for m in world.thread_of(CODE).history()[1:]]
    assert notes == [f"✍️ {world.host.mention} is now writing this episode."]


async def test_a_refused_move_by_a_member_who_is_no_author_changes_nothing(world):
    await world.episode(CODE)
    r = await world.bob.slash(world.general, "episode status", episode=CODE, status="writing")
    assert r.response.content == f"Only hosts and the authors of `{CODE}` can change its status."
    found = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    assert found.status.value == "in_research"
    assert [e.kind for e in await episode_store.history(world.bot.services.db, found.id)] == ["created"]
    assert world.thread_of(CODE).history()[1:] == []


async def test_a_created_episode_leaves_no_post_intent(world):
    """Each `/episode create` drops the intent it kept for its own post (a second one too)."""
    await world.episode(CODE)
    await world.episode("1924-02", "Krupskaya Corrects the Record")
    assert await posts_store.post_intents(world.bot.services.db) == []


WITHDRAW_TRIPS = 2  # read the request with its episode; the withdrawal, its history, note and jobs


async def test_a_withdrawal_answers_within_its_trips(world):
    await world.episode(CODE)
    r = await world.alice.slash(
        world.general, "episode volunteer", episode=CODE, pitch="I know Lenin died in 1924"
    )
    trips = Trips(world.env)
    with trips.counting():
        w = await world.alice.click(r.response, label="Withdraw")
    assert w.response.content.startswith("You withdrew your request.")
    assert trips.before_answer <= WITHDRAW_TRIPS, trips.before_answer


# Before: 7 before the answer (the contribution read, then a transaction of its own), the note kept after.
REMOVE_TRIPS = 2  # read the episode (resolving the option); the contribution read, removed, its note and job


async def _contribution_of(world, thread, author, text) -> int:
    await author.send(thread, text)
    found = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    rows = await research_store.for_episode(world.bot.services.db, found.id)
    return next(c.id for c in rows if c.body == text)


async def test_remove_by_its_contributor_answers_within_its_trips(world):
    thread = await world.episode(CODE)
    number = await _contribution_of(world, thread, world.alice, "Lenin died at Gorki on 21 January 1924.")
    trips = Trips(world.env)
    with trips.counting():
        r = await world.alice.slash(world.general, "research remove", episode=CODE, contribution=number)
    assert r.response.content == f"Removed contribution **#{number}** from the research for `{CODE}`."
    assert trips.before_answer <= REMOVE_TRIPS, trips.before_answer
    assert trips.total > trips.before_answer  # the card and the note follow the answer
    assert thread.history()[-1].content == (
        f"🗑️ {world.alice.mention} removed contribution #{number} by {world.alice.mention} from the research record."
    )


async def test_remove_by_a_host_and_its_refusals_stay_within_its_trips(world):
    thread = await world.episode(CODE)
    number = await _contribution_of(world, thread, world.alice, "Krupskaya, not Krupska.")
    for member, answer in (
        (world.bob, "Only the contributor and hosts can remove a contribution."),
        (world.host, f"Removed contribution **#{number}** from the research for `{CODE}`."),
        (world.host, f"There is no contribution #{number} in `{CODE}`: see `/research list`."),
    ):
        trips = Trips(world.env)
        with trips.counting():
            r = await member.slash(world.general, "research remove", episode=CODE, contribution=number)
        assert r.response.content == answer
        assert trips.before_answer <= REMOVE_TRIPS, (answer, trips.before_answer)
    # Kept with the removal, the note is posted once, never again by its job.
    await world.env.advance_time(3600)
    notes = [m.content for m in thread.history() if "removed contribution" in m.content]
    assert notes == [
        f"🗑️ {world.host.mention} removed contribution #{number} by {world.alice.mention} from the research record."
    ]
