"""The seed episode curated and exported as the HTML dossier through the commands members use: a host
marks the research key and the chat excluded, `/research export format:html` gives one self-contained
`<code>-research.html` with key research first and the chat left out, a hostile member's post stays
text, and `/research credits` gives the names and sources to paste under the video."""

from __future__ import annotations

import json
import re

from tests.domain.test_dossier_html import Page
from tests.e2e.test_dossier_seed import NITPICK, RECORDED, RESEARCH, post_the_seed
from tests.e2e.test_research import CODE, export

HOSTILE = (
    "<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)> https://ok.example/a"
)


async def mark(world, number: int, as_: str) -> str:
    r = await world.host.slash(
        world.general, "research mark", episode=CODE, contribution=number, **{"as": as_}
    )
    return r.response.content or ""


async def test_the_curated_seed_episode_as_html(world):
    number = await post_the_seed(world)
    thread = world.thread_of(CODE)
    await world.bob.send(thread, "ok thanks!")
    await world.alice.send(thread, HOSTILE)
    _, text = await export(world, world.bob, "json")
    number = {c["text"]: c["id"] for c in json.loads(text)["contributions"]}
    await mark(world, number[RESEARCH], "key")
    await mark(world, number["ok thanks!"], "excluded")

    r = await world.bob.slash(world.general, "research export", episode=CODE, format="html")
    (file,) = r.response.attachments
    assert file.filename == f"{CODE}-research.html"
    data = await file.read()
    assert len(data) <= world.bot.get_guild(world.guild.id).filesize_limit
    html = data.decode("utf-8")
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert {a["href"] for a in page.links if not a["href"].startswith(("#", "https://discord.com/"))} == {
        "https://openlibrary.org/isbn/9780330491396",
        "https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin",
        "https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/",
        "http://en.wikipedia.org/wiki/Nadezhda_Krupskaya#Later_life",
        "https://ok.example/a",
    }
    words = re.sub(r"\s+", " ", "".join(page.text))
    assert HOSTILE in words
    research, nitpick, recorded = number[RESEARCH], number[NITPICK], number[RECORDED]
    assert (
        words.index("Key research")
        < words.index(f"#{research} · Lenin seemed")
        < words.index("Other contributions")
    )
    assert f"Corrected by #{nitpick} (spartacus)" in words and f"Answered by #{recorded} (indy)" in words
    assert "ok thanks" not in words and f"1 left out (#{number['ok thanks!']}, marked excluded)" in words
    assert "veles — 3 contributions" in words and "spartacus — 1 contribution" in words  # the chat earns none
    assert "<@" not in words and str(world.alice.id) not in html

    r = await world.host.slash(world.general, "research credits", episode=CODE)
    shown = r.response.content or ""
    assert "Research: veles, spartacus, indy" in shown
    assert "Service, Robert. Lenin: A Biography. London: Macmillan, 2000 — ISBN 978-0330491396" in shown
