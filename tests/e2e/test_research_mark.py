"""`/research mark`: hosts and the episode's authors curate an episode's research (key research first,
chat left out of the dossier), as members see it in `/research list`, the autocomplete and the exports."""

from __future__ import annotations

import json

from cogs.episodes import store as episode_store

CODE = "1924-01"
DEATH = "Lenin died on 21 January 1924 in Gorki, after a series of strokes."
THANKS = "ok thanks!"
CORRECTION = "Correction: his widow's name is spelled Krupskaya, not Krupska."


async def mark(member, world, number, as_, code=CODE):
    r = await member.slash(world.general, "research mark", episode=code, contribution=number, **{"as": as_})
    assert r.response.ephemeral
    return r.response.content


async def numbered(world, thread) -> tuple[int, int, int]:
    await world.alice.send(thread, DEATH)
    await world.bob.send(thread, THANKS)
    await world.bob.send(thread, CORRECTION)
    return tuple(c["id"] for c in await contributions(world))


async def contributions(world, code=CODE) -> list[dict]:
    r = await world.bob.slash(world.general, "research export", episode=code, format="json")
    return json.loads(await r.response.attachments[0].read())["contributions"]


async def markdown(world, code=CODE) -> str:
    r = await world.bob.slash(world.general, "research export", episode=code, format="markdown")
    return (await r.response.attachments[0].read()).decode()


async def listed(world, code=CODE) -> str:
    r = await world.alice.slash(world.general, "research list", episode=code)
    return r.response.embeds[0].description


async def test_a_host_marks_key_research_and_leaves_chat_out(world):
    thread = await world.episode(CODE)
    death, thanks, correction = await numbered(world, thread)

    answer = await mark(world.host, world, correction, "key")
    assert (
        answer
        == f"Contribution **#{correction}** of `{CODE}` is now key research: it comes first in the dossier."
    )
    answer = await mark(world.host, world, thanks, "excluded")
    assert (
        f"**#{thanks}**" in answer
        and "left out of the Markdown and HTML dossier, kept in JSON and CSV" in answer
    )

    assert [(c["id"], c["mark"]) for c in await contributions(world)] == [
        (death, "normal"),
        (thanks, "excluded"),
        (correction, "key"),
    ]
    md = await markdown(world)
    assert THANKS not in md  # left out of the dossier a script writer reads
    assert md.index("Krupskaya") < md.index("Gorki")  # key research first

    lines = {
        int(line.split("**")[1][1:]): line
        for line in (await listed(world)).splitlines()
        if line.startswith("**#")
    }
    assert "⭐ key" in lines[correction] and "🚫 excluded" in lines[thanks]
    assert "⭐" not in lines[death] and "🚫" not in lines[death]

    choices = await world.host.autocomplete(world.general, "research mark", "contribution", "", episode=CODE)
    badges = {c["value"]: c["name"] for c in choices}
    assert "⭐ key" in badges[correction] and "🚫 excluded" in badges[thanks]

    answer = await mark(world.host, world, thanks, "normal")
    assert (
        answer
        == f"Contribution **#{thanks}** of `{CODE}` is now normal research: in the dossier in date order."
    )
    assert THANKS in await markdown(world)
    assert "already key research" in await mark(world.host, world, correction, "key")

    # Each change is in the episode's history (the repeated one changed nothing, so it is not).
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    events = [
        (e.actor_id, e.subject_id, e.from_value, e.to_value, e.note.split(":")[0])
        for e in await episode_store.history(world.bot.services.db, episode.id)
        if e.kind == "contribution_marked"
    ]
    assert events == [
        (world.host.id, world.bob.id, "normal", "key", f"#{correction}"),
        (world.host.id, world.bob.id, "normal", "excluded", f"#{thanks}"),
        (world.host.id, world.bob.id, "excluded", "normal", f"#{thanks}"),
    ]


async def test_the_episodes_author_may_mark_a_plain_member_may_not(world):
    thread = await world.episode(CODE)
    death, thanks, _ = await numbered(world, thread)
    await world.host.slash(world.general, "episode assign", episode=CODE, member=world.alice)

    assert "now excluded" in await mark(world.alice, world, thanks, "excluded")
    refused = await mark(world.bob, world, death, "excluded")
    assert refused == f"Only hosts and the authors of `{CODE}` can mark its research."
    refused = await mark(
        world.bob, world, thanks, "normal"
    )  # his own contribution too: curating is for authors
    assert "Only hosts and the authors" in refused
    assert [c["mark"] for c in await contributions(world)] == ["normal", "excluded", "normal"]

    # The author of one episode is a plain member for another.
    other = await world.episode("1925-01", "Locarno")
    await world.bob.send(other, "Locarno was signed in December 1925.")
    (locarno,) = (c["id"] for c in await contributions(world, "1925-01"))
    assert "Only hosts and the authors of `1925-01`" in await mark(
        world.alice, world, locarno, "key", "1925-01"
    )


async def test_an_unknown_number_is_refused(world):
    thread = await world.episode(CODE)
    await world.episode("1925-01", "Locarno")
    death, _, _ = await numbered(world, thread)
    assert await mark(world.host, world, 999999, "key") == (
        f"There is no contribution #999999 in `{CODE}`: see `/research list`."
    )
    # A number of another episode is not this episode's.
    assert "There is no contribution" in await mark(world.host, world, death, "key", "1925-01")
    assert [c["mark"] for c in await contributions(world)] == ["normal", "normal", "normal"]


async def test_the_html_dossier_is_offered_and_follows_the_marks(world):
    thread = await world.episode(CODE)
    _, thanks, correction = await numbered(world, thread)
    await mark(world.host, world, thanks, "excluded")
    await mark(world.host, world, correction, "key")
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="html")
    (file,) = r.response.attachments
    assert file.filename == f"{CODE}-research.html"
    page = (await file.read()).decode()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert THANKS not in page and page.index("Krupskaya") < page.index("Gorki")
