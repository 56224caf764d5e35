"""The review of author requests survives what a real server does: a Decline form opened before a
restart and submitted after, a review channel changed or deleted while requests are pending, and a
review message deleted by a moderator."""

from __future__ import annotations

import discord
import pytest

from cogs.assignments import store as request_store
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store

CODE = "1924-01"


def field(embed: discord.Embed, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name)


def labels(message) -> list[str]:
    return [c.label for row in message.components for c in row.children]


async def authors(world) -> list[int]:
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    return await authors_store.authors(world.bot.services.db, episode.id)


async def volunteer(world, member):
    return await member.slash(world.general, "episode volunteer", episode=CODE, pitch="I know the sources")


@pytest.fixture
async def episode(world):
    return await world.episode(CODE)


@pytest.fixture
def moderator(world):
    role = world.guild.create_role("Moderator", permissions=discord.Permissions(manage_messages=True))
    return world.guild.add_member(world.env.create_user("moderator"), roles=[role])


async def test_a_decline_form_opened_before_a_restart_is_answered_after_it(world, episode, restart):
    await volunteer(world, world.alice)
    shown = await world.host.click(world.review.last_message, label="Decline")
    assert shown.modal is not None
    await restart()
    r = await world.host.submit_modal(shown, {"reason": "Spartacus already started a script."})
    assert "Declined" in r.followups[-1].content
    decision = field(world.review.last_message.embeds[0], "Decision")
    assert decision.startswith("❌ Declined")
    assert "Spartacus already started" in decision
    [request] = await request_store.list_pending(world.bot.services.db, world.guild.id) or [None]
    assert request is None
    assert "declined" in world.alice.user.dm_channel.history()[-1].content


async def test_a_form_submitted_twice_decides_once(world, episode, restart):
    await volunteer(world, world.alice)
    first = await world.host.click(world.review.last_message, label="Decline")
    second = await world.host.click(world.review.last_message, label="Decline")
    await world.host.submit_modal(first, {"reason": "No."})
    await restart()
    late = await world.host.submit_modal(second, {"reason": "Also no."})
    assert "already decided" in late.response.content
    assert len(world.alice.user.dm_channel.history()) == 1


async def test_a_decline_form_of_a_host_who_lost_the_role_changes_nothing(world, episode, restart):
    await volunteer(world, world.alice)
    shown = await world.host.click(world.review.last_message, label="Decline")
    await restart()
    world.env.backend.remove_member_role(world.guild.id, world.host.id, world.host_role.id)
    r = await world.host.submit_modal(shown, {"reason": "No."})
    assert "Only hosts" in r.response.content
    assert len(await request_store.list_pending(world.bot.services.db, world.guild.id)) == 1
    assert field(world.review.last_message.embeds[0], "Decision").startswith("⏳")


async def test_pending_requests_follow_a_new_review_channel(world, episode):
    await volunteer(world, world.alice)
    await volunteer(world, world.bob)
    old = list(world.review.history())
    assert len(old) == 2
    new_review = world.guild.create_text_channel("new-review")
    await world.admin.slash(world.general, "config channels", review=new_review)
    moved = new_review.history()
    assert len(moved) == 2
    assert {field(m.embeds[0], "Member") for m in moved} == {world.alice.mention, world.bob.mention}
    # The old messages point to the new ones and can no longer be clicked.
    for message in world.review.history():
        assert "Moved to" in message.content
        assert labels(message) == []
    for request in await request_store.list_pending(world.bot.services.db, world.guild.id):
        assert request.review_channel_id == new_review.id
    # Decided in the new channel, shown there.
    await world.host.click(moved[0], label="Approve")
    assert len(await authors(world)) == 1
    assert field(new_review.history()[0].embeds[0], "Decision").startswith("✅ Approved")
    listing = await world.host.slash(world.general, "episode requests")
    assert "(1)" in listing.response.embeds[0].title
    assert new_review.history()[1].jump_url in listing.response.embeds[0].description


async def test_pending_requests_reach_a_new_channel_after_the_old_one_was_deleted(world, episode):
    await volunteer(world, world.alice)
    world.env.backend.delete_channel(world.review.id)
    new_review = world.guild.create_text_channel("review-2")
    await world.admin.slash(world.general, "config channels", review=new_review)
    [message] = new_review.history()
    await world.host.click(message, label="Approve")
    assert await authors(world) == [world.alice.id]


async def test_a_deleted_review_message_is_posted_again(world, episode, moderator):
    await volunteer(world, world.alice)
    [message] = world.review.history()
    await moderator.delete(message)
    [again] = world.review.history()
    assert again.id != message.id
    assert field(again.embeds[0], "Member") == world.alice.mention
    await world.host.click(again, label="Approve")
    assert await authors(world) == [world.alice.id]


async def test_a_decided_request_whose_message_is_deleted_stays_deleted(world, episode, moderator):
    await volunteer(world, world.alice)
    await world.host.click(world.review.last_message, label="Approve")
    await moderator.delete(world.review.last_message)
    await world.env.advance_time(600)
    assert world.review.history() == []


async def test_a_withdrawal_shows_on_the_message_posted_again_after_a_restart(
    world, episode, restart, moderator
):
    r = await volunteer(world, world.alice)
    [message] = world.review.history()

    async def offline():
        await moderator.delete(message)

    await restart(offline)
    await world.alice.click(r.response, label="Withdraw")
    await world.env.advance_time(120)
    [again] = world.review.history()
    assert again.id != message.id
    assert field(again.embeds[0], "Decision").startswith("↩️ Withdrawn")
    assert all(c.disabled for row in again.components for c in row.children)


async def test_a_review_message_deleted_while_the_bot_was_away_is_posted_again_at_start(
    world, episode, restart, moderator
):
    await volunteer(world, world.alice)
    await volunteer(world, world.bob)
    first, second = world.review.history()

    async def offline():
        await moderator.delete(first)

    await restart(offline)
    await world.env.advance_time(5)
    messages = world.review.history()
    assert len(messages) == 2
    assert second.id in {m.id for m in messages}
    again = next(m for m in messages if m.id != second.id)
    assert field(again.embeds[0], "Member") == world.alice.mention
    await world.host.click(again, label="Approve")
    assert await authors(world) == [world.alice.id]


async def test_an_unreadable_review_channel_at_start_posts_nothing_again(world, episode, restart):
    await volunteer(world, world.alice)
    world.env.inject_error("GET", f"/channels/{world.review.id}/messages*", status=403, times=None)
    await restart()
    await world.env.advance_time(5)
    assert len(world.review.history()) == 1
