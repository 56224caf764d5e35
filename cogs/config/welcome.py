"""The welcome a server gets when Archivist joins it: the set-up steps, in the server's system channel
when the bot may post there, else by DM to the server's owner.

Each server is welcomed when the bot joins it. Joining again (after being removed) gets a "welcome back"
instead: the settings and the archive are still there, but Discord gave the bot a new role, so the
permissions are the thing to check (`/config check`).

Given `dms` (bot.core.dms), the owner's DM needs only their id: no look-up of the member, and no opening
of a DM channel already remembered.
"""

from __future__ import annotations

import logging

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.dms import DirectMessages
from cogs.config import store

log = logging.getLogger(__name__)

STEPS = (
    "1. `/config channels research_forum:#episode-research review:#author-review "
    "announcements:#announcements` — the forum where episode posts live (forum channels need a "
    "Community server), the channel where hosts review author requests, and where the weekly digest goes.\n"
    "2. `/config roles host:@Host` — members with this role are hosts (members with Manage Server count "
    "as hosts too).\n"
    "3. `/config timezone tz:Europe/Berlin` — the server's time zone for times typed without one (default UTC).\n"
    "4. Optionally `/config reminders offsets:3d,1d,0 digest_day:Monday digest_time:09:00`, and "
    "`/config research likes:👍 ❤️` to choose which reactions count as likes.\n"
    "5. `/config check` — checks my permissions in those channels, the Community setting and what I "
    "receive from Discord, and says how to fix anything missing."
)


def welcome_embed(guild: discord.Guild, *, again: bool, by_dm: bool) -> discord.Embed:
    name = discord.utils.escape_markdown(guild.name)
    if again:
        intro = (
            f"Welcome back to **{name}**! Your settings, episodes and research are all still here. Discord "
            "gave me a new role when I was invited again, so please run `/config check`: it says which "
            "permissions I'm missing and where. To change a setting, the steps are:"
        )
    else:
        intro = (
            f"Thanks for adding Archivist to **{name}**! I collect the research behind your episodes: each "
            "episode gets a post in a research forum with a status card, members volunteer to write, and "
            "every contribution is kept with its author. Someone with **Manage Server** sets me up:"
        )
    if by_dm:
        intro = "I couldn't post in the server's system channel, so here are my set-up steps. " + intro
    embed = discord.Embed(
        title="Welcome back to Archivist" if again else "Setting up Archivist",
        description=f"{intro}\n\n{STEPS}",
        colour=discord.Colour.blurple(),
    )
    embed.set_footer(text="/help lists every command · /config show shows the settings")
    return embed


class Welcome:
    """Posts the set-up steps when the bot joins a server (`on_guild_join`)."""

    def __init__(self, db: Database, dms: DirectMessages | None = None) -> None:
        self.db = db
        self.dms = dms

    async def welcome(self, guild: discord.Guild) -> str | None:
        """Post the steps; where they went ("system channel" or "owner's DMs"), None if nowhere."""
        again = await store.welcomed_at(self.db, guild.id) is not None or await store.has_settings(
            self.db, guild.id
        )
        where = await self._post(guild, again)
        if where is not None:
            await store.set_welcomed(self.db, guild.id, now().isoformat())
        else:
            log.warning("could not welcome server %s: no system channel to post in and no DM", guild.id)
        return where

    async def _post(self, guild: discord.Guild, again: bool) -> str | None:
        channel = guild.system_channel
        if channel is not None:
            perms = channel.permissions_for(guild.me)
            if perms.view_channel and perms.send_messages and perms.embed_links:
                try:
                    await channel.send(
                        embed=welcome_embed(guild, again=again, by_dm=False),
                        allowed_mentions=discord.AllowedMentions.none(),
                    )
                    return "system channel"
                except discord.HTTPException as exc:
                    log.info("welcome not posted in %s's system channel (%s)", guild.id, exc.status)
        embed = welcome_embed(guild, again=again, by_dm=True)
        owner = guild.owner
        try:
            if self.dms is not None and guild.owner_id:
                await self.dms.send(guild.owner_id, embed=embed)
                return "owner's DMs"
            if owner is None:
                owner = await guild.fetch_member(guild.owner_id) if guild.owner_id else None
            if owner is None:
                return None
            await owner.send(embed=embed)
            return "owner's DMs"
        except discord.HTTPException as exc:
            log.info("welcome not sent to the owner of %s (%s)", guild.id, exc.status)
            return None
