"""`/remind …`, `/episode deadline`, deadline reminders and the weekly digest."""

from __future__ import annotations

from discord.ext import commands


class Reminders(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Reminders(bot))
