"""What deadlines say: the reminders in an episode's thread, the note when one is set, the answer."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.clock import now
from bot.core.jobs import Job
from bot.core.pacing import MAX_PINGS, MESSAGE_MAX
from bot.core.scheduler import LATE_AFTER
from bot.core.text import ts
from cogs.deadlines.store import DeadlineInfo
from cogs.episodes.rules import Milestone


def clean(text: str, size: int = 90) -> str:
    """A title on one line, markdown escaped, cut visibly (never in the middle of an escape)."""
    flat = discord.utils.escape_markdown(text).replace("\n", " ")
    return flat if len(flat) <= size else flat[: size - 1].rstrip("\\") + "…"


def deadline_text(info: DeadlineInfo, job: Job, authors: list[int]) -> tuple[str, tuple[int, ...]]:
    """The reminder's text and the authors it pings: as many as fit in one message (and Discord's 100
    pings), with "and N more" for the rest."""
    name = f"**{info.code}** · {clean(info.title)}"
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


def moved_here(info: DeadlineInfo, text: str) -> str:
    """A reminder posted in the announcements channel because the episode's thread is gone."""
    return f"(The thread of **{info.code}** is gone, so this is here.) {text}"


def set_note(member_id: int, milestone: Milestone, due_at: datetime, previous: datetime | None) -> str:
    """The note in the episode's thread when a deadline is set or moved."""
    verb = "moved" if previous else "set"
    text = f"📅 <@{member_id}> {verb} the **{milestone.label}** deadline: {ts(due_at)} ({ts(due_at, 'R')})"
    if previous:
        text += f", was {ts(previous)}"
    return text + "."


def set_answer(info: DeadlineInfo, previous: datetime | None, met: bool, reminders: list[datetime]) -> str:
    """The answer to `/episode deadline`."""
    text = f"📅 **{info.milestone.label}** deadline of **{info.code}**: {ts(info.due_at)} ({ts(info.due_at, 'R')})"
    if previous:
        text += f", moved from {ts(previous)}"
    text += "."
    if met:
        text += f" The episode is already {info.status.label}, so no reminders will be sent."
    elif reminders:
        text += " Reminders in the thread: " + ", ".join(ts(t, "R") for t in reminders) + "."
    else:
        text += " It's too close for advance reminders."
    return text
