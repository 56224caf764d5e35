"""The seed thread, imported from the old forum and exported as the script writer gets it: Veles's
research, the Krupskaya correction answered by Veles, the likes, the links to the old posts and the
credits; then the forum name Ardent linked to its member, everywhere, retroactively."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_research import export
from tests.forum_import.server import SAMPLE, ForumServer

SEED = "1924-01"
TOPIC = "/t/1924-01-lenins-death-and-stalins-rise-to-power/4711"


@pytest.fixture
def forum():
    server = ForumServer().start()
    try:
        yield server
    finally:
        server.stop()


async def dossier(world) -> dict:
    _, text = await export(world, world.bob, "json", SEED)
    return json.loads(text)


def by_start(data: dict) -> dict[str, dict]:
    """Contributions by the first words of their text."""
    return {" ".join(c["text"].split()[:3]): c for c in data["contributions"]}


async def test_imports_the_sample_and_exports_the_seed_episode(world, forum):
    r = await world.admin.slash(world.general, "import discourse", url=forum.url, category="episode-research")
    assert "Episodes: 2 created" in r.response.embeds[0].description
    data = await dossier(world)
    episode = data["episode"]
    assert (episode["title"], episode["status"]) == (
        "Lenin’s Death and Stalin’s rise to Power",
        "In Research",
    )
    assert [a["id"] for a in episode["authors"]] == [
        str(world.host.id),
        str(world.bob.id),
    ]  # @Indy @Spartacus
    assert episode["url"].startswith("https://discord.com/channels/")  # its post in the research forum
    c = by_start(data)
    assert list(c) == [
        "Despite a slight",
        "One thing that",
        "Yeah, you’re right.",
        "@Veles the episode",
        "I’m happy that",
    ]
    assert {x["origin"] for x in data["contributions"]} == {"forum"}
    research, nitpick, agreed, thanks, happy = c.values()
    # Veles's research: his (the forum name equals the member's username), dated and linked as on the forum.
    assert (research["author_id"], research["author_name"]) == (str(world.alice.id), "veles")
    assert "Lenin died on January 21, 1924, at the age of 53" in research["text"]
    assert "Krupska approached Zinoviev" in research["text"]
    assert research["created_at"] == "2021-06-17T20:02:00Z"
    assert research["link"] == f"{forum.url}{TOPIC}/2"
    # The Krupskaya correction by Ardent (no member of that name yet), answered by Veles.
    assert (nitpick["author_id"], nitpick["author_name"]) == (None, "Ardent")
    assert "Krupskaya is probably the correct way to spell it" in nitpick["text"]
    assert nitpick["reply_to"] == research["id"] and agreed["reply_to"] == nitpick["id"]
    assert (thanks["reply_to"], happy["reply_to"]) == (research["id"], thanks["id"])
    # The forum's likes.
    assert [x["likes"] for x in (research, nitpick, agreed, thanks, happy)] == [0, 0, 1, 0, 1]
    assert data["credits"] == [
        {"id": str(world.alice.id), "name": "veles", "contributions": 3},
        {"id": None, "name": "Ardent", "contributions": 1},
        {"id": str(world.bob.id), "name": "spartacus", "contributions": 1},
    ]
    # The Markdown dossier reads the same: corrections linked both ways, likes, links to the old posts.
    _, md = await export(world, world.bob, "markdown", SEED)
    n = {k: v["id"] for k, v in zip(("research", "nitpick", "agreed"), c.values(), strict=False)}
    first = md[md.index(f"### #{n['research']} ") : md.index(f"### #{n['nitpick']} ")]
    assert f"[message](<{forum.url}{TOPIC}/2>) · no likes" in first
    assert f"**Corrected by** [#{n['nitpick']}](#c{n['nitpick']}) (Ardent)" in first
    second = md[md.index(f"### #{n['nitpick']} ") : md.index(f"### #{n['agreed']} ")]
    assert f"In reply to [#{n['research']}](#c{n['research']}) (veles)" in second
    assert f"**Answered by** [#{n['agreed']}](#c{n['agreed']}) (veles)" in second
    assert f"[message](<{forum.url}{TOPIC}/4>) · 1 like" in md
    assert md.rstrip().endswith(
        "- veles — 3 contributions\n- Ardent — 1 contribution\n- spartacus — 1 contribution"
    )
    r = await world.bob.slash(world.general, "research credits", episode=SEED)
    assert "Research: veles, Ardent, spartacus" in r.response.content


async def test_ardent_linked_afterwards_is_credited_everywhere(world, forum):
    await world.admin.slash(world.general, "import discourse", url=forum.url, category="episode-research")
    ardent = world.guild.add_member(world.env.create_user("ardent.pl"))
    r = await world.admin.slash(world.general, "import link", forum_name="ardent", member=ardent)
    assert r.response.content.startswith(f"Linked forum name **Ardent** to <@{ardent.id}>: 6 contributions")
    data = await dossier(world)
    nitpick = by_start(data)["One thing that"]
    assert (nitpick["author_id"], nitpick["author_name"]) == (str(ardent.id), "ardent.pl")
    assert {"id": str(ardent.id), "name": "ardent.pl", "contributions": 1} in data["credits"]
    r = await world.bob.slash(world.general, "research credits", episode=SEED)
    assert "Research: veles, ardent.pl, spartacus" in r.response.content
    card = world.thread_of(SEED).history()[0].embeds[0]
    assert f"<@{ardent.id}>" in str(card.to_dict())
    r = await world.alice.slash(world.general, "research search", query="Krupskaya")
    assert f"<@{ardent.id}>" in r.response.embeds[0].description


async def test_the_seed_topic_uploaded_as_a_file_exports_the_same(world):
    data = (SAMPLE / "t" / "4711.json").read_bytes()
    r = await world.admin.slash(world.general, "import file", file=("4711.json", data))
    assert "Contributions: 5 added" in r.response.embeds[0].description
    exported = await dossier(world)
    c = by_start(exported)
    research, nitpick, agreed = list(c.values())[:3]
    assert research["author_id"] == str(world.alice.id) and nitpick["reply_to"] == research["id"]
    assert agreed["reply_to"] == nitpick["id"] and agreed["likes"] == 1
    # The file names its forum (in its avatar addresses): the links lead to the old posts there.
    assert research["link"] == f"https://forum.example.org{TOPIC}/2"
