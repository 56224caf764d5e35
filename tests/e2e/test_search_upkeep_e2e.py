"""The running bot tidies its search index in the background (migration 0016): after members' posts, the
index is merged by the database's upkeep, and `/research search` finds every post before and after."""

from __future__ import annotations

from bot.core import db as db_module
from tests.storage.test_search_upkeep import merge_left


async def test_posts_are_merged_into_the_search_index_in_the_background(world, monkeypatch):
    db = world.bot.services.db
    thread = await world.episode("1924-01")
    posts = [
        "Lenin died at Gorki on 21 January 1924.",
        "Trotsky was at Sukhumi and missed the funeral.",
        "Crowds queued for days in the frost to see the body.",
        "Petrograd became Leningrad within the week.",
    ]
    for i in range(12):  # a segment of the index each; none merged by the writes themselves
        await world.alice.send(thread, f"{posts[i % 4]} (note {i})")
    assert await db.run(merge_left) is True

    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY_COMMITS", 1)  # the next write starts a round
    r = await world.host.slash(world.general, "research search", query="frost")
    assert r.response.embeds[0].description.count("frost") >= 3
    await world.bob.send(thread, "Krupskaya asked for no monuments.")
    await db.checkpoint()  # waits for the background round: upkeep, then the checkpoint

    assert await db.run(merge_left) is False
    r = await world.host.slash(world.general, "research search", query="frost")
    assert r.response.embeds[0].description.count("frost") >= 3
    r = await world.host.slash(world.general, "research search", query="monuments")
    assert "Krupskaya" in r.response.embeds[0].description
