"""The weekly digest's embeds: needing an author, in research, deadlines ahead, in pages that fit."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import discord

from bot.core.pacing import fit
from bot.core.text import plural, ts
from cogs.config.store import GuildSettings
from cogs.deadlines.store import DeadlineInfo
from cogs.deadlines.views import clean
from cogs.digest.rules import long_date, week_title
from cogs.digest.store import EpisodeCount
from cogs.episodes.store import Episode

EMBED_MAX = 3900
DIGEST_PAGES_MAX = 10  # messages one digest may post


def digest_pages(
    cfg: GuildSettings,
    first_day: date,
    current: datetime,
    needing: list[Episode],
    research: list[EpisodeCount],
    upcoming: list[DeadlineInfo],
    *,
    late: bool = False,
) -> list[discord.Embed]:
    """The digest of the week starting on `first_day` (server-local: the digest's own day) as one embed
    per page (at most `DIGEST_PAGES_MAX`), titled the way people name a week: "Week of 5 January"."""
    chunks = _paginate(_lines(needing, research, upcoming))
    today = current.astimezone(ZoneInfo(cfg.timezone)).date()
    pages = []
    for index, chunk in enumerate(chunks, start=1):
        title = f"📰 Weekly digest · {week_title(first_day, today)}"
        if len(chunks) > 1:
            title += f" ({index}/{len(chunks)})"
        embed = discord.Embed(title=title, description=chunk, colour=discord.Colour.blurple())
        footer = f"{long_date(today)} · {cfg.timezone}"
        if late:
            footer += " · delayed: I was offline at the usual time"
        embed.set_footer(text=footer)
        pages.append(embed)
    return pages


def _lines(needing: list[Episode], research: list[EpisodeCount], upcoming: list[DeadlineInfo]) -> list[str]:
    sections = [
        (
            f"✍️ Needs an author ({len(needing)})",
            [f"• **{e.code}** · {clean(e.title)}{_thread_mention(e.thread_id)}" for e in needing],
            "Every episode in research or writing has an author.",
        ),
        (
            f"🔎 In research ({len(research)})",
            [
                f"• **{c.code}** · {clean(c.title)} — {plural(c.contributions, 'contribution')}"
                + (f" from {plural(c.contributors, 'member')}" if c.contributions else "")
                + _thread_mention(c.thread_id)
                for c in research
            ],
            "No episode is in research.",
        ),
        (
            f"📅 Deadlines in the next 14 days ({len(upcoming)})",
            [
                f"• {ts(d.due_at)} ({ts(d.due_at, 'R')}) · **{d.code}** {d.milestone.label}{_thread_mention(d.thread_id)}"
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
    return lines


def _paginate(lines: list[str], size: int = EMBED_MAX, pages: int = DIGEST_PAGES_MAX) -> list[str]:
    """Lines into at most `pages` embed descriptions of at most `size` characters; when they don't
    fit, the last page says how many items ("• " lines) were left out."""
    chunks: list[str] = []
    buffer = ""
    for index, line in enumerate(lines):
        line = fit(line, 1000)
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


def _thread_mention(thread_id: int | None) -> str:
    return f" — <#{thread_id}>" if thread_id else ""
