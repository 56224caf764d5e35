"""Episodes end to end: members and hosts acting through the simulator."""

from __future__ import annotations

import asyncio

import discord


def card(message) -> discord.Embed:
    return message.embeds[0]


def field(embed: discord.Embed, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name)


async def starter(world, code):
    thread = world.thread_of(code)
    return thread.history()[0]


async def test_host_creates_episode_with_post_card_and_tags(world):
    r = await world.host.slash(
        world.general,
        "episode create",
        code="1924-01",
        title="Lenin's Death",
        description="The *succession* fight",
    )
    assert r.response.ephemeral
    assert "1924-01" in r.response.content
    thread = world.thread_of("1924-01")
    assert thread.name == "1924-01 Lenin's Death"
    first = await starter(world, "1924-01")
    assert "research" in first.content.lower()
    embed = card(first)
    assert field(embed, "Status") == "In Research"
    assert "Needs an author" in field(embed, "Authors")
    assert embed.description == "The *succession* fight"
    tags = {t.name for t in world.bot.get_channel(thread.id).applied_tags}
    assert tags == {"In Research", "Needs Author"}
    forum_tags = {t.name for t in world.bot.get_channel(world.forum.id).available_tags}
    assert {"In Research", "Writing", "Recorded", "Published", "Shelved", "Needs Author"} <= forum_tags


async def test_info_shows_card_and_link(world):
    thread = await world.episode("1924-01", "Lenin's Death")
    r = await world.alice.slash(world.general, "episode info", episode="1924-01")
    assert r.response.ephemeral
    assert str(thread.id) in r.response.content
    assert field(r.response.embeds[0], "Status") == "In Research"


async def test_codes_are_case_insensitive_and_unique(world):
    await world.episode("1924-01", "Lenin's Death")
    r = await world.host.slash(world.general, "episode create", code="1924-01".upper(), title="Again")
    assert r.response.ephemeral and "already exists" in r.response.content
    r = await world.alice.slash(world.general, "episode info", episode="1924-01".lower())
    assert r.response.embeds
    assert len(world.forum.threads) == 1


async def test_non_host_cannot_create(world):
    r = await world.alice.slash(world.general, "episode create", code="1924-02", title="Treaty of Rapallo")
    assert r.response.ephemeral
    assert "Only hosts" in r.response.content
    assert world.forum.threads == []


async def test_bad_code_and_long_title_are_refused(world):
    r = await world.host.slash(world.general, "episode create", code="19 24", title="Spaces")
    assert "not a valid episode code" in r.response.content
    r = await world.host.slash(world.general, "episode create", code="x" * 21, title="Too long code")
    assert "not a valid episode code" in r.response.content
    r = await world.host.slash(world.general, "episode create", code="1924-03", title="T" * 91)
    assert "limit is 90" in r.response.content
    r = await world.host.slash(
        world.general, "episode create", code="1924-03", title="Ok", description="d" * 2001
    )
    assert "limit is 2000" in r.response.content
    assert world.forum.threads == []


async def test_text_is_kept_exactly_and_thread_name_is_cut(world):
    title = 'Lenin\'s "Testament" — *Krupskaya* & the Politburo ' + "é" * 30
    r = await world.host.slash(world.general, "episode create", code="1924.T_1", title=title[:90])
    assert r.response.ephemeral
    thread = world.thread_of("1924.T_1")
    assert len(thread.name) <= 100
    r = await world.alice.slash(world.general, "episode info", episode="1924.t_1")
    assert r.response.embeds[0].title.endswith(title[:90])


async def test_unknown_episode_is_a_clear_error(world):
    r = await world.alice.slash(world.general, "episode info", episode="1999-99")
    assert r.response.ephemeral and "no episode `1999-99`" in r.response.content


async def test_commands_before_configuration_say_what_to_run(simcord_env):
    guild = simcord_env.create_guild("Fresh")
    general = guild.create_text_channel("general")
    member = guild.add_member(simcord_env.create_user("newcomer"))
    r = await member.slash(general, "episode create", code="1924-01", title="Lenin")
    assert r.response.ephemeral and "/config roles" in r.response.content
    role = guild.create_role("Host")
    admin = guild.add_member(
        simcord_env.create_user("owner"),
        roles=[guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))],
    )
    await admin.slash(general, "config roles", host=role)
    host = guild.add_member(simcord_env.create_user("host"), roles=[role])
    r = await host.slash(general, "episode create", code="1924-01", title="Lenin")
    assert "/config channels" in r.response.content


async def test_status_moves_update_card_tags_and_thread_note(world):
    thread = await world.episode("1924-01", "Lenin's Death")
    r = await world.host.slash(
        world.general, "episode status", episode="1924-01", status="writing", note="Script time"
    )
    assert r.response.ephemeral and "Writing" in r.response.content
    embed = card(await starter(world, "1924-01"))
    assert field(embed, "Status") == "Writing"
    tags = {t.name for t in world.bot.get_channel(thread.id).applied_tags}
    assert tags == {"Writing", "Needs Author"}
    note = thread.last_message
    assert "In Research" in note.content and "Writing" in note.content and "Script time" in note.content
    assert world.host.mention in note.content
    history = await world.bot.services.db.fetchall(
        "SELECT from_value, to_value, note FROM episode_events WHERE kind = 'status'"
    )
    assert [tuple(r) for r in history] == [("in_research", "writing", "Script time")]


async def test_status_refusals(world):
    await world.episode("1924-01", "Lenin's Death")
    r = await world.alice.slash(world.general, "episode status", episode="1924-01", status="writing")
    assert r.response.ephemeral and "Only hosts and the authors" in r.response.content
    r = await world.host.slash(world.general, "episode status", episode="1924-01", status="in_research")
    assert "already In Research" in r.response.content


async def test_authors_may_move_their_own_episode(world):
    await world.episode("1924-01", "Lenin's Death")
    episode = await world.bot.services.episodes.resolve(world.guild.id, "1924-01")
    from cogs.episodes import authors_store

    await authors_store.add_author(world.bot.services.db, episode.id, world.alice.id, world.host.id)
    r = await world.alice.slash(world.general, "episode status", episode="1924-01", status="writing")
    assert "now **Writing**" in r.response.content


async def test_edit_renames_post_and_updates_card(world):
    thread = await world.episode("1924-01", "Lenin's Death")
    r = await world.host.slash(
        world.general, "episode edit", episode="1924-01", title="Lenin's Death and Stalin's Rise"
    )
    assert "Saved" in r.response.content
    assert world.bot.get_channel(thread.id).name == "1924-01 Lenin's Death and Stalin's Rise"
    assert card(await starter(world, "1924-01")).title.endswith("Stalin's Rise")
    r = await world.alice.slash(world.general, "episode edit", episode="1924-01", title="Hijack")
    assert "Only hosts" in r.response.content
    r = await world.host.slash(world.general, "episode edit", episode="1924-01")
    assert "title" in r.response.content


async def test_autocomplete_by_code_and_title(world):
    await world.episode("1924-01", "Lenin's Death")
    await world.episode("1924-02", "The Treaty of Rapallo")
    await world.episode("1939-01", "Outbreak of War")
    choices = await world.alice.autocomplete(world.general, "episode info", "episode", "1924")
    assert {c["value"] for c in choices} == {"1924-01", "1924-02"}
    choices = await world.alice.autocomplete(world.general, "episode info", "episode", "rapallo")
    assert [c["value"] for c in choices] == ["1924-02"]
    choices = await world.alice.autocomplete(world.general, "episode status", "episode", "%")
    assert choices == []
    await world.episode("1924-03", "The Death of Lenin's Rival")
    await world.host.slash(world.general, "episode edit", episode="1939-01", title="Rapallo revisited")
    choices = await world.alice.autocomplete(world.general, "episode info", "episode", "1924-0")
    assert "1924-03" in {c["value"] for c in choices}
    choices = await world.alice.autocomplete(world.general, "episode info", "episode", "rapallo")
    assert {c["value"] for c in choices} == {"1924-02", "1939-01"}


async def test_list_filters_and_pages(world):
    for n in range(1, 13):
        await world.episode(f"1924-{n:02}", f"Episode number {n}")
    await world.host.slash(world.general, "episode status", episode="1924-03", status="writing")
    r = await world.alice.slash(world.general, "episode list")
    assert r.response.ephemeral
    first = r.response.embeds[0]
    assert "Page 1 of 2" in first.footer.text
    after = await world.alice.click(r.response.message, label="Next")
    assert "1924-12" in after.response.embeds[0].description
    r = await world.alice.slash(world.general, "episode list", status="writing")
    assert "1924-03" in r.response.embeds[0].description and "1924-04" not in r.response.embeds[0].description
    r = await world.alice.slash(world.general, "episode list", needs_author=False)
    assert "No episodes match" in r.response.embeds[0].description


async def test_two_servers_never_see_each_other(world):
    from tests.conftest import build_world

    other = await build_world(world.env, name="Other Hub")
    await world.episode("1924-01", "Lenin's Death")
    r = await other.alice.slash(other.general, "episode info", episode="1924-01")
    assert "no episode" in r.response.content
    assert await other.alice.autocomplete(other.general, "episode info", "episode", "1924") == []
    await other.episode("1924-01", "A different show")
    r = await world.alice.slash(world.general, "episode info", episode="1924-01")
    assert "Lenin" in r.response.embeds[0].title


async def test_create_survives_restart_with_same_database(world, restart):
    await world.episode("1924-01", "Lenin's Death")
    await restart()
    r = await world.alice.slash(world.general, "episode info", episode="1924-01")
    assert field(r.response.embeds[0], "Status") == "In Research"
    r = await world.host.slash(world.general, "episode status", episode="1924-01", status="writing")
    assert "Writing" in r.response.content
    assert field(card(await starter(world, "1924-01")), "Status") == "Writing"


async def test_forum_refusal_leaves_nothing_and_retry_works(world):
    world.env.inject_error(
        "POST", "/channels/*/threads", status=403, code=50013, message="Missing Permissions"
    )
    r = await world.host.slash(world.general, "episode create", code="1924-01", title="Lenin's Death")
    assert "Create Posts" in r.response.content
    assert world.forum.threads == []
    assert await world.bot.services.db.fetchval("SELECT COUNT(*) FROM episodes") == 0
    await world.episode("1924-01", "Lenin's Death")
    assert len(world.forum.threads) == 1


async def test_the_member_is_answered_before_the_post_is_updated(world):
    await world.episode("1924-01", "Lenin's Death")
    thread = world.thread_of("1924-01")
    start = len(world.env.http_requests)
    await world.host.slash(world.general, "episode status", episode="1924-01", status="writing")
    calls = [(r.method, r.path) for r in world.env.http_requests[start:]]
    answer = next(i for i, (method, path) in enumerate(calls) if path.startswith("/interactions/"))
    card_edit = next(
        i for i, (method, path) in enumerate(calls) if method == "PATCH" and "/messages/" in path
    )
    note = next(i for i, c in enumerate(calls) if c == ("POST", f"/channels/{thread.id}/messages"))
    assert answer < card_edit < note  # one call answers; the card and the note follow
    assert sum(path.startswith(("/interactions/", "/webhooks/")) for _, path in calls) == 1  # no "thinking…"
    assert field(card(await starter(world, "1924-01")), "Status") == "Writing"


async def test_card_update_failure_is_retried_later(world):
    await world.episode("1924-01", "Lenin's Death")
    world.env.inject_error("PATCH", "/channels/*/messages/*", status=500, times=1)
    r = await world.host.slash(world.general, "episode status", episode="1924-01", status="writing")
    assert "now **Writing**" in r.response.content  # the member is answered first
    assert "shortly" in r.followups[-1].content and r.followups[-1].ephemeral
    assert field(card(await starter(world, "1924-01")), "Status") == "In Research"
    await world.env.advance_time(60)
    assert field(card(await starter(world, "1924-01")), "Status") == "Writing"
    assert {t.name for t in world.bot.get_channel(world.thread_of("1924-01").id).applied_tags} == {
        "Writing",
        "Needs Author",
    }


async def test_card_retry_survives_restart(world, restart):
    await world.episode("1924-01", "Lenin's Death")
    world.env.inject_error("PATCH", "/channels/*/messages/*", status=503, times=1)
    await world.host.slash(world.general, "episode status", episode="1924-01", status="writing")
    await restart()
    await world.env.advance_time(60)
    assert field(card(await starter(world, "1924-01")), "Status") == "Writing"


async def test_rate_limited_card_update_does_not_fail_the_command(world):
    await world.episode("1924-01", "Lenin's Death")
    world.env.inject_error("PATCH", "/channels/*/messages/*", status=429, times=1)
    r = await world.host.slash(world.general, "episode edit", episode="1924-01", description="New angle")
    assert "Saved" in r.response.content
    await world.env.advance_time(60)
    assert card(await starter(world, "1924-01")).description == "New angle"


async def test_server_admins_count_as_hosts(world):
    r = await world.admin.slash(
        world.general, "episode create", code="1924-05", title="Admins can run episodes too"
    )
    assert "Created" in r.response.content


async def test_list_filters_by_author(world):
    from cogs.episodes import authors_store

    await world.episode("1924-01", "Lenin's Death")
    await world.episode("1924-02", "Rapallo")
    episode = await world.bot.services.episodes.resolve(world.guild.id, "1924-02")
    await authors_store.add_author(world.bot.services.db, episode.id, world.bob.id, world.host.id)
    r = await world.alice.slash(world.general, "episode list", author=world.bob)
    body = r.response.embeds[0].description
    assert "1924-02" in body and "1924-01" not in body
    r = await world.alice.slash(world.general, "episode list", needs_author=True)
    body = r.response.embeds[0].description
    assert "1924-01" in body and "1924-02" not in body


async def test_unexpected_error_gets_an_apology_and_is_logged(world, monkeypatch, caplog):
    from cogs.episodes import lists_store

    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lists_store, "list_page", broken)
    r = await world.alice.slash(world.general, "episode list")
    assert r.response.ephemeral and "Sorry, something went wrong" in r.response.content
    assert any("disk on fire" in str(e) for e in world.env.errors)
    assert any("unexpected error in /episode list" in rec.getMessage() for rec in caplog.records)
    monkeypatch.undo()
    r = await world.alice.slash(world.general, "episode list")
    assert r.response.embeds


async def test_without_a_host_role_only_authors_and_admins_can_move_an_episode(world):
    from cogs.config import store as settings_store
    from cogs.episodes import authors_store, store

    await world.episode("1924-01", "Lenin's Death")
    found = await store.get_by_code(world.bot.services.db, world.guild.id, "1924-01")
    await authors_store.add_author(world.bot.services.db, found.id, world.bob.id, world.admin.id)
    await settings_store.update(world.bot.services.db, world.guild.id, host_role_id=None)

    r = await world.alice.slash(world.general, "episode status", episode="1924-01", status="writing")
    assert r.response.ephemeral and "No host role is set yet" in r.response.content
    r = await world.bob.slash(world.general, "episode status", episode="1924-01", status="writing")
    assert "now **Writing**" in r.response.content  # an author needs no host role
    r = await world.admin.slash(world.general, "episode status", episode="1924-01", status="recorded")
    assert "now **Recorded**" in r.response.content  # admins count as hosts
    assert field(card(await starter(world, "1924-01")), "Status") == "Recorded"


def view_timeouts() -> list:
    """discord.py's 15-minute timeout tasks of stored views (one per ephemeral message with a live view)."""
    return [t for t in asyncio.all_tasks() if "timeout_task_impl" in t.get_coro().__qualname__]


async def test_a_long_list_shown_leaves_no_view_waiting_behind(world):
    for n in range(1, 13):
        await world.episode(f"1924-{n:02}", f"Episode number {n}")
    r = await world.alice.slash(world.general, "episode list")
    assert "Page 1 of 2" in r.response.embeds[0].footer.text
    after = await world.alice.click(r.response.message, label="Next")
    assert "1924-12" in after.response.embeds[0].description  # the buttons still turn pages
    assert view_timeouts() == []
