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


def lines(embed) -> dict[str, str]:
    """Each command's line, by command (`/episode status` → its line)."""
    found = {}
    for f in embed.fields:
        for line in f.value.splitlines():
            if line.startswith("`/"):
                found[line[1 : line.index("`", 1)]] = line
    return found


async def test_who_may_use_a_command_is_said_once(world):
    shown = lines((await world.admin.slash(world.general, "help")).response.embeds[0])
    assert shown["/episode status"].endswith("*(hosts and authors)*")
    assert shown["/episode deadline"].endswith("*(hosts and authors)*")
    assert shown["/research remove"].endswith("*(contributor or hosts)*")
    assert shown["/episode create"].endswith("*(hosts)*")
    for line in shown.values():
        who = line.count("hosts") + line.count("authors") + line.count("admins")
        assert who <= 2, (
            line
        )  # "hosts and authors" at most, never "(hosts, its authors) *(hosts and authors)*"
        assert line.count("(") <= 1, line
    assert "its authors" not in "\n".join(shown.values())
    assert "/config check" in shown
