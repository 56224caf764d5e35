"""Start-up and restart: the command tree is synced only when it changed; data survives restarts."""

from __future__ import annotations


def command_syncs(env):
    return [r for r in env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]


async def test_restart_with_unchanged_commands_does_not_sync(world, restart):
    assert world.bot.synced_commands
    before = len(command_syncs(world.env))
    await restart()
    assert world.env.bot.synced_commands is False
    assert len(command_syncs(world.env)) == before
    r = await world.alice.slash(world.general, "help")
    assert r.response.embeds


async def test_changed_commands_are_synced_again(world, restart, bots):
    from cogs.config import store as settings_store

    await settings_store.set_meta(world.bot.services.db, "command_tree_hash", "stale")
    before = len(command_syncs(world.env))
    await restart()
    assert world.env.bot.synced_commands is True
    assert len(command_syncs(world.env)) == before + 1


async def test_the_start_up_heap_is_frozen_for_the_garbage_collector(world, restart, monkeypatch):
    import gc

    assert gc.get_freeze_count() == 0  # the tests run with GC_FREEZE=0
    monkeypatch.setenv("GC_FREEZE", "1")
    try:
        await restart()
        assert gc.get_freeze_count() > 0
        r = await world.alice.slash(world.general, "help")
        assert r.response.embeds
    finally:
        gc.unfreeze()


async def test_start_up_builds_the_time_zone_table_a_when_needs(world, restart):
    from bot.core import timezones

    timezones.abbreviations.cache_clear()
    await restart()
    assert timezones.abbreviations.cache_info().currsize == 1  # built by the start, not by a member
    r = await world.host.slash(world.general, "remind me", when="in 10 days", text="Read Service on 1924")
    assert (r.response.content or "").startswith("⏰ Reminder #1: I'll remind you <t:")
    assert timezones.abbreviations.cache_info().misses == 1  # the member's `when` found it ready
