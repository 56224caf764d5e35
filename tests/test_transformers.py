"""`EpisodeArg`: every `episode` option is looked up and suggested in one place, the same everywhere.

End to end through simcord: members type codes and read suggestions and refusals.
"""

from __future__ import annotations

import pytest

REFUSAL = "There is no episode `{code}` in this server. Pick one from the suggestions or see `/episode list`."

# (command, the other options it needs), for a sample of the commands with an `episode` option.
COMMANDS = [
    ("episode info", {}),
    ("episode status", {"status": "writing"}),
    ("episode claim", {}),
    ("episode volunteer", {}),
    ("episode deadline", {"milestone": "script", "when": "in 3 days"}),
    ("research list", {}),
    ("research export", {}),
    ("research credits", {}),
    ("research search", {"query": "lenin"}),
    ("episode requests", {}),
]


@pytest.mark.parametrize(("command", "options"), COMMANDS)
async def test_an_unknown_code_is_refused_with_the_same_words_everywhere(world, command, options):
    await world.episode("1924-01", "Lenin's Death")
    r = await world.host.slash(world.general, command, episode="1999-99", **options)
    assert r.response.ephemeral
    assert r.response.content == REFUSAL.format(code="1999-99")


async def test_the_refusal_shows_the_code_trimmed_and_cut(world):
    r = await world.alice.slash(world.general, "research submit", episode="  " + "x" * 60)
    assert r.response.content == REFUSAL.format(code="x" * 40)


async def test_codes_are_found_whatever_their_case(world):
    await world.episode("1924-AB", "Lenin's Death")
    r = await world.alice.slash(world.general, "research list", episode="1924-ab")
    assert "Research for 1924-AB" in r.response.embeds[0].title


async def test_an_optional_episode_may_be_left_out(world):
    await world.episode("1924-01", "Lenin's Death")
    r = await world.host.slash(world.general, "episode requests")
    assert "Pending author requests (0)" in r.response.embeds[0].title
    r = await world.host.slash(world.general, "episode requests", episode="1924-01")
    assert "Pending author requests (0) · 1924-01" in r.response.embeds[0].title


@pytest.mark.parametrize(
    "command", ["episode info", "episode claim", "episode deadline", "research submit", "research search"]
)
async def test_every_episode_option_suggests_by_code_and_title(world, command):
    await world.episode("1924-01", "Lenin's Death")
    await world.episode("1924-02", "The Treaty of Rapallo")
    await world.episode("1939-01", "Outbreak of War")
    choices = await world.alice.autocomplete(world.general, command, "episode", "1924")
    assert {c["value"] for c in choices} == {"1924-01", "1924-02"}
    assert {c["name"] for c in choices} == {"1924-01 · Lenin's Death", "1924-02 · The Treaty of Rapallo"}
    choices = await world.alice.autocomplete(world.general, command, "episode", "rapallo")
    assert [c["value"] for c in choices] == ["1924-02"]


async def test_a_long_title_is_cut_in_the_suggestion(world):
    await world.episode("1924-01", "T" * 90)
    choices = await world.alice.autocomplete(world.general, "episode info", "episode", "1924")
    assert [len(c["name"]) for c in choices] == [100]
    assert choices[0]["value"] == "1924-01"


async def test_an_episode_of_another_server_is_not_found_nor_suggested(world):
    from tests.conftest import build_world

    other = await build_world(world.env, name="Other Hub")
    await world.episode("1924-01", "Lenin's Death")
    for command in ("episode info", "research list", "research credits"):
        r = await other.alice.slash(other.general, command, episode="1924-01")
        assert r.response.content == REFUSAL.format(code="1924-01")
    assert await other.alice.autocomplete(other.general, "research list", "episode", "1924") == []
    assert await other.alice.autocomplete(other.general, "research list", "episode", "lenin") == []
    r = await world.alice.slash(world.general, "research list", episode="1924-01")
    assert "Research for 1924-01" in r.response.embeds[0].title
