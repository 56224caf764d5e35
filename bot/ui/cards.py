"""The episode status card and the call for research that opens each episode's post."""

from __future__ import annotations

import discord

from bot.domain.episodes import Status
from bot.storage.episodes import CardData, Episode, EpisodeLine

STATUS_COLOURS = {
    Status.IN_RESEARCH: discord.Colour.blue(),
    Status.WRITING: discord.Colour.gold(),
    Status.RECORDED: discord.Colour.purple(),
    Status.PUBLISHED: discord.Colour.green(),
    Status.SHELVED: discord.Colour.light_grey(),
}


def ts(when, style: str = "f") -> str:
    return f"<t:{int(when.timestamp())}:{style}>"


def mentions(user_ids: list[int], *, total: int | None = None, empty: str = "—") -> str:
    if not user_ids:
        return empty
    text = " ".join(f"<@{u}>" for u in user_ids)
    if total is not None and total > len(user_ids):
        text += f" and {total - len(user_ids)} more"
    return text


def status_card(data: CardData) -> discord.Embed:
    episode = data.episode
    embed = discord.Embed(
        title=f"{episode.code} · {episode.title}"[:256],
        description=(episode.description or "")[:4000] or None,
        colour=STATUS_COLOURS[episode.status],
    )
    embed.add_field(name="Status", value=episode.status.label, inline=True)
    embed.add_field(
        name="Authors",
        value=mentions(data.authors, empty="Needs an author — `/episode volunteer`"),
        inline=True,
    )
    embed.add_field(name="Contributions", value=str(data.contribution_count), inline=True)
    if data.deadlines:
        lines = [f"**{d.milestone.label}**: {ts(d.due_at)} ({ts(d.due_at, 'R')})" for d in data.deadlines]
        embed.add_field(name="Deadlines", value="\n".join(lines)[:1024], inline=False)
    else:
        embed.add_field(name="Deadlines", value="None set", inline=False)
    embed.add_field(
        name="Contributors",
        value=mentions(data.contributors, total=data.contributor_total)[:1024],
        inline=False,
    )
    embed.set_footer(text=f"Episode {episode.code} · status card, kept up to date by Archivist")
    return embed


def call_for_research(episode: Episode) -> str:
    """The starter message of an episode's post, in the spirit of the community's forum topics."""
    return (
        f"## {episode.code} {episode.title}\n"
        "Please post any ideas or research for this episode in this thread: facts, quotes, sources and "
        "links are all welcome, and so are corrections of each other's posts. Every message here is kept "
        "with its author in the episode's research dossier (`/research export`) and credited.\n"
        "Longer pieces can go through `/research submit`. If the episode has no author yet and you would "
        "like to write it, use `/episode volunteer` and a host will get back to you."
    )


def episode_line(e: EpisodeLine) -> str:
    """One line of `/episode list`."""
    line = f"**{e.code}** · {discord.utils.escape_markdown(e.title)} — {e.status.label}"
    return line + (f" · <#{e.thread_id}>" if e.thread_id else "")
