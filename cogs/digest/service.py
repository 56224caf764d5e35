"""The weekly digest: keep the next one scheduled per server, and post it, each page exactly once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import discord

from bot.clock import now
from bot.core import jobs as job_store
from bot.core import recurrence
from bot.core.jobs import Job
from bot.core.outbox import UNKNOWN, PostingService, Unrecorded
from bot.core.pacing import transient
from bot.core.scheduler import DONE, LATE_AFTER, Failed, Outcome, Retry
from cogs.config import store as settings_store
from cogs.config.store import GuildSettings
from cogs.deadlines import rules as deadline_rules
from cogs.deadlines import store as deadline_store
from cogs.digest import rules, store
from cogs.digest.views import digest_pages

log = logging.getLogger(__name__)

DIGEST = "digest"  # its job kind, and the prefix of its outbox items (`digest:<guild>:<week>:<page>`)
DIGEST_HORIZON = timedelta(days=14)


# A digest the announcements channel refuses (403) is tried again for this long: until the next one.
REFUSED_RETRY_FOR = 6 * 24 * 3600.0


class DigestService(PostingService):
    """Its job kind (`DIGEST`) is registered by `bot.app`."""

    async def ensure_digest(self, guild_id: int, *, reschedule: bool = False) -> datetime | None:
        """Make sure a server with an announcements channel has its next digest scheduled."""
        prefix = f"digest:{guild_id}:"
        cfg = await settings_store.get(self.db, guild_id)
        if not cfg.announcements_channel_id:
            await self.scheduler.cancel_by_key_prefix(prefix)
            return None
        if not reschedule:
            existing = await job_store.pending(self.db, kind=DIGEST, guild_id=guild_id)
            if existing:
                return datetime.fromtimestamp(existing[0].due_at, tz=UTC)
        else:
            await self.scheduler.cancel_by_key_prefix(prefix)
        return await self._schedule_next_digest(cfg, now())

    async def _schedule_next_digest(
        self, cfg: GuildSettings, after: datetime, *, skip: str | None = None
    ) -> datetime:
        """Schedule the first digest after `after` whose week has none yet (nor is `skip`, the week
        of the job being delivered, whose own job is still pending until it is marked done)."""
        sent = await store.sent_weeks(self.db, cfg.guild_id)
        if skip:
            sent.add(skip)
        at_time = recurrence.parse_hhmm(cfg.digest_time)
        when = recurrence.next_weekly(after, cfg.digest_day, at_time, cfg.timezone)
        while recurrence.week_key(when, cfg.timezone) in sent:
            when = recurrence.next_weekly(when, cfg.digest_day, at_time, cfg.timezone)
        week = recurrence.week_key(when, cfg.timezone)
        await self.scheduler.schedule(
            DIGEST,
            when,
            {"week": week, "zone": cfg.timezone},
            guild_id=cfg.guild_id,
            dedupe_key=f"digest:{cfg.guild_id}:{week}",
        )
        return when

    async def deliver_digest(self, job: Job) -> Outcome:
        guild_id = job.guild_id
        if guild_id is None:
            return Failed("a digest job without a server")
        cfg = await settings_store.get(self.db, guild_id)
        week = str(job.payload.get("week") or recurrence.week_key(now(), cfg.timezone))
        if not cfg.announcements_channel_id:
            return DONE  # scheduled again when announcements are configured
        if await store.digest_sent(self.db, guild_id, week):
            await self._schedule_next_digest(cfg, now(), skip=week)
            return DONE
        pages = await self.digest_pages(cfg, week, late=now().timestamp() - job.due_at > LATE_AFTER)
        # Each page is one message, sent once: pages an earlier attempt got through are not sent again.
        items = [f"digest:{guild_id}:{week}:{n}" for n in range(len(pages))]
        settled = await self.outbox.settle(items)
        if UNKNOWN in settled.values():
            return Retry("could not check yet whether an earlier digest page arrived")
        try:
            channel = await self._post_pages(cfg, items, pages, settled)
        except _Paced as paced:
            return Retry("paced: channel busy", after=max(paced.wait, 6.0))
        except (discord.NotFound, discord.Forbidden) as exc:
            await self._schedule_next_digest(cfg, now(), skip=week)
            if isinstance(exc, discord.Forbidden) and now().timestamp() - job.due_at < REFUSED_RETRY_FOR:
                # A moderator took a permission away: this week's digest waits for it to come back.
                return Retry(f"announcements channel refused ({exc.status})")
            log.warning(
                "digest of server %s not posted: announcements channel refused (%s)", guild_id, exc.status
            )
            return Failed(f"announcements channel refused ({exc.status})")
        except (discord.HTTPException, TimeoutError, aiohttp.ClientError, OSError) as exc:
            return transient(exc)
        except Unrecorded as exc:
            return Retry(f"attempt not recorded: {exc}")
        await store.record_digest(self.db, guild_id, week, channel_id=channel.id, message_id=None)
        self.db.metrics.count("digest.sent")
        await self._schedule_next_digest(cfg, now(), skip=week)
        return DONE

    async def _post_pages(
        self, cfg: GuildSettings, items: list[str], pages: list[discord.Embed], settled: dict[str, str]
    ) -> discord.abc.Messageable:
        """Post the pages not settled yet, paced; raises `_Paced` when the channel is busy, and what
        the outbox's `post` raises when the channel refuses."""
        channel_id = cfg.announcements_channel_id
        assert channel_id is not None
        allowed = discord.AllowedMentions.none()
        key = f"ch:{channel_id}"
        channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        for item, page in zip(items, pages, strict=True):
            if item in settled:
                continue
            wait = self.outbox.pacer.wait(key)
            if wait > 0:
                raise _Paced(wait)
            try:
                await self.outbox.post(channel, {"embed": page, "allowed_mentions": allowed}, [item])
            except discord.HTTPException as exc:
                if exc.status in (403, 404, 429) or exc.status >= 500:
                    raise
                # This page can never be posted as it is (a 400): the others still are.
                log.warning("page %s of the digest of server %s refused (%s)", item, cfg.guild_id, exc.status)
            self.outbox.pacer.sent(key)
        return channel

    async def digest_pages(self, cfg: GuildSettings, week: str, *, late: bool = False) -> list[discord.Embed]:
        current = now()
        needing = await store.needing_author(self.db, cfg.guild_id)
        research = await store.research_counts(self.db, cfg.guild_id)
        upcoming = [
            d
            for d in await deadline_store.deadlines_between(
                self.db, cfg.guild_id, int(current.timestamp()), int((current + DIGEST_HORIZON).timestamp())
            )
            if deadline_rules.is_open(d)
        ]
        try:
            first_day = rules.digest_day(week, cfg.digest_day)
        except ValueError:  # not a week key: the digest is of the week that starts today
            first_day = current.astimezone(ZoneInfo(cfg.timezone)).date()
        return digest_pages(cfg, first_day, current, needing, research, upcoming, late=late)

    async def reconcile(self) -> None:
        """At start: every configured server has a pending digest."""
        pending = {job.guild_id for job in await job_store.pending(self.db, kind=DIGEST)}
        for guild_id in await settings_store.all_guild_ids(self.db):
            if guild_id not in pending:
                await self.ensure_digest(guild_id)


class _Paced(Exception):
    """The announcements channel is busy: the rest of the digest waits `wait` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"paced for {wait:.1f}s")
        self.wait = wait
