"""`/config` end to end: admins configure, everyone else is refused, bad input is explained."""

from __future__ import annotations

import pytest


def value(embed, name):
    return next(f.value for f in embed.fields if f.name == name)


async def test_show_lists_the_settings(world):
    r = await world.admin.slash(world.general, "config show")
    assert r.response.ephemeral
    embed = r.response.embeds[0]
    assert world.forum.mention in value(embed, "Research forum")
    assert world.review.mention in value(embed, "Review channel")
    assert world.host_role.mention in value(embed, "Host role")
    assert "`UTC`" in value(embed, "Time zone")
    assert "3d,1d,0" in value(embed, "Reminders") and "Monday at 09:00" in value(embed, "Reminders")


async def allow_config_for(world, member):
    """A server may grant /config to anyone in its integration settings: the bot still checks."""
    commands = await world.bot.tree.fetch_commands()
    config = next(c for c in commands if c.name == "config")
    world.guild.set_command_permissions(config, {member: True})


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("config show", {}),
        ("config timezone", {"tz": "Europe/Berlin"}),
        ("config reminders", {"offsets": "1d"}),
    ],
)
async def test_members_without_manage_server_are_refused(world, command, options):
    await allow_config_for(world, world.host)
    r = await world.host.slash(world.general, command, **options)
    assert r.response.ephemeral and "Manage Server" in r.response.content


async def test_channels_and_roles_refused_for_members(world):
    await allow_config_for(world, world.alice)
    r = await world.alice.slash(world.general, "config channels", review=world.general)
    assert "Manage Server" in r.response.content
    r = await world.alice.slash(world.general, "config roles", host=world.host_role)
    assert "Manage Server" in r.response.content
    r = await world.admin.slash(world.general, "config show")
    assert world.review.mention in value(r.response.embeds[0], "Review channel")


async def test_timezone_is_validated_and_autocompleted(world):
    r = await world.admin.slash(world.general, "config timezone", tz="Mars/Base")
    assert r.response.ephemeral and "not a time zone" in r.response.content
    r = await world.admin.slash(world.general, "config timezone", tz="europe/warsaw")
    assert "Europe/Warsaw" in r.response.content
    choices = await world.admin.autocomplete(world.general, "config timezone", "tz", "warsa")
    assert choices[0]["value"] == "Europe/Warsaw"


async def test_reminder_settings_are_validated(world):
    r = await world.admin.slash(
        world.general, "config reminders", offsets="7d, 2d, 12h", digest_day="friday", digest_time="17:30"
    )
    assert "saved" in r.response.content
    assert "7d,2d,12h" in value(r.response.embeds[0], "Reminders")
    assert "Friday at 17:30" in value(r.response.embeds[0], "Reminders")
    r = await world.admin.slash(world.general, "config reminders", offsets="soon")
    assert "not an offset" in r.response.content
    r = await world.admin.slash(world.general, "config reminders", digest_time="25:99")
    assert "not a time of day" in r.response.content


async def test_channels_needs_at_least_one_and_roles_not_everyone(world):
    r = await world.admin.slash(world.general, "config channels")
    assert "at least one" in r.response.content
    r = await world.admin.slash(world.general, "config roles", host=world.guild.default_role)
    assert "@everyone" in r.response.content
