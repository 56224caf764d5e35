"""What the weekly digest shows, decided without Discord: which episodes still need an author, and how
its week and date are written for members ("Week of 5 January", never an ISO week number)."""

from __future__ import annotations

from datetime import date

from cogs.episodes.rules import Status

# An episode still needs an author while it is being researched or written: once it is recorded,
# published or shelved, nobody is going to write it.
NEEDS_AUTHOR_STATUSES = (Status.IN_RESEARCH, Status.WRITING)

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def still_needs_author(status: Status) -> bool:
    """Whether an episode in `status` without an author is listed under "Needs an author"."""
    return status in NEEDS_AUTHOR_STATUSES


def digest_day(week: str, weekday: int) -> date:
    """The server-local date of the digest of `week` (its storage key, an ISO week such as `2026-W02`)
    sent on `weekday` (0 = Monday): the first day of the week it covers."""
    year, _, number = week.partition("-W")
    return date.fromisocalendar(int(year), int(number), weekday + 1)


def day_month(day: date, today: date) -> str:
    """`5 January`, with the year only when it is not `today`'s: `29 December 2025`."""
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return text if day.year == today.year else f"{text} {day.year}"


def week_title(first_day: date, today: date) -> str:
    """How people name the week a digest covers: `Week of 5 January` (the year only when it differs
    from `today`'s, e.g. a late digest posted after New Year)."""
    return f"Week of {day_month(first_day, today)}"


def long_date(day: date) -> str:
    """`Monday 5 January 2026`."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"
