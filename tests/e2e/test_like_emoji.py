"""Likes are reactions with the server's like emoji (`/config research likes`): until set, 👍 ❤️ ⭐ 🔥 and
the research forum's default reaction; once set, exactly those. Every reaction is kept, so changing the
set recounts the reactions already there — in `/research list` and the exports alike."""

from __future__ import annotations

import json

CODE = "1924-01"
DEATH = "Lenin died on 21 January 1924; Krupskaya outlived him by fifteen years."
RENAME = "Five days later Petrograd became Leningrad."


async def likes(world) -> dict[str, int]:
    """{text: likes} from the JSON dossier."""
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="json")
    data = json.loads(await r.response.attachments[0].read())
    return {c["text"]: c["likes"] for c in data["contributions"]}


async def liked_by(world) -> dict[str, list[str]]:
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="json")
    data = json.loads(await r.response.attachments[0].read())
    return {c["text"]: sorted(c["liked_by"]) for c in data["contributions"]}


async def listed(world) -> str:
    r = await world.alice.slash(world.general, "research list", episode=CODE)
    return r.response.embeds[0].description


async def set_likes(world, text: str | None = None, member=None):
    options = {} if text is None else {"likes": text}
    r = await (member or world.admin).slash(world.general, "config research", **options)
    assert r.response.ephemeral
    return r.response


async def test_only_like_emoji_count_and_a_member_counts_once(world):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    rename = await world.alice.send(thread, RENAME)
    await world.bob.react(death, "❌")
    await world.host.react(death, "🤔")
    await world.bob.react(rename, "👍")
    await world.host.react(rename, "👍")
    await world.host.react(rename, "❤️")  # a second like emoji from the same member: still one like
    await world.admin.react(rename, "❌")

    assert await likes(world) == {DEATH: 0, RENAME: 2}
    assert (await liked_by(world))[RENAME] == sorted([str(world.bob.id), str(world.host.id)])
    text = await listed(world)
    assert "no likes" in text and "2 likes" in text
    md = (
        await (await world.bob.slash(world.general, "research export", episode=CODE))
        .response.attachments[0]
        .read()
    ).decode()
    assert "· 2 likes" in md and "· no likes" in md


async def test_a_new_set_recounts_the_reactions_already_there_without_asking_discord(world):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    rename = await world.alice.send(thread, RENAME)
    await world.bob.react(death, "👍")
    await world.host.react(death, "📜")
    await world.bob.react(rename, "📜")
    await world.host.react(rename, "🔥")
    assert await likes(world) == {DEATH: 1, RENAME: 1}

    before = len(world.env.http_requests)
    answer = await set_likes(world, "🔥 📜")
    assert [r.path for r in world.env.http_requests[before:] if "/interactions/" not in r.path] == []
    assert answer.content.startswith("Likes are now reactions with 🔥 📜 (set with `/config research`).")
    assert await likes(world) == {DEATH: 1, RENAME: 2}  # 👍 no longer counts, 📜 does, retroactively

    # Reactions made afterwards follow the new set too.
    await world.admin.react(death, "👍")
    await world.admin.react(death, "🔥")
    assert await likes(world) == {DEATH: 2, RENAME: 2}
    await world.admin.unreact(death, "🔥")
    assert await likes(world) == {DEATH: 1, RENAME: 2}

    answer = await set_likes(world, "reset")
    assert "👍 ❤️ ⭐ 🔥 (the default)" in answer.content
    assert await likes(world) == {DEATH: 2, RENAME: 1}  # bob's 👍 and the admin's 👍; the host's 🔥
    answer = await set_likes(world, "📜")
    assert await likes(world) == {DEATH: 1, RENAME: 1}
    await set_likes(world, "Default")
    assert await likes(world) == {DEATH: 2, RENAME: 1}


async def test_reactions_made_while_the_bot_was_away_are_kept_whatever_their_emoji(world, restart):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)

    async def offline():
        await world.bob.react(death, "📜")
        await world.host.react(death, "❌")

    await restart(offline)
    await world.env.advance_time(10)
    assert await likes(world) == {DEATH: 0}
    await set_likes(world, "📜 ❌")  # a strange choice, but the admin's to make
    assert await likes(world) == {DEATH: 2}


async def test_the_forums_default_reaction_counts_until_a_set_is_chosen(world):
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    await world.bob.react(death, "📜")
    assert await likes(world) == {DEATH: 0}

    world.env.backend.edit_channel(
        world.forum.id, {"default_reaction_emoji": {"emoji_id": None, "emoji_name": "📜"}}
    )
    await world.env.settle()
    assert await likes(world) == {DEATH: 1}
    shown = await set_likes(world)
    assert shown.content == (
        "Likes are reactions with 👍 ❤️ ⭐ 🔥 📜 (the default, plus the research forum's default reaction 📜)."
    )
    await set_likes(world, "👍")
    assert await likes(world) == {DEATH: 0}  # once set, exactly the emoji given


async def test_custom_emoji_count_by_their_id(world):
    archive = world.guild.create_emoji("archive")
    thread = await world.episode(CODE)
    death = await world.alice.send(thread, DEATH)
    await world.bob.react(death, f"archive:{archive.id}")
    await world.host.react(death, "👍")
    answer = await set_likes(world, f"<:archive:{archive.id}>")
    assert f"<:archive:{archive.id}>" in answer.content
    assert await likes(world) == {DEATH: 1}
    assert (await liked_by(world))[DEATH] == [str(world.bob.id)]
    # The emoji renamed since: the same emoji, the same like.
    await set_likes(world, f"<:old_archive:{archive.id}> 🔥")
    assert await likes(world) == {DEATH: 1}


async def test_config_show_lists_the_like_emoji(world):
    r = await world.admin.slash(world.general, "config show")
    field = next(f.value for f in r.response.embeds[0].fields if f.name == "Like emoji")
    assert field == "👍 ❤️ ⭐ 🔥 (the default) · `/config research`"
    await set_likes(world, "🔥, 📜")
    r = await world.admin.slash(world.general, "config show")
    field = next(f.value for f in r.response.embeds[0].fields if f.name == "Like emoji")
    assert field == "🔥 📜 (set with `/config research`) · `/config research`"


async def test_what_is_not_emoji_is_refused_and_nothing_changes(world):
    await set_likes(world, "🔥")
    for text, says in [
        ("like", "`like` is not an emoji"),
        (":fire:", "`:fire:` is not an emoji"),
        ("🔥 yes", "`yes` is not an emoji"),
        ("<:broken:12>", "`<:broken:12>` is not an emoji"),
        ("``🔥", "`''🔥` is not an emoji"),  # backticks can't break out of the quote
        (" ".join(chr(0x1F600 + i) for i in range(21)), "At most 20 like emoji, please (that was 21)."),
    ]:
        answer = await set_likes(world, text)
        assert says in answer.content, (text, answer.content)
    r = await world.admin.slash(world.general, "config show")
    field = next(f.value for f in r.response.embeds[0].fields if f.name == "Like emoji")
    assert field.startswith("🔥 (set with")


async def test_only_admins_choose_the_like_emoji(world):
    """Discord shows /config to Manage Server only; a server may grant it to anyone: the bot still checks."""
    config = next(c for c in await world.bot.tree.fetch_commands() if c.name == "config")
    world.guild.set_command_permissions(config, {world.host: True, world.bob: True})
    answer = await set_likes(world, "📜", member=world.host)
    assert answer.content == "Only members with the Manage Server permission can change Archivist's settings."
    answer = await set_likes(world, member=world.bob)
    assert "Only members with the Manage Server permission" in answer.content
    r = await world.admin.slash(world.general, "config show")
    field = next(f.value for f in r.response.embeds[0].fields if f.name == "Like emoji")
    assert field.startswith("👍 ❤️ ⭐ 🔥 (the default)")
