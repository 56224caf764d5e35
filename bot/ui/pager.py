"""A pager for long lists: Previous / Next buttons under an embed, usable by whoever asked."""

from __future__ import annotations

import discord

from bot.interactions import ArchivistView

PAGE_SIZE = 10


def chunk(lines: list[str], size: int = PAGE_SIZE, max_chars: int = 3800) -> list[list[str]]:
    """Split lines into pages of at most `size` lines and `max_chars` characters."""
    pages: list[list[str]] = [[]]
    length = 0
    for line in lines:
        line = line[:max_chars]
        if pages[-1] and (len(pages[-1]) >= size or length + len(line) + 1 > max_chars):
            pages.append([])
            length = 0
        pages[-1].append(line)
        length += len(line) + 1
    return pages


class Pager(ArchivistView):
    def __init__(
        self, owner_id: int, title: str, lines: list[str], *, empty: str, size: int = PAGE_SIZE
    ) -> None:
        super().__init__(timeout=900)
        self.owner_id = owner_id
        self.title = title
        self.pages = chunk(lines, size) if lines else [[empty]]
        self.page = 0
        self._update_buttons()

    def embed(self) -> discord.Embed:
        embed = discord.Embed(title=self.title[:256], description="\n".join(self.pages[self.page]))
        if len(self.pages) > 1:
            embed.set_footer(text=f"Page {self.page + 1} of {len(self.pages)}")
        return embed

    async def send(self, interaction: discord.Interaction) -> None:
        view = self if len(self.pages) > 1 else discord.utils.MISSING
        await interaction.response.send_message(embed=self.embed(), view=view, ephemeral=True)

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("This list belongs to someone else.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.page = max(0, self.page - 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.page = min(len(self.pages) - 1, self.page + 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)
