"""Deadlines: set or move one, keep its reminder jobs in line (status, settings), and deliver them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord

from bot.clock import from_ts, now
from bot.core.jobs import Job, NewJob
from bot.core.outbox import PostingService
from bot.core.pacing import Delivery, Route
from bot.core.scheduler import DONE, Outcome
from bot.errors import InvalidInput
from cogs.config import rules as schedule_rules
from cogs.config import store as settings_store
from cogs.config.store import GuildSettings
from cogs.deadlines import rules, store, views
from cogs.deadlines.store import DeadlineInfo
from cogs.episodes import authors_store
from cogs.episodes.rules import Milestone, Status
from cogs.episodes.store import Episode
from cogs.reminders.service import parse_for

log = logging.getLogger(__name__)

DEADLINE = rules.DEADLINE


@dataclass(frozen=True, slots=True)
class DeadlineSet:
    info: DeadlineInfo
    previous: datetime | None
    reminders: list[datetime]
    met: bool
    publish: Callable[[], Awaitable[bool]]  # the card and a note in the thread, after answering


def _offsets(cfg: GuildSettings) -> list[timedelta]:
    try:
        return schedule_rules.parse_offsets(cfg.reminder_offsets)
    except InvalidInput:
        log.warning("server %s has unreadable reminder offsets %r", cfg.guild_id, cfg.reminder_offsets)
        return schedule_rules.parse_offsets("3d,1d,0")


class DeadlineService(PostingService):
    """Its job kind (`DEADLINE`) and status listener (`on_status`) are registered by `bot.app`."""

    async def set_deadline(
        self,
        member: discord.Member,
        episode: Episode,
        milestone: Milestone,
        when: str,
        locale: str | None = None,
    ) -> DeadlineSet:
        """Save the deadline and replace its reminder jobs in one transaction; Discord follows in
        `publish()` once the member has their answer. `locale` (the member's Discord language) decides
        how numeric dates read."""
        await self.episodes.require_host_or_author(member, episode, "set its deadlines")
        parsed = await parse_for(self.db, member.guild.id, member.id, when, locale=locale)
        info = DeadlineInfo(
            episode.id, episode.guild_id, episode.code, episode.title, episode.status, episode.thread_id,
            milestone, from_ts(parsed.timestamp),
        )  # fmt: skip
        jobs = await self._deadline_jobs(info)
        notes = self.episodes.notes
        saved = await store.set_deadline_announced(
            self.db,
            episode.id,
            milestone,
            parsed.timestamp,
            member.id,
            jobs=jobs,
            job_prefix=rules.job_prefix(info),
            guild_id=episode.guild_id,
            note=lambda previous: notes.new(views.set_note(member.id, milestone, info.due_at, previous)),
        )
        self.scheduler.jobs_changed(saved.jobs, saved.cancelled)
        return DeadlineSet(
            info,
            saved.previous,
            rules.reminder_times(jobs),
            milestone.met_by(info.status),
            publish=lambda: self.episodes.publish_kept(episode.id, saved.note_id),
        )

    async def _deadline_jobs(
        self, info: DeadlineInfo, offsets: list[timedelta] | None = None
    ) -> list[NewJob]:
        """The reminder jobs a deadline needs now (see `rules.deadline_jobs`)."""
        if not rules.is_open(info):
            return []
        if offsets is None:
            offsets = _offsets(await settings_store.get(self.db, info.guild_id))
        return rules.deadline_jobs(info, offsets, now())

    async def on_status(self, episode: Episode, old: Status, actor_id: int) -> None:
        """A status change may meet a milestone (drop its reminders) or reopen one (bring them back)."""
        infos = await store.deadlines_of(self.db, episode.id)
        if not infos:
            return
        await self.scheduler.replace_groups(
            [(rules.job_prefix(i), await self._deadline_jobs(i)) for i in infos]
        )

    async def settings_changed(self, guild_id: int) -> None:
        """Time zone or offsets changed: every deadline of the server gets its reminder jobs again."""
        cfg = await settings_store.get(self.db, guild_id)
        offsets = _offsets(cfg)
        after = int((now() - rules.OVERDUE_AFTER).timestamp())
        infos = await store.deadlines_after(self.db, guild_id, after)
        # All of a server's deadlines move to the new offsets together, or (after a crash) none do.
        await self.scheduler.replace_groups(
            [(rules.job_prefix(i), await self._deadline_jobs(i, offsets)) for i in infos]
        )

    async def delivery_groups(self, jobs: list[Job]) -> dict[int, Hashable]:
        """Which due deadline reminders the scheduler must hand over together (`Scheduler.register`'s
        `together`): an episode's (one thread; of several due for one milestone only the latest speaks)."""
        return {job.id: int(job.payload["episode_id"]) for job in jobs}

    async def deliver_deadlines(self, jobs: list[Job]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        infos: dict[tuple[int, str], DeadlineInfo | None] = {}
        latest: dict[tuple[int, str], Job] = {}
        for job in jobs:
            key = (int(job.payload["episode_id"]), str(job.payload["milestone"]))
            if key not in infos:
                infos[key] = await store.deadline_info(self.db, key[0], Milestone(key[1]))
            info = infos[key]
            if (
                info is None
                or int(info.due_at.timestamp()) != int(job.payload["deadline"])
                or not rules.is_open(info)
            ):
                outcomes[job.id] = DONE  # moved, met, shelved or gone: nothing stale is sent
                continue
            # After an outage several reminders of one deadline may be due at once: only the latest speaks.
            held = latest.get(key)
            if held is None or rules.stage(job) > rules.stage(held):
                if held is not None:
                    outcomes[held.id] = DONE
                latest[key] = job
            else:
                outcomes[job.id] = DONE
        deliveries = [await self._delivery(infos[key], job) for key, job in latest.items()]
        outcomes.update(await self.outbox.deliver(deliveries))
        return outcomes

    async def _delivery(self, info: DeadlineInfo | None, job: Job) -> Delivery:
        """One deadline reminder: in the episode's thread, else in the announcements channel."""
        assert info is not None
        cfg = await settings_store.get(self.db, info.guild_id)  # cached by the storage layer
        authors = await authors_store.authors(self.db, info.episode_id)
        text, pinged = views.deadline_text(info, job, authors)
        routes = []
        if info.thread_id:
            routes.append(Route(text, channel_id=info.thread_id, ping=pinged))
        announcements = cfg.announcements_channel_id
        if announcements:
            routes.append(Route(views.moved_here(info, text), channel_id=announcements, ping=pinged))
        return Delivery(job.id, routes, f"job:{job.id}")
