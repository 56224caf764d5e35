"""The seed thread posted by members in an episode thread, then exported as a script writer gets it:
plain names, the Krupskaya correction linked both ways, likes in words, one bibliography entry per
source whatever its written form, credits; and the JSON and CSV of the same research."""

from __future__ import annotations

import csv
import io
import json
import re

from tests.e2e.test_research import CODE, export

RESEARCH = (
    "Lenin seemed a little better at the end of 1923, but he died on 21 January 1924, aged 53. Moscow "
    "filed past his coffin for four days; then he was embalmed and Petrograd became Leningrad.\n"
    "Stalin, general secretary since 1922, used the illness to gather power. Krupska later sided with "
    "Zinoviev and Kamenev.\n\n"
    "Sources:\n"
    "- Service, Robert. Lenin: A Biography. London: Macmillan, 2000. ISBN 0-330-49139-3\n"
    "- https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin"
)
NITPICK = (
    "A minor nitpick: Krupskaya is the correct way to spell it, as her name is spelled in Russian "
    "(https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/)."
)
AGREE = "Yeah, you're right. I left it written the Polish way by accident."
RECORDED = (
    "The episode was recorded this week, and this research was essential to it. Robert Service's "
    '"Lenin: A Biography" shaped the subtext; see also http://en.wikipedia.org/wiki/Nadezhda_Krupskaya#Later_life'
)


async def post_the_seed(world):
    thread = await world.episode(CODE)
    research = await world.alice.send(thread, RESEARCH)
    nitpick = await world.bob.send(thread, NITPICK, reply_to=research)
    agree = await world.alice.send(thread, AGREE, reply_to=nitpick)
    await world.host.send(thread, RECORDED, reply_to=research)
    await world.bob.react(research, "👍")
    await world.host.react(research, "👍")
    await world.host.react(agree, "👍")
    _, text = await export(world, world.bob, "json")
    return {c["text"]: c["id"] for c in json.loads(text)["contributions"]}


async def test_the_markdown_dossier_reads_top_to_bottom(world):
    number = await post_the_seed(world)
    research, nitpick, agree, recorded = (number[t] for t in (RESEARCH, NITPICK, AGREE, RECORDED))
    name, md = await export(world, world.bob, "markdown")
    assert name == f"{CODE}-research.md"
    assert "<@" not in md and str(world.alice.id) not in md and "(s)" not in md
    assert "- **Research:** 4 contributions from 3 contributors" in md
    assert md.index("## Contents") < md.index(f"### #{research}") < md.index(f"### #{nitpick}")
    first = md[md.index(f"### #{research}") : md.index(f"### #{nitpick}")]
    assert re.search(
        r"\*\*veles\*\* · \S+ \S+ UTC · \[message\]\(<https://discord\.com/channels/[\d/]+>\) · 2 likes",
        first,
    )
    assert f"**Corrected by** [#{nitpick}](#c{nitpick}) (spartacus)" in first
    assert f"**Answered by** [#{recorded}](#c{recorded}) (indy)" in first
    second = md[md.index(f"### #{nitpick}") : md.index(f"### #{agree}")]
    assert f"In reply to [#{research}](#c{research}) (veles)" in second and "· no likes" in second
    assert f"**Answered by** [#{agree}](#c{agree}) (veles)" in second
    bibliography = md[md.index("## Bibliography") : md.index("## Credits")]
    assert re.findall(r"^\d+\. .*$", bibliography, re.MULTILINE) == [
        '1. <a id="s1"></a>Service, Robert. Lenin: A Biography. London: Macmillan, 2000 — '
        f"[ISBN 978-0330491396](<https://openlibrary.org/isbn/9780330491396>) · cited in [#{research}](#c{research}), "
        f"[#{recorded}](#c{recorded})",
        f'2. <a id="s2"></a><https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin> · cited in [#{research}](#c{research})',
        f'3. <a id="s3"></a><https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/> · cited in [#{nitpick}](#c{nitpick}), '
        f"[#{recorded}](#c{recorded})",
    ]
    assert md.rstrip().endswith(
        "- veles — 2 contributions\n- spartacus — 1 contribution\n- indy — 1 contribution"
    )


async def test_json_and_csv_of_the_same_research(world):
    number = await post_the_seed(world)
    _, text = await export(world, world.bob, "json")
    data = json.loads(text)
    by_id = {c["id"]: c for c in data["contributions"]}
    research = by_id[number[RESEARCH]]
    assert (research["author_id"], research["author_name"], research["mark"], research["origin"]) == (
        str(world.alice.id),
        "veles",
        "normal",
        "thread",
    )
    assert research["likes"] == 2 and research["link"].startswith("https://discord.com/channels/")
    assert by_id[number[NITPICK]]["reply_to"] == number[RESEARCH]
    assert [(b["kind"], b["cited_by"]) for b in data["bibliography"]] == [
        ("isbn", [number[RESEARCH], number[RECORDED]]),
        ("url", [number[RESEARCH]]),
        ("url", [number[NITPICK], number[RECORDED]]),
    ]
    assert data["credits"] == [
        {"id": str(world.alice.id), "name": "veles", "contributions": 2},
        {"id": str(world.bob.id), "name": "spartacus", "contributions": 1},
        {"id": str(world.host.id), "name": "indy", "contributions": 1},
    ]
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="csv")
    raw = await r.response.attachments[0].read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(int(row["id"]), row["mark"], row["origin"]) for row in rows] == [
        (c["id"], "normal", "thread") for c in data["contributions"]
    ]
