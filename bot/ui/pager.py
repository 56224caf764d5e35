"""Pagers for long lists: Previous / Next buttons under an embed, usable by whoever asked.

`Pager` pages a list already in memory. `QueryPager` reads one page at a time from the database
(LIMIT/OFFSET), so a list of any length costs the same to show: what a member sees is one page.

Every item is shown on some page: a page holds at most `size` lines and at most `MAX_CHARS` characters;
when the lines read for a page don't all fit, the page shows those that do and the next page starts
with the first one left out. A single line longer than a page is cut visibly ("…").
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import discord

from bot.interactions import ArchivistView

PAGE_SIZE = 10
MAX_CHARS = 3800  # of a page's description (Discord allows 4,096; the title and footer come on top)
# (offset, limit) -> (how many rows in all, one line per row of that page)
PageFetch = Callable[[int, int], Awaitable[tuple[int, list[str]]]]


def _clip(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: max(limit - 1, 0)].rstrip() + "…"


def fitting(lines: list[str], max_chars: int) -> int:
    """How many of `lines` (from the first) fit in `max_chars` characters joined by newlines; at least
    one (cut to fit) when there are any."""
    length = 0
    for count, line in enumerate(lines):
        length += len(line) + (1 if count else 0)
        if length > max_chars:
            return max(count, 1)
    return len(lines)


def chunk(lines: list[str], size: int = PAGE_SIZE, max_chars: int = MAX_CHARS) -> list[list[str]]:
    """Split lines into pages of at most `size` lines and `max_chars` characters."""
    pages: list[list[str]] = [[]]
    length = 0
    for line in lines:
        line = _clip(line, max_chars)
        if pages[-1] and (len(pages[-1]) >= size or length + len(line) + 1 > max_chars):
            pages.append([])
            length = 0
        pages[-1].append(line)
        length += len(line) + 1
    return pages


class Pager(ArchivistView):
    """Pages of a list already in memory."""

    def __init__(
        self, owner_id: int, title: str, lines: list[str], *, empty: str, size: int = PAGE_SIZE
    ) -> None:
        super().__init__(timeout=900)
        self.owner_id = owner_id
        self.title = title
        self.empty = empty
        self.pages = chunk(lines, size) if lines else [[empty]]
        self.page = 0
        self.lines = self.pages[0]

    @property
    def page_count(self) -> int:
        return len(self.pages)

    async def load(self, page: int) -> None:
        """Make `page` the one shown."""
        self.page = page
        self.lines = self.pages[page]

    def embed(self) -> discord.Embed:
        embed = discord.Embed(title=self.title[:256], description="\n".join(self.lines)[:4096])
        if self.page_count > 1:
            embed.set_footer(text=f"Page {self.page + 1} of {self.page_count}")
        return embed

    async def send(self, interaction: discord.Interaction) -> None:
        await self.load(0)
        self._update_buttons()
        view = self if self.page_count > 1 else discord.utils.MISSING
        await interaction.response.send_message(embed=self.embed(), view=view, ephemeral=True)

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.page_count - 1

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        await self.load(max(0, min(self.page_count - 1, page)))
        self._update_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("This list belongs to someone else.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._show(interaction, self.page + 1)


class QueryPager(Pager):
    """Pages read from the database when shown. `title` gets the total count (e.g. "Episodes (500)");
    `header`, when given, opens every page (e.g. a warning for hosts)."""

    def __init__(
        self,
        owner_id: int,
        title: Callable[[int], str],
        fetch: PageFetch,
        *,
        empty: str,
        size: int = PAGE_SIZE,
        header: str | None = None,
    ) -> None:
        super().__init__(owner_id, "", [], empty=empty, size=size)
        self._title = title
        self._fetch = fetch
        self.size = size
        self.header = _clip(header, MAX_CHARS // 2) if header else None
        self.total = 0
        self.starts = [0]  # the first row of each page seen so far
        self.shown = 0  # rows on the current page

    @property
    def page_count(self) -> int:
        """Pages seen so far plus what the rest needs at `size` rows a page (exact unless long lines
        make a later page hold fewer)."""
        end = self.starts[self.page] + self.shown
        return self.page + 1 + max(0, math.ceil((self.total - end) / self.size))

    async def load(self, page: int) -> None:
        page = max(0, min(page, len(self.starts) - 1))
        start = self.starts[page]
        total, lines = await self._fetch(start, self.size)
        if not lines and total and start > 0:  # the list shrank since: start again from its beginning
            page, start = 0, 0
            self.starts = [0]
            total, lines = await self._fetch(start, self.size)
        budget = MAX_CHARS - (len(self.header) + 1 if self.header else 0)
        shown = fitting(lines, budget)
        body = [_clip(line, budget) for line in lines[:shown]]
        self.total, self.page, self.shown = total, page, shown
        del self.starts[page + 1 :]
        if start + shown < total:
            self.starts.append(start + shown)
        self.title = self._title(total)
        self.lines = ([self.header] if self.header else []) + (body or [self.empty])

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= len(self.starts) - 1
