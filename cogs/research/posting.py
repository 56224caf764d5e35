"""The bot's research posts in episode threads (form contributions, thank-yous) and the jobs that deliver them."""

from __future__ import annotations

import logging
import re

import discord

from bot.core.db import Database
from bot.core.jobs import Job
from bot.core.scheduler import DONE, Failed, Outcome, Retry
from cogs.episodes import store as episode_store
from cogs.episodes.service import EpisodeService
from cogs.episodes.store import Episode
from cogs.research import store
from cogs.research import views as ui

log = logging.getLogger(__name__)

THANKS_JOB = "research_thanks"
THANKS_RETRY = 60.0
FORM_POST_JOB = "research_form_post"
POST_RETRY = 60.0  # seconds before a form post Discord refused is tried again
LOOKBACK = 100  # recent thread messages searched for a post whose outcome is unknown


class ResearchPosts:
    """Posts form contributions and thank-yous; their jobs post again what Discord refused, never twice."""

    def __init__(self, bot: discord.Client, db: Database, episodes: EpisodeService) -> None:
        self.bot = bot
        self.db = db
        self.episodes = episodes

    async def post_form(
        self, episode: Episode, number: int, author_id: int, title: str, body: str, sources: str | None
    ) -> discord.Message | None:
        """Post a form contribution in the thread and link it to that post; None when refused."""
        posted = await self.episodes.posts.post_in_thread(
            episode, embed=ui.form_embed(number, author_id, title, body, sources, episode.code)
        )
        if posted is not None:
            await self._link_form(number, posted)
        return posted

    async def _link_form(self, number: int, post: discord.Message) -> None:
        await store.set_message(
            self.db, number, channel_id=post.channel.id, message_id=post.id, jump_url=post.jump_url
        )

    async def _recent_own_posts(self, thread: discord.Thread) -> list[discord.Message]:
        """The bot's own posts among the thread's recent messages (empty when they can't be read)."""
        me = self.bot.user.id if self.bot.user else 0
        try:
            return [m async for m in thread.history(limit=LOOKBACK) if m.author.id == me]
        except discord.HTTPException as exc:
            log.warning("could not read recent messages of thread %s: %s", thread.id, exc)
            return []

    async def form_post_job(self, job: Job) -> Outcome:
        """Post a form contribution whose post was refused or interrupted, unless it is there."""
        found = await store.get(self.db, job.guild_id or 0, job.payload["contribution_id"])
        if found is None or found.message_id is not None:
            return DONE  # removed meanwhile, or already posted
        episode = await episode_store.get(self.db, found.episode_id)
        if episode is None:
            return DONE
        thread = await self.episodes.posts.thread(episode)
        if thread is None:
            return Failed("the episode's thread is gone")
        for message in await self._recent_own_posts(thread):
            if any(
                f.name == ui.NUMBER_FIELD and f.value == f"#{found.id}"
                for e in message.embeds
                for f in e.fields
            ):
                await self._link_form(found.id, message)  # it did arrive: the outcome was unknown
                return DONE
        posted = await self.post_form(
            episode, found.id, found.author_id, found.title or "", found.body, found.sources
        )
        if posted is None:
            return Retry("Discord refused the post", after=POST_RETRY)
        return DONE

    async def post_thanks(self, episode: Episode, messages: list[str]) -> list[str]:
        """Post the messages in order; returns those not posted (from the first refusal on)."""
        for index, text in enumerate(messages):
            ping = [int(u) for u in re.findall(r"<@!?(\d+)>", text)]
            if await self.episodes.posts.post_in_thread(episode, text, ping=ping) is None:
                return messages[index:]
        return []

    async def thanks_job(self, job: Job) -> Outcome:
        episode = await episode_store.get(self.db, job.payload["episode_id"])
        if episode is None:
            return Failed("the episode was deleted")
        thread = await self.episodes.posts.thread(episode)
        if thread is None:
            return Failed("the episode's thread is gone")
        # Some of them may have arrived before a refusal or a stop: never post one twice.
        posted = {m.content.strip() for m in await self._recent_own_posts(thread)}
        messages = [m for m in job.payload["messages"] if m.strip() not in posted]
        if await self.post_thanks(episode, messages):
            return Retry("Discord refused the thank-you", after=THANKS_RETRY)
        return DONE
