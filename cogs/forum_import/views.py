"""What admins see of an import: its progress, its closing report, the forum names waiting for a link
and what a link moved. Names from the forum are shown as plain text (escaped), members as mentions
that ping nobody."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.core.text import plural
from cogs.episodes.views import clip
from cogs.forum_import.service import ImportProgress, ImportReport, LinkResult, plain

DESCRIPTION = 4096  # Discord's limit on an embed's description
REPORT_ITEMS = 8  # topics or names named per list of the report (the rest counted)
DONE_COLOUR = discord.Colour.green()
DRY_COLOUR = discord.Colour.blurple()
STOPPED_COLOUR = discord.Colour.orange()
LINK_HINT = "Link each name to its member with `/import link forum_name member`."


def progress_text(progress: ImportProgress, source: str, *, dry_run: bool) -> str:
    """The command's reply while the import runs."""
    what = "Dry run (nothing will be changed)" if dry_run else "Importing"
    of = f" of {progress.topics_total}" if progress.topics_total is not None else ""
    text = (
        f"⏳ {what} from {plain(source, 80)}: {progress.topics_done}{of} topics, "
        f"{plural(progress.posts_done, 'post')} read."
    )
    if progress.current:
        text += f"\nLast: {plain(progress.current, 120)}"
    return text


def report_embed(
    report: ImportReport, source: str, unreadable: Sequence[tuple[int | str, str]] = ()
) -> discord.Embed:
    """The closing report: episodes and contributions created, updated, unchanged; posts skipped and
    why; conflicts; topics that couldn't be read or written; names waiting for a link."""
    if report.dry_run:
        title, colour = "Dry run: nothing was changed", DRY_COLOUR
    elif report.stopped or report.failed or unreadable:
        title, colour = "Import finished, with problems", STOPPED_COLOUR
    else:
        title, colour = "Import finished", DONE_COLOUR
    lines = report.lines(limit=REPORT_ITEMS)
    if unreadable:
        shown = [f"{ref} ({plain(reason, 160)})" for ref, reason in unreadable[:REPORT_ITEMS]]
        more = f"; … and {len(unreadable) - REPORT_ITEMS} more" if len(unreadable) > REPORT_ITEMS else ""
        lines.append(
            "Topics that couldn't be read (nothing of them was imported): " + "; ".join(shown) + more
        )
    if report.waiting:
        lines.append(f"All names waiting for a link: `/import authors`. {LINK_HINT}")
    if report.changed_nothing and not report.dry_run and report.topics:
        lines.append("Nothing new since the last import: nothing was posted or changed in Discord.")
    embed = discord.Embed(title=title, description=clip("\n".join(lines), DESCRIPTION), colour=colour)
    embed.set_footer(text=clip(f"From {source}", 200))
    return embed


def author_lines(names: Sequence[tuple[str, int]]) -> list[str]:
    """`/import authors`: one line per forum name, with its imported contributions and authorships."""
    return [f"**{plain(name, 80)}** — {count}" for name, count in names]


def authors_title(count: int) -> str:
    return f"Forum names waiting for a link ({count})"


AUTHORS_HEADER = (
    "Imported contributions and authorships per forum name, most first. "
    f"{LINK_HINT} Names equal to a member's username were linked on import."
)
NO_AUTHORS = "Every imported forum name is linked to a member (or nothing was imported yet)."


def link_text(result: LinkResult) -> str:
    """`/import link`'s answer: what moved to the member."""
    name = plain(result.forum_name, 80)
    if not result.changed:
        return f"Forum name **{name}** is already linked to <@{result.member_id}>; nothing changed."
    moved = f"{plural(result.contributions, 'contribution')} and {plural(result.authorships, 'authorship')}"
    verb = "is" if result.contributions + result.authorships == 1 else "are"
    where = f" in {plural(len(result.episodes), 'episode')}" if result.episodes else ""
    return (
        f"Linked forum name **{name}** to <@{result.member_id}>: {moved}{where} {verb} now theirs, "
        "everywhere (lists, search, exports, credits, cards)."
    )
