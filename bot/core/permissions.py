"""Who counts as a server admin: the one check for Manage Server, used by /config, /import, /help and hosts."""

from __future__ import annotations

import discord

from bot.errors import NotAllowed


def is_admin(member: discord.abc.User) -> bool:
    """A server member with the Manage Server permission (a user outside a server never is)."""
    return isinstance(member, discord.Member) and member.guild_permissions.manage_guild


def require_admin(user: discord.abc.User, doing: str) -> None:
    """Refuse anyone without Manage Server: "Only members with the Manage Server permission can {doing}."""
    if not is_admin(user):
        raise NotAllowed(f"Only members with the Manage Server permission can {doing}.")
