"""An episode's post follows its life: the starter message stops calling for research and volunteers once
the episode is recorded, published or shelved (and calls again when it goes back), the card stops asking
for an author, the status tags are moderated, and a volunteer's note in the thread shows the decision.
Refused edits are retried until Discord takes them."""

from __future__ import annotations

import discord
import pytest
from simcord.backend.models import Overwrite
from simcord.enums import OverwriteType

from bot.core import jobs as job_store
from cogs.episodes import store as episode_store
from cogs.episodes.notes import NOTE_EDIT_JOB
from tests.forum_import.server import ForumServer

CODE = "1924-01"
MANAGED = {"In Research", "Writing", "Recorded", "Published", "Shelved", "Needs Author"}


def starter(world, code: str = CODE) -> discord.Message:
    return world.thread_of(code).history()[0]


def authors_field(world, code: str = CODE) -> str:
    return next(f.value for f in starter(world, code).embeds[0].fields if f.name == "Authors")


def volunteer_note(world, member) -> discord.Message:
    [note] = [
        m for m in world.thread_of(CODE).history() if (m.content or "").startswith(f"🙋 {member.mention}")
    ]
    return note


async def volunteer(world, member):
    r = await member.slash(world.general, "episode volunteer", episode=CODE, pitch="I have read Kotkin.")
    assert "the hosts will review it" in r.response.content
    return r


def review_message(world, member) -> discord.Message:
    return next(
        m
        for m in reversed(world.review.history())
        if m.embeds and any(f.value == member.mention for f in m.embeds[0].fields)
    )


async def pending_edits(world) -> list:
    return await job_store.pending(world.bot.services.db, NOTE_EDIT_JOB)


# -- the starter message and the card ------------------------------------------------------------------


@pytest.mark.parametrize("status", ["recorded", "published"])
async def test_research_closes_with_thanks_once_recorded_or_published(world, status):
    await world.episode(CODE)
    assert "/episode volunteer" in starter(world).content
    await world.host.slash(world.general, "episode status", episode=CODE, status=status)
    text = starter(world).content
    assert "Research for this episode is closed — thank you to everyone who contributed" in text
    assert "/research credits" in text
    assert "Please post any ideas" not in text and "/episode volunteer" not in text
    assert "Needs an author" not in authors_field(world) and "/episode volunteer" not in authors_field(world)


async def test_a_shelved_episode_asks_for_nothing(world):
    await world.episode(CODE)
    await world.host.slash(world.general, "episode status", episode=CODE, status="shelved")
    text = starter(world).content
    assert "shelved" in text and "paused" in text
    assert "/episode volunteer" not in text and "Please post any ideas" not in text
    assert "Needs an author" not in authors_field(world)


async def test_back_in_research_calls_again(world):
    await world.episode(CODE)
    await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")
    await world.host.slash(world.general, "episode status", episode=CODE, status="in_research")
    text = starter(world).content
    assert "Please post any ideas or research" in text and "/episode volunteer" in text
    assert "closed" not in text
    assert "Needs an author — `/episode volunteer`" in authors_field(world)


async def test_writing_still_calls_for_research(world):
    await world.episode(CODE)
    await world.host.slash(world.general, "episode status", episode=CODE, status="writing")
    assert "Please post any ideas or research" in starter(world).content
    assert "Needs an author" in authors_field(world)


async def test_an_author_stays_on_the_card_of_a_recorded_episode(world):
    await world.episode(CODE)
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")
    assert authors_field(world) == world.alice.mention


async def test_a_refused_starter_edit_is_retried(world):
    await world.episode(CODE)
    stored = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    path = f"/channels/{stored.thread_id}/messages/{stored.starter_message_id}"
    world.env.inject_error("PATCH", path, status=500, times=1)
    r = await world.host.slash(world.general, "episode status", episode=CODE, status="published")
    assert "Published" in r.response.content
    assert "Please post any ideas" in starter(world).content  # Discord refused the edit for now
    await world.env.advance_time(60)
    assert "Research for this episode is closed" in starter(world).content


async def test_the_closed_starter_follows_a_restart(world, restart):
    """Moved while Discord refused: the starter message is brought up to date by the next start."""
    await world.episode(CODE)
    stored = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    path = f"/channels/{stored.thread_id}/messages/{stored.starter_message_id}"
    world.env.inject_error("PATCH", path, status=503, times=None)
    await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")
    assert "Please post any ideas" in starter(world).content

    async def offline():
        world.env.backend.faults.clear()  # Discord takes edits again while the bot is down

    await restart(offline)
    await world.env.advance_time(120)
    assert "Research for this episode is closed" in starter(world).content


# -- moderated status tags -------------------------------------------------------------------------------


def set_forum_tags(world, names: list[str]) -> None:
    """The forum's tags as a moderator made them by hand: not moderated."""
    tags = [
        {"id": str(100 + i), "name": n, "moderated": False, "emoji_id": None, "emoji_name": None}
        for i, n in enumerate(names)
    ]
    world.env.backend.edit_channel(world.forum.id, {"available_tags": tags})


def forum_tags(world) -> dict[str, bool]:
    """The research forum's tags as Discord holds them: name → moderated."""
    model = world.env.backend.get_channel(world.forum.id)
    return {t["name"]: bool(t.get("moderated")) for t in model.available_tags}


async def test_status_tags_are_created_moderated(world):
    await world.episode(CODE)
    tags = forum_tags(world)
    assert set(tags) >= MANAGED
    assert all(tags[name] for name in MANAGED)


async def test_our_unmoderated_tags_become_moderated_others_are_left(world):
    set_forum_tags(world, ["In Research", "Needs Author", "Soviet Union"])
    await world.episode(CODE)
    tags = forum_tags(world)
    assert all(tags[name] for name in MANAGED)
    assert tags["Soviet Union"] is False  # not ours
    ids = {t["name"]: t["id"] for t in world.env.backend.get_channel(world.forum.id).available_tags}
    assert (str(ids["In Research"]), str(ids["Needs Author"])) == ("100", "101")  # the same tags, kept


async def test_without_manage_channel_the_tags_are_left_and_posts_still_work(world):
    set_forum_tags(world, sorted(MANAGED))
    world.env.backend.set_overwrite(
        world.forum.id,
        Overwrite(
            target_id=world.env.backend.bot_user.id,
            type=OverwriteType.MEMBER,
            allow=0,
            deny=discord.Permissions(manage_channels=True).value,
        ),
    )
    await world.episode(CODE)
    assert not any(forum_tags(world).values())
    assert {t.name for t in world.bot.get_channel(world.thread_of(CODE).id).applied_tags} == {
        "In Research",
        "Needs Author",
    }
    assert not [
        r for r in world.env.http_requests if r.method == "PATCH" and r.path == f"/channels/{world.forum.id}"
    ]


# -- the volunteer's note shows the decision ---------------------------------------------------------------


async def test_the_note_shows_an_approval(world):
    await world.episode(CODE)
    await volunteer(world, world.alice)
    assert (
        volunteer_note(world, world.alice).content
        == f"🙋 {world.alice.mention} would like to write this episode."
    )
    await world.host.click(review_message(world, world.alice), label="Approve")
    note = volunteer_note(world, world.alice)
    assert note.content == (
        f"🙋 {world.alice.mention} offered to write this episode — ✅ approved by {world.host.mention}."
    )
    assert await pending_edits(world) == []


async def test_the_note_shows_a_decline_without_the_reason(world):
    await world.episode(CODE)
    await volunteer(world, world.bob)
    shown = await world.host.click(review_message(world, world.bob), label="Decline")
    await world.host.submit_modal(shown, {"reason": "Spartacus is writing the Veles episode first"})
    note = volunteer_note(world, world.bob)
    assert note.content == f"🙋 {world.bob.mention} offered to write this episode — ❌ not accepted."
    assert "Veles" not in note.content


async def test_the_note_shows_a_withdrawal(world):
    await world.episode(CODE)
    r = await volunteer(world, world.alice)
    await world.alice.click(r.response, label="Withdraw")
    assert volunteer_note(world, world.alice).content.endswith("— ↩️ withdrawn.")


async def test_the_note_shows_an_assignment_that_settled_the_request(world):
    await world.episode(CODE)
    await volunteer(world, world.alice)
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    assert "✅ approved" in volunteer_note(world, world.alice).content


async def test_only_the_decided_request_s_note_changes(world):
    """Volunteered, withdrew, volunteered again: the second note waits for its own decision."""
    await world.episode(CODE)
    r = await volunteer(world, world.alice)
    await world.alice.click(r.response, label="Withdraw")
    await volunteer(world, world.alice)
    notes = [
        m.content
        for m in world.thread_of(CODE).history()
        if (m.content or "").startswith(f"🙋 {world.alice.mention}")
    ]
    assert notes == [
        f"🙋 {world.alice.mention} offered to write this episode — ↩️ withdrawn.",
        f"🙋 {world.alice.mention} would like to write this episode.",
    ]


async def test_a_refused_note_edit_is_retried(world):
    await world.episode(CODE)
    await volunteer(world, world.alice)
    note = volunteer_note(world, world.alice)
    world.env.inject_error("PATCH", f"/channels/{note.channel.id}/messages/{note.id}", status=500, times=2)
    await world.host.click(review_message(world, world.alice), label="Approve")
    assert "would like to write" in volunteer_note(world, world.alice).content
    assert len(await pending_edits(world)) == 1
    await world.env.advance_time(45)  # the first retry is refused too
    assert "would like to write" in volunteer_note(world, world.alice).content
    await world.env.advance_time(120)
    assert "✅ approved" in volunteer_note(world, world.alice).content
    assert await pending_edits(world) == []


async def test_a_note_edit_refused_before_a_stop_is_made_after_it(world, restart):
    await world.episode(CODE)
    await volunteer(world, world.alice)
    note = volunteer_note(world, world.alice)
    world.env.inject_error("PATCH", f"/channels/{note.channel.id}/messages/{note.id}", status=503, times=1)
    shown = await world.host.click(review_message(world, world.alice), label="Decline")
    await world.host.submit_modal(shown, {})
    assert "would like to write" in volunteer_note(world, world.alice).content
    await restart()
    await world.env.advance_time(60)
    assert volunteer_note(world, world.alice).content.endswith("— ❌ not accepted.")


async def test_a_note_not_posted_yet_is_amended_once_it_is(world):
    await world.episode(CODE)
    thread = world.thread_of(CODE)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=1)
    r = await volunteer(world, world.alice)
    assert [m for m in thread.history() if (m.content or "").startswith("🙋")] == []
    await world.alice.click(r.response, label="Withdraw")
    await world.env.advance_time(600)
    assert volunteer_note(world, world.alice).content.endswith("— ↩️ withdrawn.")
    assert await pending_edits(world) == []


# -- an episode imported from the old forum ------------------------------------------------------------------


async def test_an_imported_post_keeps_its_old_forum_link_through_its_life(world):
    server = ForumServer().start()
    try:
        r = await world.admin.slash(world.general, "import discourse", url=server.url, topic="4711")
        assert r.response.embeds, r.response.content
        link = f"<{server.url}/t/1924-01-lenins-death-and-stalins-rise-to-power/4711>"
        assert link in starter(world).content
        await world.host.slash(world.general, "episode status", episode=CODE, status="writing")
        assert link in starter(world).content and "Please post any ideas" in starter(world).content
        await world.host.slash(world.general, "episode status", episode=CODE, status="published")
        assert (
            link in starter(world).content and "Research for this episode is closed" in starter(world).content
        )
    finally:
        server.stop()
