"""`/config check`: what keeps Archivist from working in this server — its own permissions in each
configured channel (as Discord computes them, channel and category overwrites included), the Community
requirement of forum posts, the intents it runs with, and settings not made yet — each with its fix.
`/config channels` uses the same check on the channels being set."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from cogs.config.store import GuildSettings

# What the bot needs in each kind of channel, with the words Discord's settings screens use there.
FORUM_NEEDS: dict[str, str] = {
    "view_channel": "View Channel",
    "send_messages": "Create Posts",
    "send_messages_in_threads": "Send Messages in Posts",
    "manage_threads": "Manage Posts",  # applies the moderated status tags, reopens archived posts
    "manage_channels": "Manage Channel",  # creates the status tags (moderated) the forum lacks
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "read_message_history": "Read Message History",
    "add_reactions": "Add Reactions",
}
TEXT_NEEDS: dict[str, str] = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel setting: its column, what it is for, the kind of channel, the `/config` option."""

    column: str
    purpose: str
    forum: bool
    option: str


CHANNELS = (
    Channel("research_forum_id", "research forum", True, "research_forum"),
    Channel("review_channel_id", "review channel", False, "review"),
    Channel("announcements_channel_id", "announcements channel", False, "announcements"),
)


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # a title: the channel and what it is for, "Server", "Intents", …
    what: str
    fix: str


@dataclass(frozen=True, slots=True)
class Report:
    problems: list[Problem]
    notes: list[tuple[str, str]]  # (title, text): what was checked and found well, with its limits


def role_name(guild: discord.Guild) -> str:
    """The name of the bot's own role (the one Discord made when it was invited), for the fixes."""
    me = guild.me
    role = guild.self_role or next((r for r in reversed(me.roles) if r.managed), None)
    return role.name if role is not None else me.display_name


def _names(labels: list[str]) -> str:
    return ", ".join(f"**{label}**" for label in labels)


def channel_problems(channel: discord.abc.GuildChannel, purpose: str, forum: bool) -> list[Problem]:
    """What the bot lacks in `channel` (used as the `purpose`), computed as Discord does."""
    guild = channel.guild
    me = guild.me
    where = f"#{channel.name} ({purpose})"
    if forum and not isinstance(channel, discord.ForumChannel):
        return [
            Problem(
                where,
                "This is not a forum channel: episode posts live in a forum.",
                "Pick a forum with `/config channels research_forum:`.",
            )
        ]
    needs = FORUM_NEEDS if forum else TEXT_NEEDS
    granted = channel.permissions_for(me)
    missing = [name for name in needs if not getattr(granted, name)]
    if not missing:
        return []
    role = role_name(guild)
    implied = ""
    if "view_channel" in missing:
        # Without it Discord denies everything else there too: the rest shows once it is allowed.
        missing = ["view_channel"]
    elif "send_messages" in missing:
        # Without it Discord also withholds these, whatever they are set to: they show once it is allowed.
        withheld = [n for n in ("embed_links", "attach_files") if n in missing]
        missing = [n for n in missing if n not in withheld]
        if withheld:
            implied = f" (without it Discord also withholds {_names([needs[n] for n in withheld])})"
    server_wide = [n for n in missing if not getattr(me.guild_permissions, n)]
    here = [n for n in missing if n not in server_wide]
    fixes = []
    if here:
        fixes.append(
            f"Edit Channel (#{channel.name}) → Permissions → the **{role}** role → allow "
            f"{_names([needs[n] for n in here])} (the channel's own permissions keep it from me)."
        )
    if server_wide:
        fixes.append(
            f"Server Settings → Roles → **{role}** → allow {_names([needs[n] for n in server_wide])}."
        )
    what = f"I'm missing {_names([needs[n] for n in missing])} here{implied}."
    if missing == ["view_channel"]:
        what = "I can't see this channel (**View Channel**), so I can't do anything here."
    return [Problem(where, what, "\n".join(fixes))]


def check_channels(
    guild: discord.Guild, cfg: GuildSettings, columns: set[str] | None = None
) -> list[Problem]:
    """Problems with the configured channels (only `columns` when given): unset, gone, or lacking
    the bot's permissions."""
    problems = []
    for setting in CHANNELS:
        if columns is not None and setting.column not in columns:
            continue
        channel_id = getattr(cfg, setting.column)
        if channel_id is None:
            problems.append(
                Problem(
                    setting.purpose.capitalize(),
                    "Not set yet.",
                    f"`/config channels {setting.option}:` and pick the channel.",
                )
            )
            continue
        channel = guild.get_channel(channel_id)
        if channel is None:
            problems.append(
                Problem(
                    setting.purpose.capitalize(),
                    f"The channel that was set (<#{channel_id}>) is gone.",
                    f"Pick another with `/config channels {setting.option}:`.",
                )
            )
            continue
        problems += channel_problems(channel, setting.purpose, setting.forum)
    return problems


def check_server(guild: discord.Guild, cfg: GuildSettings, intents: discord.Intents) -> Report:
    """Everything `/config check` looks at, in the order an admin would fix it."""
    problems: list[Problem] = []
    notes: list[tuple[str, str]] = []
    if "COMMUNITY" not in guild.features:
        problems.append(
            Problem(
                "Server",
                "This is not a Community server: Discord offers forum channels, where episode posts "
                "live, only to Community servers.",
                "Server Settings → Enable Community → Get Started (it asks for a rules channel and "
                "verified e-mail for members), then pick the forum with `/config channels research_forum:`.",
            )
        )
    problems += check_channels(guild, cfg)
    if cfg.host_role_id is None:
        problems.append(
            Problem("Host role", "Not set yet.", "`/config roles host:` and pick the hosts' role.")
        )
    elif guild.get_role(cfg.host_role_id) is None:
        problems.append(
            Problem("Host role", "The role that was set is gone.", "Pick another with `/config roles host:`.")
        )
    if intents.message_content:
        notes.append(
            (
                "Message content",
                "✅ I receive what members post. I asked Discord for message content when I connected, and "
                "Discord refuses to connect a bot that asks for it while **Message Content Intent** is off "
                "in the Developer Portal — so it is on. I can't read the Portal itself: if it is switched "
                "off later, I stop at my next start and the log says so.",
            )
        )
    else:
        problems.append(
            Problem(
                "Intents",
                "I run without message content: research posted in episode threads arrives empty.",
                "Developer Portal → your application → Bot → Privileged Gateway Intents → enable "
                "**Message Content Intent**, then restart Archivist.",
            )
        )
    if not intents.members:
        problems.append(
            Problem(
                "Intents",
                "I run without the members intent: I don't see members join or change roles.",
                "Developer Portal → Bot → Privileged Gateway Intents → enable **Server Members Intent**, "
                "then restart Archivist.",
            )
        )
    return Report(problems, notes)


def report_embed(report: Report) -> discord.Embed:
    if report.problems:
        count = len(report.problems)
        embed = discord.Embed(
            title="Archivist set-up check",
            description=f"⚠️ Found {count} problem{'s' if count != 1 else ''}. Fix "
            f"{'them' if count != 1 else 'it'}, then run `/config check` again.",
            colour=discord.Colour.orange(),
        )
        for problem in report.problems[:20]:
            embed.add_field(
                name=f"❌ {problem.where}"[:256],
                value=f"{problem.what}\nFix: {problem.fix}"[:1024],
                inline=False,
            )
    else:
        embed = discord.Embed(
            title="Archivist set-up check",
            description="✅ All is well: I have every permission I need in the research forum, the review "
            "channel and the announcements channel, the server is a Community server, and the host role is set.",
            colour=discord.Colour.green(),
        )
    for title, text in report.notes:
        embed.add_field(name=title, value=text[:1024], inline=False)
    return embed


def warnings_text(problems: list[Problem]) -> str:
    """For `/config channels`: what the bot lacks in the channels just set, one line each."""
    lines = [f"⚠️ **{p.where}**: {p.what} Fix: {p.fix}" for p in problems]
    text = "\n".join(lines)
    return text[:1700] + ("…" if len(text) > 1700 else "")
