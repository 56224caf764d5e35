"""Which reactions are likes in a server: the emoji set with `/config research likes`, or the default
set (👍 ❤️ ⭐ 🔥) plus the research forum's default reaction, read from Discord's cache (no request)."""

from __future__ import annotations

import discord

from cogs.config.store import GuildSettings
from cogs.research.rules import LikeEmoji, like_emoji


def server_like_emoji(guild: discord.Guild | None, cfg: GuildSettings) -> LikeEmoji:
    forum = guild.get_channel(cfg.research_forum_id) if guild and cfg.research_forum_id else None
    reaction = forum.default_reaction_emoji if isinstance(forum, discord.ForumChannel) else None
    return like_emoji(cfg.like_emoji, str(reaction) if reaction else None)
