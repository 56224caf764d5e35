"""Author assignment end to end: claim, unclaim, assign, unassign, volunteer, requests, and the
Approve / Decline review, acting as hosts and members through the simulator."""

from __future__ import annotations

import discord
import pytest
from simcord.backend.errors import OptionError

from cogs.config import store as settings_store
from cogs.episodes import authors_store
from cogs.episodes import store as episode_store
from tests.conftest import build_world

CODE = "1924-01"


# -- helpers ------------------------------------------------------------------------------------------


def field(embed: discord.Embed, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name)


def card(world, code: str = CODE) -> discord.Embed:
    return world.thread_of(code).history()[0].embeds[0]


def tags(world, code: str = CODE) -> set[str]:
    return {t.name for t in world.bot.get_channel(world.thread_of(code).id).applied_tags}


def notes(world, code: str = CODE) -> list[str]:
    """What the bot posted in the episode's thread after the starter message."""
    return [m.content for m in world.thread_of(code).history()[1:]]


def pinged(world, channel, message) -> list[int]:
    """The members Discord actually notified for a message (mentions that ping, not just render)."""
    return list(world.env.backend.get_message(channel.id, message.id).ping_user_ids)


def labels(message) -> list[str]:
    """Button labels of a message (channel messages have component objects, responses raw dicts)."""
    found = []
    for row in message.components:
        for child in row["components"] if isinstance(row, dict) else row.children:
            found.append(child["label"] if isinstance(child, dict) else child.label)
    return found


def all_disabled(message) -> bool:
    return all(c.disabled for row in message.components for c in row.children)


def reviews(world) -> list[discord.Message]:
    return world.review.history()


def dms(member) -> list[str]:
    return [m.content for m in member.user.dm_channel.history()]


async def authors(world, code: str = CODE) -> list[int]:
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, code)
    return await authors_store.authors(world.bot.services.db, episode.id)


async def history_kinds(world, code: str = CODE) -> list[str]:
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, code)
    return [e.kind for e in await episode_store.history(world.bot.services.db, episode.id)]


def close_dms(world, member) -> None:
    """Make Discord refuse every DM to this member, as it does when their DMs are closed."""
    world.env.inject_error(
        "POST",
        f"/channels/{member.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=None,
    )


def second_host(world):
    return world.guild.add_member(world.env.create_user("lindybeige"), roles=[world.host_role])


async def volunteer(world, member=None, code: str = CODE, pitch: str | None = "I have read Kotkin twice."):
    member = member or world.alice
    options = {"episode": code} if pitch is None else {"episode": code, "pitch": pitch}
    return await member.slash(world.general, "episode volunteer", **options)


@pytest.fixture
async def episode(world):
    return await world.episode(CODE)


# -- claim / unclaim / assign / unassign ----------------------------------------------------------------


async def test_host_claims_an_episode(world, episode):
    r = await world.host.slash(world.general, "episode claim", episode=CODE)
    assert r.response.ephemeral
    assert "now an author" in r.response.content
    assert world.host.mention in field(card(world), "Authors")
    assert tags(world) == {"In Research"}
    note = world.thread_of(CODE).history()[-1]
    assert note.content == f"✍️ {world.host.mention} is now writing this episode."
    assert pinged(world, world.thread_of(CODE), note) == []
    assert "author_added" in await history_kinds(world)

    again = await world.host.slash(world.general, "episode claim", episode="1924-01")
    assert again.response.ephemeral
    assert "already an author" in again.response.content
    assert len(notes(world)) == 1
    assert await authors(world) == [world.host.id]


async def test_claim_is_for_hosts_only(world, episode):
    r = await world.alice.slash(world.general, "episode claim", episode=CODE)
    assert r.response.ephemeral
    assert "Only hosts" in r.response.content
    assert await authors(world) == []
    assert notes(world) == []


async def test_claim_unknown_episode(world, episode):
    r = await world.host.slash(world.general, "episode claim", episode="1999-99")
    assert r.response.ephemeral
    assert "no episode `1999-99`" in r.response.content


async def test_author_unclaims_and_non_author_is_told(world, episode):
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    r = await world.alice.slash(world.general, "episode unclaim", episode=CODE)
    assert r.response.ephemeral
    assert "no longer an author" in r.response.content
    assert await authors(world) == []
    assert "Needs an author" in field(card(world), "Authors")
    assert tags(world) == {"In Research", "Needs Author"}
    assert notes(world)[-1] == f"👋 {world.alice.mention} is no longer writing this episode."
    assert (await history_kinds(world))[-1] == "author_removed"

    r = await world.bob.slash(world.general, "episode unclaim", episode=CODE)
    assert r.response.ephemeral
    assert "aren't an author" in r.response.content
    assert len(notes(world)) == 2


async def test_host_assigns_and_unassigns_without_pinging(world, episode):
    r = await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    assert r.response.ephemeral
    assert f"{world.alice.mention} is now an author" in r.response.content
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.bob)
    assert set(await authors(world)) == {world.alice.id, world.bob.id}
    assert world.alice.mention in field(card(world), "Authors")
    assert world.bob.mention in field(card(world), "Authors")
    assert tags(world) == {"In Research"}
    thread = world.thread_of(CODE)
    note = thread.history()[1]
    assert world.alice.mention in note.content
    assert pinged(world, thread, note) == []

    again = await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    assert "already an author" in again.response.content

    r = await world.host.slash(world.general, "episode unassign", episode=CODE, member=world.alice)
    assert r.response.ephemeral
    assert "no longer an author" in r.response.content
    assert await authors(world) == [world.bob.id]
    assert world.alice.mention not in field(card(world), "Authors")
    r = await world.host.slash(world.general, "episode unassign", episode=CODE, member=world.bob)
    assert tags(world) == {"In Research", "Needs Author"}

    nothing = await world.host.slash(world.general, "episode unassign", episode=CODE, member=world.alice)
    assert nothing.response.ephemeral
    assert "isn't an author" in nothing.response.content
    assert len(notes(world)) == 4
    assert (await history_kinds(world)).count("author_added") == 2
    assert (await history_kinds(world)).count("author_removed") == 2


async def test_assign_and_unassign_are_for_hosts_only(world, episode):
    r = await world.alice.slash(world.general, "episode assign", episode=CODE, member=world.bob)
    assert r.response.ephemeral
    assert "Only hosts" in r.response.content
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.bob)
    r = await world.alice.slash(world.general, "episode unassign", episode=CODE, member=world.bob)
    assert "Only hosts" in r.response.content
    # An author is not a host either: they can unclaim themselves but not remove others.
    r = await world.bob.slash(world.general, "episode unassign", episode=CODE, member=world.bob)
    assert "Only hosts" in r.response.content
    assert await authors(world) == [world.bob.id]


# -- volunteering ---------------------------------------------------------------------------------------


async def test_volunteer_posts_a_review_message_and_a_note(world, episode):
    pitch = "Line one @everyone\n" + "x" * (1000 - len("Line one @everyone\n"))
    r = await volunteer(world, pitch=pitch)
    assert r.response.ephemeral
    assert "the hosts will review it" in r.response.content
    assert labels(r.response) == ["Withdraw"]

    [review] = reviews(world)
    embed = review.embeds[0]
    assert CODE in embed.title
    assert embed.description == pitch  # stored and shown whole
    assert field(embed, "Member") == world.alice.mention
    assert "Waiting" in field(embed, "Decision")
    assert labels(review) == ["Approve", "Decline"]
    assert pinged(world, world.review, review) == []
    assert not review.mention_everyone

    thread = world.thread_of(CODE)
    note = thread.history()[-1]
    assert note.content == f"🙋 {world.alice.mention} would like to write this episode."
    assert pinged(world, thread, note) == []
    assert (await history_kinds(world))[-1] == "author_requested"
    assert await authors(world) == []


async def test_volunteer_without_pitch(world, episode):
    await volunteer(world, pitch=None)
    assert reviews(world)[0].embeds[0].description == "*No pitch given.*"


async def test_pitch_longer_than_1000_characters_is_refused(world, episode):
    with pytest.raises(OptionError):
        await volunteer(world, pitch="x" * 1001)
    assert reviews(world) == []


async def test_one_pending_request_per_member_and_episode(world, episode):
    await volunteer(world)
    r = await volunteer(world, pitch="Again!")
    assert r.response.ephemeral
    assert "already asked" in r.response.content
    assert labels(r.response) == ["Withdraw"]
    assert len(reviews(world)) == 1
    await volunteer(world, member=world.bob)
    assert len(reviews(world)) == 2


async def test_an_author_who_volunteers_is_told_so(world, episode):
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    r = await volunteer(world)
    assert r.response.ephemeral
    assert "already an author" in r.response.content
    assert reviews(world) == []


async def test_volunteer_for_unknown_episode(world, episode):
    r = await volunteer(world, code="nope")
    assert r.response.ephemeral
    assert "no episode `nope`" in r.response.content


# -- review: approve / decline ----------------------------------------------------------------------------


async def test_host_approves_by_clicking(world, episode):
    await volunteer(world)
    r = await world.host.click(reviews(world)[0], label="Approve")
    assert "now an author" in r.followups[0].content
    assert r.followups[0].ephemeral
    assert "by DM" in r.followups[0].content

    assert await authors(world) == [world.alice.id]
    assert world.alice.mention in field(card(world), "Authors")
    assert tags(world) == {"In Research"}

    review = reviews(world)[0]
    decision = field(review.embeds[0], "Decision")
    assert decision.startswith(f"✅ Approved by {world.host.mention}")
    assert "<t:" in decision
    assert all_disabled(review)

    [dm] = dms(world.alice)
    assert "approved" in dm
    assert CODE in dm
    thread = world.thread_of(CODE)
    note = thread.history()[-1]
    assert f"{world.alice.mention} is now an author" in note.content
    assert pinged(world, thread, note) == []  # told by DM: no ping in the thread
    assert "author_added" in await history_kinds(world)


async def test_host_declines_with_a_reason(world, episode):
    await volunteer(world)
    shown = await world.host.click(reviews(world)[0], label="Decline")
    assert shown.modal is not None
    assert await authors(world) == []
    r = await world.host.submit_modal(shown, {"reason": "Spartacus already started a script."})
    assert "Declined" in r.followups[0].content

    review = reviews(world)[0]
    decision = field(review.embeds[0], "Decision")
    assert decision.startswith(f"❌ Declined by {world.host.mention}")
    assert "Spartacus already started a script." in decision
    assert all_disabled(review)
    [dm] = dms(world.alice)
    assert "declined" in dm
    assert "Spartacus already started a script." in dm
    assert await authors(world) == []
    assert tags(world) == {"In Research", "Needs Author"}
    assert (await history_kinds(world))[-1] == "author_request_declined"


async def test_host_declines_without_a_reason(world, episode):
    await volunteer(world)
    shown = await world.host.click(reviews(world)[0], label="Decline")
    await world.host.submit_modal(shown, {})
    assert field(reviews(world)[0].embeds[0], "Decision").startswith("❌ Declined")
    assert "Reason" not in dms(world.alice)[0]


async def test_approval_with_dms_closed_pings_in_the_thread(world, episode):
    await volunteer(world)
    close_dms(world, world.alice)
    r = await world.host.click(reviews(world)[0], label="Approve")
    assert "DMs are closed" in r.followups[0].content
    assert dms(world.alice) == []
    thread = world.thread_of(CODE)
    note = thread.history()[-1]
    assert world.alice.mention in note.content
    assert pinged(world, thread, note) == [world.alice.id]
    assert await authors(world) == [world.alice.id]


async def test_decline_with_dms_closed_pings_in_the_thread(world, episode):
    await volunteer(world)
    close_dms(world, world.alice)
    shown = await world.host.click(reviews(world)[0], label="Decline")
    await world.host.submit_modal(shown, {"reason": "Not this season"})
    thread = world.thread_of(CODE)
    note = thread.history()[-1]
    assert "declined" in note.content
    assert "Not this season" in note.content
    assert pinged(world, thread, note) == [world.alice.id]


async def test_non_host_clicks_change_nothing(world, episode):
    await volunteer(world)
    r = await world.bob.click(reviews(world)[0], label="Approve")
    assert r.response.ephemeral
    assert "Only hosts" in r.response.content
    r = await world.alice.click(reviews(world)[0], label="Decline")
    assert r.modal is None
    assert "Only hosts" in r.response.content
    assert await authors(world) == []
    assert "Waiting" in field(reviews(world)[0].embeds[0], "Decision")
    assert dms(world.alice) == []


async def test_concurrent_decisions_only_one_wins(world, episode):
    other_host = second_host(world)
    await volunteer(world)
    # Both hosts open the Decline form; meanwhile a third click approves.
    first = await world.host.click(reviews(world)[0], label="Decline")
    second = await other_host.click(reviews(world)[0], label="Decline")
    await other_host.submit_modal(second, {"reason": "No."})
    late = await world.host.submit_modal(first, {"reason": "Also no."})
    assert late.response.ephemeral
    assert "already decided" in late.response.content
    decision = field(reviews(world)[0].embeds[0], "Decision")
    assert other_host.mention in decision
    assert "Also no." not in decision
    assert len(dms(world.alice)) == 1


async def test_decline_form_submitted_after_an_approval_changes_nothing(world, episode):
    other_host = second_host(world)
    await volunteer(world)
    form = await world.host.click(reviews(world)[0], label="Decline")
    await other_host.click(reviews(world)[0], label="Approve")
    late = await world.host.submit_modal(form, {"reason": "Too late"})
    assert "already decided" in late.response.content
    assert "approved" in late.response.content
    assert await authors(world) == [world.alice.id]
    assert field(reviews(world)[0].embeds[0], "Decision").startswith("✅ Approved")
    assert len(dms(world.alice)) == 1


async def test_buttons_work_after_a_restart(world, episode, restart):
    await volunteer(world)
    await volunteer(world, member=world.bob)
    await restart()
    r = await world.host.click(reviews(world)[0], label="Approve")
    assert "now an author" in r.followups[0].content
    shown = await world.host.click(reviews(world)[1], label="Decline")
    await world.host.submit_modal(shown, {"reason": "One author is enough"})
    assert await authors(world) == [world.alice.id]
    assert field(reviews(world)[1].embeds[0], "Decision").startswith("❌ Declined")


# -- withdrawal -------------------------------------------------------------------------------------------


async def test_member_withdraws_from_the_confirmation(world, episode):
    r = await volunteer(world)
    w = await world.alice.click(r.response, label="Withdraw")
    assert "withdrew" in w.response.content
    assert w.response.components == []

    review = reviews(world)[0]
    assert field(review.embeds[0], "Decision").startswith(f"↩️ Withdrawn by {world.alice.mention}")
    assert all_disabled(review)
    assert "withdrew" in notes(world)[-1]
    listing = await world.host.slash(world.general, "episode requests")
    assert "No pending requests" in listing.response.embeds[0].description
    assert (await history_kinds(world))[-1] == "author_request_withdrawn"

    # They can change their mind again.
    again = await volunteer(world)
    assert "the hosts will review it" in again.response.content
    assert len(reviews(world)) == 2


async def test_withdraw_from_a_second_volunteer_after_restart(world, episode, restart):
    await volunteer(world)
    await restart()
    r = await volunteer(world)
    assert "already asked" in r.response.content
    await world.alice.click(r.response, label="Withdraw")
    assert field(reviews(world)[0].embeds[0], "Decision").startswith("↩️ Withdrawn")


async def test_click_on_a_withdrawn_request_is_already_decided(world, episode):
    r = await volunteer(world)
    # The review message can't be updated at the moment of the withdrawal, so its buttons stay live.
    world.env.inject_error("PATCH", f"/channels/{world.review.id}/messages/*", status=500, times=1)
    await world.alice.click(r.response, label="Withdraw")
    assert "Waiting" in field(reviews(world)[0].embeds[0], "Decision")

    click = await world.host.click(reviews(world)[0], label="Approve")
    assert click.response.ephemeral
    assert "already withdrawn" in click.response.content
    assert await authors(world) == []
    await world.env.advance_time(120)
    assert field(reviews(world)[0].embeds[0], "Decision").startswith("↩️ Withdrawn")


# -- adding an author settles their request -------------------------------------------------------------


async def test_assigning_a_volunteer_settles_their_request(world, episode):
    await volunteer(world)
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)
    review = reviews(world)[0]
    assert field(review.embeds[0], "Decision").startswith(f"✅ Approved by {world.host.mention}")
    assert all_disabled(review)
    listing = await world.host.slash(world.general, "episode requests")
    assert "No pending requests" in listing.response.embeds[0].description
    await world.env.advance_time(600)
    [dm] = dms(world.alice)  # told of the assignment once; the settled request sends nothing of its own
    assert "made you an author" in dm
    assert len([n for n in notes(world) if world.alice.mention in n and "author" in n]) == 1


# -- /episode requests ------------------------------------------------------------------------------------


async def test_requests_lists_pending_with_links(world, episode):
    await world.episode("1924-02", "The Treaty of Rome")
    await volunteer(world)
    await volunteer(world, member=world.bob, code="1924-02", pitch=None)
    r = await world.host.slash(world.general, "episode requests")
    assert r.response.ephemeral
    embed = r.response.embeds[0]
    assert "(2)" in embed.title
    first, second = reviews(world)
    assert first.jump_url in embed.description
    assert second.jump_url in embed.description
    assert world.alice.mention in embed.description
    assert "Kotkin" in embed.description

    only = await world.host.slash(world.general, "episode requests", episode="1924-02")
    description = only.response.embeds[0].description
    assert world.bob.mention in description
    assert world.alice.mention not in description


async def test_requests_is_for_hosts_only(world, episode):
    await volunteer(world)
    r = await world.alice.slash(world.general, "episode requests")
    assert r.response.ephemeral
    assert "Only hosts" in r.response.content
    assert not r.response.embeds


async def test_requests_are_paged(world, episode):
    for n in range(11):
        member = world.guild.add_member(world.env.create_user(f"member{n}"))
        await volunteer(world, member=member, pitch=None)
    r = await world.host.slash(world.general, "episode requests")
    embed = r.response.embeds[0]
    assert "(11)" in embed.title
    assert embed.footer.text == "Page 1 of 2"
    page2 = await world.host.click(r.response, label="Next")
    assert page2.response.embeds[0].footer.text == "Page 2 of 2"


# -- when the review channel is missing or refuses the post -------------------------------------------------


async def test_missing_review_channel_keeps_the_request(world, episode):
    await settings_store.update(world.bot.services.db, world.guild.id, review_channel_id=None)
    r = await volunteer(world)
    assert r.response.ephemeral
    assert "recorded your request" in r.response.content
    assert "couldn't pass your request to the hosts yet" in r.followups[-1].content
    assert "/config channels" in r.followups[-1].content
    assert r.followups[-1].ephemeral
    assert reviews(world) == []
    assert "would like to write" in notes(world)[-1]

    listing = await world.host.slash(world.general, "episode requests")
    description = listing.response.embeds[0].description
    assert "/config channels review:" in description  # the hint for hosts
    assert world.alice.mention in description
    assert "not posted for review yet" in description

    await world.admin.slash(world.general, "config channels", review=world.review)
    await world.env.advance_time(600)
    [review] = reviews(world)
    assert field(review.embeds[0], "Member") == world.alice.mention
    await world.host.click(review, label="Approve")
    assert await authors(world) == [world.alice.id]


async def test_review_channel_refusing_the_post_is_retried(world, episode):
    world.env.inject_error("POST", f"/channels/{world.review.id}/messages", status=403, code=50013, times=1)
    r = await volunteer(world)
    assert "couldn't pass your request to the hosts yet" in r.followups[-1].content
    assert reviews(world) == []
    await world.env.advance_time(120)
    assert len(reviews(world)) == 1
    await world.env.advance_time(600)
    assert len(reviews(world)) == 1  # posted once


async def test_review_channel_the_bot_cannot_post_in(world, episode):
    locked = world.guild.create_text_channel(
        "locked-review", overwrites={world.guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    await world.admin.slash(world.general, "config channels", review=locked)
    r = await volunteer(world)
    assert "couldn't pass your request to the hosts yet" in r.followups[-1].content
    assert "Send Messages" in r.followups[-1].content
    listing = await world.host.slash(world.general, "episode requests")
    description = listing.response.embeds[0].description
    assert f"I can't post in {locked.mention}" in description
    assert world.alice.mention in description
    assert locked.history() == []


# -- other servers ----------------------------------------------------------------------------------------


async def test_requests_stay_in_their_server(world, episode):
    other = await build_world(world.env, name="Other")
    r = await other.alice.slash(other.general, "episode volunteer", episode=CODE)
    assert "no episode" in r.response.content
    assert other.review.history() == []

    await other.episode(CODE, "Another server's episode")
    await volunteer(world)
    listing = await other.host.slash(other.general, "episode requests")
    assert "No pending requests" in listing.response.embeds[0].description
    assert other.review.history() == []
    r = await other.host.slash(other.general, "episode claim", episode=CODE)
    assert "now an author" in r.response.content
    assert await authors(world) == []
    assert len(reviews(world)) == 1


async def test_claim_when_discord_refuses_the_card_update(world, episode):
    world.env.inject_error("PATCH", f"/channels/{episode.id}/messages/*", status=500, times=1)
    r = await world.host.slash(world.general, "episode claim", episode=CODE)
    assert "now an author" in r.response.content  # the member is answered first
    assert "shortly" in r.followups[-1].content and r.followups[-1].ephemeral
    assert await authors(world) == [world.host.id]  # the change is kept
    await world.env.advance_time(120)
    assert world.host.mention in field(card(world), "Authors")
