"""`/config …`: per-server settings, for members with Manage Server."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core import autocomplete, timezones
from bot.core.interactions import reply
from bot.core.permissions import require_admin
from bot.errors import InvalidInput
from cogs.config import rules as schedule_rules
from cogs.config.check import report_embed, warnings_text
from cogs.config.service import ConfigService
from cogs.config.store import GuildSettings
from cogs.research.likes import server_like_emoji
from cogs.research.rules import MAX_LIKES, parse_like_emoji
from cogs.research.views import like_emoji_text

SETTINGS = "change Archivist's settings"  # what a refused non-admin is told they can't do


def _channel(value: int | None) -> str:
    return f"<#{value}>" if value else "not set"


def settings_embed(cfg: GuildSettings, guild: discord.Guild | None) -> discord.Embed:
    embed = discord.Embed(title="Archivist settings")
    embed.add_field(name="Research forum", value=_channel(cfg.research_forum_id) + " · `/config channels`")
    embed.add_field(name="Review channel", value=_channel(cfg.review_channel_id) + " · `/config channels`")
    embed.add_field(
        name="Announcements", value=_channel(cfg.announcements_channel_id) + " · `/config channels`"
    )
    embed.add_field(
        name="Host role",
        value=(f"<@&{cfg.host_role_id}>" if cfg.host_role_id else "not set") + " · `/config roles`",
    )
    embed.add_field(name="Time zone", value=f"`{cfg.timezone}` · `/config timezone`")
    embed.add_field(
        name="Reminders",
        value=f"deadline offsets `{cfg.reminder_offsets}`; digest every "
        f"{schedule_rules.WEEKDAYS[cfg.digest_day].capitalize()} at {cfg.digest_time} · `/config reminders`",
        inline=False,
    )
    embed.add_field(
        name="Like emoji",
        value=f"{like_emoji_text(server_like_emoji(guild, cfg))} · `/config research`",
        inline=False,
    )
    return embed


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ConfigGroup(
    app_commands.Group, name="config", description="Configure Archivist for this server (admins)"
):
    def __init__(self, service: ConfigService) -> None:
        super().__init__()
        self.service = service

    @app_commands.command(name="show", description="Show Archivist's settings for this server")
    async def show(self, interaction: discord.Interaction) -> None:
        require_admin(interaction.user, SETTINGS)
        cfg = await self.service.get(interaction.guild_id)
        await interaction.response.send_message(embed=settings_embed(cfg, interaction.guild), ephemeral=True)

    @app_commands.command(
        name="channels", description="Choose the research forum, review channel and announcements"
    )
    @app_commands.describe(
        research_forum="The forum channel where each episode gets its post",
        review="Where hosts review author requests (Approve / Decline)",
        announcements="Where the weekly digest is posted",
    )
    async def channels(
        self,
        interaction: discord.Interaction,
        research_forum: discord.ForumChannel | None = None,
        review: discord.TextChannel | None = None,
        announcements: discord.TextChannel | None = None,
    ) -> None:
        require_admin(interaction.user, SETTINGS)
        changes: dict[str, object] = {}
        if research_forum is not None:
            changes["research_forum_id"] = research_forum.id
        if review is not None:
            changes["review_channel_id"] = review.id
        if announcements is not None:
            changes["announcements_channel_id"] = announcements.id
        if not changes:
            raise InvalidInput("Pick at least one channel: `research_forum`, `review` or `announcements`.")
        cfg = await self.service.update(interaction.guild_id, changes)
        text = "Channels saved."
        warnings = await self.service.channel_warnings(interaction.guild, set(changes))
        if warnings:
            text += (
                " But I can't do my work there yet:\n" + warnings_text(warnings) + "\n"
                "Run `/config check` once that is fixed."
            )
        await reply(interaction, text, embed=settings_embed(cfg, interaction.guild))

    @app_commands.command(
        name="check", description="Check my permissions, the server and my intents, with how to fix problems"
    )
    async def check(self, interaction: discord.Interaction) -> None:
        require_admin(interaction.user, SETTINGS)
        report = await self.service.check(interaction.guild)
        await reply(interaction, embed=report_embed(report))

    @app_commands.command(name="roles", description="Choose the host role (hosts create and run episodes)")
    @app_commands.describe(host="Members with this role are hosts")
    async def roles(self, interaction: discord.Interaction, host: discord.Role) -> None:
        require_admin(interaction.user, SETTINGS)
        if host.is_default():
            raise InvalidInput("@everyone can't be the host role: pick a role that only hosts have.")
        cfg = await self.service.update(interaction.guild_id, {"host_role_id": host.id}, notify=False)
        await reply(
            interaction,
            f"Hosts are now the members with {host.mention}.",
            embed=settings_embed(cfg, interaction.guild),
        )

    @app_commands.command(
        name="timezone", description="The server's time zone, used for times typed without one"
    )
    @app_commands.describe(tz="An IANA time zone name, e.g. Europe/Berlin")
    @app_commands.autocomplete(tz=autocomplete.timezone)
    async def timezone(self, interaction: discord.Interaction, tz: str) -> None:
        require_admin(interaction.user, SETTINGS)
        zone = timezones.validate(tz)
        cfg = await self.service.update(interaction.guild_id, {"timezone": zone})
        await reply(
            interaction,
            f"The server's time zone is now `{zone}`.",
            embed=settings_embed(cfg, interaction.guild),
        )

    @app_commands.command(
        name="reminders", description="Deadline reminder offsets and the weekly digest's day and time"
    )
    @app_commands.describe(
        offsets="When to remind before each deadline, e.g. 3d,1d,0 or 7d,2d,12h",
        digest_day="Weekday of the digest",
        digest_time="Time of the digest in the server's time zone, 24-hour HH:MM",
    )
    @app_commands.choices(
        digest_day=[app_commands.Choice(name=d.capitalize(), value=d) for d in schedule_rules.WEEKDAYS]
    )
    async def reminders(
        self,
        interaction: discord.Interaction,
        offsets: str | None = None,
        digest_day: str | None = None,
        digest_time: str | None = None,
    ) -> None:
        require_admin(interaction.user, SETTINGS)
        changes: dict[str, object] = {}
        if offsets is not None:
            changes["reminder_offsets"] = schedule_rules.format_offsets(schedule_rules.parse_offsets(offsets))
        if digest_day is not None:
            changes["digest_day"] = schedule_rules.parse_weekday(digest_day)
        if digest_time is not None:
            changes["digest_time"] = schedule_rules.parse_clock(digest_time).strftime("%H:%M")
        if not changes:
            cfg = await self.service.get(interaction.guild_id)
            await reply(
                interaction,
                "Nothing changed; the reminder settings are:",
                embed=settings_embed(cfg, interaction.guild),
            )
            return
        cfg = await self.service.update(interaction.guild_id, changes)
        await reply(interaction, "Reminder settings saved.", embed=settings_embed(cfg, interaction.guild))

    @app_commands.command(
        name="research", description="Which emoji count as likes on research (shows them without likes)"
    )
    @app_commands.describe(
        likes=f"Emoji separated by spaces, e.g. 👍 📜 (at most {MAX_LIKES}); default: 👍 ❤️ ⭐ 🔥 and the forum's own"
    )
    async def research(
        self, interaction: discord.Interaction, likes: app_commands.Range[str, 1, 1000] | None = None
    ) -> None:
        require_admin(interaction.user, SETTINGS)
        if likes is None:
            cfg = await self.service.get(interaction.guild_id)
            text = f"Likes are reactions with {like_emoji_text(server_like_emoji(interaction.guild, cfg))}."
            await reply(interaction, text, embed=settings_embed(cfg, interaction.guild))
            return
        chosen = parse_like_emoji(likes)
        stored = " ".join(chosen) if chosen is not None else None
        cfg = await self.service.update(interaction.guild_id, {"like_emoji": stored}, notify=False)
        text = f"Likes are now reactions with {like_emoji_text(server_like_emoji(interaction.guild, cfg))}."
        text += " Reactions already there are counted again the same way; other reactions are not likes."
        await reply(interaction, text, embed=settings_embed(cfg, interaction.guild))


class Admin(commands.Cog):
    """Server configuration, and the welcome a server gets when the bot joins it."""

    def __init__(self, bot: commands.Bot, service: ConfigService) -> None:
        self.bot = bot
        self.service = service
        self.group = ConfigGroup(service)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.service.welcome.welcome(guild)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command("config")
