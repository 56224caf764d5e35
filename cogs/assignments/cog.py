"""`/episode claim|unclaim|assign|unassign|volunteer|requests` and the Approve/Decline review.

The subcommands join the shared `/episode` group (made by `bot.wiring`); the review buttons are dynamic
items (what they do is in `cogs.assignments.views`) and the Decline form is read from its submission
(their custom ids carry the request id), so they keep working after a restart. Pending requests follow the review channel (settings changes,
deleted review messages, and once at start).
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.groups import remove_subcommands
from bot.core.interactions import publish_after_answer, reply, update_answer
from bot.core.pager import PageSources, QueryPager
from bot.core.text import ts
from bot.core.transformers import EpisodeArg
from cogs.assignments.service import PITCH_MAX, AssignmentService
from cogs.assignments.views import (
    TELLING,
    decline_submitted,
    episode_label,
    handle_decline_submission,
    member_of,
    request_line,
    told_text,
    withdraw_view,
)
from cogs.episodes import store as episode_store
from cogs.episodes.service import Change

log = logging.getLogger(__name__)


async def _answer(interaction: discord.Interaction, change: Change, done: str, nothing: str) -> None:
    """Answer the member, then bring the card, tags and thread up to date."""
    await reply(interaction, done if change.changed else nothing)
    if change.changed:
        await publish_after_answer(interaction, change.publish)


class Assignments(commands.Cog):
    """Who writes which episode."""

    def __init__(
        self,
        bot: commands.Bot,
        service: AssignmentService,
        episode_group: app_commands.Group,
        pages: PageSources,
    ) -> None:
        self.bot = bot
        self.service = service
        self.group = episode_group  # the shared `/episode` group, made by `bot.wiring`
        self._subcommands = self._build_commands()
        for command in self._subcommands:
            self.group.add_command(command)
        pages.register("requests", self._requests_pager)  # its pages turn after a restart too

    async def cog_unload(self) -> None:
        remove_subcommands(self.group, self._subcommands)

    # -- slash commands -------------------------------------------------------------------------------

    # Over 60 lines: six short /episode subcommands defined side by side so they can join the shared group.
    def _build_commands(self) -> list[app_commands.Command]:
        service = self.service

        @app_commands.command(name="claim", description="Add yourself as an author of an episode (hosts)")
        @app_commands.describe(episode="The episode's code")
        async def claim(interaction: discord.Interaction, episode: EpisodeArg) -> None:
            change = await service.claim(member_of(interaction), episode)
            label = episode_label(episode)
            await _answer(
                interaction,
                change,
                f"You're now an author of **{label}**.",
                f"You're already an author of **{label}**.",
            )

        @app_commands.command(name="unclaim", description="Stop being an author of an episode (its authors)")
        @app_commands.describe(episode="The episode's code")
        async def unclaim(interaction: discord.Interaction, episode: EpisodeArg) -> None:
            change = await service.unclaim(member_of(interaction), episode)
            label = episode_label(episode)
            await _answer(
                interaction,
                change,
                f"You're no longer an author of **{label}**.",
                f"You aren't an author of **{label}**, so there is nothing to unclaim.",
            )

        @app_commands.command(name="assign", description="Add a member as an author of an episode (hosts)")
        @app_commands.describe(episode="The episode's code", member="The member who will write it")
        async def assign(
            interaction: discord.Interaction, episode: EpisodeArg, member: discord.Member
        ) -> None:
            assigned = await service.assign(member_of(interaction), episode, member)
            label = episode_label(episode)
            done = f"{member.mention} is now an author of **{label}**."
            if assigned.tell is None:
                await _answer(
                    interaction,
                    assigned.change,
                    done,
                    f"{member.mention} is already an author of **{label}**.",
                )
                return
            # The host hears at once; how the member was told follows (the DM waits its turn).
            await reply(interaction, f"{done} {TELLING}")
            await update_answer(interaction, f"{done} {told_text(await assigned.tell())}")
            await publish_after_answer(interaction, assigned.change.publish)

        @app_commands.command(name="unassign", description="Remove an author from an episode (hosts)")
        @app_commands.describe(episode="The episode's code", member="The author to remove")
        async def unassign(
            interaction: discord.Interaction, episode: EpisodeArg, member: discord.Member
        ) -> None:
            change = await service.unassign(member_of(interaction), episode, member)
            label = episode_label(episode)
            await _answer(
                interaction,
                change,
                f"{member.mention} is no longer an author of **{label}**.",
                f"{member.mention} isn't an author of **{label}**, so nothing changed.",
            )

        @app_commands.command(name="volunteer", description="Ask the hosts to let you write an episode")
        @app_commands.describe(
            episode="The episode's code",
            pitch=f"Why you, and your angle on it (up to {PITCH_MAX} characters)",
        )
        async def volunteer(
            interaction: discord.Interaction,
            episode: EpisodeArg,
            pitch: app_commands.Range[str, 1, PITCH_MAX] | None = None,
        ) -> None:
            result = await service.volunteer(member_of(interaction), episode, pitch)
            label = episode_label(episode)
            request = result.request
            if not result.created:
                text = (
                    f"You already asked to write **{label}** {ts(request.created_at, 'R')}; a host will get back "
                    "to you. Changed your mind? Withdraw the request below."
                )
            else:
                text = (
                    f"Thanks! I've recorded your request to write **{label}**: the hosts will review it and "
                    "you'll hear back by DM. Changed your mind? Withdraw it below."
                )
            await reply(interaction, text, view=withdraw_view(request))
            problem = await result.post_for_review()
            if problem:
                await reply(
                    interaction,
                    f"I couldn't pass your request to the hosts yet: {problem} Your request is kept: I'll post it "
                    "for review as soon as I can, and hosts can see it with `/episode requests`.",
                )

        @app_commands.command(name="requests", description="Pending author requests (hosts)")
        @app_commands.describe(episode="Only the requests for this episode")
        async def requests(interaction: discord.Interaction, episode: EpisodeArg | None = None) -> None:
            pager = await self._requests_pager(interaction, str(episode.id) if episode else "")
            await pager.send(interaction)

        return [claim, unclaim, assign, unassign, volunteer, requests]

    async def _requests_pager(self, interaction: discord.Interaction, args: str) -> QueryPager:
        """The `/episode requests` pager (hosts only), for one episode's id or all (`args` empty)."""
        host = member_of(interaction)
        hint = await self.service.review_hint(host)
        found = await episode_store.get(self.service.db, int(args)) if args else None
        if found is not None and found.guild_id != host.guild.id:
            found = None

        async def page(offset: int, limit: int) -> tuple[int, list[str]]:
            total, pending = await self.service.pending(host, found, offset=offset, limit=limit)
            return total, [request_line(request, ep) for request, ep in pending]

        scope = f" · {found.code}" if found else ""
        return QueryPager(
            host.id,
            lambda total: f"Pending author requests ({total}){scope}",
            page,
            empty="No pending requests.",
            header=hint,
            kind="requests",
            args=str(found.id) if found else "",
        )

    # -- the Decline form (the review buttons are handled in cogs.assignments.views) -------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Submitted Decline forms, whichever process opened them (see cogs.assignments.views.decline_form)."""
        await handle_decline_submission(interaction, decline_submitted)

    # -- pending requests follow the review channel ----------------------------------------------------

    @commands.Cog.listener()
    async def on_archivist_settings_changed(self, guild_id: int) -> None:
        await self._follow_review_channel(guild_id)

    @commands.Cog.listener()
    async def on_archivist_ready(self) -> None:
        for guild in self.bot.guilds:
            await self._follow_review_channel(guild.id)
            try:
                await self.service.review.check_review_messages(guild.id)
            except Exception:
                log.exception("review messages of guild %s not checked", guild.id)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._review_messages_deleted(payload.guild_id, payload.channel_id, {payload.message_id})

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self._review_messages_deleted(payload.guild_id, payload.channel_id, set(payload.message_ids))

    async def _follow_review_channel(self, guild_id: int) -> None:
        try:
            moved = await self.service.review.review_channel_changed(guild_id)
        except Exception:
            log.exception("pending requests of guild %s could not follow the review channel", guild_id)
            return
        if moved:
            log.info("posted %d pending request(s) in the review channel of guild %s", moved, guild_id)

    async def _review_messages_deleted(self, guild_id: int | None, channel_id: int, ids: set[int]) -> None:
        if guild_id is None:
            return
        try:
            await self.service.review.review_messages_deleted(guild_id, channel_id, ids)
        except Exception:
            log.exception("deleted review messages in channel %s not handled", channel_id)
