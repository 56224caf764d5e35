"""Episode rules: codes, titles, statuses and their order, forum tag names, thread names."""

from __future__ import annotations

import re
from enum import StrEnum

from bot.errors import InvalidInput

CODE_MAX = 20
TITLE_MAX = 90
DESCRIPTION_MAX = 2000
NOTE_MAX = 500
THREAD_NAME_MAX = 100
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,20}$")


class Status(StrEnum):
    IN_RESEARCH = "in_research"
    WRITING = "writing"
    RECORDED = "recorded"
    PUBLISHED = "published"
    SHELVED = "shelved"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[Status, str] = {
    Status.IN_RESEARCH: "In Research",
    Status.WRITING: "Writing",
    Status.RECORDED: "Recorded",
    Status.PUBLISHED: "Published",
    Status.SHELVED: "Shelved",
}
NEEDS_AUTHOR_TAG = "Needs Author"
MANAGED_TAGS = (*STATUS_LABELS.values(), NEEDS_AUTHOR_TAG)
THANKS_STATUSES = frozenset({Status.RECORDED, Status.PUBLISHED})


class Milestone(StrEnum):
    RESEARCH = "research"
    SCRIPT = "script"
    RECORDING = "recording"
    PUBLISH = "publish"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    def met_by(self, status: Status) -> bool:
        """Whether an episode in `status` has already passed this milestone (no reminder then)."""
        return status in _MET_BY[self]


_MET_BY: dict[Milestone, frozenset[Status]] = {
    Milestone.RESEARCH: frozenset({Status.WRITING, Status.RECORDED, Status.PUBLISHED}),
    Milestone.SCRIPT: frozenset({Status.RECORDED, Status.PUBLISHED}),
    Milestone.RECORDING: frozenset({Status.RECORDED, Status.PUBLISHED}),
    Milestone.PUBLISH: frozenset({Status.PUBLISHED}),
}


def validate_code(code: str) -> str:
    code = code.strip()
    if not _CODE.match(code):
        raise InvalidInput(
            f"`{code[:40]}` is not a valid episode code: use 1–{CODE_MAX} letters, digits, "
            "`-`, `_` or `.` (for example `1924-01`)."
        )
    return code


def validate_title(title: str) -> str:
    if not title.strip():
        raise InvalidInput("The title cannot be empty.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"The title is {len(title)} characters long; the limit is {TITLE_MAX}.")
    return title


def validate_description(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"The description is {len(description)} characters long; the limit is {DESCRIPTION_MAX}."
        )
    return description if description.strip() else None


def validate_note(note: str | None) -> str | None:
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"The note is {len(note)} characters long; the limit is {NOTE_MAX}.")
    return note.strip() or None if note else None


def thread_name(code: str, title: str) -> str:
    """`<code> <title>`, cut to Discord's 100 characters with a visible ellipsis."""
    name = f"{code} {title}".replace("\n", " ").strip()
    if len(name) <= THREAD_NAME_MAX:
        return name
    return name[: THREAD_NAME_MAX - 1].rstrip() + "…"


def managed_tag_names(status: Status, has_authors: bool) -> list[str]:
    """The forum tags the bot keeps on an episode's post."""
    names = [status.label]
    if not has_authors:
        names.append(NEEDS_AUTHOR_TAG)
    return names


def suggest(episodes: list[tuple[int, str, str]], text: str, limit: int = 25) -> list[tuple[str, str]]:
    """(code, title) for autocomplete from (id, code, title) rows: codes starting with the text first,
    then codes or titles containing it; newest first within each group; case-insensitive."""
    needle = text.strip().lower()
    newest = sorted(episodes, key=lambda row: row[0], reverse=True)
    if not needle:
        return [(code, title) for _, code, title in newest[:limit]]
    starts = [(c, t) for _, c, t in newest if c.lower().startswith(needle)]
    if len(starts) >= limit:
        return starts[:limit]
    contains = [
        (c, t)
        for _, c, t in newest
        if not c.lower().startswith(needle) and (needle in c.lower() or needle in t.lower())
    ]
    return (starts + contains)[:limit]
