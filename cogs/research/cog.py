"""`/research …`, the **Add to research** message menu, and collecting every contribution posted in
episode threads (live, and when the bot comes back after being away)."""

from __future__ import annotations

import contextlib
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.interactions import handle, publish_after_answer, reply, update_answer, working
from bot.core.pager import AtLeast, PageSources, QueryPager
from bot.core.transformers import EpisodeArg
from cogs.episodes.store import Episode
from cogs.research.service import ResearchService
from cogs.research.views import (
    LIST_PAGE,
    MARK_BADGES,
    SEARCH_PAGE,
    PickerAction,
    Submission,
    code_form,
    contribution_line,
    credits_block,
    credits_embed,
    episode_picker,
    export_answer,
    export_progress,
    export_starting,
    export_waiting,
    mark_answer,
    picker_action,
    search_line,
    submission,
    submit_form,
)

FILES_PER_MESSAGE = 10  # Discord's most attachments on one message
POST_LATER = (
    "I couldn't post it in the episode's thread just now: I'll post it there as soon as Discord lets me."
)
FORMAT_CHOICES = [
    app_commands.Choice(name="Markdown (.md)", value="markdown"),
    app_commands.Choice(name="HTML (.html, for reading and printing)", value="html"),
    app_commands.Choice(name="JSON (.json)", value="json"),
    app_commands.Choice(name="CSV (.csv)", value="csv"),
]
MARK_CHOICES = [
    app_commands.Choice(name="key (first in the dossier)", value="key"),
    app_commands.Choice(name="excluded (left out of the Markdown and HTML dossier)", value="excluded"),
    app_commands.Choice(name="normal", value="normal"),
]


@app_commands.guild_only()
class Research(
    commands.GroupCog,
    group_name="research",
    group_description="Research for episodes: submit, list, search, export, credit and curate contributions",
):
    """Every contribution kept, credited, searchable and exportable."""

    def __init__(self, bot: commands.Bot, service: ResearchService, pages: PageSources) -> None:
        self.bot = bot
        self.service = service
        self.menu = app_commands.ContextMenu(name="Add to research", callback=self.add_to_research)
        self.menu.guild_only = True
        super().__init__()
        # Their pages turn after a restart too (see bot.core.pager.PageSources).
        pages.register("research-list", self._list_source)
        pages.register("research-search", self._search_source)

    async def cog_load(self) -> None:
        await self.service.catch_up.load_watermarks()
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self.service.catch_up.stop()

    # -- collecting ---------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        await self.service.on_message(message)
        await self.service.catch_up.message_seen(message)  # the bot's own posts move the thread's mark

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        await self.service.catch_up.thread_updated(before, after)

    @commands.Cog.listener()
    async def on_thread_join(self, thread: discord.Thread) -> None:
        await self.service.catch_up.thread_joined(thread)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.service.on_edit(payload)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.service.on_delete([payload.message_id])

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.service.on_delete(payload.message_ids)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.service.on_reaction(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.service.on_reaction(payload, added=False)

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        await self.service.on_reactions_cleared(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        await self.service.on_reactions_cleared(payload.message_id, str(payload.emoji))

    @commands.Cog.listener()
    async def on_archivist_ready(self) -> None:
        self.service.catch_up.start()

    # -- commands -----------------------------------------------------------------------------------

    @app_commands.command(name="submit", description="Send a piece of research for an episode through a form")
    @app_commands.describe(episode="The episode's code")
    async def submit(self, interaction: discord.Interaction, episode: EpisodeArg) -> None:
        await interaction.response.send_modal(submit_form(episode))

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Submitted `/research submit` forms and the **Add to research** episode picker, whichever
        process opened them (see cogs.research.views)."""
        sent = submission(interaction)
        if sent is not None:
            await handle(interaction, self._submitted(interaction, sent))
            return
        picked = picker_action(interaction)
        if picked is not None:
            await handle(interaction, self._picked(interaction, picked))

    async def _submitted(self, interaction: discord.Interaction, sent: Submission) -> None:
        found = await self.service.episode_by_id(interaction.guild_id, sent.episode_id)
        submitted = await self.service.submit(interaction.user, found, sent.title, sent.body, sent.sources)
        saved = f"Saved as contribution **#{submitted.number}** for `{found.code}`"
        # The member hears at once; the post in the thread waits its turn behind the bot's other requests.
        await reply(interaction, f"{saved}; posting it in the episode's thread…")
        posted = await submitted.post()
        where = f" and posted in {posted.jump_url}." if posted is not None else f". {POST_LATER}"
        await update_answer(interaction, saved + where)

    async def add_to_research(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Message menu **Add to research**: this thread's episode, or ask which episode."""
        episode = await self.service.episode_of_thread(interaction.channel)
        if episode is not None:
            await self._record(interaction, episode, message)
            return
        recent = await self.service.recent_episodes(interaction.guild_id)
        view = episode_picker(message.channel.id, message.id, recent)
        text = "Which episode is this message research for?"
        if not recent:
            text = "There are no episodes yet in this server. If you know a code, enter it."
        await reply(interaction, text, view=view)

    async def _picked(self, interaction: discord.Interaction, action: PickerAction) -> None:
        """The episode picker's choice, button or code form (see cogs.research.views.episode_picker)."""
        if action.action == "code":
            await interaction.response.send_modal(code_form(action.channel_id, action.message_id))
            return
        chosen = await self.service.episodes.resolve(interaction.guild_id, action.code)
        message = await self.service.message_to_add(interaction.guild, action.channel_id, action.message_id)
        await self._record(interaction, chosen, message)

    async def _record(
        self, interaction: discord.Interaction, episode: Episode, message: discord.Message
    ) -> None:
        added = await self.service.add_message(interaction.user, episode, message)
        if added.created:
            text = f"Added to the research for `{episode.code}` as contribution **#{added.id}**."
        else:
            text = f"That message is already in the research for `{episode.code}` (contribution **#{added.id}**)."
        await reply(interaction, text)

    @app_commands.command(name="list", description="List an episode's contributions, newest first")
    @app_commands.describe(episode="The episode's code", contributor="Only this member's contributions")
    async def list_(
        self, interaction: discord.Interaction, episode: EpisodeArg, contributor: discord.User | None = None
    ) -> None:
        await self._list_pager(interaction, episode, contributor.id if contributor else None).send(
            interaction
        )

    async def _list_source(self, interaction: discord.Interaction, args: str) -> QueryPager:
        """Rebuilds a `/research list` pager from its buttons' args (`<episode id>-<member id or 0>`)."""
        episode_id, _, author = args.partition("-")
        found = await self.service.episode_by_id(interaction.guild_id, int(episode_id))
        return self._list_pager(interaction, found, int(author or 0) or None)

    def _list_pager(
        self, interaction: discord.Interaction, found: Episode, author_id: int | None
    ) -> QueryPager:
        async def page(offset: int, limit: int) -> tuple[int, list[str]]:
            total, rows = await self.service.contributions(found, author_id, offset=offset, limit=limit)
            return total, [contribution_line(c) for c in rows]

        by = f" · by {self.service.name_of(interaction.guild, author_id)}" if author_id else ""
        return QueryPager(
            interaction.user.id,
            lambda total: f"Research for {found.code} ({total}){by}"[:256],
            page,
            empty="No contributions yet: post in the episode's thread or use `/research submit`.",
            size=LIST_PAGE,
            kind="research-list",
            args=f"{found.id}-{author_id or 0}",
        )

    @app_commands.command(name="export", description="Download an episode's research dossier as a file")
    @app_commands.describe(episode="The episode's code", format="File format (default: Markdown)")
    @app_commands.choices(format=FORMAT_CHOICES)
    async def export(
        self, interaction: discord.Interaction, episode: EpisodeArg, format: str = "markdown"
    ) -> None:
        await working(interaction, export_starting(episode.code, format))  # at once, before any reading

        async def note(text: str | None) -> None:
            if text is not None:
                with contextlib.suppress(discord.HTTPException):  # only a note: the files still come
                    await interaction.edit_original_response(content=text)

        async def waiting() -> None:
            await note(export_waiting(episode.code, format))

        async with self.service.exporting(interaction.guild, episode, format, waiting) as job:
            await note(export_progress(episode.code, format, job.estimate))
            files = await job.files()
            batches = [files[i : i + FILES_PER_MESSAGE] for i in range(0, len(files), FILES_PER_MESSAGE)]
            for n, batch in enumerate(batches):
                with contextlib.ExitStack() as opened:
                    # Uploaded from disk: the bytes never sit in memory whole.
                    attached = [discord.File(f.path, filename=f.name) for f in batch]
                    for file in attached:
                        opened.callback(file.close)
                    text = export_answer(episode.code, len(files))
                    await reply(
                        interaction,
                        text if n == 0 else f"Part files, continued ({n + 1}/{len(batches)}).",
                        files=attached,
                    )

    @app_commands.command(name="search", description="Full-text search over the research of this server")
    @app_commands.describe(
        query='Words to find; "quotes" for a phrase, word* for a prefix, OR between words for either',
        episode="Only this episode's research",
    )
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 200],
        episode: EpisodeArg | None = None,
    ) -> None:
        pager = await self._search_pager(interaction, query, episode)
        await pager.send(interaction)

    async def _search_source(self, interaction: discord.Interaction, args: str) -> QueryPager:
        """Rebuilds a `/research search` pager from its buttons' args (the saved search's id)."""
        query, found = await self.service.saved_search(interaction.guild_id, int(args))
        return await self._search_pager(interaction, query, found)

    async def _search_pager(
        self, interaction: discord.Interaction, query: str, found: Episode | None
    ) -> QueryPager:
        read = await self.service.search(interaction.guild_id, query, found)  # refuses an empty query
        search_id = await self.service.save_search(interaction.guild_id, query, found)

        async def page(offset: int, limit: int) -> tuple[int, list[str]]:
            shown = await read(offset, limit)
            return shown.total if shown.exact else AtLeast(shown.total), [search_line(h) for h in shown.hits]

        scope = f" in {found.code}" if found else ""
        return QueryPager(
            interaction.user.id,
            lambda total: (
                f"Search{scope}: {query}"[:200]
                + (f" ({total:,}+)" if isinstance(total, AtLeast) else f" ({total})")
            ),
            page,
            empty="Nothing matches.",
            size=SEARCH_PAGE,
            kind="research-search",
            args=str(search_id),
        )

    @app_commands.command(name="credits", description="The contributor list, ready for a video description")
    @app_commands.describe(episode="The episode's code")
    async def credits(self, interaction: discord.Interaction, episode: EpisodeArg) -> None:
        found = await self.service.credits_text(interaction.guild, episode)  # milliseconds: no "thinking…"
        text = found.text
        if not found.total:
            await reply(interaction, f"`{episode.code}` has no contributions yet.")
            return
        embed = credits_embed(episode.code, found.listed, found.total)
        block = credits_block(text)
        if len(block) <= 1900:
            await reply(interaction, block, embed=embed)
        else:
            file = discord.File(io.BytesIO(text.encode()), filename=f"{episode.code}-credits.txt")
            await reply(
                interaction, "The credits are long, so here they are as a file.", embed=embed, file=file
            )

    @app_commands.command(
        name="remove", description="Remove a contribution from the record (its contributor, hosts)"
    )
    @app_commands.describe(
        episode="The episode's code",
        contribution="The contribution's number, as /research list shows it",
    )
    async def remove(
        self,
        interaction: discord.Interaction,
        episode: EpisodeArg,
        contribution: app_commands.Range[int, 1, 2**53],
    ) -> None:
        removed = await self.service.remove(interaction.user, episode, contribution)
        await reply(
            interaction, f"Removed contribution **#{contribution}** from the research for `{episode.code}`."
        )
        await publish_after_answer(interaction, removed.publish)

    @app_commands.command(
        name="mark", description="Curate: key research comes first in the dossier; excluded is left out"
    )
    @app_commands.describe(
        episode="The episode's code",
        contribution="The contribution's number, as /research list shows it",
        as_="key: first in the dossier; excluded: left out of the Markdown/HTML dossier; normal: neither",
    )
    @app_commands.rename(as_="as")
    @app_commands.choices(as_=MARK_CHOICES)
    async def mark(
        self,
        interaction: discord.Interaction,
        episode: EpisodeArg,
        contribution: app_commands.Range[int, 1, 2**53],
        as_: str,
    ) -> None:
        marked = await self.service.mark(interaction.user, episode, contribution, as_)
        await reply(interaction, mark_answer(marked, episode.code))

    @remove.autocomplete("contribution")
    @mark.autocomplete("contribution")
    async def contribution_numbers(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        """The contributions of the episode already chosen, the caller's own first (remove and mark)."""
        code = getattr(interaction.namespace, "episode", None)
        if interaction.guild_id is None or not code:
            return []
        episode = await self.service.episode_by_code(interaction.guild_id, str(code))
        if episode is None:
            return []
        typed = current.strip().lstrip("#")
        if typed and not typed.isdigit():
            return []  # contribution numbers are digits
        choices = []
        for c in await self.service.contribution_choices(episode, interaction.user.id, typed):
            who = self.service.name_of(interaction.guild, c.author_id, c.author_name)
            badge = f" · {MARK_BADGES[c.mark]}" if c.mark in MARK_BADGES else ""
            label = " ".join(f"#{c.id}{badge} · {who} · {c.title or c.body}".split())
            choices.append(app_commands.Choice(name=label[:100], value=c.id))
        return choices
