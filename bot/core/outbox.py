"""The outbox: every automatic post (reminders, deadline reminders, digest pages) goes out through it.

Delivery is at-least-once inside the bot and exactly-once as members see it. Every message a delivery
posts is recorded before it is sent (`sends`: the items it carries, a nonce, what it says), sent with
that nonce (Discord deduplicates a repeated nonce for a few minutes), and recorded as sent with its
message id as soon as Discord accepted it (with what the items' kinds record, e.g. personal reminders
delivered, in the same write).
Before anything is sent again, its earlier sends are settled: one recorded as sent counts as delivered,
whatever happened to the job afterwards; one whose outcome is unknown (the process died, or the
database refused the write, after the send) is looked for among the channel's recent messages, and
only when it is verifiably not there is the item sent again.

- 5xx, 429 and network errors are retried with backoff; a permanent refusal (403, 404) moves on to
  the next place to deliver (DM → the channel where it was set; deleted channel or thread → the
  announcements channel), and when none is left the job fails and is logged;
- everything due at once for one channel, or for one member by DM, goes out grouped into as few
  messages as Discord's 2000 characters (and the items' kinds, see `ItemKind.most_per_message`) allow,
  paced per channel (`ChannelPacer`) so an outage never ends in a flood or a 429;
- a member's DM channel is reached through `bot.core.dms` (remembered in the database: no look-up of the
  user, no opening of the channel); one Discord no longer knows is opened anew, once.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

import aiohttp
import discord

from bot.clock import from_ts, now, now_ts
from bot.core import outbox_store
from bot.core.db import Database, Tx
from bot.core.dms import DirectMessages, unknown_channel
from bot.core.metrics import Metrics
from bot.core.pacing import MAX_PINGS, ChannelPacer, Delivery, Route, fit, pack, transient
from bot.core.ratelimit import DIRECT, server_of
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from bot.core.service import FeatureService

if TYPE_CHECKING:
    from cogs.episodes.service import EpisodeService

log = logging.getLogger(__name__)

SENDS_KEPT = timedelta(days=30)  # how long a resolved send is remembered (its job finished long before)


class _Permanent(Exception):
    """This route can never work (deleted channel, DMs closed, no access)."""


class Unrecorded(Exception):
    """The intent to send could not be recorded, so nothing was sent."""


SENT, UNKNOWN = outbox_store.SENT, outbox_store.UNKNOWN


class ItemKind(Protocol):
    """A feature whose items (named `<prefix>:…`, see `Outbox.register`) need more than the send's
    record: buttons under the message, and its own record of what Discord accepted."""

    most_per_message: int  # items of this kind one message may carry (e.g. what its view can offer)

    async def view(self, items: list[str], *, reveal: bool, in_dm: bool) -> discord.ui.View | None:
        """The buttons under a message carrying `items` (all of this kind), if any; `in_dm`: the
        message goes to a member's DMs (only they see it)."""
        ...

    async def record_in(
        self, tx: Tx, items: list[str], *, channel_id: int, message_id: int, at: float
    ) -> None:
        """Record that Discord accepted the message carrying `items`, in the send's own transaction."""
        ...

    def recorded(self, items: list[str]) -> None:
        """After that transaction committed (e.g. forget a cache)."""
        ...


class Outbox:
    """Sends deliveries grouped per channel, with fallbacks, pacing and an outcome per job; records
    every message before and after it is sent, and settles earlier sends before sending again."""

    LOOK_BACK = 100  # messages read after an attempt of unknown outcome
    SKEW = 60.0  # seconds before an attempt where its message may show up (clocks differ)

    def __init__(
        self, bot: discord.Client, db: Database, pacer: ChannelPacer, metrics: Metrics | None = None
    ) -> None:
        self.bot = bot
        self.db = db
        self.pacer = pacer
        # Counts outbox.sent, outbox.rate_limited, outbox.look_ups (the database's metrics when not given).
        self.metrics = metrics if metrics is not None else db.metrics
        self.kinds: dict[str, ItemKind] = {}
        self.dms = DirectMessages(bot, db, self.metrics)  # members' DM channels, remembered

    def register(self, prefix: str, kind: ItemKind) -> None:
        """Items named `<prefix>:…` are of `kind`."""
        self.kinds[prefix] = kind

    def unregister(self, prefix: str) -> None:
        self.kinds.pop(prefix, None)

    def _by_kind(self, items: Sequence[str]) -> list[tuple[ItemKind, list[str]]]:
        grouped: dict[str, list[str]] = {}
        for item in items:
            prefix = item.split(":", 1)[0]
            if prefix in self.kinds:
                grouped.setdefault(prefix, []).append(item)
        return [(self.kinds[prefix], mine) for prefix, mine in grouped.items()]

    async def forget_old(self) -> None:
        """Let go of the record of messages sent long ago (their jobs finished long before)."""
        pruned = await outbox_store.prune_sends(self.db, (now() - SENDS_KEPT).timestamp())
        if pruned:
            log.info("forgot %d sends resolved more than %s ago", pruned, SENDS_KEPT)

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
            await self._prepare_dms(active)
            by_route: dict[str, list[Delivery]] = {}
            for d in active:
                by_route.setdefault(d.route.key, []).append(d)
            moved = await self._send_lanes(by_route, outcomes)
            active = []
            for d in moved:
                d.step += 1
                if d.step < len(d.routes):
                    active.append(d)
                else:
                    outcomes[d.job_id] = Failed("every place to deliver refused it")
        return outcomes

    def _lane(self, route: Route) -> int | str:
        """Who a send is on behalf of: the channel's server, or `DIRECT` for members' DMs."""
        if route.dm_user_id is not None or route.channel_id is None:
            return DIRECT
        return server_of(self.bot, route.channel_id)

    async def _send_lanes(
        self, by_route: dict[str, list[Delivery]], outcomes: dict[int, Outcome]
    ) -> list[Delivery]:
        """Send every place's share, taking turns between servers (members' DMs are one more): a burst of
        one server's posts or of the members' reminders never holds another server's behind it. One
        send at a time, in this task: the global pacer spaces them. Returns the deliveries that must
        move to their next route."""
        lanes: dict[int | str, deque[tuple[str, list[Delivery]]]] = {}
        for key, group in by_route.items():
            lanes.setdefault(self._lane(group[0].route), deque()).append((key, group))
        moved: list[Delivery] = []
        turns = deque(lanes.values())
        while turns:
            queue = turns.popleft()
            key, group = queue.popleft()
            try:
                moved.extend(await self._send_group(key, group, outcomes))
            except Exception as exc:  # a bug must not make the whole batch (sent ones too) retry
                log.exception("delivery to %s failed unexpectedly", key)
                for d in group:
                    outcomes.setdefault(d.job_id, Retry(f"{type(exc).__name__}: {exc}"))
            if queue:
                turns.append(queue)
        return moved

    async def _prepare_dms(self, deliveries: list[Delivery]) -> None:
        """Read the remembered DM channels of every member about to be DMed, in one query."""
        users = [d.route.dm_user_id for d in deliveries if d.route.dm_user_id is not None]
        try:
            await self.dms.prepare(users)
        except sqlite3.Error as exc:  # each is read on its own then
            log.warning("could not read the remembered DM channels: %s", exc)

    # -- exactly once: settle what earlier attempts did ------------------------------------------------

    async def settle(self, items: list[str]) -> dict[str, str]:
        """What earlier sends of `items` did: `SENT` for an item Discord has (recorded, or found among
        its channel's recent messages, then recorded), `UNKNOWN` for one that could not be checked now
        (retry later). Items not in the answer were never sent, or verifiably did not arrive."""
        if not items:
            return {}
        wanted = set(items)
        result: dict[str, str] = {}
        unknown: dict[int, list[outbox_store.Send]] = {}
        for send in await outbox_store.open_sends(self.db, items):
            if send.state == SENT:
                result.update((i, SENT) for i in send.items if i in wanted)
                if send.message_id is not None:  # in case the items' own record was lost
                    await self._recorded_again(send)
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
                    await self._record(send.id, list(send.items), channel_id, message.id)
                    result.update((i, SENT) for i in send.items if i in wanted)
        if absent:
            await outbox_store.record_absent(self.db, absent, now().timestamp())
        return result

    async def _record(self, send_id: int, items: list[str], channel_id: int, message_id: int) -> None:
        """Discord accepted the message of send `send_id`: record it, and what the items' kinds record
        about it, in one transaction."""
        at = now_ts()
        kinds = self._by_kind(items)
        also: list[Callable[[Tx], Awaitable[None]]] = [
            partial(kind.record_in, items=mine, channel_id=channel_id, message_id=message_id, at=at)
            for kind, mine in kinds
        ]
        await outbox_store.record_delivery(self.db, send_id, message_id, at=at, also=also)
        for kind, mine in kinds:
            kind.recorded(mine)

    async def _recorded_again(self, send: outbox_store.Send) -> None:
        """A send recorded as sent: make sure its items' kinds recorded it too."""
        assert send.message_id is not None
        kinds = self._by_kind(send.items)
        if not kinds:
            return
        at = now_ts()
        async with self.db.transaction() as tx:
            for kind, mine in kinds:
                await kind.record_in(
                    tx, items=mine, channel_id=send.channel_id, message_id=send.message_id, at=at
                )
        for kind, mine in kinds:
            kind.recorded(mine)

    async def _look_up(
        self, channel_id: int, sends: list[outbox_store.Send]
    ) -> dict[int, discord.Message | None]:
        """Find the messages of sends whose outcome is unknown among the channel's messages since.
        A send maps to its message, or to None when it is verifiably not there; a send left out could
        not be checked now. An empty answer proves absence only where the bot may read the history."""
        self.metrics.count("outbox.look_ups")
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
                    and (
                        str(m.nonce) == send.nonce
                        or outbox_store.fingerprint(m.content, m.embeds) == send.fingerprint
                    )
                ),
                None,
            )
            if match is not None:
                used.add(match.id)
            found[send.id] = match
        return found

    # -- sending ----------------------------------------------------------------------------------------

    async def post(self, channel: discord.abc.Messageable, kwargs: dict, items: list[str]) -> discord.Message:
        """Send one message carrying `items`, recorded before (with its nonce) and after Discord took it.
        Raises what `send` raises (a refusal is recorded as such), or `Unrecorded`."""
        nonce = outbox_store.nonce_for(items)
        channel_id = channel.id  # type: ignore[attr-defined]
        try:
            send_id = await outbox_store.begin_send(
                self.db,
                nonce=nonce,
                channel_id=channel_id,
                fingerprint=outbox_store.fingerprint(
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
        self.metrics.count("outbox.sent")
        try:
            await self._record(send_id, items, message.channel.id, message.id)
        except Exception:
            # The send stays "unknown": the next attempt, if any, finds this message first.
            log.exception("message %s (%s) was delivered but could not be recorded so", message.id, items)
        return message

    async def _absent(self, send_id: int) -> None:
        try:
            await outbox_store.record_absent(self.db, [send_id], now().timestamp())
        except sqlite3.Error:
            log.warning("could not record that send %s was refused; it will be looked for", send_id)

    async def _send_group(
        self, key: str, group: list[Delivery], outcomes: dict[int, Outcome]
    ) -> list[Delivery]:
        """Send one channel's share; returns the deliveries that must move to their next route."""
        route = group[0].route
        try:
            channel, remembered = await self._resolve(route)
        except _Permanent as exc:
            log.warning("cannot deliver to %s: %s", key, exc)
            return group
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            for d in group:
                outcomes[d.job_id] = transient(exc)
            return []
        messages = self._capped(pack(group))
        for index, batch in enumerate(messages):
            rest = [d for b in messages[index:] for d in b]
            wait = self.pacer.wait(key)
            if wait > 0:
                for d in rest:
                    outcomes[d.job_id] = Retry("paced: channel busy", after=max(wait, 6.0))
                return []
            try:
                took = await self._post_to(
                    route, channel, remembered, await self._message(batch, route), batch
                )
            except (discord.Forbidden, discord.NotFound) as exc:
                log.warning("delivery to %s refused (%s); falling back", key, exc.status)
                return rest
            except discord.HTTPException as exc:
                if exc.status == 429:
                    self.metrics.count("outbox.rate_limited")
                if exc.status == 429 or exc.status >= 500:
                    for d in rest:
                        outcomes[d.job_id] = transient(exc)
                    return []
                log.warning("delivery to %s rejected (%s %s); falling back", key, exc.status, exc.text)
                return rest
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                for d in rest:
                    outcomes[d.job_id] = transient(exc)
                return []
            except Unrecorded as exc:
                log.warning("not sending to %s: the attempt could not be recorded (%s)", key, exc)
                for d in rest:
                    outcomes[d.job_id] = Retry(f"attempt not recorded: {exc}")
                return []
            remembered = remembered and took is channel
            channel = took
            self.pacer.sent(key)
            for d in batch:
                outcomes[d.job_id] = DONE
        return []

    async def _post_to(
        self,
        route: Route,
        channel: discord.abc.Messageable,
        remembered: bool,
        kwargs: dict,
        batch: list[Delivery],
    ) -> discord.abc.Messageable:
        """`post` the batch; when Discord no longer knows a remembered DM channel, open the member's DM
        anew and post there, once. The channel that took the message."""
        items = [d.item for d in batch]
        try:
            await self.post(channel, kwargs, items)
            return channel
        except discord.NotFound as exc:
            if not (remembered and route.dm_user_id is not None and unknown_channel(exc)):
                raise
            stale = channel.id  # type: ignore[attr-defined]
        channel = await self.dms.reopen(route.dm_user_id, stale)
        await self.post(channel, kwargs, items)
        return channel

    async def _resolve(self, route: Route) -> tuple[discord.abc.Messageable, bool]:
        """Where to post for `route`, and whether it is a DM channel that was remembered (not opened now)."""
        try:
            if route.dm_user_id is not None:
                return await self.dms.resolve(route.dm_user_id)
            assert route.channel_id is not None
            channel = self.bot.get_channel(route.channel_id)
            if channel is None:
                channel = await self.bot.fetch_channel(route.channel_id)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise _Permanent(f"{exc.status} {exc.text}") from exc
        if not isinstance(channel, discord.abc.Messageable):
            raise _Permanent("not a channel one can post in")
        return channel, False

    def _capped(self, messages: list[list[Delivery]]) -> list[list[Delivery]]:
        """Split messages that carry more items of one kind than the kind allows in a message."""
        capped: list[list[Delivery]] = []
        for batch in messages:
            current: list[Delivery] = []
            counts: dict[str, int] = {}
            for d in batch:
                prefix = d.item.split(":", 1)[0]
                kind = self.kinds.get(prefix)
                if kind is not None and counts.get(prefix, 0) >= kind.most_per_message:
                    capped.append(current)
                    current, counts = [], {}
                current.append(d)
                counts[prefix] = counts.get(prefix, 0) + 1
            capped.append(current)
        return capped

    async def _message(self, batch: list[Delivery], route: Route) -> dict:
        pings = sorted({u for d in batch for u in d.route.ping})[:MAX_PINGS]
        reveal = any(d.route.reveal for d in batch)
        kwargs: dict = {
            "content": fit("\n\n".join(d.route.text for d in batch)),
            "allowed_mentions": discord.AllowedMentions(
                everyone=False, roles=False, replied_user=False, users=[discord.Object(u) for u in pings]
            ),
        }
        for kind, mine in self._by_kind([d.item for d in batch]):
            view = await kind.view(mine, reveal=reveal, in_dm=route.dm_user_id is not None)
            if view is not None:
                kwargs["view"] = view
                break
        return kwargs


class PostingService(FeatureService):
    """A feature service whose jobs post through the (one, shared) outbox."""

    def __init__(
        self,
        bot: discord.Client,
        db: Database,
        scheduler: Scheduler,
        episodes: EpisodeService,
        outbox: Outbox,
    ) -> None:
        super().__init__(bot, db, scheduler, episodes)
        self.outbox = outbox
