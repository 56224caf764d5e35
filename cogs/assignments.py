"""`/episode claim|unclaim|assign|unassign|volunteer|requests` and the Approve/Decline review."""

from __future__ import annotations

from discord.ext import commands


class Assignments(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Assignments(bot))
