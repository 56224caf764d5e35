"""`/research credits` of an episode with more contributors than any message can show: the text to paste is
the dossier's credits, word for word, and the list under it counts everyone it leaves out."""

from __future__ import annotations

import re

from bot.clock import now_ts
from cogs.episodes import store as episode_store
from cogs.research import export, store
from cogs.research.store import NewContribution

CODE = "1924-01"
PEOPLE = 900  # more than the credits read at once (700): the rest are counted, not read


async def test_credits_of_hundreds_of_contributors_match_the_dossier_and_count_everyone(world):
    await world.episode(CODE)
    db = world.bot.services.db
    episode = await episode_store.get_by_code(db, world.guild.id, CODE)
    at = now_ts() - 2 * PEOPLE
    sources = [
        "https://en.wikipedia.org/wiki/Vladimir_Lenin",
        "Service, *Lenin: A Biography*, ISBN 978-0-330-49139-6",
    ]
    await store.add_many(
        db,
        [
            NewContribution(
                guild_id=world.guild.id, episode_id=episode.id, author_id=10**17 + i % PEOPLE, origin="form",
                title="Lenin's death", body=f"Lenin died at Gorki in January 1924. {sources[i % 2] if i % 3 else ''}",
                created_at=at + i, author_name=f"Researcher {i % PEOPLE}",
            )
            for i in range(PEOPLE + 300)
        ],
    )  # fmt: skip
    await store.add(
        db,
        NewContribution(guild_id=world.guild.id, episode_id=episode.id, author_id=world.alice.id, origin="form",
                        title="Krupskaya", body="Krupskaya, not Krupska.", created_at=at - 1, author_name="veles"),
    )  # fmt: skip

    r = await world.host.slash(world.general, "research credits", episode=CODE)

    (file,) = r.response.attachments
    pasted = (await file.read()).decode()
    dossier = await world.bot.services.research.dossier(world.bot.get_guild(world.guild.id), episode)
    assert pasted == export.credits_text(dossier)
    assert pasted.startswith("Research: Researcher 0, Researcher 1, ") and "Sources:\n- " in pasted
    listed = r.response.embeds[0].description
    shown = re.findall(r"<@(\d+)> \((\d+)\)", listed)
    left = re.search(r"… and (\d+) more$", listed)
    assert left and len(shown) + int(left.group(1)) == PEOPLE + 1, listed[-80:]
    assert shown[0] == (str(10**17), "2")  # most contributions first, then who contributed first
