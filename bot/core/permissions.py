"""Who counts as a server admin: the one check for Manage Server, used by /config, /help and hosts."""

from __future__ import annotations

import discord


def is_admin(member: discord.abc.User) -> bool:
    """A server member with the Manage Server permission (a user outside a server never is)."""
    return isinstance(member, discord.Member) and member.guild_permissions.manage_guild
