"""`/episode create|info|list|status|edit`: episodes and their forum posts.

The `/episode` group is made once by `bot.wiring.episode_group`; this cog adds it to the tree, and other
cogs (assignments, deadlines) add their own subcommands to it, in any order.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.groups import add_subcommands, remove_subcommands
from bot.core.interactions import publish_after_answer, reply, thinking
from bot.core.pager import PageSources, QueryPager
from bot.core.text import thread_url
from bot.core.transformers import EpisodeArg
from cogs.episodes import lists_store
from cogs.episodes.rules import DESCRIPTION_MAX, NOTE_MAX, TITLE_MAX, Status
from cogs.episodes.service import EpisodeService
from cogs.episodes.views import episode_line, status_card

log = logging.getLogger(__name__)

STATUS_CHOICES = [app_commands.Choice(name=s.label, value=s.value) for s in Status]


class Episodes(commands.Cog):
    """Create, find and move episodes."""

    def __init__(
        self,
        bot: commands.Bot,
        service: EpisodeService,
        episode_group: app_commands.Group,
        pages: PageSources,
    ) -> None:
        self.bot = bot
        self.service = service
        self.group = episode_group
        self.subcommands = add_subcommands(self, episode_group)
        pages.register("episodes", self._list_pager)  # its pages turn after a restart too

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.group)  # with the other cogs' subcommands, whenever they are added

    async def cog_unload(self) -> None:
        remove_subcommands(self.group, self.subcommands)
        self.bot.tree.remove_command(self.group.name)

    @commands.Cog.listener()
    async def on_archivist_ready(self) -> None:
        """Posts orphaned by a stop in the middle of `/episode create` are removed."""
        try:
            removed = await self.service.posts.remove_orphaned_posts()
        except Exception:
            log.exception("orphaned posts not checked")
            return
        if removed:
            log.info("removed %d orphaned episode post(s)", removed)

    @app_commands.command(name="create", description="Create an episode and its research post (hosts)")
    @app_commands.describe(
        code="Short unique code, e.g. 1924-01 (letters, digits, - _ .)",
        title=f"The episode's title (up to {TITLE_MAX} characters)",
        description="What the episode is about; shown on the status card",
    )
    async def create(
        self,
        interaction: discord.Interaction,
        code: app_commands.Range[str, 1, 100],
        title: app_commands.Range[str, 1, 200],
        description: app_commands.Range[str, 1, 4000] | None = None,
    ) -> None:
        episode, thread = await self.service.create(
            interaction.guild, interaction.user, code, title, description, thinking(interaction)
        )
        await reply(interaction, f"Created **{episode.code}** · {episode.title}: {thread.mention}")

    @app_commands.command(name="info", description="Show an episode's status card")
    @app_commands.describe(episode="The episode's code")
    async def info(self, interaction: discord.Interaction, episode: EpisodeArg) -> None:
        data = await lists_store.card_data(self.service.db, episode.id)
        await reply(
            interaction,
            f"Thread: {thread_url(episode.guild_id, episode.thread_id) or '(no post)'}",
            embed=status_card(data),
        )

    @app_commands.command(name="list", description="List episodes, optionally filtered")
    @app_commands.describe(
        status="Only episodes with this status",
        author="Only episodes this member writes",
        needs_author="Only episodes that still need an author (True) or that have one (False)",
    )
    @app_commands.choices(status=STATUS_CHOICES)
    async def list_(
        self,
        interaction: discord.Interaction,
        status: str | None = None,
        author: discord.Member | None = None,
        needs_author: bool | None = None,
    ) -> None:
        needs = "" if needs_author is None else str(int(needs_author))
        args = f"{status or ''}.{author.id if author else ''}.{needs}"
        await (await self._list_pager(interaction, args)).send(interaction)

    async def _list_pager(self, interaction: discord.Interaction, args: str) -> QueryPager:
        """The `/episode list` pager for its options, written `status.author_id.needs_author`."""
        status, author_id, needs = [*args.split("."), "", "", ""][:3]
        filters = {
            "status": Status(status) if status else None,
            "author_id": int(author_id) if author_id else None,
            "needs_author": bool(int(needs)) if needs else None,
        }
        guild_id = interaction.guild_id

        async def page(offset: int, limit: int) -> tuple[int, list[str]]:
            total, rows = await lists_store.list_page(
                self.service.db, guild_id, offset=offset, limit=limit, **filters
            )
            return total, [episode_line(e) for e in rows]

        author = interaction.guild.get_member(int(author_id)) if author_id and interaction.guild else None
        by = f"by {author.display_name}" if author else (f"by <@{author_id}>" if author_id else None)
        needs_label = {True: "needing an author", False: "with an author", None: None}[
            filters["needs_author"]
        ]
        shown = [Status(status).label if status else None, by, needs_label]
        suffix = " · " + ", ".join(f for f in shown if f) if any(shown) else ""
        return QueryPager(
            interaction.user.id,
            lambda total: f"Episodes ({total}){suffix}",
            page,
            empty="No episodes match.",
            kind="episodes",
            args=args,
        )

    @app_commands.command(name="status", description="Move an episode to another status (hosts, its authors)")
    @app_commands.describe(
        episode="The episode's code",
        status="The new status",
        note=f"A short note (up to {NOTE_MAX} characters)",
    )
    @app_commands.choices(status=STATUS_CHOICES)
    async def status(
        self,
        interaction: discord.Interaction,
        episode: EpisodeArg,
        status: str,
        note: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        change = await self.service.set_status(interaction.user, episode, Status(status), note)
        await reply(interaction, f"**{change.episode.code}** is now **{change.episode.status.label}**.")
        await publish_after_answer(interaction, change.publish, "status card")

    @app_commands.command(name="edit", description="Edit an episode's title or description (hosts)")
    @app_commands.describe(
        episode="The episode's code",
        title=f"New title (up to {TITLE_MAX} characters)",
        description=f"New description (up to {DESCRIPTION_MAX} characters)",
    )
    async def edit(
        self,
        interaction: discord.Interaction,
        episode: EpisodeArg,
        title: app_commands.Range[str, 1, 200] | None = None,
        description: app_commands.Range[str, 1, 4000] | None = None,
    ) -> None:
        change = await self.service.edit(interaction.user, episode, title, description)
        await reply(interaction, f"Saved **{change.episode.code}** · {change.episode.title}.")
        await publish_after_answer(interaction, change.publish, "post")
