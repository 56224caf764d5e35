"""`/import …`: bring the old Discourse forum in (a live forum or uploaded topic files), list the forum
names waiting for a member, link them. Admins (Manage Server) only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.dms import DirectMessages
from bot.core.interactions import reply, thinking
from bot.core.pager import Pager
from bot.core.permissions import is_admin, require_admin
from bot.errors import InvalidInput
from cogs.forum_import.archive import read_upload
from cogs.forum_import.client import DiscourseClient
from cogs.forum_import.discourse import ForumTopic
from cogs.forum_import.rules import forum_url, topic_ref
from cogs.forum_import.running import ProgressReply, Running, TopicFeed, forum_topics, parsed
from cogs.forum_import.service import ForumImportService
from cogs.forum_import.views import (
    AUTHORS_HEADER,
    NO_AUTHORS,
    author_lines,
    authors_title,
    link_text,
    report_embed,
)

log = logging.getLogger(__name__)

IMPORTING = "import the old forum"  # what a refused non-admin is told they can't do

MAX_UPLOAD = 100 * 2**20  # bytes of an attached file (Discord's largest upload, on boosted servers)
AUTHORS_PAGE = 20


def _size(count: int) -> str:
    return f"{count / 2**10:.0f} KiB" if count < 2**20 else f"{count / 2**20:.3g} MiB"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ForumImport(
    commands.GroupCog,
    group_name="import",
    group_description="Bring in the old Discourse forum's topics and research (Manage Server)",
):
    """The old forum's topics as episodes, its posts as research, its names linked to members."""

    def __init__(self, bot: commands.Bot, service: ForumImportService) -> None:
        self.bot = bot
        self.service = service
        self.running = Running()
        self.dms = DirectMessages(bot, service.db)  # the report's DM through remembered channels
        super().__init__()

    @app_commands.command(name="discourse", description="Import a category or one topic of a Discourse forum")
    @app_commands.describe(
        url="The forum's address, like https://forum.example.org (http:// only on your own network)",
        category="Import every topic of this category: its slug (episode-research) or id",
        topic="Import only this topic: its id or its address",
        dry_run="True: only report what the import would do, change nothing",
    )
    async def discourse(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 500],
        category: app_commands.Range[str, 1, 200] | None = None,
        topic: app_commands.Range[str, 1, 500] | None = None,
        dry_run: bool = False,
    ) -> None:
        require_admin(interaction.user, IMPORTING)
        base = forum_url(url)
        if (category is None) == (topic is None):
            raise InvalidInput(
                "Name what to import: `category` (its slug or id) for all its topics, or `topic` "
                "(an id or a topic's address) for one — one of the two."
            )
        topic_id = topic_ref(topic) if topic is not None else None
        settings = self.bot.settings  # type: ignore[attr-defined]  # bot.app.Archivist
        with self.running.hold(interaction.guild_id, interaction.user.id):
            await thinking(interaction)()
            async with DiscourseClient(
                base, api_key=settings.discourse_api_key, api_username=settings.discourse_api_username
            ) as client:
                topics, total = await forum_topics(client, category, topic_id)
                unreadable = topics.unreadable if isinstance(topics, TopicFeed) else []
                await self._import(interaction, topics, total, base, dry_run, unreadable)

    @app_commands.command(name="file", description="Import topic files saved from a Discourse forum")
    @app_commands.describe(
        file="A topic as /t/{id}.json?include_raw=true serves it, or a .zip of such files",
        dry_run="True: only report what the import would do, change nothing",
    )
    async def file(
        self, interaction: discord.Interaction, file: discord.Attachment, dry_run: bool = False
    ) -> None:
        require_admin(interaction.user, IMPORTING)
        if file.size > MAX_UPLOAD:
            raise InvalidInput(
                f"`{file.filename[:100]}` is {_size(file.size)}; I read files up to {_size(MAX_UPLOAD)}. "
                "Split the topics into several .zip files and import them one after another."
            )
        with self.running.hold(interaction.guild_id, interaction.user.id):
            await thinking(interaction)()
            data = await file.read()
            # Unpacking and checking every topic is CPU work: off the event loop, commands keep answering.
            topics = await asyncio.to_thread(read_upload, file.filename, data)
            source = f"`{file.filename[:100]}`"
            await self._import(interaction, parsed(topics), len(topics), source, dry_run, [])

    async def _import(
        self,
        interaction: discord.Interaction,
        topics: Iterable[ForumTopic] | TopicFeed,
        total: int,
        source: str,
        dry_run: bool,
        unreadable: list[tuple[int, str]],
    ) -> None:
        assert interaction.guild is not None  # guild only
        report = await self.service.import_topics(
            interaction.guild,
            topics,  # type: ignore[arg-type]  # a TopicFeed is an async iterable of topics
            actor_id=interaction.user.id,
            dry_run=dry_run,
            progress=ProgressReply(interaction, source, dry_run=dry_run),
            total=total,
        )
        embed = report_embed(report, source, unreadable)
        try:
            await reply(interaction, None, embed=embed)
        except discord.HTTPException:  # the reply's 15 minutes are over: the report comes by DM
            log.info("import report for %s sent by DM: the reply can't be edited", interaction.user.id)
            try:
                await self.dms.send(
                    interaction.user.id, content="Your forum import has finished.", embed=embed
                )
            except discord.HTTPException:
                log.warning("the import report could not reach %s", interaction.user.id)

    @app_commands.command(name="authors", description="Forum names not yet linked to a member")
    async def authors(self, interaction: discord.Interaction) -> None:
        require_admin(interaction.user, IMPORTING)
        names = await self.service.unlinked_authors(interaction.guild_id)
        lines = [AUTHORS_HEADER, *author_lines(names)] if names else []
        pager = Pager(
            interaction.user.id, authors_title(len(names)), lines, empty=NO_AUTHORS, size=AUTHORS_PAGE
        )
        await pager.send(interaction)

    @app_commands.command(name="link", description="Make a forum name's imported research a member's")
    @app_commands.describe(
        forum_name="The name on the old forum (as /import authors lists it)",
        member="The member who wrote as that name",
    )
    async def link(
        self,
        interaction: discord.Interaction,
        forum_name: app_commands.Range[str, 1, 100],
        member: discord.Member,
    ) -> None:
        require_admin(interaction.user, IMPORTING)
        if member.bot:
            raise InvalidInput(f"{member.mention} is a bot: link forum names to the people who wrote them.")
        result = await self.service.link(
            interaction.guild_id, forum_name.strip(), member.id, actor_id=interaction.user.id
        )
        await reply(interaction, link_text(result))

    @link.autocomplete("forum_name")
    async def forum_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not is_admin(interaction.user):
            return []
        names = await self.service.forum_names(interaction.guild_id, current)
        return [app_commands.Choice(name=name[:100], value=name[:100]) for name in names]
