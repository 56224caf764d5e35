"""The episode status card and the starter message of each episode's post: the call for research while
the episode is researched or written, research closed with thanks once it is recorded or published,
paused while it is shelved."""

from __future__ import annotations

import discord

from bot.core.text import ts
from cogs.episodes.lists_store import CardData, EpisodeLine, Who
from cogs.episodes.rules import Status
from cogs.episodes.store import Episode

STATUS_COLOURS = {
    Status.IN_RESEARCH: discord.Colour.blue(),
    Status.WRITING: discord.Colour.gold(),
    Status.RECORDED: discord.Colour.purple(),
    Status.PUBLISHED: discord.Colour.green(),
    Status.SHELVED: discord.Colour.light_grey(),
}


# While an episode is in these statuses its post asks for research and, without an author, for volunteers.
CALLING = frozenset({Status.IN_RESEARCH, Status.WRITING})
MESSAGE_MAX = 2000

# Discord's documented embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_MAX = 1024
FOOTER_MAX = 2048
EMBED_MAX = 6000


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, visibly (ending in "…") when it was longer."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def _more(count: int) -> str:
    return f" … and {count} more"


def mentions(
    user_ids: list[Who], *, total: int | None = None, empty: str = "—", limit: int = FIELD_MAX
) -> str:
    """Mentions of `user_ids`, as many as fit in `limit` characters, then "… and N more" for the rest
    (`total` counts members not even in `user_ids`). A forum name (someone imported from the old forum,
    not linked to a member yet) is shown as that name."""
    if not user_ids:
        return empty
    total = max(total or 0, len(user_ids))
    parts: list[str] = []
    used = 0
    for user_id in user_ids:
        piece = f"<@{user_id}>" if isinstance(user_id, int) else forum_name(user_id)
        grown = used + len(piece) + (1 if parts else 0)
        left = total - len(parts) - 1
        if grown + (len(_more(left)) if left else 0) > limit:
            break
        parts.append(piece)
        used = grown
    text = " ".join(parts)
    if total > len(parts):
        text += _more(total - len(parts))
    return text.lstrip()


def forum_name(name: str) -> str:
    """A forum name on a card: plain text (markdown and mentions escaped), marked as the forum's."""
    text = discord.utils.escape_mentions(discord.utils.escape_markdown(" ".join(name.split())[:40]))
    return f"{text or 'someone'} (forum)"


def fit(embed: discord.Embed) -> discord.Embed:
    """Cut the description (visibly) so that the whole embed stays within Discord's 6,000 characters;
    every other part is cut where it is built."""
    over = len(embed) - EMBED_MAX
    if over > 0 and embed.description:
        embed.description = clip(embed.description, max(len(embed.description) - over, 1))
    return embed


def status_card(data: CardData) -> discord.Embed:
    episode = data.episode
    embed = discord.Embed(
        title=clip(f"{episode.code} · {episode.title}", TITLE_MAX),
        description=clip(episode.description or "", DESCRIPTION_MAX) or None,
        colour=STATUS_COLOURS[episode.status],
    )
    embed.add_field(name="Status", value=episode.status.label, inline=True)
    embed.add_field(
        name="Authors",
        value=mentions(
            data.authors,
            empty="Needs an author — `/episode volunteer`" if episode.status in CALLING else "—",
        ),
        inline=True,
    )
    embed.add_field(name="Contributions", value=str(data.contribution_count), inline=True)
    if data.deadlines:
        lines = [f"**{d.milestone.label}**: {ts(d.due_at)} ({ts(d.due_at, 'R')})" for d in data.deadlines]
        embed.add_field(name="Deadlines", value=clip("\n".join(lines), FIELD_MAX), inline=False)
    else:
        embed.add_field(name="Deadlines", value="None set", inline=False)
    embed.add_field(
        name="Contributors",
        value=mentions(data.contributors, total=data.contributor_total),
        inline=False,
    )
    embed.set_footer(text=f"Episode {episode.code} · status card, kept up to date by Archivist")
    return fit(embed)


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


def research_closed(episode: Episode) -> str:
    """The starter message once the episode is recorded or published: no more calls, thanks instead."""
    return (
        f"## {episode.code} {episode.title}\n"
        f"Research for this episode is closed — thank you to everyone who contributed! The episode is "
        f"**{episode.status.label}**. Everything posted here stays in its research dossier "
        "(`/research export`), and `/research credits` lists the contributors for the credits."
    )


def research_paused(episode: Episode) -> str:
    """The starter message while the episode is shelved."""
    return (
        f"## {episode.code} {episode.title}\n"
        "This episode is **shelved** for now, so research and author requests are paused. What was posted "
        "here stays in its research dossier (`/research export`); if the episode comes back, this post asks "
        "for research again."
    )


def origin_line(url: str) -> str:
    """Under the starter message of an episode imported from the old forum: where its research began."""
    return f"\n\n📜 This episode's research began on the old forum: <{url}>"


def starter_text(episode: Episode, origin_url: str | None = None) -> str:
    """The starter message of the episode's post for its current status (see CALLING)."""
    if episode.status in CALLING:
        text = call_for_research(episode)
    elif episode.status is Status.SHELVED:
        text = research_paused(episode)
    else:
        text = research_closed(episode)
    if origin_url and len(text) + len(origin_line(origin_url)) <= MESSAGE_MAX:
        text += origin_line(origin_url)
    return text


def episode_line(e: EpisodeLine) -> str:
    """One line of `/episode list`."""
    line = f"**{e.code}** · {discord.utils.escape_markdown(e.title)} — {e.status.label}"
    return line + (f" · <#{e.thread_id}>" if e.thread_id else "")
