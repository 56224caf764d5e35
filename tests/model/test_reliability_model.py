"""Model-based reliability test: random lives of a small server, driven through the simulator.

Hypothesis plays a host and two members against the real bot: episodes are created and moved, members
post, edit, delete and react in the threads (also while the bot is down), research goes in through the
form, the message menu and out through `/research remove`, hosts claim and decide volunteers (Decline
forms may be submitted after a restart), members set, snooze and cancel reminders, hosts set
deadlines; time passes, the bot restarts, and Discord refuses requests (403, 404, 429, 500 on the
routes the bot uses). After every step, what members see and what the database holds must agree:

- every member message still in an episode thread is in the record exactly once (unless a member
  removed it with `/research remove`);
- nothing is in the record whose message was deleted;
- no reminder, deadline reminder or digest is delivered twice, nor for a moved or met deadline;
- every interaction got an answer, and the bot raised and logged no unexpected error;
and, at a "settle" step (faults lifted, then the repair window and every retry backoff let run):
- each status card and the post's tags match the database;
- every reminder, deadline reminder and digest that fell due was delivered (unless Discord refused
  every place it could go);
- every pending author request has live review buttons.

Each example builds its own simulator and bot on its own event loop and temporary database, and closes
them at the end. Settings: `tests/model/profiles.py` (`--hypothesis-profile=long` for a deep run).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from simcord import Env

from bot import create_bot
from cogs.assignments import store as request_store
from cogs.episodes import lists_store
from cogs.episodes import store as episode_store
from cogs.research import store as contribution_store
from tests.conftest import build_world
from tests.model.profiles import chosen

# Rules or faults held back while the bug they trip over is being fixed elsewhere. Each entry names the
# finding in /work/notes/model-findings.md. Empty means: the machine explores everything.
HELD_BACK: frozenset[str] = frozenset()

CODES = ("E1", "E2", "E3")
STATUSES = ("in_research", "writing", "recorded", "published", "shelved")
LABELS = {
    "in_research": "In Research",
    "writing": "Writing",
    "recorded": "Recorded",
    "published": "Published",
    "shelved": "Shelved",
}
MILESTONES = {"research": "Research", "script": "Script", "recording": "Recording", "publish": "Publish"}
MET = {
    "research": {"writing", "recorded", "published"},
    "script": {"recorded", "published"},
    "recording": {"recorded", "published"},
    "publish": {"published"},
}
LIKES = ("👍", "❤️", "⭐", "🔥")
DAY = 86400
SETTLE_SECONDS = 20 * 60  # the card's repair window (2 min) and every retry backoff (at most 15 min)
OFFLINE_GRACE = 5 * 60  # offline edits and deletions are applied within five minutes of the return
FAULT_STATUSES = (403, 404, 429, 500)
PERMANENT = (403, 404)
# (method, path pattern); {thread}, {forum}, {general}, {review}, {announcements} are filled in with a
# channel of the world when the fault is injected.
FAULT_ROUTES = (
    ("POST", "/channels/*/messages"),  # notes, reminders, review messages, DMs, form posts, thank-yous
    ("POST", "/channels/{thread}/messages"),
    ("POST", "/channels/{announcements}/messages"),
    ("POST", "/channels/{review}/messages"),
    ("PATCH", "/channels/*/messages/*"),  # the status card, review messages
    ("PATCH", "/channels/{thread}"),  # tags and name of a post
    ("PATCH", "/channels/{forum}"),  # the forum's tags
    ("POST", "/channels/*/threads"),  # new episode posts
    ("GET", "/channels/*/messages"),  # history: catching up after a restart
    ("GET", "/channels/*/messages/*"),  # one message, reaction users
    ("GET", "/channels/{thread}"),
    ("POST", "/users/@me/channels"),  # opening a DM
    ("DELETE", "/channels/*"),
)
DEADLINE_RE = re.compile(r"The \*\*(\w+)\*\* deadline of \*\*([^*]+)\*\*.*?<t:(\d+)", re.S)
STAMP_RE = re.compile(r"<t:(\d+):f>")
REMINDER_ID_RE = re.compile(r"Reminder #(\d+)")
DIGEST_RE = re.compile(r"Weekly digest · Week of (\d{1,2} [A-Z][a-z]+)(?: \d{4})?(?: \((\d+)/\d+\))?")


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + 1420070400000) / 1000


def answered(result) -> bool:
    return result is not None and (
        result.response is not None or bool(result.followups) or result.modal is not None
    )


def text_of(result) -> str:
    parts = []
    if result is not None and result.response is not None:
        parts.append(result.response.content or "")
    for followup in getattr(result, "followups", None) or []:
        parts.append(getattr(followup, "content", "") or "")
    return "\n".join(parts)


class _ErrorLog(logging.Handler):
    """Every ERROR record logged while an example runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _RecordedFault(dict):
    """An injected fault that notes (when, status, method, path) each time a request consumes it."""

    def __init__(self, fault: dict, consumed: list, clock) -> None:
        super().__init__(fault)
        self._consumed = consumed
        self._clock = clock

    def __setitem__(self, key, value) -> None:
        if key == "times":
            self._consumed.append((self._clock().timestamp(), self["status"], self["method"], self["path"]))
        super().__setitem__(key, value)


@dataclass
class Msg:
    """A member's message, as the model knows it."""

    id: int
    channel_id: int
    author: object  # MemberActor
    code: str | None  # the episode whose thread it is in
    deleted: bool = False
    touched_offline_at: float | None = None  # when the bot came back after it changed offline


@dataclass
class Reminder:
    id: int
    token: str
    owner: object
    due: float
    private: bool
    expected: int = 1  # deliveries members must end up seeing: one, plus one per snooze
    cancelled: bool = False


@dataclass
class Deadline:
    code: str
    milestone: str
    due: float
    set_at: int  # a snowflake: messages with a larger id were posted after it was set
    replaced_at: int | None = None  # likewise, when it was moved


@dataclass
class Episode:
    code: str
    thread_id: int
    status_log: list[tuple[int, str]] = field(default_factory=list)  # (since, status); since is a snowflake

    def status_at(self, when: int) -> str:
        current = "in_research"
        for since, status in self.status_log:
            if since <= when:
                current = status
        return current


class ReliabilityModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.mkdtemp(prefix="archivist-model-")
        self.db_path = os.path.join(self.tmp, "archivist.sqlite3")
        self.loop = asyncio.new_event_loop()
        self.built: list = []
        self.bot_ids: set[int] = set()
        self.env: Env | None = None
        self.online = False
        self.back_at = 0.0
        self.error_log = _ErrorLog()
        logging.getLogger().addHandler(self.error_log)
        self.error_cursor = 0
        self.episodes: dict[str, Episode] = {}
        self.msgs: list[Msg] = []
        self.removed: set[int] = set()  # message ids taken out of the record with /research remove
        self.reminders: list[Reminder] = []
        self.deadlines: list[Deadline] = []
        self.decline_forms: list = []
        self.faults_consumed: list[tuple[float, int, str, str]] = []
        self.counter = 0
        self.generation = 0  # bumped at every restart
        self.read_failed_at_return = False
        self.run(self._start())

    # -- plumbing ----------------------------------------------------------------------------------

    def run(self, coro):
        if self.env is None:
            return self.loop.run_until_complete(coro)
        with self.env.time_context():
            return self.loop.run_until_complete(coro)

    def new_bot(self):
        os.environ["DATABASE_PATH"] = self.db_path
        bot = create_bot()
        self.built.append(bot)
        return bot

    def now(self) -> float:
        return self.env.now().timestamp()

    def marker(self) -> int:
        """A fresh snowflake: every message posted before this moment has a smaller id, every later one a larger."""
        return self.env.backend.snowflake()

    async def _start(self) -> None:
        self.env = Env(self.new_bot())
        await self.env.start()
        self.w = await build_world(self.env)
        self.members = (self.w.host, self.w.alice, self.w.bob)
        self.online = True
        self.bot_ids.add(self.env.bot.user.id)

    def teardown(self) -> None:
        try:
            if self.env is not None:
                self.run(self.env.shutdown())
            for bot in self.built:
                if not bot.is_closed() or bot.services.db.is_open:
                    self.run(bot.close())
        finally:
            logging.getLogger().removeHandler(self.error_log)
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def token(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}-{self.counter}-zq"

    def interact(self, coro):
        result = self.run(coro)
        assert answered(result), "a member got no answer"
        return result

    def live_msgs(self, code: str | None = None) -> list[Msg]:
        return [m for m in self.msgs if not m.deleted and (code is None or m.code == code)]

    def thread(self, code: str):
        return self.w.thread_of(code)

    # -- episodes ----------------------------------------------------------------------------------

    @initialize()
    def first_episode(self):
        """Most rules need an episode: every example starts with one, and one message in its thread."""
        self.create_episode("E1")
        self.post(0, "alice", False)

    @precondition(lambda self: self.online)
    @rule(code=st.sampled_from(CODES))
    def create_episode(self, code):
        result = self.interact(
            self.w.host.slash(self.w.general, "episode create", code=code, title=f"Title {code}")
        )
        if code in self.episodes:
            assert "already exists" in text_of(result)
            return
        if "Created" in text_of(result):
            self.episodes[code] = Episode(code, self.thread(code).id)
        else:
            assert not any(t.name.startswith(f"{code} ") for t in self.w.forum.threads), (
                "a refused create left a post behind"
            )

    @precondition(lambda self: self.online and self.episodes)
    @rule(pick=st.integers(0, 2), status=st.sampled_from(STATUSES), note=st.booleans())
    def move_status(self, pick, status, note):
        code = sorted(self.episodes)[pick % len(self.episodes)]
        options = {"episode": code, "status": status}
        if note:
            options["note"] = f"moving {self.token('note')}"
        self.interact(self.w.host.slash(self.w.general, "episode status", **options))
        self.run(self._record_status(code))

    async def _record_status(self, code: str) -> None:
        stored = await episode_store.get_by_code(self.env.bot.services.db, self.w.guild.id, code)
        episode = self.episodes[code]
        if episode.status_at(self.marker()) != stored.status.value:
            episode.status_log.append((self.marker(), stored.status.value))

    @precondition(lambda self: self.online and self.episodes)
    @rule(pick=st.integers(0, 2))
    def claim(self, pick):
        code = sorted(self.episodes)[pick % len(self.episodes)]
        self.interact(self.w.host.slash(self.w.general, "episode claim", episode=code))

    @precondition(lambda self: self.online and self.episodes)
    @rule(pick=st.integers(0, 2), who=st.sampled_from(("alice", "bob")))
    def volunteer(self, pick, who):
        code = sorted(self.episodes)[pick % len(self.episodes)]
        member = getattr(self.w, who)
        self.interact(member.slash(self.w.general, "episode volunteer", episode=code, pitch="I can write it"))

    def review_messages(self) -> list:
        """Review messages whose buttons a host can still press."""
        return [
            m
            for m in self.w.review.history()
            if any(not c.disabled for row in m.components for c in getattr(row, "children", []))
        ]

    @precondition(lambda self: self.online and self.review_messages())
    @rule(pick=st.integers(0, 5))
    def approve(self, pick):
        reviews = self.review_messages()
        self.interact(self.w.host.click(reviews[pick % len(reviews)], label="Approve"))

    @precondition(lambda self: self.online and self.review_messages())
    @rule(pick=st.integers(0, 5))
    def open_decline_form(self, pick):
        reviews = self.review_messages()
        shown = self.interact(self.w.host.click(reviews[pick % len(reviews)], label="Decline"))
        if shown.modal is not None:
            self.decline_forms.append((shown, self.generation, self.now()))

    @precondition(lambda self: self.online and self.decline_forms)
    @rule(reason=st.booleans())
    def submit_decline_form(self, reason):
        shown, generation, opened = self.decline_forms.pop(0)
        if "decline_form_submitted_late" in HELD_BACK and (
            generation != self.generation or self.now() - opened > 14 * 60
        ):
            return  # F1 in model-findings.md
        self.interact(self.w.host.submit_modal(shown, {"reason": "Not this season"} if reason else {}))

    # -- research ----------------------------------------------------------------------------------

    @precondition(lambda self: self.episodes)
    @rule(pick=st.integers(0, 2), who=st.sampled_from(("host", "alice", "bob")), reply=st.booleans())
    def post(self, pick, who, reply):
        code = sorted(self.episodes)[pick % len(self.episodes)]
        member = getattr(self.w, who)
        thread = self.thread(code)
        earlier = self.live_msgs(code)
        text = f"Research {self.token('post')}: Lenin died in Gorki."
        sent = self.run(
            member.send(
                thread, text, reply_to=self.message_handle(earlier[-1]) if reply and earlier else None
            )
        )
        self.msgs.append(
            Msg(sent.id, thread.id, member, code, touched_offline_at=None if self.online else -1)
        )

    @rule(who=st.sampled_from(("alice", "bob")))
    def post_elsewhere(self, who):
        member = getattr(self.w, who)
        sent = self.run(member.send(self.w.general, f"Off-thread {self.token('general')}: a good source."))
        self.msgs.append(
            Msg(sent.id, self.w.general.id, member, None, touched_offline_at=None if self.online else -1)
        )

    def env_message(self, msg: Msg):
        return self.env.backend.get_message(msg.channel_id, msg.id)

    def message_handle(self, msg: Msg):
        channel = self.w.general if msg.code is None else self.thread(msg.code)
        return next(m for m in channel.history() if m.id == msg.id)

    @precondition(lambda self: self.live_msgs())
    @rule(pick=st.integers(0, 30))
    def edit(self, pick):
        live = self.live_msgs()
        msg = live[pick % len(live)]
        self.run(msg.author.edit(self.message_handle(msg), f"Edited {self.token('edit')}: it was Gorki."))
        if not self.online:
            msg.touched_offline_at = -1

    @precondition(lambda self: self.live_msgs())
    @rule(pick=st.integers(0, 30))
    def delete(self, pick):
        live = self.live_msgs()
        msg = live[pick % len(live)]
        self.run(msg.author.delete(self.message_handle(msg)))
        msg.deleted = True
        if not self.online:
            msg.touched_offline_at = -1

    @precondition(lambda self: self.live_msgs())
    @rule(
        pick=st.integers(0, 30),
        who=st.sampled_from(("host", "alice", "bob")),
        emoji=st.sampled_from((*LIKES[:2], "🎲")),
        add=st.booleans(),
    )
    def react(self, pick, who, emoji, add):
        live = self.live_msgs()
        msg = live[pick % len(live)]
        member = getattr(self.w, who)
        handle = self.message_handle(msg)
        mine = any(r.emoji == emoji and member.id in r.user_ids for r in self.env_message(msg).reactions)
        if add == mine:
            return
        self.run(member.react(handle, emoji) if add else member.unreact(handle, emoji))
        if not self.online:
            msg.touched_offline_at = -1

    @precondition(lambda self: self.online and self.episodes)
    @rule(pick=st.integers(0, 2), who=st.sampled_from(("host", "alice", "bob")))
    def submit_form(self, pick, who):
        code = sorted(self.episodes)[pick % len(self.episodes)]
        member = getattr(self.w, who)
        shown = self.interact(member.slash(self.w.general, "research submit", episode=code))
        assert shown.modal is not None, text_of(shown)
        values = {
            "title": "Funeral",
            "body": f"Moscow queued {self.token('form')}.",
            "sources": "Service, Lenin",
        }
        self.interact(member.submit_modal(shown, values))

    @precondition(lambda self: self.online and self.episodes and self.live_msgs())
    @rule(pick=st.integers(0, 30), who=st.sampled_from(("host", "alice", "bob")), into=st.integers(0, 2))
    def add_to_research(self, pick, who, into):
        live = self.live_msgs()
        msg = live[pick % len(live)]
        member = getattr(self.w, who)
        if msg.code is not None:
            result = self.interact(
                member.context_menu(self.thread(msg.code), "Add to research", self.message_handle(msg))
            )
        else:
            asked = self.interact(
                member.context_menu(self.w.general, "Add to research", self.message_handle(msg))
            )
            code = sorted(self.episodes)[into % len(self.episodes)]
            if not asked.response.components:
                return
            result = self.interact(member.select(asked.response, [code]))
        if "Added" in text_of(result) or "already in the research" in text_of(result):
            self.removed.discard(msg.id)

    @precondition(lambda self: self.online and self.episodes)
    @rule(pick=st.integers(0, 2), nth=st.integers(0, 30), as_host=st.booleans())
    def research_remove(self, pick, nth, as_host):
        code = sorted(self.episodes)[pick % len(self.episodes)]
        rows = self.run(self._contributions(code))
        if not rows:
            return
        row = rows[nth % len(rows)]
        member = (
            self.w.host if as_host else next((m for m in self.members if m.id == row.author_id), self.w.alice)
        )
        result = self.interact(
            member.slash(self.w.general, "research remove", episode=code, contribution=row.id)
        )
        if "Removed" in text_of(result) and row.message_id is not None:
            self.removed.add(row.message_id)

    async def _contributions(self, code: str):
        episode = await episode_store.get_by_code(self.env.bot.services.db, self.w.guild.id, code)
        return await contribution_store.for_episode(self.env.bot.services.db, episode.id)

    # -- reminders and deadlines -------------------------------------------------------------------

    @precondition(lambda self: self.online)
    @rule(
        who=st.sampled_from(("alice", "bob")),
        delay=st.sampled_from(
            (("in 2 minutes", 120), ("in 10 minutes", 600), ("in 1 hour", 3600), ("in 1 day", DAY))
        ),
        private=st.booleans(),
        where=st.integers(0, 3),
    )
    def remind_me(self, who, delay, private, where):
        member = getattr(self.w, who)
        channel = self.w.general
        if where and self.episodes:
            channel = self.thread(sorted(self.episodes)[where % len(self.episodes)])
        token = self.token("remind")
        result = self.interact(
            member.slash(channel, "remind me", when=delay[0], text=f"Check {token}", private=private)
        )
        found = REMINDER_ID_RE.search(text_of(result))
        if found:
            due = int(STAMP_RE.search(text_of(result)).group(1))
            self.reminders.append(Reminder(int(found.group(1)), token, member, due, private))

    def delivered(self) -> Counter:
        """How many deliveries of each reminder members can see, anywhere: bot messages with its text,
        and for a private reminder the note with a **Show reminder** button (its text stays hidden)."""
        seen: Counter = Counter()
        by_token = {r.token: r for r in self.reminders}
        by_id = {r.id: r for r in self.reminders}
        notes: list[tuple[int, str, int]] = []  # (message id, reveal target, owner) of grouped notes
        messages = [m for channel in self.env.backend.messages.values() for m in channel.values()]
        for message in sorted(messages, key=lambda m: m.id):
            if message.author_id not in self.bot_ids or message.is_ephemeral:
                continue
            for token in re.findall(r"remind-\d+-zq", message.content):
                if token in by_token:
                    seen[token] += 1
            targets = [
                found.group(1)
                for row in message.components
                for child in row.get("components", [])
                if (found := re.fullmatch(r"archivist:reveal:(\d+|m)", child.get("custom_id") or ""))
            ]
            if not targets:
                continue
            if targets[0] != "m":
                if int(targets[0]) in by_id:
                    seen[by_id[int(targets[0])].token] += 1
                continue
            for owner in re.findall(r"🔒 <@(\d+)>, your private reminder", message.content):
                notes.append((message.id, "m", int(owner)))
        for _, _, owner in notes:  # a grouped note: the owner's earliest private reminder still owed
            owed = [
                r for r in self.reminders if r.private and r.owner.id == owner and seen[r.token] < r.expected
            ]
            if owed:
                seen[min(owed, key=lambda r: r.due).token] += 1
        return seen

    def reminder_messages(self, reminder: Reminder) -> list:
        out = []
        for channel_id, channel in self.env.backend.messages.items():
            for message in channel.values():
                if (
                    message.author_id in self.bot_ids
                    and reminder.token in message.content
                    and message.components
                ):
                    out.append((channel_id, message))
        return out

    @precondition(
        lambda self: self.online and self.reminders and any(self.reminder_messages(r) for r in self.reminders)
    )
    @rule(pick=st.integers(0, 10), owner=st.booleans(), long=st.booleans())
    def snooze(self, pick, owner, long):
        shown = [r for r in self.reminders if self.reminder_messages(r)]
        reminder = shown[pick % len(shown)]
        channel_id, stored = self.reminder_messages(reminder)[-1]
        clicker = reminder.owner if owner else self.w.host
        label = "Snooze 1 day" if long else "Snooze 1 hour"
        # What the reminders of this message look like right before the click.
        seen = self.delivered()
        in_message = [r for r in self.reminders if r.token in stored.content and r.owner is clicker]
        ready = [r for r in in_message if not r.cancelled and seen[r.token] >= r.expected]
        message, in_dm = self.env_message_obj(channel_id, stored.id)
        if in_dm and clicker is not reminder.owner:
            return  # nobody else can see a DM
        result = self.interact((clicker.user if in_dm else clicker).click(message, label=label))
        text = text_of(result)
        if ready:
            assert "Snoozed" in text, f"snooze of a delivered reminder answered {text!r}"
            count = 1 if "this reminder" in text else int(re.search(r"Snoozed (\d+)", text).group(1))
            assert count == len(ready), f"{text!r} but {len(ready)} reminder(s) were ready"
            for r in ready:
                r.expected += 1
                r.due = self.now() + (DAY if long else 3600)
        else:
            assert "Snoozed" not in text, f"nothing to snooze, yet the answer was {text!r}"

    def env_message_obj(self, channel_id: int, message_id: int):
        for handle in (self.w.general, self.w.announcements, self.w.review, *self.w.forum.threads):
            if handle.id == channel_id:
                return next(m for m in handle.history() if m.id == message_id), False
        for member in self.members:
            dm = member.user.dm_channel
            if dm is not None and dm.id == channel_id:
                return next(m for m in dm.history() if m.id == message_id), True
        raise AssertionError(f"no channel {channel_id}")

    @precondition(lambda self: self.online and self.reminders)
    @rule(pick=st.integers(0, 10))
    def remind_cancel(self, pick):
        reminder = self.reminders[pick % len(self.reminders)]
        pending = not reminder.cancelled and self.delivered()[reminder.token] < reminder.expected
        result = self.interact(
            reminder.owner.slash(self.w.general, "remind cancel", reminder=str(reminder.id))
        )
        text = text_of(result)
        if pending and not self.may_have_failed(reminder):
            assert "Cancelled" in text, f"cancelling a pending reminder answered {text!r}"
        if "Cancelled" in text:
            assert pending, f"cancelled a reminder that was not pending: {text!r}"
            reminder.cancelled = True

    @precondition(lambda self: self.online and self.episodes)
    @rule(
        pick=st.integers(0, 2),
        milestone=st.sampled_from(tuple(MILESTONES)),
        when=st.sampled_from(("in 2 hours", "in 30 hours", "in 2 days", "in 4 days")),
    )
    def set_deadline(self, pick, milestone, when):
        code = sorted(self.episodes)[pick % len(self.episodes)]
        result = self.interact(
            self.w.host.slash(
                self.w.general, "episode deadline", episode=code, milestone=milestone, when=when
            )
        )
        found = STAMP_RE.search(text_of(result))
        if not found:
            return
        now = self.marker()
        for d in self.deadlines:
            if d.code == code and d.milestone == milestone and d.replaced_at is None:
                d.replaced_at = now
        self.deadlines.append(Deadline(code, milestone, int(found.group(1)), now))

    # -- time, restarts, faults --------------------------------------------------------------------

    @rule(seconds=st.sampled_from((30, 90, 600, 3600, 6 * 3600, DAY)))
    def advance(self, seconds):
        self.run(self.env.advance_time(seconds))

    @precondition(lambda self: self.online)
    @rule()
    def go_offline(self):
        self.run(self.env.bot.close())
        self.online = False

    @precondition(lambda self: not self.online)
    @rule()
    def come_back(self):
        consumed = len(self.faults_consumed)
        self.run(self.env.restart_bot(self.new_bot()))
        self.read_failed_at_return = any(
            method == "GET" for _, _, method, _ in self.faults_consumed[consumed:]
        )
        self.online = True
        self.generation += 1
        self.bot_ids.add(self.env.bot.user.id)
        self.back_at = self.now()
        for msg in self.msgs:
            if msg.touched_offline_at == -1:
                msg.touched_offline_at = self.back_at

    @precondition(lambda self: self.online)
    @rule()
    def restart(self):
        self.go_offline()
        self.come_back()

    @rule(
        route=st.integers(0, len(FAULT_ROUTES) - 1),
        status=st.sampled_from(FAULT_STATUSES),
        times=st.integers(1, 3),
    )
    def inject_fault(self, route, status, times):
        method, pattern = FAULT_ROUTES[route]
        if "card_gives_up_on_404" in HELD_BACK and method == "PATCH" and status == 404:
            status = 403  # F2 in model-findings.md
        channels = {
            "forum": self.w.forum.id,
            "general": self.w.general.id,
            "review": self.w.review.id,
            "announcements": self.w.announcements.id,
            "thread": self.episodes[sorted(self.episodes)[0]].thread_id
            if self.episodes
            else self.w.general.id,
        }
        path = pattern.format(**channels)
        self.env.inject_error(method, path, status=status, times=times)
        self.env.backend.faults[-1] = _RecordedFault(
            self.env.backend.faults[-1], self.faults_consumed, self.env.now
        )

    @precondition(lambda self: self.online)
    @rule()
    def settle(self):
        """Discord behaves again: let the repair window and every backoff pass, then all must be right."""
        self.env.backend.faults.clear()
        started = self.now()
        self.run(self.env.advance_time(SETTLE_SECONDS))
        self.run(self._check_cards())
        self.run(self._check_requests())
        self.check_nothing_lost(started)

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def no_unexpected_errors(self):
        if self.env is None:
            return
        errors = self.env.errors_since(self.error_cursor)
        self.error_cursor = self.env.error_cursor
        self.env._errors_acknowledged = self.error_cursor
        assert not errors, f"the bot raised: {errors!r}"
        logged = [f"{r.name}: {r.getMessage()}" for r in self.error_log.records]
        self.error_log.records.clear()
        assert not logged, f"the bot logged errors: {logged}"

    @invariant()
    def record_matches_threads(self):
        if self.env is None or not self.online:
            return
        self.run(self._check_record())

    async def _check_record(self) -> None:
        db = self.env.bot.services.db
        now = self.now()
        lenient = "catch_up_not_retried" in HELD_BACK and self.read_failed_at_return  # F3
        grace = {
            m.id
            for m in self.msgs
            if m.touched_offline_at is not None
            and (
                lenient
                or m.code is None  # catching up covers episode threads only (spec: Research)
                or m.touched_offline_at == -1
                or now < m.touched_offline_at + OFFLINE_GRACE
            )
        }
        existing = {mid for channel in self.env.backend.messages.values() for mid in channel}
        for code in self.episodes:
            stored = await episode_store.get_by_code(db, self.w.guild.id, code)
            rows = await contribution_store.for_episode(db, stored.id)
            by_message = Counter(r.message_id for r in rows if r.message_id is not None)
            for msg in self.live_msgs(code):
                if msg.id in grace or msg.id in self.removed:
                    continue
                if not self.env_message(msg).content.strip():
                    continue
                assert by_message[msg.id] == 1, (
                    f"message {msg.id} in the thread of {code} is in the record {by_message[msg.id]} time(s)"
                )
            for row in rows:
                if row.message_id is None or row.message_id in grace:
                    continue
                assert row.message_id in existing, (
                    f"contribution #{row.id} of {code} ({row.origin}) is message {row.message_id}, which was deleted"
                )

    @invariant()
    def nothing_twice(self):
        if self.env is None:
            return
        seen = self.delivered()
        for r in self.reminders:
            assert seen[r.token] <= r.expected, (
                f"reminder #{r.id} was delivered {seen[r.token]} times, expected at most {r.expected}"
            )
        self.check_deadline_messages()
        digests = Counter()
        for message in self.env.backend.messages.get(self.w.announcements.id, {}).values():
            for embed in message.embeds:
                found = DIGEST_RE.search(embed.get("title") or "")
                if found and found.group(2) in (None, "1"):
                    digests[found.group(1)] += 1
        assert all(n == 1 for n in digests.values()), f"digests posted more than once: {digests}"

    def deadline_messages(self) -> list[tuple[str, str, int, str, int]]:
        """(code, milestone label, deadline, kind, message id) of every deadline reminder members see."""
        out = []
        places = [self.w.announcements.id] + [e.thread_id for e in self.episodes.values()]
        for channel_id in places:
            for message in self.env.backend.messages.get(channel_id, {}).values():
                if message.author_id not in self.bot_ids:
                    continue
                # Reminders due at once for one thread are grouped into one message: read each one.
                found = list(DEADLINE_RE.finditer(message.content))
                posted = snowflake_time(message.id)
                for index, match in enumerate(found):
                    end = found[index + 1].start() if index + 1 < len(found) else len(message.content)
                    text = message.content[match.start() : end]
                    due = int(match.group(3))
                    if "passed" in text:
                        kind = "overdue"
                    elif "is now" in text:
                        kind = "now"
                    else:
                        kind = "1d" if posted >= due - DAY else "3d"
                    out.append((match.group(2), match.group(1), due, kind, message.id))
        return out

    def check_deadline_messages(self) -> None:
        kinds = Counter((code, label, due, kind) for code, label, due, kind, _ in self.deadline_messages())
        assert all(n == 1 for n in kinds.values()), f"a deadline reminder went out twice: {kinds}"
        for code, label, due, _kind, posted in self.deadline_messages():
            milestone = next(k for k, v in MILESTONES.items() if v == label)
            matching = [
                d for d in self.deadlines if d.code == code and d.milestone == milestone and d.due == due
            ]
            assert matching, f"a deadline reminder for {code} {label} at {due}, which was never set"
            current = [
                d
                for d in matching
                if d.set_at <= posted and (d.replaced_at is None or posted < d.replaced_at)
            ]
            assert current, (
                f"a reminder for the moved {label} deadline of {code} ({at(due)}) went out at "
                f"{at(snowflake_time(posted))}"
            )
            status = self.episodes[code].status_at(posted)
            assert status not in MET[milestone] and status != "shelved", (
                f"a {label} deadline reminder for {code} went out while it was {status}"
            )

    # -- settle checks -------------------------------------------------------------------------------

    def permanent_faults_since(self, since: float) -> int:
        return sum(1 for when, status, *_ in self.faults_consumed if when >= since and status in PERMANENT)

    def may_have_failed(self, reminder: Reminder) -> bool:
        """Discord refused (for good) enough requests since it fell due to exhaust its fallbacks."""
        return reminder.due <= self.now() and self.permanent_faults_since(reminder.due - 1) >= 2

    def check_nothing_lost(self, settle_started: float) -> None:
        seen = self.delivered()
        for r in self.reminders:
            if r.cancelled or r.due > settle_started or self.may_have_failed(r):
                continue
            assert seen[r.token] == r.expected, (
                f"reminder #{r.id} (due {at(r.due)}) was delivered {seen[r.token]} time(s), expected {r.expected}"
            )
        delivered = {
            (c, label, due)
            for c, label, due, kind, _ in self.deadline_messages()
            if kind in ("now", "overdue")
        }
        for d in self.deadlines:
            episode = self.episodes[d.code]
            if d.replaced_at is not None or d.due > settle_started or self.permanent_faults_since(d.due - 1):
                continue
            if any(since > d.set_at for since, _ in episode.status_log) or episode.status_at(d.set_at) in MET[
                d.milestone
            ] | {"shelved"}:
                continue  # its reminders were dropped or rescheduled by a status move
            assert (d.code, MILESTONES[d.milestone], d.due) in delivered, (
                f"the {d.milestone} deadline of {d.code} ({at(d.due)}) passed without a reminder"
            )
        monday = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        posted = {
            DIGEST_RE.search(e.get("title") or "").group(1)
            for m in self.env.backend.messages.get(self.w.announcements.id, {}).values()
            for e in m.embeds
            if DIGEST_RE.search(e.get("title") or "")
        }
        while monday.timestamp() <= settle_started:
            if not self.permanent_faults_since(monday.timestamp() - 1):
                assert f"{monday.day} {monday:%B}" in posted, f"no digest for the week of {monday:%Y-%m-%d}"
            monday += timedelta(days=7)

    async def _check_cards(self) -> None:
        db = self.env.bot.services.db
        threads = {t.id: t for t in self.w.forum.threads}
        for code in self.episodes:
            stored = await episode_store.get_by_code(db, self.w.guild.id, code)
            data = await lists_store.card_data(db, stored.id)
            thread = threads[stored.thread_id]
            starter = self.env.backend.get_message(thread.id, stored.starter_message_id)
            card = {f["name"]: f["value"] for f in starter.embeds[0]["fields"]}
            assert card["Status"] == LABELS[stored.status.value], f"card of {code} shows {card['Status']}"
            shown = {int(u) for u in re.findall(r"<@!?(\d+)>", card["Authors"])}
            assert shown == set(data.authors), (
                f"card of {code} shows authors {shown}, database {data.authors}"
            )
            assert card["Contributions"] == str(data.contribution_count), (
                f"card of {code} shows {card['Contributions']} contributions, database {data.contribution_count}"
            )
            tags = {t.name for t in self.env.bot.get_channel(thread.id).applied_tags}
            assert LABELS[stored.status.value] in tags, f"post of {code} is tagged {tags}"
            assert ("Needs Author" in tags) == (not data.authors), f"post of {code} is tagged {tags}"

    async def _check_requests(self) -> None:
        pending = {r.id for r in await request_store.list_pending(self.env.bot.services.db, self.w.guild.id)}
        live = set()
        for message in self.env.backend.messages.get(self.w.review.id, {}).values():
            for row in message.components:
                for child in row.get("components", []):
                    found = re.fullmatch(r"archivist:request:approve:(\d+)", child.get("custom_id") or "")
                    if found and not child.get("disabled"):
                        live.add(int(found.group(1)))
        assert pending <= live, f"pending requests without review buttons: {sorted(pending - live)}"


def test_reliability_model(monkeypatch):
    monkeypatch.setenv("LOG_DIR", "")
    monkeypatch.setenv("GC_FREEZE", "0")
    monkeypatch.setenv("DATABASE_PATH", "unused")  # each example sets its own
    monkeypatch.delenv("DISCORD_GUILD_ID", raising=False)
    run_state_machine_as_test(ReliabilityModel, settings=chosen())


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
