"""`/help`: the commands a member can use, grouped, one line each."""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.pager import chunk
from bot.core.permissions import is_admin
from bot.errors import NotConfigured
from cogs.episodes.service import EpisodeService

# Who may use a command, as the spec fixes it; anything not listed is for everyone.
AUDIENCE = {
    "episode create": "hosts",
    "episode status": "hosts and authors",
    "episode edit": "hosts",
    "episode claim": "hosts",
    "episode unclaim": "authors",
    "episode assign": "hosts",
    "episode unassign": "hosts",
    "episode requests": "hosts",
    "episode deadline": "hosts and authors",
    "research remove": "contributor or hosts",
    "research mark": "hosts and authors",
    "import discourse": "admins",
    "import file": "admins",
    "import authors": "admins",
    "import link": "admins",
}
# A description's own "(hosts, its authors)": Discord shows it while typing; /help says who once, above.
_WHO_IN_DESCRIPTION = re.compile(r"\s*\([^()]*\)\s*$")
GROUP_TITLES = {
    "episode": "Episodes",
    "research": "Research",
    "remind": "Reminders",
    "config": "Settings (Manage Server)",
    "import": "Moving from the old forum (Manage Server)",
}


def help_lines(tree: app_commands.CommandTree, *, host: bool, admin: bool) -> dict[str, list[str]]:
    """Command lines grouped by section, leaving out what the member cannot use."""
    sections: dict[str, list[str]] = {}
    for command in tree.walk_commands():
        if not isinstance(command, app_commands.Command):
            continue
        name = command.qualified_name
        top = name.split()[0]
        if top == "config" and not admin:
            continue
        audience = AUDIENCE.get(name, "")
        if (audience == "hosts" and not host) or (audience == "admins" and not admin):
            continue
        description = command.description
        if audience:  # who may use it is said once, in the same words for every command
            description = _WHO_IN_DESCRIPTION.sub("", description)
        suffix = f" *({audience})*" if audience and audience != "admins" else ""  # admins: the section says
        section = GROUP_TITLES.get(top, "General")
        sections.setdefault(section, []).append(f"`/{name}` — {description}{suffix}")
    menus = [m.name for m in tree.get_commands(type=discord.AppCommandType.message)]
    if menus:
        sections.setdefault("Research", []).extend(
            f"**{m}** — right-click (or long-press) a message → Apps → {m}" for m in menus
        )
    return sections


class Help(commands.Cog):
    def __init__(self, episodes: EpisodeService) -> None:
        self.episodes = episodes

    @app_commands.command(name="help", description="The commands you can use, grouped")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction) -> None:
        member = interaction.user
        admin = is_admin(member)
        try:
            host = isinstance(member, discord.Member) and await self.episodes.is_host(member)
        except NotConfigured:
            host = False
        embed = discord.Embed(
            title="Archivist — commands",
            description="Research for every episode lives in its thread in the research forum: just post there.",
        )
        for section, lines in help_lines(interaction.client.tree, host=host, admin=admin).items():
            for part in chunk(lines, size=50, max_chars=1024):
                embed.add_field(name=section, value="\n".join(part), inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)
