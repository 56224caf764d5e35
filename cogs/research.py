"""`/research …` and collecting every contribution posted in episode threads."""

from __future__ import annotations

from discord.ext import commands


class Research(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Research(bot))
