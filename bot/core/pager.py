"""Pagers for long lists: Previous / Next buttons under an embed, usable by whoever asked.

`Pager` pages a list already in memory. `QueryPager` reads one page at a time from the database
(LIMIT/OFFSET), so a list of any length costs the same to show: what a member sees is one page.

Every item is shown on some page: a page holds at most `size` lines and at most `MAX_CHARS` characters;
when the lines read for a page don't all fit, the page shows those that do and the next page starts
with the first one left out. A single line longer than a page is cut visibly ("…").

A `QueryPager` given a `kind` (and its `args`, a short string) keeps working after a restart and past
any timeout: its Previous / Next buttons are dynamic items whose custom id carries the kind, the args
and the row the page starts at, and a click rebuilds the pager through the source registered for that
kind in the bot's `PageSources` (built by the composition root; the cog that owns the list registers it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable

import discord

from bot.core.interactions import ArchivistButton, ArchivistView, handle, services_of

PAGE_SIZE = 10
MAX_CHARS = 3800  # of a page's description (Discord allows 4,096; the title and footer come on top)


class AtLeast(int):
    """A count of rows known only as a lower bound: more may follow (a search that stops counting at
    10,000 shows "10,000+"). A `PageFetch` returns it as its total when it did not count every row; the
    pager then never names a last page it does not know."""


# (offset, limit) -> (how many rows in all, or `AtLeast` that many; one line per row of that page)
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

    @property
    def last_known(self) -> bool:
        """Whether `page_count` is known (not only a lower bound)."""
        return True

    def embed(self) -> discord.Embed:
        embed = discord.Embed(title=self.title[:256], description="\n".join(self.lines)[:4096])
        if self.page_count > 1:
            of = f"{self.page_count}" if self.last_known else f"{self.page_count:,} or more"
            embed.set_footer(text=f"Page {self.page + 1} of {of}")
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
        await handle(interaction, self._show(interaction, self.page - 1))

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await handle(interaction, self._show(interaction, self.page + 1))


# (the click, the args the list was opened with) -> the pager to show, checks done (e.g. hosts only)
PageSource = Callable[[discord.Interaction, str], Awaitable["QueryPager"]]


class PageSources:
    """The lists whose pages turn after a restart: kind -> the source that rebuilds its pager. One per
    bot, built by the composition root (`bot.wiring`), which also adds `PageButton`; the cogs owning
    the lists register their sources in it."""

    def __init__(self) -> None:
        self._sources: dict[str, PageSource] = {}

    def register(self, kind: str, source: PageSource) -> None:
        """Let clicks on the lists of `kind` rebuild their pager (also after a restart)."""
        self._sources[kind] = source

    def get(self, kind: str) -> PageSource:
        source = self._sources.get(kind)
        if source is None:
            raise RuntimeError(f"no page source for {kind!r}")
        return source


class PageButton(
    ArchivistButton,
    template=r"archivist:page:(?P<kind>[a-z-]+):(?P<way>prev|next):(?P<page>\d+):(?P<at>\d+):(?P<args>[^:]*)",
):
    """Previous / Next of a registered list. `at` is where the wanted page starts (next) or where the
    shown page starts, the wanted one ending right before it (prev)."""

    def __init__(self, kind: str, way: str, page: int, at: int, args: str, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="Next" if way == "next" else "Previous",
                style=discord.ButtonStyle.secondary,
                custom_id=f"archivist:page:{kind}:{way}:{page}:{at}:{args}",
                disabled=disabled,
            )
        )
        self.kind, self.way, self.page, self.at, self.args = kind, way, page, at, args

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ):
        return cls(match["kind"], match["way"], int(match["page"]), int(match["at"]), match["args"])

    async def clicked(self, interaction: discord.Interaction) -> None:
        pager = await services_of(interaction).pages.get(self.kind)(interaction, self.args)
        await pager.load_at(self.page, self.at, backwards=self.way == "prev")
        await interaction.response.edit_message(embed=pager.embed(), view=pager.buttons())


class QueryPager(Pager):
    """Pages read from the database when shown. `title` gets the total count (e.g. "Episodes (500)");
    `header`, when given, opens every page (e.g. a warning for hosts). With a `kind` (see
    `PageSources`) its buttons keep working after a restart."""

    def __init__(
        self,
        owner_id: int,
        title: Callable[[int], str],
        fetch: PageFetch,
        *,
        empty: str,
        size: int = PAGE_SIZE,
        header: str | None = None,
        kind: str | None = None,
        args: str = "",
    ) -> None:
        super().__init__(owner_id, "", [], empty=empty, size=size)
        self.kind, self.args = kind, args
        self._title = title
        self._fetch = fetch
        self.size = size
        self.header = _clip(header, MAX_CHARS // 2) if header else None
        self.total = 0
        self.start = 0  # the first row of the page shown
        self.shown = 0  # rows on the page shown
        self.starts = {0: 0}  # page number -> its first row, for the pages reachable from here

    @property
    def page_count(self) -> int:
        """This page plus what the rest needs at `size` rows a page (exact unless long lines make a
        later page hold fewer, or the total is only `AtLeast`: then at least that many)."""
        return self.page + 1 + max(0, math.ceil((self.total - self.start - self.shown) / self.size))

    @property
    def last_known(self) -> bool:
        return not isinstance(self.total, AtLeast)

    @property
    def _budget(self) -> int:
        return MAX_CHARS - (len(self.header) + 1 if self.header else 0)

    async def load(self, page: int) -> None:
        page = max(0, min(page, max(self.starts)))
        await self._load(page, self.starts[page])

    async def load_at(self, page: int, at: int, *, backwards: bool = False) -> None:
        """Show the page starting at row `at` (or, backwards, the page ending right before it)."""
        if backwards:
            begin = max(0, at - self.size)
            _, lines = await self._fetch(begin, at - begin) if at > begin else (0, [])
            at -= fitting(list(reversed(lines)), self._budget) if lines else 0
        at = max(at, 0)
        self.starts = {0: 0}
        await self._load(0 if at == 0 else max(page, 1), at)

    async def _load(self, page: int, start: int) -> None:
        total, lines = await self._fetch(start, self.size)
        if not lines and total and start > 0:  # the list shrank since: start again from its beginning
            page, start = 0, 0
            total, lines = await self._fetch(start, self.size)
        shown = fitting(lines, self._budget)
        body = [_clip(line, self._budget) for line in lines[:shown]]
        self.total, self.page, self.start, self.shown = total, page, start, shown
        self.starts = {p: s for p, s in self.starts.items() if p <= page} | {page: start}
        if start + shown < total:
            self.starts[page + 1] = start + shown
        self.title = self._title(total)
        self.lines = ([self.header] if self.header else []) + (body or [self.empty])

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.start + self.shown >= self.total

    async def send(self, interaction: discord.Interaction) -> None:
        if self.kind is None:
            await super().send(interaction)
            return
        await self.load(0)
        view = self.buttons() if self.page_count > 1 else discord.utils.MISSING
        await interaction.response.send_message(embed=self.embed(), view=view, ephemeral=True)

    def buttons(self) -> discord.ui.View:
        """Previous / Next as dynamic items (see PageButton), in a finished view.

        A click reaches PageButton through its custom id, registered at start, not through the view:
        finished, discord.py does not store the view, so a list shown leaves nothing behind (an
        ephemeral view is otherwise kept with a 15-minute timeout task, one per list shown)."""
        assert self.kind is not None
        end = self.start + self.shown
        view = discord.ui.View(timeout=None)
        view.add_item(
            PageButton(
                self.kind, "prev", max(self.page - 1, 0), self.start, self.args, disabled=self.start == 0
            )
        )
        view.add_item(
            PageButton(self.kind, "next", self.page + 1, end, self.args, disabled=end >= self.total)
        )
        view.stop()
        return view
