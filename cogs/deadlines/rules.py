"""Which reminder jobs a deadline needs, and which of several due at once speaks (pure; no discord)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import from_ts
from bot.core.jobs import Job, NewJob
from cogs.deadlines.store import DeadlineInfo
from cogs.episodes.rules import Status

DEADLINE = "deadline"  # the job kind of a deadline's reminders
OVERDUE_AFTER = timedelta(days=1)


def job_prefix(info: DeadlineInfo) -> str:
    """The dedupe-key prefix shared by all reminder jobs of one deadline."""
    return f"deadline:{info.episode_id}:{info.milestone.value}:"


def is_open(info: DeadlineInfo) -> bool:
    """Still to be met: its milestone is not reached and the episode is not shelved."""
    return not info.milestone.met_by(info.status) and info.status is not Status.SHELVED


def deadline_jobs(info: DeadlineInfo, offsets: list[timedelta], current: datetime) -> list[NewJob]:
    """The reminder jobs a deadline needs now: one per offset still ahead, and the overdue note.
    None for a met milestone or a shelved episode; a time already past is skipped, never sent late."""
    if not is_open(info):
        return []
    prefix = job_prefix(info)
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


def reminder_times(jobs: list[NewJob]) -> list[datetime]:
    """When a deadline's advance reminders go out (its overdue note aside)."""
    return [from_ts(int(j.due_at)) for j in jobs if j.payload.get("offset") is not None]


def stage(job: Job) -> float:
    """How far along a deadline's reminders a job is: the overdue note last, smaller offsets later."""
    offset = job.payload.get("offset")
    return float("inf") if offset is None else -float(offset)
