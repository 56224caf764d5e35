"""Research under Discord's limits: long form sources, long credits, long lists and many search
hits are shown within the limits with a visible "… and N more", and every list pages through all of
its items; the record keeps everything."""

from __future__ import annotations

import json
import re

from bot.clock import now_ts
from cogs.episodes import store as episode_store
from cogs.research import search_store, store
from cogs.research.store import NewContribution

CODE = "1924-01"


async def exported(world) -> dict:
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="json")
    return json.loads((await r.response.attachments[0].read()).decode("utf-8"))


async def seed(world, bodies: list[str], *, authors: list[int] | None = None, title: str | None = None):
    """Contributions straight into storage (hundreds through the simulator would be slow)."""
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, CODE)
    authors = authors or [world.alice.id] * len(bodies)
    at = now_ts() - len(bodies)
    await store.add_many(
        world.bot.services.db,
        [
            NewContribution(
                guild_id=world.guild.id,
                episode_id=episode.id,
                author_id=author,
                origin="form",
                title=title,
                body=body,
                created_at=at + i,
                jump_url=f"https://discord.com/channels/{world.guild.id}/{10**18}/{10**18 + i}",
            )
            for i, (body, author) in enumerate(zip(bodies, authors, strict=True))
        ],
    )


def field(embed, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name)


# -- the form ---------------------------------------------------------------------------------------


async def test_long_sources_are_posted_within_the_limits_and_kept_whole(world):
    thread = await world.episode(CODE)
    lines = [f"- Source number {i:03d}: Service, Lenin: A Biography, p. {i}" for i in range(80)]
    sources = "\n".join(lines)
    assert len(sources) > 4000 - 200
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    r = await world.alice.submit_modal(
        shown, {"title": "T" * 256, "body": "Lenin " * 666, "sources": sources[:4000]}
    )
    assert "posted in" in r.response.content, r.response.content
    post = thread.history()[-1]
    assert post.author.bot
    embed = post.embeds[0]
    assert len(embed) <= 6000
    shown_sources = field(embed, "Sources")
    assert len(shown_sources) <= 1024
    listed = [line for line in shown_sources.splitlines() if line.startswith("- Source")]
    more = re.fullmatch(r"… and (\d+) more in the export", shown_sources.splitlines()[-1])
    assert more, shown_sources[-80:]
    kept = [line for line in sources[:4000].splitlines()]
    assert listed == kept[: len(listed)]  # whole lines, in order
    assert len(listed) + int(more.group(1)) == len(kept)
    (row,) = (await exported(world))["contributions"]
    assert len(row["sources"]) == len(kept)  # the record keeps every source


async def test_one_very_long_source_line_is_cut_visibly(world):
    thread = await world.episode(CODE)
    shown = await world.alice.slash(world.general, "research submit", episode=CODE)
    await world.alice.submit_modal(shown, {"title": "One line", "body": "Text", "sources": "x" * 3000})
    post = thread.history()[-1]
    value = field(post.embeds[0], "Sources")
    assert len(value) <= 1024 and "…" in value
    (row,) = (await exported(world))["contributions"]
    assert row["sources"] == ["x" * 3000]


# -- credits ----------------------------------------------------------------------------------------


async def test_credits_cut_at_whole_mentions_and_say_how_many_are_left_out(world):
    await world.episode(CODE)
    authors = [10**17 + i for i in range(300)]
    await seed(world, [f"fact {i}" for i in range(300)], authors=authors)
    r = await world.host.slash(world.general, "research credits", episode=CODE)
    (file,) = r.response.attachments  # too long for a message: the text to paste comes as a file
    pasted = (await file.read()).decode()
    assert file.filename == f"{CODE}-credits.txt" and pasted.startswith("Research: ")
    assert len(pasted) <= 5000  # YouTube's description limit
    text = r.response.embeds[0].description
    assert len(text) <= 4096
    *mentions, marker = text.split(" … and ")
    tokens = " ".join(mentions).split(" ")
    shown = [t for t in tokens if t.startswith("<@")]
    assert all(re.fullmatch(r"<@\d+>", t) for t in shown)
    assert all(re.fullmatch(r"\(\d+\)", t) for t in tokens if not t.startswith("<@"))
    left = re.fullmatch(r"(\d+) more", marker)
    assert left, text[-60:]
    assert len(shown) + int(left.group(1)) == 300
    assert {int(t[2:-1]) for t in shown} <= set(authors)


# -- lists ------------------------------------------------------------------------------------------


async def pages(world, r) -> list[str]:
    """Every page of a pager answer, following Next to the end."""
    seen = [r.response.embeds[0].description]
    message = r.response
    while True:
        footer = message.embeds[0].footer.text or ""
        m = re.search(r"Page (\d+) of (\d+)", footer)
        if not m or m.group(1) == m.group(2):
            return seen
        r = await world.bob.click(message, label="Next")
        message = r.response
        seen.append(message.embeds[0].description)


def numbers(texts: list[str]) -> list[int]:
    return [int(n) for text in texts for n in re.findall(r"^\*\*#(\d+)\*\*", text, re.MULTILINE)]


async def test_list_shows_every_contribution_even_with_heavy_markdown(world):
    await world.episode(CODE)
    heavy = "*_`|~>" * 60  # every character escaped: doubles in length
    await seed(world, [heavy] * 20, title="_*`" * 40)
    r = await world.bob.slash(world.general, "research list", episode=CODE)
    texts = await pages(world, r)
    assert all(len(t) <= 4096 for t in texts)
    ids = [c["id"] for c in (await exported(world))["contributions"]]
    assert sorted(numbers(texts)) == sorted(ids)


async def test_search_pages_through_every_match(world):
    await world.episode(CODE)
    await seed(world, [f"Krupskaya note number {i}" for i in range(75)])
    r = await world.bob.slash(world.general, "research search", query="krupskaya")
    assert "(75)" in r.response.embeds[0].title
    texts = await pages(world, r)
    ids = [c["id"] for c in (await exported(world))["contributions"]]
    found = numbers(texts)
    assert len(found) == len(set(found)) == 75
    assert sorted(found) == sorted(ids)


async def test_a_search_that_stops_counting_names_no_last_page(world, monkeypatch):
    """Past its counting bound (10,000; 20 here) a search shows "20+" and pages without a last page."""
    monkeypatch.setattr(search_store, "COUNT_MAX", 20)
    await world.episode(CODE)
    await seed(world, [f"Krupskaya note number {i}" for i in range(75)])
    r = await world.bob.slash(world.general, "research search", query="krupskaya")
    embed = r.response.embeds[0]
    assert embed.title.endswith("(20+)") and embed.footer.text == "Page 1 of 4 or more"
    r = await world.bob.click(r.response, label="Next")
    assert r.response.embeds[0].footer.text == "Page 2 of 5 or more"
