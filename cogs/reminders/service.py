"""Personal reminders (`/remind …`): set, list, cancel, snooze, and their delivery through the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import discord

from bot.clock import now
from bot.core.db import Database, Tx
from bot.core.jobs import Job
from bot.core.outbox import PostingService
from bot.core.pacing import Delivery, Route
from bot.core.scheduler import DONE, LATE_AFTER, Failed, Outcome
from bot.core.text import ts
from bot.core.timeparse import ParsedTime, parse_when
from bot.errors import InvalidInput, NotAllowed, NotFound
from cogs.config import store as settings_store
from cogs.reminders import store
from cogs.reminders.store import Reminder
from cogs.reminders.views import delivered_view

log = logging.getLogger(__name__)

REMINDER = "reminder"  # its job kind, and the prefix of its outbox items (`reminder:<id>:<due_at>`)
TEXT_MAX = 1500
MAX_PENDING = 25


async def zone_for(db: Database, guild_id: int, user_id: int) -> str:
    """The member's own time zone, else the server's."""
    own = await store.get_timezone(db, guild_id, user_id)
    if own:
        return own
    return (await settings_store.get(db, guild_id)).timezone


async def parse_for(db: Database, guild_id: int, user_id: int, when: str) -> ParsedTime:
    """A time a member typed, read in their time zone."""
    return parse_when(when, now=now(), zone=await zone_for(db, guild_id, user_id))


@dataclass(slots=True)
class SnoozeResult:
    reminders: list[Reminder] = field(default_factory=list)  # snoozed by this click, until `until`
    until: datetime | None = None
    already: list[Reminder] = field(default_factory=list)  # snoozed before (e.g. by a concurrent click)


def _not_snoozable(reminders: list[Reminder]) -> InvalidInput:
    """The answer to a Snooze that changed nothing, saying what is stored."""
    again = sorted({r.due_at for r in reminders if r.pending})
    if again:
        times = ", ".join(f"{ts(t)} ({ts(t, 'R')})" for t in again[:5])
        return InvalidInput(f"Already snoozed: I'll remind you again {times}.")
    return InvalidInput("This reminder can't be snoozed any more.")


class ReminderItems:
    """What the outbox adds for personal reminders (`bot.core.outbox.ItemKind`): Snooze (and Show
    reminder) buttons, and the reminders marked delivered in the same write as their message."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def view(self, items: list[str], *, reveal: bool) -> discord.ui.View | None:
        ids = _ids(items)
        return delivered_view(str(ids[0]) if len(ids) == 1 else "m", reveal=reveal)

    async def record_in(
        self, tx: Tx, items: list[str], *, channel_id: int, message_id: int, at: float
    ) -> None:
        await store.mark_delivered_in(tx, _ids(items), channel_id=channel_id, message_id=message_id, at=at)

    def recorded(self, items: list[str]) -> None:
        store.forget_pending(self.db)


def _ids(items: list[str]) -> list[int]:
    return [int(i.split(":")[1]) for i in items]


class ReminderService(PostingService):
    """Its job kind (`REMINDER`) and outbox items (`ReminderItems`) are registered by `bot.app`."""

    # -- time zones ------------------------------------------------------------------------------------

    async def zone_for(self, guild_id: int, user_id: int) -> str:
        return await zone_for(self.db, guild_id, user_id)

    async def set_timezone(self, guild_id: int, user_id: int, zone: str) -> None:
        await store.set_timezone(self.db, guild_id, user_id, zone)

    async def parse(self, guild_id: int, user_id: int, when: str) -> ParsedTime:
        return await parse_for(self.db, guild_id, user_id, when)

    # -- personal reminders ----------------------------------------------------------------------------

    async def create(
        self, guild_id: int, user_id: int, channel_id: int, when: str, text: str, private: bool
    ) -> Reminder:
        if not text.strip():
            raise InvalidInput("The reminder's text is empty: write what I should remind you of.")
        if len(text) > TEXT_MAX:
            raise InvalidInput(
                f"The reminder's text is {len(text):,} characters long; the limit is {TEXT_MAX:,}."
            )
        parsed = await self.parse(guild_id, user_id, when)
        created = await store.create_scheduled(
            self.db,
            guild_id=guild_id,
            user_id=user_id,
            channel_id=channel_id,
            text=text,
            due_at=parsed.timestamp,
            private=private,
            job_kind=REMINDER,
            max_pending=MAX_PENDING,
        )
        if created is None:
            raise InvalidInput(
                f"You already have {MAX_PENDING} pending reminders, the most one member can hold. "
                "Cancel one with `/remind cancel` (see `/remind list`), then try again."
            )
        reminder, job = created
        self.scheduler.jobs_changed([job])
        return reminder

    async def _schedule_reminder(self, reminder: Reminder) -> None:
        job_id = await self.scheduler.schedule(
            REMINDER,
            reminder.due_at,
            {"reminder_id": reminder.id},
            guild_id=reminder.guild_id,
            dedupe_key=store.job_key(reminder.id, int(reminder.due_at.timestamp())),
        )
        await store.set_job(self.db, reminder.id, job_id)

    async def pending(self, guild_id: int, user_id: int) -> list[Reminder]:
        return await store.pending_for(self.db, guild_id, user_id)

    async def owned(self, guild_id: int, user_id: int, reference: str, doing: str) -> Reminder:
        raw = reference.strip().lstrip("#")
        reminder = await store.get(self.db, int(raw)) if raw.isdigit() and len(raw) < 19 else None
        if reminder is None or reminder.guild_id != guild_id:
            raise NotFound(
                f"There is no reminder `{reference.strip()[:30]}` here. Pick one of yours from the "
                "suggestions, or see `/remind list`."
            )
        if reminder.user_id != user_id:
            raise NotAllowed(f"That reminder belongs to someone else: you can only {doing} your own.")
        return reminder

    async def cancel(self, guild_id: int, user_id: int, reference: str) -> Reminder:
        reminder = await self.owned(guild_id, user_id, reference, "cancel")
        if not reminder.pending:
            raise InvalidInput(f"Reminder #{reminder.id} is not pending any more ({reminder.state}).")
        await store.cancel(self.db, reminder.id)
        if reminder.job_id is not None:
            await self.scheduler.cancel(reminder.job_id)
        return reminder

    async def snooze(
        self, guild_id: int | None, user_id: int, target: str, seconds: int, message_id: int | None
    ) -> SnoozeResult:
        """Snooze one reminder (`target` is its id) or the caller's reminders in a grouped message."""
        if target == "m":
            mine = [r for r in await store.in_message(self.db, message_id or 0) if r.user_id == user_id]
            if not mine:
                raise NotAllowed("None of these reminders are yours: only their owners can snooze them.")
        else:
            reminder = await store.get(self.db, int(target))
            if reminder is None or (guild_id is not None and reminder.guild_id != guild_id):
                raise NotFound("That reminder no longer exists.")
            if reminder.user_id != user_id:
                raise NotAllowed("Only the member this reminder is for can snooze it.")
            mine = [reminder]
        ready = [r for r in mine if r.state == store.DELIVERED]
        if not ready:
            raise _not_snoozable(mine)
        until = now().replace(microsecond=0) + timedelta(seconds=seconds)
        snoozed, jobs = await store.snooze_scheduled(
            self.db, [r.id for r in ready], int(until.timestamp()), REMINDER
        )
        self.scheduler.jobs_changed(jobs)
        # Read back what is stored: another click may have snoozed some (or all) of them first.
        fresh = await store.get_many(self.db, [r.id for r in mine])
        if not snoozed:
            raise _not_snoozable(list(fresh.values()))
        done = {r.id for r in snoozed}
        others = sorted((r for r in fresh.values() if r.id not in done and r.pending), key=lambda r: r.due_at)
        return SnoozeResult(reminders=snoozed, until=until, already=others)

    async def reveal(self, user_id: int, target: str, message_id: int | None) -> list[Reminder]:
        if target == "m":
            rows = await store.in_message(self.db, message_id or 0)
        else:
            found = await store.get(self.db, int(target))
            rows = [found] if found else []
        mine = [r for r in rows if r.user_id == user_id and r.private]
        if not mine:
            raise NotAllowed("This private reminder is not yours: only its owner can read it.")
        return mine

    async def deliver_reminders(self, jobs: list[Job]) -> dict[int, Outcome]:
        reminders = await store.get_many(self.db, [j.payload.get("reminder_id", 0) for j in jobs])
        outcomes: dict[int, Outcome] = {}
        deliveries: list[Delivery] = []
        for job in jobs:
            reminder = reminders.get(job.payload.get("reminder_id", 0))
            if reminder is None or not reminder.pending:
                outcomes[job.id] = DONE  # cancelled, or already delivered before a crash
                continue
            if reminder.job_id is not None and reminder.job_id != job.id:
                outcomes[job.id] = DONE  # superseded by a newer job (snoozed)
                continue
            cfg = await settings_store.get(self.db, reminder.guild_id)  # cached by the storage layer
            routes = self._reminder_routes(reminder, cfg.announcements_channel_id)
            item = store.job_key(reminder.id, int(reminder.due_at.timestamp()))
            deliveries.append(Delivery(job.id, routes, item))
        results = await self.outbox.deliver(deliveries)
        failed = [
            j.payload["reminder_id"]
            for j in jobs
            if isinstance(results.get(j.id), Failed) and j.payload.get("reminder_id") in reminders
        ]
        if failed:
            log.warning("reminders %s could not be delivered anywhere", failed)
            await store.mark_failed(self.db, failed)
        outcomes.update(results)
        return outcomes

    def _reminder_routes(self, r: Reminder, announcements_id: int | None) -> list[Route]:
        late = now().timestamp() - r.due_at.timestamp() > LATE_AFTER
        head = f"⏰ <@{r.user_id}>, your reminder from {ts(r.created_at, 'R')}"
        if r.snoozes:
            head += " (snoozed)"
        if late:
            head += f" (this was due {ts(r.due_at, 'R')})"
        full = f"{head}:\n{r.text}"
        ping = (r.user_id,)
        note = (
            f"🔒 <@{r.user_id}>, your private reminder from {ts(r.created_at, 'R')} is due"
            + (f" (it was due {ts(r.due_at, 'R')})" if late else "")
            + ", but I couldn't send it by DM. Press **Show reminder** to read it here, only you can see it."
        )
        moved = f"(I couldn't post in <#{r.channel_id}>, so it's here.) "
        routes: list[Route]
        if r.private:
            routes = [
                Route(full, dm_user_id=r.user_id, ping=ping),
                Route(note, channel_id=r.channel_id, ping=ping, reveal=True),
            ]
            if announcements_id and announcements_id != r.channel_id:
                routes.append(Route(moved + note, channel_id=announcements_id, ping=ping, reveal=True))
            return routes
        routes = [Route(full, channel_id=r.channel_id, ping=ping)]
        if announcements_id and announcements_id != r.channel_id:
            routes.append(Route(moved + full, channel_id=announcements_id, ping=ping))
        routes.append(Route(moved + full, dm_user_id=r.user_id, ping=ping))
        return routes

    async def reconcile(self) -> None:
        """At start: every pending reminder has a job."""
        for reminder in await store.without_job(self.db):
            log.info("rescheduling reminder %s, which had no pending job", reminder.id)
            await self._schedule_reminder(reminder)
