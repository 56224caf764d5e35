"""Research forms and buttons keep working across a restart: what a member opened before the bot
stopped is answered after it starts again."""

from __future__ import annotations

import json

CODE = "1924-01"


async def contributions(world) -> list[dict]:
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="json")
    return json.loads((await r.response.attachments[0].read()).decode("utf-8"))["contributions"]


async def test_a_submit_form_opened_before_a_restart_is_saved_after_it(world, restart):
    thread = await world.episode(CODE)
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    assert shown.modal is not None
    await restart()
    r = await world.alice.submit_modal(
        shown, {"title": "The mausoleum", "body": "Embalmed and shown.", "sources": "- Service"}
    )
    (row,) = await contributions(world)
    assert f"#{row['id']}" in r.response.content and "posted in" in r.response.content
    assert row["title"] == "The mausoleum" and row["author"]["id"] == str(world.alice.id)
    assert thread.history()[-1].embeds[0].title == "The mausoleum"


async def test_a_form_submitted_twice_is_saved_twice_as_two_contributions(world):
    """Two forms are two contributions (a member may send two pieces with the same title)."""
    await world.episode(CODE)
    for body in ("First piece.", "Second piece."):
        shown = await world.alice.slash(world.general, "research submit", episode=CODE)
        await world.alice.submit_modal(shown, {"title": "Piece", "body": body})
    assert [c["text"] for c in await contributions(world)] == ["First piece.", "Second piece."]


async def test_a_form_with_only_spaces_is_refused_after_a_restart_too(world, restart):
    await world.episode(CODE)
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    await restart()
    r = await world.alice.submit_modal(shown, {"title": "   ", "body": "text"})
    assert r.response.ephemeral and "title" in r.response.content.lower()
    assert await contributions(world) == []


async def test_the_episode_picker_of_add_to_research_works_after_a_restart(world, restart):
    await world.episode(CODE)
    post = await world.alice.send(world.general, "Petrograd was renamed Leningrad.")
    asked = await world.bob.context_menu(world.general, "Add to research", post)
    await restart()
    picked = await world.bob.select(asked.response, [CODE])
    assert "Added" in picked.response.content
    (row,) = await contributions(world)
    assert row["origin"] == "menu" and row["url"].endswith(f"/{post.id}")

    shown = await world.bob.click(asked.response, label="Enter a code")
    await restart()
    again = await world.bob.submit_modal(shown, {"code": CODE})
    assert "already" in again.response.content


async def test_the_picker_says_so_when_the_message_was_deleted_meanwhile(world, restart):
    await world.episode(CODE)
    post = await world.alice.send(world.general, "Soon gone.")
    asked = await world.bob.context_menu(world.general, "Add to research", post)

    async def offline():
        await world.alice.delete(post)

    await restart(offline)
    picked = await world.bob.select(asked.response, [CODE])
    assert picked.response.ephemeral and "deleted" in picked.response.content.lower()
    assert await contributions(world) == []


async def seed(world, count: int, text: str) -> None:
    from bot.clock import now_ts
    from cogs.episodes import store as episode_store
    from cogs.research import store
    from cogs.research.store import NewContribution

    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    at = now_ts() - count
    await store.add_many(
        world.bot.services.db,
        [
            NewContribution(world.guild.id, episode.id, world.alice.id, "form", f"{text} {i}", at + i)
            for i in range(count)
        ],
    )


async def test_research_list_pages_turn_after_a_restart(world, restart):
    await world.episode(CODE)
    await seed(world, 20, "Fact number")
    r = await world.bob.slash(world.general, "research list", episode=CODE, contributor=world.alice.user)
    first = r.response.embeds[0].description
    await restart()
    turned = await world.bob.click(r.response, label="Next")
    second = turned.response.embeds[0].description
    assert "Fact number" in second and second != first
    back = await world.bob.click(turned.response, label="Previous")
    assert back.response.embeds[0].description == first


async def test_research_search_pages_turn_after_a_restart(world, restart):
    await world.episode(CODE)
    await seed(world, 20, "Krupskaya note")
    query = "krupskaya " + "note " * 30  # longer than a button's custom id could carry
    r = await world.bob.slash(world.general, "research search", query=query.strip(), episode=CODE)
    first = r.response.embeds[0].description
    await restart()
    turned = await world.bob.click(r.response, label="Next")
    second = turned.response.embeds[0].description
    assert "Krupskaya" in second and second != first
    assert "(20)" in turned.response.embeds[0].title
