"""Personal reminders, deadline reminders and the weekly digest, delivered through the one scheduler.

Delivery is at-least-once inside the bot and exactly-once as members see it. Every message a delivery
posts is recorded before it is sent (`sends`: the items it carries, a nonce, what it says), sent with
that nonce (Discord deduplicates a repeated nonce for a few minutes), and recorded as sent with its
message id as soon as Discord accepted it (personal reminders are marked delivered in the same write).
Before anything is sent again, its earlier sends are settled: one recorded as sent counts as delivered,
whatever happened to the job afterwards; one whose outcome is unknown (the process died, or the
database refused the write, after the send) is looked for among the channel's recent messages, and
only when it is verifiably not there is the item sent again.

- 5xx, 429 and network errors are retried with backoff; a permanent refusal (403, 404) moves on to
  the next place to deliver (DM → the channel where it was set; deleted channel or thread → the
  announcements channel), and when none is left the job fails and is logged;
- everything due at once for one channel goes out grouped into as few messages as Discord's 2000
  characters allow, paced per channel (`ChannelPacer`) so an outage never ends in a flood or a 429.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import discord

from bot.clock import from_ts, now
from bot.core import jobs as job_store
from bot.core import recurrence
from bot.core.db import Database
from bot.core.jobs import Job, NewJob
from bot.core.scheduler import DONE, LATE_AFTER, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService
from bot.core.timeparse import ParsedTime, parse_when
from bot.errors import InvalidInput, NotAllowed, NotFound
from cogs.config import rules as schedule_rules
from cogs.config import store as settings_store
from cogs.config.store import GuildSettings
from cogs.episodes import store as episode_store
from cogs.episodes.rules import Milestone, Status
from cogs.episodes.service import EpisodeService
from cogs.episodes.store import Episode
from cogs.reminders import store
from cogs.reminders.store import DeadlineInfo, Reminder
from cogs.reminders.views import delivered_view

log = logging.getLogger(__name__)

REMINDER, DEADLINE, DIGEST = "reminder", "deadline", "digest"
TEXT_MAX = 1500
MAX_PENDING = 25
OVERDUE_AFTER = timedelta(days=1)
DIGEST_HORIZON = timedelta(days=14)
MESSAGE_MAX = 2000
EMBED_MAX = 3900
MAX_PINGS = 100  # Discord's limit on allowed_mentions.users
DIGEST_PAGES_MAX = 10  # messages one digest may post
SENDS_KEPT = timedelta(days=30)  # how long a resolved send is remembered (its job finished long before)


def ts(when: datetime | float, style: str = "f") -> str:
    value = when.timestamp() if isinstance(when, datetime) else when
    return f"<t:{int(value)}:{style}>"


# -- sending: routes, grouping, pacing ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One place to deliver something: a channel (`channel_id`) or a member's DMs (`dm_user_id`)."""

    text: str
    channel_id: int | None = None
    dm_user_id: int | None = None
    ping: tuple[int, ...] = ()
    reminder_id: int | None = None  # a personal reminder: recorded as delivered, gets Snooze buttons
    reveal: bool = False  # a private reminder shown in a channel: the text stays behind a button

    @property
    def key(self) -> str:
        return f"dm:{self.dm_user_id}" if self.dm_user_id is not None else f"ch:{self.channel_id}"

    @property
    def solo(self) -> bool:
        """Text with an open code block would swallow whatever is grouped after it."""
        return "```" in self.text


@dataclass(slots=True)
class Delivery:
    job_id: int
    routes: list[Route]
    item: str  # what is delivered, as the sends record it (see `Outbox.settle`)
    step: int = 0

    @property
    def route(self) -> Route:
        return self.routes[self.step]


class ChannelPacer:
    """At most `limit` messages per `per` seconds into one channel (Discord's per-channel limit is
    5 per 5 s): what does not fit now is retried a little later instead of meeting a 429."""

    def __init__(self, limit: int = 5, per: float = 5.0) -> None:
        self.limit = limit
        self.per = per
        self._sent: dict[str, list[float]] = {}

    def wait(self, key: str) -> float:
        at = now().timestamp()
        recent = [t for t in self._sent.get(key, []) if at - t < self.per]
        if recent:
            self._sent[key] = recent
        else:
            self._sent.pop(key, None)
        return 0.0 if len(recent) < self.limit else recent[0] + self.per - at

    def sent(self, key: str) -> None:
        self._sent.setdefault(key, []).append(now().timestamp())


class _Permanent(Exception):
    """This route can never work (deleted channel, DMs closed, no access)."""


class Unrecorded(Exception):
    """The intent to send could not be recorded, so nothing was sent."""


SENT, UNKNOWN = job_store.SENT, job_store.UNKNOWN


def fingerprint(content: str | None, embeds: Sequence[discord.Embed] = ()) -> str:
    """What identifies a message the bot posted, as Discord shows it back: its text and its embeds'
    titles and descriptions."""
    parts = [(content or "").strip()]
    for embed in embeds:
        parts += [(embed.title or "").strip(), (embed.description or "").strip()]
    return "\x1f".join(parts)


def nonce_for(items: Sequence[str]) -> str:
    """The nonce of a message carrying `items`: every attempt at the same items sends the same one, so
    Discord, which deduplicates a repeated nonce for a few minutes, never makes a second message of a
    send whose answer was lost (items name one delivery each; 24 characters, Discord takes 25)."""
    return hashlib.sha256("\x1f".join(sorted(items)).encode()).hexdigest()[:24]


def _reminder_ids(items: Sequence[str]) -> list[int]:
    return [int(i.split(":")[1]) for i in items if i.startswith("reminder:")]


def _fit(text: str, limit: int = MESSAGE_MAX) -> str:
    """Cut a text that would break Discord's limit, visibly."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit + 40
    return text[: limit - 40] + f" … ({cut:,} characters cut)"


def pack(deliveries: list[Delivery], limit: int = MESSAGE_MAX) -> list[list[Delivery]]:
    """Group texts for one channel into as few messages of at most `limit` characters as possible."""
    messages: list[list[Delivery]] = []
    length = 0
    for delivery in deliveries:
        text = delivery.route.text
        if (
            not messages
            or delivery.route.solo
            or messages[-1][-1].route.solo
            or length + 2 + len(text) > limit
        ):
            messages.append([delivery])
            length = len(text)
        else:
            messages[-1].append(delivery)
            length += 2 + len(text)
    return messages


class Outbox:
    """Sends deliveries grouped per channel, with fallbacks, pacing and an outcome per job; records
    every message before and after it is sent, and settles earlier sends before sending again."""

    LOOK_BACK = 100  # messages read after an attempt of unknown outcome
    SKEW = 60.0  # seconds before an attempt where its message may show up (clocks differ)

    def __init__(self, bot: discord.Client, db: Database, pacer: ChannelPacer) -> None:
        self.bot = bot
        self.db = db
        self.pacer = pacer
        self.messages_sent = 0
        self.rate_limited = 0
        self.look_ups = 0

    async def deliver(self, deliveries: list[Delivery]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for d in deliveries:
            if not d.routes:
                outcomes[d.job_id] = Failed("nowhere to deliver")
        active = [d for d in deliveries if d.routes]
        settled = await self.settle([d.item for d in active])
        for d in active:
            if settled.get(d.item) == SENT:
                outcomes[d.job_id] = DONE  # Discord has it already: never twice
            elif settled.get(d.item) == UNKNOWN:
                outcomes[d.job_id] = Retry("could not check yet whether an earlier attempt arrived")
        active = [d for d in active if d.item not in settled]
        while active:
            by_route: dict[str, list[Delivery]] = {}
            for d in active:
                by_route.setdefault(d.route.key, []).append(d)
            moved: list[Delivery] = []
            for key, group in by_route.items():
                try:
                    moved += await self._send_group(key, group, outcomes)
                except Exception as exc:  # a bug must not make the whole batch (sent ones too) retry
                    log.exception("delivery to %s failed unexpectedly", key)
                    for d in group:
                        outcomes.setdefault(d.job_id, Retry(f"{type(exc).__name__}: {exc}"))
            active = []
            for d in moved:
                d.step += 1
                if d.step < len(d.routes):
                    active.append(d)
                else:
                    outcomes[d.job_id] = Failed("every place to deliver refused it")
        return outcomes

    # -- exactly once: settle what earlier attempts did ------------------------------------------------

    async def settle(self, items: list[str]) -> dict[str, str]:
        """What earlier sends of `items` did: `SENT` for an item Discord has (recorded, or found among
        its channel's recent messages, then recorded), `UNKNOWN` for one that could not be checked now
        (retry later). Items not in the answer were never sent, or verifiably did not arrive."""
        if not items:
            return {}
        wanted = set(items)
        result: dict[str, str] = {}
        unknown: dict[int, list[job_store.Send]] = {}
        for send in await job_store.open_sends(self.db, items):
            if send.state == SENT:
                result.update((i, SENT) for i in send.items if i in wanted)
                ids = _reminder_ids(send.items)
                if ids and send.message_id is not None:  # in case that mark was lost
                    await store.mark_delivered(
                        self.db, ids, channel_id=send.channel_id, message_id=send.message_id
                    )
            else:
                unknown.setdefault(send.channel_id, []).append(send)
        absent: list[int] = []
        for channel_id, sends in unknown.items():
            found = await self._look_up(channel_id, sends)
            for send in sends:
                if send.id not in found:
                    for i in send.items:
                        if i in wanted:
                            result.setdefault(i, UNKNOWN)
                elif (message := found[send.id]) is None:
                    absent.append(send.id)
                else:
                    log.info("found message %s of an attempt whose outcome was unknown", message.id)
                    await store.record_delivery(
                        self.db,
                        send.id,
                        message.id,
                        channel_id=channel_id,
                        reminder_ids=_reminder_ids(send.items),
                    )
                    result.update((i, SENT) for i in send.items if i in wanted)
        if absent:
            await job_store.record_absent(self.db, absent, now().timestamp())
        return result

    async def _look_up(
        self, channel_id: int, sends: list[job_store.Send]
    ) -> dict[int, discord.Message | None]:
        """Find the messages of sends whose outcome is unknown among the channel's messages since.
        A send maps to its message, or to None when it is verifiably not there; a send left out could
        not be checked now. An empty answer proves absence only where the bot may read the history."""
        self.look_ups += 1
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            guild = getattr(channel, "guild", None)
            if guild is None or channel.permissions_for(guild.me).read_message_history:
                after = from_ts(min(s.created_at for s in sends) - self.SKEW)
                assert after is not None
                snowflake = discord.Object(discord.utils.time_snowflake(after))
                messages = [m async for m in channel.history(limit=self.LOOK_BACK, after=snowflake)]
            else:
                messages = None
        except discord.NotFound:
            return {s.id: None for s in sends}  # the channel is gone, and its messages with it
        except discord.Forbidden:
            messages = None
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            log.info("could not read channel %s to check an earlier attempt: %s", channel_id, exc)
            return {}
        if messages is None:
            # Discord would answer an empty history: the bot cannot tell, and holding the delivery
            # back for ever would lose it. It sends again.
            log.warning("cannot read channel %s to check an earlier attempt; sending again", channel_id)
            return {s.id: None for s in sends}
        me = self.bot.user.id if self.bot.user else None
        mine = [m for m in messages if m.author.id == me]
        used: set[int] = set()
        found: dict[int, discord.Message | None] = {}
        for send in sorted(sends, key=lambda s: s.created_at):
            earliest = send.created_at - self.SKEW
            match = next(
                (
                    m
                    for m in mine
                    if m.id not in used
                    and m.created_at.timestamp() >= earliest
                    and (str(m.nonce) == send.nonce or fingerprint(m.content, m.embeds) == send.fingerprint)
                ),
                None,
            )
            if match is not None:
                used.add(match.id)
            found[send.id] = match
        return found

    # -- sending ----------------------------------------------------------------------------------------

    async def post(
        self, channel: discord.abc.Messageable, kwargs: dict, items: list[str], reminder_ids: list[int] = ()
    ) -> discord.Message:
        """Send one message carrying `items`, recorded before (with its nonce) and after Discord took it.
        Raises what `send` raises (a refusal is recorded as such), or `Unrecorded`."""
        nonce = nonce_for(items)
        channel_id = channel.id  # type: ignore[attr-defined]
        try:
            send_id = await job_store.begin_send(
                self.db,
                nonce=nonce,
                channel_id=channel_id,
                fingerprint=fingerprint(
                    kwargs.get("content"), [kwargs["embed"]] if "embed" in kwargs else []
                ),
                items=items,
                created_at=now().timestamp(),
            )
        except sqlite3.Error as exc:
            raise Unrecorded(str(exc)) from exc
        try:
            message = await channel.send(nonce=nonce, **kwargs)
        except discord.HTTPException as exc:
            if exc.status < 500:  # refused: no message was made
                await self._absent(send_id)
            raise
        self.messages_sent += 1
        try:
            await store.record_delivery(
                self.db, send_id, message.id, channel_id=message.channel.id, reminder_ids=list(reminder_ids)
            )
        except Exception:
            # The send stays "unknown": the next attempt, if any, finds this message first.
            log.exception("message %s (%s) was delivered but could not be recorded so", message.id, items)
        return message

    async def _absent(self, send_id: int) -> None:
        try:
            await job_store.record_absent(self.db, [send_id], now().timestamp())
        except sqlite3.Error:
            log.warning("could not record that send %s was refused; it will be looked for", send_id)

    async def _send_group(
        self, key: str, group: list[Delivery], outcomes: dict[int, Outcome]
    ) -> list[Delivery]:
        """Send one channel's share; returns the deliveries that must move to their next route."""
        try:
            channel = await self._resolve(group[0].route)
        except _Permanent as exc:
            log.warning("cannot deliver to %s: %s", key, exc)
            return group
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            for d in group:
                outcomes[d.job_id] = _transient(exc)
            return []
        messages = pack(group)
        for index, batch in enumerate(messages):
            rest = [d for b in messages[index:] for d in b]
            wait = self.pacer.wait(key)
            if wait > 0:
                for d in rest:
                    outcomes[d.job_id] = Retry("paced: channel busy", after=max(wait, 6.0))
                return []
            ids = [d.route.reminder_id for d in batch if d.route.reminder_id is not None]
            try:
                await self.post(channel, self._message(batch), [d.item for d in batch], ids)
            except (discord.Forbidden, discord.NotFound) as exc:
                log.warning("delivery to %s refused (%s); falling back", key, exc.status)
                return rest
            except discord.HTTPException as exc:
                if exc.status == 429:
                    self.rate_limited += 1
                if exc.status == 429 or exc.status >= 500:
                    for d in rest:
                        outcomes[d.job_id] = _transient(exc)
                    return []
                log.warning("delivery to %s rejected (%s %s); falling back", key, exc.status, exc.text)
                return rest
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                for d in rest:
                    outcomes[d.job_id] = _transient(exc)
                return []
            except Unrecorded as exc:
                log.warning("not sending to %s: the attempt could not be recorded (%s)", key, exc)
                for d in rest:
                    outcomes[d.job_id] = Retry(f"attempt not recorded: {exc}")
                return []
            self.pacer.sent(key)
            for d in batch:
                outcomes[d.job_id] = DONE
        return []

    async def _resolve(self, route: Route) -> discord.abc.Messageable:
        try:
            if route.dm_user_id is not None:
                user = self.bot.get_user(route.dm_user_id) or await self.bot.fetch_user(route.dm_user_id)
                return user.dm_channel or await user.create_dm()
            assert route.channel_id is not None
            channel = self.bot.get_channel(route.channel_id)
            if channel is None:
                channel = await self.bot.fetch_channel(route.channel_id)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise _Permanent(f"{exc.status} {exc.text}") from exc
        if not isinstance(channel, discord.abc.Messageable):
            raise _Permanent("not a channel one can post in")
        return channel

    def _message(self, batch: list[Delivery]) -> dict:
        pings = sorted({u for d in batch for u in d.route.ping})[:MAX_PINGS]
        reminder_ids = [d.route.reminder_id for d in batch if d.route.reminder_id is not None]
        reveal = any(d.route.reveal for d in batch)
        kwargs: dict = {
            "content": _fit("\n\n".join(d.route.text for d in batch)),
            "allowed_mentions": discord.AllowedMentions(
                everyone=False, roles=False, replied_user=False, users=[discord.Object(u) for u in pings]
            ),
        }
        if reminder_ids:
            target = str(reminder_ids[0]) if len(batch) == 1 else "m"
            kwargs["view"] = delivered_view(target, reveal=reveal)
        return kwargs


def _transient(exc: BaseException) -> Retry:
    if isinstance(exc, discord.HTTPException):
        after = None
        if exc.status == 429:
            retry_after = getattr(exc, "retry_after", None)
            after = max(float(retry_after), 6.0) if retry_after else 10.0
        return Retry(f"HTTP {exc.status}", after=after)
    return Retry(f"{type(exc).__name__}: {exc}")


# -- the service -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineSet:
    info: DeadlineInfo
    previous: datetime | None
    reminders: list[datetime]
    met: bool
    publish: Callable[[], Awaitable[bool]]  # the card and a note in the thread, after answering


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


class ReminderService(FeatureService):
    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self.pacer = ChannelPacer()
        self.outbox = Outbox(bot, db, self.pacer)
        self.digests_sent = 0

    def register(self) -> None:
        self.scheduler.register(REMINDER, self.deliver_reminders)
        self.scheduler.register(DEADLINE, self.deliver_deadlines)
        self.scheduler.register_each(DIGEST, self.deliver_digest)
        self.episodes.status_listeners.append(self.on_status)

    def unregister(self) -> None:
        for kind in (REMINDER, DEADLINE, DIGEST):
            self.scheduler.unregister(kind)
        if self.on_status in self.episodes.status_listeners:
            self.episodes.status_listeners.remove(self.on_status)

    # -- time zones ------------------------------------------------------------------------------------

    async def zone_for(self, guild_id: int, user_id: int) -> str:
        own = await store.get_timezone(self.db, guild_id, user_id)
        if own:
            return own
        return (await settings_store.get(self.db, guild_id)).timezone

    async def set_timezone(self, guild_id: int, user_id: int, zone: str) -> None:
        await store.set_timezone(self.db, guild_id, user_id, zone)

    async def parse(self, guild_id: int, user_id: int, when: str) -> ParsedTime:
        return parse_when(when, now=now(), zone=await self.zone_for(guild_id, user_id))

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
            reminders[j.payload["reminder_id"]].id
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
                Route(full, dm_user_id=r.user_id, ping=ping, reminder_id=r.id),
                Route(note, channel_id=r.channel_id, ping=ping, reminder_id=r.id, reveal=True),
            ]
            if announcements_id and announcements_id != r.channel_id:
                routes.append(
                    Route(moved + note, channel_id=announcements_id, ping=ping, reminder_id=r.id, reveal=True)
                )
            return routes
        routes = [Route(full, channel_id=r.channel_id, ping=ping, reminder_id=r.id)]
        if announcements_id and announcements_id != r.channel_id:
            routes.append(Route(moved + full, channel_id=announcements_id, ping=ping, reminder_id=r.id))
        routes.append(Route(moved + full, dm_user_id=r.user_id, ping=ping, reminder_id=r.id))
        return routes

    # -- deadlines -------------------------------------------------------------------------------------

    async def set_deadline(
        self, member: discord.Member, episode: Episode, milestone: Milestone, when: str
    ) -> DeadlineSet:
        """Save the deadline and replace its reminder jobs in one transaction; Discord follows in
        `publish()` once the member has their answer."""
        await self.episodes.require_host_or_author(member, episode, "set its deadlines")
        parsed = await self.parse(member.guild.id, member.id, when)
        info = DeadlineInfo(
            episode.id, episode.guild_id, episode.code, episode.title, episode.status, episode.thread_id,
            milestone, from_ts(parsed.timestamp),
        )  # fmt: skip
        jobs = await self._deadline_jobs(info)
        previous, cancelled = await store.set_deadline(
            self.db, episode.id, milestone, parsed.timestamp, member.id, jobs=jobs, job_prefix=_prefix(info)
        )
        self.scheduler.jobs_changed(jobs, cancelled)
        verb = "moved" if previous else "set"
        text = f"📅 <@{member.id}> {verb} the **{milestone.label}** deadline: {ts(info.due_at)} ({ts(info.due_at, 'R')})"
        if previous:
            text += f", was {ts(previous)}"
        return DeadlineSet(
            info,
            previous,
            _reminder_times(jobs),
            milestone.met_by(info.status),
            publish=lambda: self.episodes.publish(episode, text + "."),
        )

    async def _deadline_jobs(
        self, info: DeadlineInfo, offsets: list[timedelta] | None = None
    ) -> list[NewJob]:
        """The reminder jobs a deadline needs now: one per offset still ahead, and the overdue note.
        None for a met milestone or a shelved episode; a time already past is skipped, never sent late."""
        if info.milestone.met_by(info.status) or info.status is Status.SHELVED:
            return []
        if offsets is None:
            offsets = _offsets(await settings_store.get(self.db, info.guild_id))
        current = now()
        prefix = _prefix(info)
        base = {
            "episode_id": info.episode_id,
            "milestone": info.milestone.value,
            "deadline": int(info.due_at.timestamp()),
        }
        jobs = []
        for offset in offsets:
            at = info.due_at - offset
            if at > current:
                seconds = int(offset.total_seconds())
                payload = {**base, "offset": seconds, "at": int(at.timestamp())}
                jobs.append(NewJob(DEADLINE, at.timestamp(), payload, info.guild_id, f"{prefix}{seconds}"))
        overdue_at = info.due_at + OVERDUE_AFTER
        if overdue_at > current:
            payload = {**base, "offset": None, "at": int(overdue_at.timestamp())}
            jobs.append(NewJob(DEADLINE, overdue_at.timestamp(), payload, info.guild_id, f"{prefix}overdue"))
        return jobs

    async def on_status(self, episode: Episode, old: Status, actor_id: int) -> None:
        """A status change may meet a milestone (drop its reminders) or reopen one (bring them back)."""
        infos = await store.deadlines_of(self.db, episode.id)
        await self.scheduler.replace_groups([(_prefix(i), await self._deadline_jobs(i)) for i in infos])

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
                or info.milestone.met_by(info.status)
                or info.status is Status.SHELVED
            ):
                outcomes[job.id] = DONE  # moved, met, shelved or gone: nothing stale is sent
                continue
            # After an outage several reminders of one deadline may be due at once: only the latest speaks.
            held = latest.get(key)
            if held is None or _stage(job) > _stage(held):
                if held is not None:
                    outcomes[held.id] = DONE
                latest[key] = job
            else:
                outcomes[job.id] = DONE
        deliveries: list[Delivery] = []
        for key, job in latest.items():
            info = infos[key]
            assert info is not None
            cfg = await settings_store.get(self.db, info.guild_id)  # cached by the storage layer
            authors = await episode_store.authors(self.db, info.episode_id)
            text, pinged = _deadline_text(info, job, authors)
            routes = []
            if info.thread_id:
                routes.append(Route(text, channel_id=info.thread_id, ping=pinged))
            announcements = cfg.announcements_channel_id
            if announcements:
                routes.append(
                    Route(
                        f"(The thread of **{info.code}** is gone, so this is here.) {text}",
                        channel_id=announcements,
                        ping=pinged,
                    )
                )
            deliveries.append(Delivery(job.id, routes, f"job:{job.id}"))
        outcomes.update(await self.outbox.deliver(deliveries))
        return outcomes

    # -- the weekly digest -----------------------------------------------------------------------------

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
        allowed = discord.AllowedMentions.none()
        key = f"ch:{cfg.announcements_channel_id}"
        try:
            channel = self.bot.get_channel(cfg.announcements_channel_id) or await self.bot.fetch_channel(
                cfg.announcements_channel_id
            )
            for item, page in zip(items, pages, strict=True):
                if item in settled:
                    continue
                wait = self.pacer.wait(key)
                if wait > 0:
                    return Retry("paced: channel busy", after=max(wait, 6.0))
                try:
                    await self.outbox.post(channel, {"embed": page, "allowed_mentions": allowed}, [item])
                except discord.HTTPException as exc:
                    if exc.status in (403, 404, 429) or exc.status >= 500:
                        raise
                    # This page can never be posted as it is (a 400): the others still are.
                    log.warning("page %s of the digest of server %s refused (%s)", item, guild_id, exc.status)
                self.pacer.sent(key)
        except (discord.NotFound, discord.Forbidden) as exc:
            log.warning(
                "digest of server %s not posted: announcements channel refused (%s)", guild_id, exc.status
            )
            await self._schedule_next_digest(cfg, now(), skip=week)
            return Failed(f"announcements channel refused ({exc.status})")
        except (discord.HTTPException, TimeoutError, aiohttp.ClientError, OSError) as exc:
            return _transient(exc)
        except Unrecorded as exc:
            return Retry(f"attempt not recorded: {exc}")
        await store.record_digest(self.db, guild_id, week, channel_id=channel.id, message_id=None)
        self.digests_sent += 1
        await self._schedule_next_digest(cfg, now(), skip=week)
        return DONE

    async def digest_pages(self, cfg: GuildSettings, week: str, *, late: bool = False) -> list[discord.Embed]:
        current = now()
        needing = await store.needing_author(self.db, cfg.guild_id)
        research = await store.research_counts(self.db, cfg.guild_id)
        upcoming = [
            d
            for d in await store.deadlines_between(
                self.db, cfg.guild_id, int(current.timestamp()), int((current + DIGEST_HORIZON).timestamp())
            )
            if not d.milestone.met_by(d.status) and d.status is not Status.SHELVED
        ]
        sections = [
            (
                f"✍️ Needs an author ({len(needing)})",
                [f"• **{e.code}** · {_clean(e.title)}{_where(e.thread_id)}" for e in needing],
                "Every episode has an author.",
            ),
            (
                f"🔎 In research ({len(research)})",
                [
                    f"• **{c.code}** · {_clean(c.title)} — {_plural(c.contributions, 'contribution')}"
                    + (f" from {_plural(c.contributors, 'member')}" if c.contributions else "")
                    + _where(c.thread_id)
                    for c in research
                ],
                "No episode is in research.",
            ),
            (
                f"📅 Deadlines in the next 14 days ({len(upcoming)})",
                [
                    f"• {ts(d.due_at)} ({ts(d.due_at, 'R')}) · **{d.code}** {d.milestone.label}{_where(d.thread_id)}"
                    for d in upcoming
                ],
                "No deadline in the next two weeks.",
            ),
        ]
        lines: list[str] = []
        for title, items, empty in sections:
            if lines:
                lines.append("")
            lines.append(f"**{title}**")
            lines.extend(items or [f"*{empty}*"])
        chunks = _paginate(lines)
        local = current.astimezone(ZoneInfo(cfg.timezone))
        pages = []
        for index, chunk in enumerate(chunks, start=1):
            title = f"📰 Weekly digest · {week}"
            if len(chunks) > 1:
                title += f" ({index}/{len(chunks)})"
            embed = discord.Embed(title=title, description=chunk, colour=discord.Colour.blurple())
            footer = f"{local:%A %d %B %Y} · {cfg.timezone}"
            if late:
                footer += " · delayed: I was offline at the usual time"
            embed.set_footer(text=footer)
            pages.append(embed)
        return pages

    # -- keeping jobs in line with settings --------------------------------------------------------------

    async def settings_changed(self, guild_id: int) -> None:
        """Time zone, offsets, digest day/time or channels changed: reschedule what depends on them."""
        await self.ensure_digest(guild_id, reschedule=True)
        cfg = await settings_store.get(self.db, guild_id)
        offsets = _offsets(cfg)
        after = int((now() - OVERDUE_AFTER).timestamp())
        infos = await store.deadlines_after(self.db, guild_id, after)
        # All of a server's deadlines move to the new offsets together, or (after a crash) none do.
        await self.scheduler.replace_groups(
            [(_prefix(i), await self._deadline_jobs(i, offsets)) for i in infos]
        )

    async def reconcile(self) -> None:
        """At start: every pending reminder has a job, every configured server a pending digest; the
        record of messages sent long ago is let go."""
        pruned = await job_store.prune_sends(self.db, (now() - SENDS_KEPT).timestamp())
        if pruned:
            log.info("forgot %d sends resolved more than %s ago", pruned, SENDS_KEPT)
        for reminder in await store.without_job(self.db):
            log.info("rescheduling reminder %s, which had no pending job", reminder.id)
            await self._schedule_reminder(reminder)
        pending = {job.guild_id for job in await job_store.pending(self.db, kind=DIGEST)}
        for guild_id in await settings_store.all_guild_ids(self.db):
            if guild_id not in pending:
                await self.ensure_digest(guild_id)


def _prefix(info: DeadlineInfo) -> str:
    return f"deadline:{info.episode_id}:{info.milestone.value}:"


def _reminder_times(jobs: list[NewJob]) -> list[datetime]:
    """When a deadline's advance reminders go out (its overdue note aside)."""
    return [from_ts(int(j.due_at)) for j in jobs if j.payload.get("offset") is not None]


def _offsets(cfg: GuildSettings) -> list[timedelta]:
    try:
        return schedule_rules.parse_offsets(cfg.reminder_offsets)
    except InvalidInput:
        log.warning("server %s has unreadable reminder offsets %r", cfg.guild_id, cfg.reminder_offsets)
        return schedule_rules.parse_offsets("3d,1d,0")


def _stage(job: Job) -> float:
    """How far along a deadline's reminders a job is: the overdue note last, smaller offsets later."""
    offset = job.payload.get("offset")
    return float("inf") if offset is None else -float(offset)


def _deadline_text(info: DeadlineInfo, job: Job, authors: list[int]) -> tuple[str, tuple[int, ...]]:
    """The reminder's text and the authors it pings: as many as fit in one message (and Discord's 100
    pings), with "and N more" for the rest."""
    name = f"**{info.code}** · {_clean(info.title)}"
    offset = job.payload.get("offset")
    if offset is None:
        text = (
            f"⚠️ The **{info.milestone.label}** deadline of {name} passed {ts(info.due_at, 'R')}, and the "
            f"episode is still **{info.status.label}**. Move it on with `/episode status`, or set a new "
            "date with `/episode deadline`."
        )
    elif offset == 0:
        text = f"⏰ The **{info.milestone.label}** deadline of {name} is now ({ts(info.due_at)})."
    else:
        text = f"⏰ The **{info.milestone.label}** deadline of {name} is {ts(info.due_at)} ({ts(info.due_at, 'R')})."
    scheduled = float(job.payload.get("at") or job.due_at)
    if now().timestamp() - scheduled > LATE_AFTER:
        text += f" (This reminder was due {ts(scheduled, 'R')}.)"
    if not authors:
        return f"{text} No author yet: `/episode volunteer` if you'd like to write it.", ()
    budget = MESSAGE_MAX - len(text) - 200  # room for the fallback's note and "… and N more"
    pinged: list[int] = []
    used = 0
    for user_id in authors[:MAX_PINGS]:
        mention = f"<@{user_id}> "
        if used + len(mention) > budget:
            break
        pinged.append(user_id)
        used += len(mention)
    who = " ".join(f"<@{u}>" for u in pinged)
    if len(pinged) < len(authors):
        who += f" (and {len(authors) - len(pinged)} more authors)"
    return f"{who} {text}", tuple(pinged)


def _paginate(lines: list[str], size: int = EMBED_MAX, pages: int = DIGEST_PAGES_MAX) -> list[str]:
    """Lines into at most `pages` embed descriptions of at most `size` characters; when they don't
    fit, the last page says how many items ("• " lines) were left out."""
    chunks: list[str] = []
    buffer = ""
    for index, line in enumerate(lines):
        line = _fit(line, 1000)
        if buffer and len(buffer) + 1 + len(line) > size:
            if len(chunks) == pages - 1:
                left = sum(1 for rest in lines[index:] if rest.startswith("• "))
                while True:
                    note = f"*… and {left:,} more not shown.*"
                    if len(buffer) + 1 + len(note) <= size or "\n" not in buffer:
                        break
                    buffer, _, dropped = buffer.rpartition("\n")
                    left += dropped.startswith("• ")
                chunks.append(f"{buffer}\n{note}")
                return chunks
            chunks.append(buffer)
            buffer = ""
        buffer = f"{buffer}\n{line}" if buffer else line
    chunks.append(buffer)
    return chunks


def _clean(text: str, size: int = 90) -> str:
    """A title on one line, markdown escaped, cut visibly (never in the middle of an escape)."""
    flat = discord.utils.escape_markdown(text).replace("\n", " ")
    return flat if len(flat) <= size else flat[: size - 1].rstrip("\\") + "…"


def _where(thread_id: int | None) -> str:
    return f" — <#{thread_id}>" if thread_id else ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
