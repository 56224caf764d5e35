"""Posts the bot makes for research arrive once: a form post or thank-you Discord refused is posted
later (within two minutes, or at the next start), and one whose outcome was unknown — it did arrive —
is found in the thread instead of being posted again."""

from __future__ import annotations

import json

from cogs.research.views import form_embed

CODE = "1924-01"
DEATH = "Lenin died on 21 January 1924, aged 53."


def form_posts(thread, number: int) -> list:
    return [
        m
        for m in thread.history()
        if m.author.bot
        and any(f.name == "Contribution" and f.value == f"#{number}" for e in m.embeds for f in e.fields)
    ]


def thank_yous(thread) -> list:
    return [m for m in thread.history() if m.author.bot and "Thank you" in m.content]


async def contribution(world) -> dict:
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="json")
    (row,) = json.loads((await r.response.attachments[0].read()).decode("utf-8"))["contributions"]
    return row


async def submit(world, refusals: int | None):
    thread = await world.episode(CODE)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=refusals)
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    r = await world.alice.submit_modal(
        shown, {"title": "Mausoleum", "body": "Embalmed.", "sources": "- Service"}
    )
    assert r.response.content == (
        f"Saved as contribution **#{(await contribution(world))['id']}** for `{CODE}`. I couldn't post it in the "
        "episode's thread just now: I'll post it there as soon as Discord lets me."
    )
    row = await contribution(world)
    assert row["url"] is None
    return thread, row["id"]


async def test_a_refused_form_post_is_posted_later_once(world):
    thread, number = await submit(world, refusals=1)
    assert form_posts(thread, number) == []
    await world.env.advance_time(65)
    (post,) = form_posts(thread, number)
    assert (await contribution(world))["url"].endswith(f"/{post.id}")
    await world.env.advance_time(600)
    assert len(form_posts(thread, number)) == 1


async def test_a_form_post_refused_until_the_bot_stops_is_posted_after_the_next_start(world, restart):
    thread, number = await submit(world, refusals=None)

    async def offline():
        world.env.backend.faults.clear()

    await restart(offline)
    await world.env.advance_time(65)
    assert len(form_posts(thread, number)) == 1


async def test_a_form_post_that_did_arrive_is_found_not_posted_again(world):
    thread, number = await submit(world, refusals=1)
    # Discord took the post but the bot never heard back (say, it stopped right then):
    arrived = await world.bot.get_channel(thread.id).send(
        embed=form_embed(number, world.alice.id, "Mausoleum", "Embalmed.", "- Service", CODE)
    )
    await world.env.advance_time(65)
    (post,) = form_posts(thread, number)
    assert post.id == arrived.id
    assert (await contribution(world))["url"].endswith(f"/{arrived.id}")


async def test_a_form_post_of_a_removed_contribution_is_not_posted(world):
    thread, number = await submit(world, refusals=1)
    await world.alice.slash(world.general, "research remove", episode=CODE, contribution=number)
    await world.env.advance_time(65)
    assert form_posts(thread, number) == []


async def test_a_thank_you_that_did_arrive_is_not_posted_again(world):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    # Refused twice: the status note in the thread, then the thank-you.
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=2)
    await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")
    assert thank_yous(thread) == []
    # The refused send had in fact arrived (Discord answered 500 after creating it):
    text = (
        f"🎉 **{CODE} · Lenin's Death and Stalin's Rise** is recorded! Thank you to everyone whose "
        f"research went into it: <@{world.alice.id}>\nYour contributions stay in the episode's research "
        f"dossier: `/research export episode:{CODE}`."
    )
    await world.bot.get_channel(thread.id).send(text)
    await world.env.advance_time(65)
    assert len(thank_yous(thread)) == 1
    await world.env.advance_time(600)
    assert len(thank_yous(thread)) == 1


async def test_a_thank_you_refused_until_the_bot_stops_is_posted_after_the_next_start(world, restart):
    thread = await world.episode(CODE)
    await world.alice.send(thread, DEATH)
    world.env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=None)
    await world.host.slash(world.general, "episode status", episode=CODE, status="recorded")

    async def offline():
        world.env.backend.faults.clear()

    await restart(offline)
    await world.env.advance_time(65)
    assert len(thank_yous(thread)) == 1
    await world.env.advance_time(600)
    assert len(thank_yous(thread)) == 1
