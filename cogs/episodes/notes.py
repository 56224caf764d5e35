"""Notes in an episode's thread ("moved to Writing", "is now an author"), kept until Discord takes them.

A note is kept in the database before it is posted (`thread_notes`) and delivered by a `thread_note`
job until Discord takes it; the id of the message that carries it is recorded, so a retry never posts
it twice.

A note can be amended once what it announced is settled ("would like to write" → "approved"): the new
text is kept in a `thread_note_edit` job before the edit is tried, and the job edits the message once
the note is posted and Discord takes the edit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord

from bot.clock import now
from bot.core.db import Database
from bot.core.jobs import Job, NewJob
from bot.core.scheduler import DONE, Failed, Outcome, Retry, Scheduler
from cogs.episodes import notes_store, posts_store
from cogs.episodes.posts_store import NewNote, ThreadNote
from cogs.episodes.store import Episode
from cogs.episodes.sync import PostSync, only_pinging, refusal_outcome

log = logging.getLogger(__name__)

NOTE_RETRY_SECONDS = 30.0
NOTE_LOOKBACK = 50  # recent messages searched for a note whose post may have arrived
NOTE_EDIT_JOB = "thread_note_edit"
NOTE_EDIT_TRIES = 12  # a note not posted yet is waited for with backoff (30 s … 15 min), ~2 hours in all


class ThreadNotes:
    """Keeps notes for episode threads and posts each exactly once."""

    def __init__(self, bot: discord.Client, db: Database, scheduler: Scheduler, posts: PostSync) -> None:
        self.bot = bot
        self.db = db
        self.scheduler = scheduler
        self.posts = posts
        self._locks: dict[int, asyncio.Lock] = {}  # `note_job` handles NOTE_JOB (registered by `bot.wiring`)

    @staticmethod
    def new(content: str, *, ping: list[int] | None = None) -> NewNote:
        """A note to keep with a change, in its transaction (`posts_store.announce_in`), then post
        with `deliver_note`; it pings only the members in `ping`."""
        return NewNote(content, now().timestamp() + NOTE_RETRY_SECONDS, tuple(ping or ()))

    async def note(self, episode: Episode, content: str, *, ping: list[int] | None = None) -> bool:
        """Keep a note for the episode's thread and post it; pings only the members in `ping`.
        True when it is posted now; otherwise a `thread_note` job posts it when Discord lets it."""
        note_id, job = await posts_store.add_note(self.db, episode, self.new(content, ping=ping))
        self.scheduler.jobs_changed([job])
        return await self.deliver_note(note_id)

    async def deliver_note(self, note_id: int) -> bool:
        """Post a kept note now; True when it is in the thread (now or before), False when it waits."""
        try:
            outcome = await self._post_note(note_id, attempts=0)
        except Exception as exc:  # e.g. "database is locked" recording it: the job finds the post
            log.warning("note %s not recorded as posted (%s); its job will check", note_id, exc)
            return False
        return outcome is DONE

    async def note_job(self, job: Job) -> Outcome:
        return await self._post_note(job.payload["note_id"], attempts=job.attempts)

    # -- amending a note -----------------------------------------------------------------------------

    async def amend_note(self, episode: Episode, content: str, since_ts: int, new_content: str) -> bool:
        """Change the episode's note reading `content` (kept at or after `since_ts`) to `new_content`:
        now when Discord takes it (True, as when there is no such note), else by its
        `thread_note_edit` job, which is saved first so that a stop or a refusal loses nothing."""
        due = now().timestamp() + NOTE_RETRY_SECONDS
        found = await notes_store.keep_note_edit(
            self.db, NOTE_EDIT_JOB, episode.id, content, since_ts, new_content,
            guild_id=episode.guild_id, due_at=due,
        )  # fmt: skip
        if found is None:
            return True
        job_id, note_id = found
        payload = {"note_id": note_id, "content": new_content}
        self.scheduler.jobs_changed([NewJob(NOTE_EDIT_JOB, due, payload, episode.guild_id)])
        try:
            outcome = await self._edit_note(note_id, new_content, attempts=0)
        except Exception as exc:
            log.warning("note %s not amended now (%s); its job will", note_id, exc)
            return False
        if outcome is DONE:
            await notes_store.cancel_job(self.db, job_id)
        return outcome is DONE

    async def note_edit_job(self, job: Job) -> Outcome:
        return await self._edit_note(job.payload["note_id"], job.payload["content"], attempts=job.attempts)

    async def _edit_note(self, note_id: int, content: str, *, attempts: int) -> Outcome:
        async with self._note_lock(note_id):
            note, episode = await notes_store.note_and_episode(self.db, note_id)
            if note is None or episode is None:
                return Failed("the note or its episode is gone")
            if not note.posted:  # its `thread_note` job posts it first; this waits for that
                if attempts + 1 >= NOTE_EDIT_TRIES:
                    return Failed("the note was never posted")
                return Retry("the note is not posted yet")
            try:
                thread = await self.posts.thread(episode)
                if thread is None:
                    return Failed(f"the post of episode {episode.code} is gone")
                if thread.archived:  # a message in an archived post can't be edited
                    await thread.edit(archived=False)
                await thread.get_partial_message(note.message_id).edit(
                    content=content, allowed_mentions=discord.AllowedMentions.none()
                )
            except discord.HTTPException as exc:
                log.warning("note %s of episode %s not amended: %s", note.id, episode.id, exc)
                return refusal_outcome(exc, attempts, "a note's edit", NOTE_RETRY_SECONDS)
            return DONE

    @asynccontextmanager
    async def _note_lock(self, note_id: int) -> AsyncIterator[None]:
        """One delivery of a note at a time (the command's and the job's may meet)."""
        lock = self._locks.setdefault(note_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(note_id) is lock:
                del self._locks[note_id]

    async def _post_note(self, note_id: int, *, attempts: int) -> Outcome:
        async with self._note_lock(note_id):
            note, episode = await notes_store.note_and_episode(self.db, note_id)
            if note is None:
                return Failed("the note is gone (its episode was removed)")
            if note.posted:
                return DONE
            if episode is None:
                return Failed("the note's episode is gone")
            try:
                thread = await self.posts.thread(episode)
                if thread is None:
                    return Failed(f"the post of episode {episode.code} is gone")
                if note.attempted_at is not None:
                    found = await self._find_note(thread, note)
                    if found is not None:
                        await posts_store.note_posted(self.db, note.id, found)
                        return DONE
                await posts_store.note_attempted(self.db, note.id)
                message = await thread.send(
                    note.content,
                    allowed_mentions=only_pinging(note.ping),
                    nonce=f"note{note.id}",  # Discord returns the first post for a repeat within minutes
                )
            except discord.HTTPException as exc:
                outcome = refusal_outcome(exc, attempts, "a note in the thread", NOTE_RETRY_SECONDS)
                log.warning("note %s of episode %s not posted: %s", note.id, episode.id, exc)
                return outcome
            await posts_store.note_posted(self.db, note.id, message.id)
            return DONE

    async def _find_note(self, thread: discord.Thread, note: ThreadNote) -> int | None:
        """The id of the message carrying `note` when an earlier post of it reached the thread after all
        (its answer was lost, or the bot stopped before recording it). A 403 on the read means it can't
        be known: the note is posted (again) rather than lost."""
        me = self.bot.user.id if self.bot.user else None
        since = note.created_at.timestamp() - 1
        try:
            async for message in thread.history(limit=NOTE_LOOKBACK):
                if message.created_at.timestamp() < since:
                    break
                if message.author.id == me and message.content == note.content:
                    return message.id
        except discord.Forbidden:
            log.warning("can't read the thread %s to check note %s was posted", thread.id, note.id)
        return None
