"""`/help` shows each member what they can use."""

from __future__ import annotations


def text(embed):
    return "\n".join(f.value for f in embed.fields)


async def test_member_sees_member_commands_only(world):
    r = await world.alice.slash(world.general, "help")
    assert r.response.ephemeral
    body = text(r.response.embeds[0])
    assert "/episode info" in body and "/episode list" in body
    assert "/episode create" not in body and "/config" not in body


async def test_host_and_admin_see_theirs(world):
    body = text((await world.host.slash(world.general, "help")).response.embeds[0])
    assert "/episode create" in body and "/config" not in body
    body = text((await world.admin.slash(world.general, "help")).response.embeds[0])
    assert "/episode create" in body and "/config channels" in body
