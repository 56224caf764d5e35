"""Personal reminders (`/remind …`): set, list, edit, cancel, snooze, repeat, and their delivery through the
outbox.

A repeating reminder is one row that stays pending: the write that records a delivery (in the outbox's
transaction, `ReminderItems.record_in`) moves it to its next occurrence and adds that occurrence's job.
Edits and deliveries never overwrite each other: a delivery first claims what it sends
(`store.claim_for_delivery`, reading the reminder as it is), an edit writes only over the due time and
revision it read and only while no delivery has begun, and the delivery is recorded only over the due
time it sent. Reminders set in a DM with the bot have the scope `store.DM` (0) and are delivered there.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import discord

from bot.clock import from_ts, now
from bot.core.db import Database, Tx
from bot.core.jobs import Job, NewJob
from bot.core.outbox import PostingService
from bot.core.pacing import Delivery, Route
from bot.core.recurrence import Repeat, next_occurrence, parse_repeat, wall_clock
from bot.core.scheduler import DONE, LATE_AFTER, Failed, Outcome, Scheduler
from bot.core.text import ts
from bot.core.timeparse import ParsedTime, date_order_for, parse_when
from bot.errors import InvalidInput, NotAllowed, NotFound
from cogs.config import store as settings_store
from cogs.reminders import store
from cogs.reminders.store import Change, Occurrence, Reminder, Repetition
from cogs.reminders.views import CHOICES_MAX, choice_label, delivered_view

log = logging.getLogger(__name__)

REMINDER = "reminder"  # its job kind, and the prefix of its outbox items (`reminder:<id>:<due_at>`)
TEXT_MAX = 1500
MAX_PENDING = 25


async def zone_for(db: Database, guild_id: int, user_id: int) -> str:
    """The member's own time zone, else the server's (in a DM: their zone for DMs, else UTC)."""
    own = await store.get_timezone(db, guild_id, user_id)
    if own:
        return own
    if guild_id == store.DM:
        return "UTC"
    return (await settings_store.get(db, guild_id)).timezone


async def parse_for(
    db: Database, guild_id: int, user_id: int, when: str, *, locale: str | None = None
) -> ParsedTime:
    """A time a member typed, read in their time zone, numeric dates in the order of their Discord
    language (`locale`, e.g. `str(interaction.locale)`)."""
    return parse_when(
        when, now=now(), zone=await zone_for(db, guild_id, user_id), date_order=date_order_for(locale)
    )


def _repetition(rule: Repeat | None, first: datetime, zone: str) -> Repetition | None:
    """What a reminder due `first` and repeating by `rule` in `zone` stores."""
    if rule is None:
        return None
    return Repetition(rule.code, wall_clock(first, zone).isoformat(), zone)


@dataclass(slots=True)
class SnoozeResult:
    reminders: list[Reminder] = field(default_factory=list)  # snoozed by this click, until `until`
    until: datetime | None = None
    already: list[Reminder] = field(default_factory=list)  # snoozed before (e.g. by a concurrent click)


def _check_text(text: str) -> None:
    if not text.strip():
        raise InvalidInput("The reminder's text is empty: write what I should remind you of.")
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            f"The reminder's text is {len(text):,} characters long; the limit is {TEXT_MAX:,}."
        )


def _being_delivered(reminder: Reminder) -> InvalidInput:
    return InvalidInput(
        f"Reminder #{reminder.id} is being delivered right now (it was due {ts(reminder.due_at)}), so I "
        "can't change it until Discord has it. Try again in a minute."
        + (" Your edit will then apply to its next time." if reminder.rule else "")
    )


def _not_snoozable(reminders: list[Reminder]) -> InvalidInput:
    """The answer to a Snooze that changed nothing, saying what is stored (`reminders`: the pending
    ones that stand for what was clicked)."""
    again = sorted({r.due_at for r in reminders if r.pending})
    if again:
        times = ", ".join(f"{ts(t)} ({ts(t, 'R')})" for t in again[:5])
        return InvalidInput(f"Already snoozed: I'll remind you again {times}.")
    return InvalidInput("This reminder can't be snoozed any more.")


class ReminderItems:
    """What the outbox adds for personal reminders (`bot.core.outbox.ItemKind`): Snooze (and Show
    reminder) buttons, a grouped message's "Snooze just one" menus (so at most `CHOICES_MAX` reminders
    share a message), and, in the same write as their message, one-off reminders marked delivered and
    repeating ones moved to their next occurrence (with its job)."""

    most_per_message = CHOICES_MAX

    def __init__(self, db: Database, scheduler: Scheduler) -> None:
        self.db = db
        self.scheduler = scheduler
        # The jobs of next occurrences added by a `record_in` whose transaction has not committed yet.
        self._added: dict[str, NewJob] = {}

    async def view(self, items: list[str], *, reveal: bool, in_dm: bool) -> discord.ui.View | None:
        ids = _ids(items)
        if len(ids) == 1:
            return delivered_view(str(ids[0]), reveal=reveal)
        found = await store.get_many(self.db, ids)
        choices = [
            (i, choice_label(found[i], show_text=in_dm or not found[i].private)) for i in ids if i in found
        ]
        return delivered_view("m", reveal=reveal, choices=choices)

    async def record_in(
        self, tx: Tx, items: list[str], *, channel_id: int, message_id: int, at: float
    ) -> None:
        dues = _dues(items)
        pending = await store.pending_at_in(tx, dues)
        once = [r.id for r in pending if r.rule is None]
        await store.delivered_once_in(
            tx, once, due_at=dues, channel_id=channel_id, message_id=message_id, at=at
        )
        after = from_ts(at)
        assert after is not None
        for reminder in pending:
            rule = reminder.rule
            if rule is None or reminder.anchor is None or reminder.repeat_zone is None:
                continue
            # Strictly after now: occurrences missed while the bot was down are delivered once.
            upcoming = next_occurrence(
                rule, reminder.anchor, reminder.repeat_zone, max(after, reminder.due_at)
            )
            job = await store.next_occurrence_in(
                tx,
                reminder,
                int(upcoming.timestamp()),
                REMINDER,
                channel_id=channel_id,
                message_id=message_id,
                at=at,
            )
            if job is not None:
                self._added[store.job_key(reminder.id, reminder.due_ts)] = job

    def recorded(self, items: list[str]) -> None:
        store.forget_pending(self.db)
        added = [job for item in items if (job := self._added.pop(item, None)) is not None]
        if added:
            self.scheduler.jobs_changed(added)


def _ids(items: list[str]) -> list[int]:
    return [int(i.split(":")[1]) for i in items]


def _dues(items: list[str]) -> dict[int, int]:
    """Reminder id → the due time sent, from items `reminder:<id>:<due_at>`."""
    return {int(parts[1]): int(parts[2]) for parts in (i.split(":") for i in items)}


@dataclass(frozen=True, slots=True)
class Edited:
    reminder: Reminder
    changed: list[str]  # what changed, in words


class ReminderService(PostingService):
    """Its job kind (`REMINDER`) and outbox items (`ReminderItems`) are registered by `bot.app`.

    `scope` is the server's id, or `store.DM` for a DM with the bot."""

    # -- time zones ------------------------------------------------------------------------------------

    async def zone_for(self, scope: int, user_id: int) -> str:
        return await zone_for(self.db, scope, user_id)

    async def set_timezone(self, scope: int, user_id: int, zone: str) -> None:
        await store.set_timezone(self.db, scope, user_id, zone)

    async def parse(self, scope: int, user_id: int, when: str, locale: str | None = None) -> ParsedTime:
        return await parse_for(self.db, scope, user_id, when, locale=locale)

    # -- personal reminders ----------------------------------------------------------------------------

    async def create(
        self,
        scope: int,
        user_id: int,
        channel_id: int,
        when: str,
        text: str,
        private: bool,
        repeat: str | None = None,
        locale: str | None = None,
    ) -> Reminder:
        _check_text(text)
        rule = parse_repeat(repeat) if repeat is not None else None
        parsed = await self.parse(scope, user_id, when, locale)
        created = await store.create_scheduled(
            self.db,
            guild_id=scope,
            user_id=user_id,
            channel_id=channel_id,
            text=text,
            due_at=parsed.timestamp,
            private=private and scope != store.DM,
            job_kind=REMINDER,
            max_pending=MAX_PENDING,
            repetition=_repetition(rule, parsed.when, parsed.zone),  # the zone it was read in
        )
        if created is None:
            raise InvalidInput(
                f"You already have {MAX_PENDING} pending reminders, the most one member can hold. "
                "Cancel one with `/remind cancel` (see `/remind list`), then try again."
            )
        reminder, job = created
        self.scheduler.jobs_changed([job])
        return reminder

    async def edit(
        self,
        scope: int,
        user_id: int,
        reference: str,
        *,
        when: str | None = None,
        text: str | None = None,
        repeat: str | None = None,
        locale: str | None = None,
    ) -> Edited:
        """Change a pending reminder of one's own; one conditional write (see the module docstring)."""
        if when is None and text is None and repeat is None:
            raise InvalidInput("Tell me what to change: give a new `when`, `text` or `repeat` (or several).")
        reminder = await self.owned(scope, user_id, reference, "edit")
        if not reminder.pending:
            raise InvalidInput(
                f"Reminder #{reminder.id} is not pending any more ({reminder.state}): only a pending "
                "reminder can be edited. Set a new one with `/remind me`."
            )
        if reminder.sending_due is not None:
            raise _being_delivered(reminder)
        if text is not None:
            _check_text(text)
        rule = reminder.rule
        repetition = (
            Repetition(reminder.repeat, reminder.repeat_anchor, reminder.repeat_zone)
            if reminder.repeat and reminder.repeat_anchor and reminder.repeat_zone
            else None
        )
        due = reminder.due_at
        changed: list[str] = []
        if repeat is not None:
            new_rule = parse_repeat(repeat)
            if new_rule != rule:
                rule = new_rule
                zone = repetition.zone if repetition else await self.zone_for(scope, user_id)
                # A new rule follows the wall time of the next delivery (not an older anchor's day).
                repetition = _repetition(rule, due, zone)
                changed.append("repetition")
        if when is not None:
            parsed = await self.parse(scope, user_id, when, locale)
            due = parsed.when
            repetition = _repetition(rule, due, parsed.zone)
            changed.append("time")
        if text is not None and text != reminder.text:
            changed.append("text")
        if not changed:
            raise InvalidInput(f"Reminder #{reminder.id} is already like that: nothing to change.")
        change = Change(text if text is not None else reminder.text, int(due.timestamp()), repetition)
        written = await store.edit_scheduled(self.db, reminder, change, REMINDER)
        if written is None:
            raise await self._edit_lost(reminder)
        stored, job, cancelled = written
        if job is not None or cancelled:
            self.scheduler.jobs_changed([job] if job else [], cancelled)
        return Edited(stored, changed)

    async def _edit_lost(self, read: Reminder) -> InvalidInput:
        """Why an edit's conditional write changed nothing: what happened to the reminder meanwhile."""
        now_ = await store.get(self.db, read.id)
        if now_ is None or not now_.pending:
            state = now_.state if now_ else "deleted"
            return InvalidInput(
                f"Reminder #{read.id} was {state} just now, before your edit: nothing was changed."
            )
        if now_.sending_due is not None:
            return _being_delivered(now_)
        if now_.revision != read.revision:
            return InvalidInput(
                f"Reminder #{read.id} was edited by another of your commands just now: nothing was changed "
                "by this one. See `/remind list`, then edit it again if you still want to."
            )
        if now_.due_at != read.due_at:
            return InvalidInput(
                f"Reminder #{read.id} was delivered just now and is next due {ts(now_.due_at)}: nothing "
                "was changed. Edit it again if you still want to."
            )
        return InvalidInput(f"Reminder #{read.id} changed just now: nothing was changed. Try again.")

    async def pending(self, scope: int, user_id: int) -> list[Reminder]:
        return await store.pending_for(self.db, scope, user_id)

    async def owned(self, scope: int, user_id: int, reference: str, doing: str) -> Reminder:
        raw = reference.strip().lstrip("#")
        reminder = await store.get(self.db, int(raw)) if raw.isdigit() and len(raw) < 19 else None
        if reminder is None or reminder.guild_id != scope:
            raise NotFound(
                f"There is no reminder `{reference.strip()[:30]}` here. Pick one of yours from the "
                "suggestions, or see `/remind list`."
            )
        if reminder.user_id != user_id:
            raise NotAllowed(f"That reminder belongs to someone else: you can only {doing} your own.")
        return reminder

    async def cancel(self, scope: int, user_id: int, reference: str) -> Reminder:
        """Cancel a pending reminder; a repeating one stops for good."""
        reminder = await self.owned(scope, user_id, reference, "cancel")
        if not reminder.pending:
            raise InvalidInput(f"Reminder #{reminder.id} is not pending any more ({reminder.state}).")
        await store.cancel(self.db, reminder.id)
        if reminder.job_id is not None:
            await self.scheduler.cancel(reminder.job_id)
        return reminder

    async def snooze(
        self, guild_id: int | None, user_id: int, target: str, seconds: int, message_id: int | None
    ) -> SnoozeResult:
        """Snooze one reminder (`target` is its id) or the caller's reminders in a grouped message.

        A one-off comes back itself; an occurrence of a repeating reminder comes back as a one-off
        copy (one per occurrence), while the series goes on."""
        in_message = await store.in_message(self.db, message_id or 0)
        occurrences = {o.reminder_id: o for o in await store.occurrences_in(self.db, message_id or 0)}
        if target == "m":
            mine = [r for r in in_message if r.user_id == user_id]
            if not mine:
                raise NotAllowed("None of these reminders are yours: only their owners can snooze them.")
        else:
            reminder = await store.get(self.db, int(target))
            # In a DM (no guild id) the button may be a server's private reminder, delivered there.
            if reminder is None or (guild_id is not None and reminder.guild_id != guild_id):
                raise NotFound("That reminder no longer exists.")
            if reminder.user_id != user_id:
                raise NotAllowed("Only the member this reminder is for can snooze it.")
            mine = [reminder]
        repeats = [occurrences[r.id] for r in mine if r.id in occurrences]
        ready = [r for r in mine if r.id not in occurrences and r.state == store.DELIVERED]
        if not ready and not any(o.snooze_id is None for o in repeats):
            raise await self._not_snoozable(mine, repeats)
        until = now().replace(microsecond=0) + timedelta(seconds=seconds)
        snoozed, jobs = await store.snooze_scheduled(
            self.db, [r.id for r in ready], int(until.timestamp()), REMINDER
        )
        copies, copy_jobs = await store.snooze_occurrences(self.db, repeats, int(until.timestamp()), REMINDER)
        self.scheduler.jobs_changed(jobs + copy_jobs)
        done = snoozed + copies
        if not done:
            fresh = await store.occurrences_in(self.db, message_id or 0)
            raise await self._not_snoozable(mine, [o for o in fresh if o.reminder_id in occurrences])
        # Read back what is stored: another click may have snoozed some of them first.
        again = await self._snoozed_times(mine, repeats, exclude={r.id for r in done})
        return SnoozeResult(reminders=done, until=until, already=again)

    async def _snoozed_times(
        self, mine: list[Reminder], repeats: list[Occurrence], exclude: set[int]
    ) -> list[Reminder]:
        """The pending reminders that stand for `mine` snoozed earlier: one-offs pending again, and the
        copies of occurrences."""
        fresh = await store.occurrences_in(self.db, repeats[0].message_id) if repeats else []
        copy_ids = [
            o.snooze_id for o in fresh if o.snooze_id and o.reminder_id in {r.reminder_id for r in repeats}
        ]
        once = [r.id for r in mine if r.id not in {o.reminder_id for o in repeats}]
        rows = await store.get_many(self.db, [*once, *copy_ids])
        return sorted((r for r in rows.values() if r.id not in exclude and r.pending), key=lambda r: r.due_at)

    async def _not_snoozable(self, mine: list[Reminder], repeats: list[Occurrence]) -> InvalidInput:
        return _not_snoozable(await self._snoozed_times(mine, repeats, exclude=set()))

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

    async def delivery_groups(self, jobs: list[Job]) -> dict[int, Hashable]:
        """Which due reminders the scheduler must hand over together (`Scheduler.register`'s
        `together`): one member's private ones (one DM), and one channel's others (grouped posts)."""
        reminders = await store.get_many(self.db, (j.payload.get("reminder_id", 0) for j in jobs))
        groups: dict[int, Hashable] = {}
        for job in jobs:
            r = reminders.get(job.payload.get("reminder_id", 0))
            if r is not None:
                groups[job.id] = ("dm", r.user_id) if r.private or r.in_dm else ("channel", r.channel_id)
        return groups

    async def deliver_reminders(self, jobs: list[Job]) -> dict[int, Outcome]:
        # What is sent is read in the write that claims it: an edit cannot slip in between.
        reminders = await store.claim_for_delivery(
            self.db, [(j.payload.get("reminder_id", 0), j.id) for j in jobs]
        )
        outcomes: dict[int, Outcome] = {}
        deliveries: list[Delivery] = []
        for job in jobs:
            reminder = reminders.get(job.payload.get("reminder_id", 0))
            if reminder is None or (reminder.job_id is not None and reminder.job_id != job.id):
                # Cancelled, delivered before a crash, or superseded by a newer job (snoozed, edited).
                outcomes[job.id] = DONE
                continue
            cfg = await settings_store.get(self.db, reminder.guild_id)  # cached by the storage layer
            routes = self._reminder_routes(reminder, cfg.announcements_channel_id)
            deliveries.append(Delivery(job.id, routes, store.job_key(reminder.id, reminder.due_ts)))
        if reminders:
            store.forget_pending(self.db)
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
        if r.rule is not None:
            head += f" (repeats {r.rule.label})"
        if r.snoozes:
            head += " (snoozed)"
        if late:
            head += f" (this was due {ts(r.due_at, 'R')})"
        full = f"{head}:\n{r.text}"
        ping = (r.user_id,)
        if r.in_dm:
            return [Route(full, dm_user_id=r.user_id, ping=ping)]  # set in a DM: delivered there
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

    async def _schedule_reminder(self, reminder: Reminder) -> None:
        job_id = await self.scheduler.schedule(
            REMINDER,
            reminder.due_at,
            {"reminder_id": reminder.id},
            guild_id=reminder.guild_id or None,
            dedupe_key=store.job_key(reminder.id, reminder.due_ts),
        )
        await store.set_job(self.db, reminder.id, job_id)

    async def reconcile(self) -> None:
        """At start: every pending reminder has a job."""
        for reminder in await store.without_job(self.db):
            log.info("rescheduling reminder %s, which had no pending job", reminder.id)
            await self._schedule_reminder(reminder)
