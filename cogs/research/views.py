"""What members see of research: the submit form, the episode picker of **Add to research**, the
post of a form contribution, and the lines of `/research list`, `search` and `credits`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.core.interactions import form_values
from bot.core.text import ts
from cogs.episodes.store import Episode
from cogs.research.credits import Listed
from cogs.research.export_job import FORMAT_NAMES, Estimate
from cogs.research.rules import LikeEmoji, clip, excerpt, join_within
from cogs.research.store import HIT_END, HIT_START, Contribution, Marked, SearchHit

FORM_COLOUR = discord.Colour.teal()


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(text)


EMBED_TOTAL = 6000  # Discord's limit on all the text of a message's embeds
FIELD_VALUE = 1024
NUMBER_FIELD = "Contribution"  # the field of a form post that holds its number (found again by it)
DESCRIPTION = 4096


def form_embed(
    number: int, author_id: int, title: str, body: str, sources: str | None, code: str
) -> discord.Embed:
    """A form contribution as posted in the thread, credited to its author (a mention in an embed
    shows the name and pings nobody). Long sources show whole lines and "… and N more"; whatever
    is cut stays in the record and the export."""
    embed = discord.Embed(title=excerpt(title, 256), description=clip(body, DESCRIPTION), colour=FORM_COLOUR)
    embed.add_field(name="Contributed by", value=f"<@{author_id}>", inline=True)
    embed.add_field(name=NUMBER_FIELD, value=f"#{number}", inline=True)
    embed.set_footer(text=f"Research for {code} · sent with /research submit")
    lines = [line for line in (sources or "").splitlines() if line.strip()]
    if lines:
        # len(embed) counts the text Discord counts towards the total (title, description, fields, footer).
        room = min(FIELD_VALUE, EMBED_TOTAL - len(embed) - len("Sources"))
        embed.add_field(
            name="Sources",
            value=join_within(lines, room, more="… and {n} more in the export"),
            inline=False,
        )
    return embed


LIST_PAGE = 8  # contributions per page of /research list
SEARCH_PAGE = 6  # hits per page of /research search
# A page is at most 3,800 characters (bot.core.pager.chunk): every line of a page must fit whole.
LINE_MAX = 3800 // LIST_PAGE - 1


def _short(text: str, limit: int) -> str:
    """`text` on one line, markdown escaped, at most `limit` characters after escaping (escaping
    can double a text's length), cut visibly."""
    size = limit
    while True:
        shown = _escape(excerpt(text, size))
        if len(shown) <= limit or size <= 1:
            return shown[:limit]
        size -= max(1, (len(shown) - limit + 1) // 2)


MARK_BADGES = {"key": "⭐ key", "excluded": "🚫 excluded"}  # how `/research list` shows a mark
MARK_MEANINGS = {
    "key": "is now key research: it comes first in the dossier",
    "excluded": "is now excluded: left out of the Markdown and HTML dossier, kept in JSON and CSV",
    "normal": "is now normal research: in the dossier in date order",
}
ALREADY = {
    "key": "is already key research",
    "excluded": "is already excluded from the dossier",
    "normal": "is already normal research (neither key nor excluded)",
}


def author_text(author_id: int | None, author_name: str | None) -> str:
    """A contributor as a mention (pinging nobody where it is shown), or, for a forum author not linked
    to a member yet, their forum name."""
    if author_id is not None:
        return f"<@{author_id}>"
    return f"{_short(author_name or 'a forum member', 60)} (forum)"


def contribution_line(c: Contribution) -> str:
    """One contribution in `/research list`: number, its mark (key, excluded), author, date, likes,
    link and an excerpt, in at most LINE_MAX characters whatever the member typed."""
    badge = f" · {MARK_BADGES[c.mark]}" if c.mark in MARK_BADGES else ""
    who = author_text(c.author_id, c.author_name)
    head = f"**#{c.id}**{badge} · {who} · {ts(c.created_at, 'd')} · {likes_text(c.likes)}"
    if c.jump_url and len(c.jump_url) <= 120:
        head += f" · [link]({c.jump_url})"
    text = _short(c.body, 110) if c.body else ""
    if c.title:
        title = f"**{_short(c.title, 80)}**"
        text = f"{title} — {text}" if text else title
    if not text and c.attachments:
        text = f"📎 {_short(', '.join(a.filename for a in c.attachments), 100)}"
    line = f"{head}\n{text}" if text else head
    return line[:LINE_MAX]


def likes_text(n: int) -> str:
    return "no likes" if n == 0 else "1 like" if n == 1 else f"{n} likes"


def mark_answer(marked: Marked, code: str) -> str:
    """What `/research mark` changed, in words."""
    if not marked.changed:
        return f"Contribution **#{marked.id}** {ALREADY[marked.new]}: nothing changed."
    return f"Contribution **#{marked.id}** of `{code}` {MARK_MEANINGS[marked.new]}."


def like_emoji_text(likes: LikeEmoji) -> str:
    """The server's like emoji, and where they come from (`/config research`, `/config show`)."""
    if likes.chosen:
        return f"{likes.shown} (set with `/config research`)"
    forum = (
        f", plus the research forum's default reaction {likes.forum_default}" if likes.forum_default else ""
    )
    return f"{likes.shown} (the default{forum})"


def search_line(hit: SearchHit) -> str:
    who = author_text(hit.author_id, hit.author_name)
    head = f"**#{hit.id}** · `{hit.episode_code}` · {who} · {ts(hit.created_at, 'd')}"
    if hit.jump_url and len(hit.jump_url) <= 120:
        head += f" · [link]({hit.jump_url})"
    snippet = _escape(" ".join(hit.snippet.split()))
    if len(snippet) > 300:
        snippet = snippet[:299].rstrip("\\") + "…"
    if snippet.count(HIT_START) != snippet.count(HIT_END):  # a match cut in half
        snippet += HIT_END
    return f"{head}\n{snippet.replace(HIT_START, '**').replace(HIT_END, '**')}"


def credits_block(text: str) -> str:
    """The credits text in a code block, ready to copy (members' backticks can't close it)."""
    return "```\n" + text.replace("`", "'") + "\n```"


def credits_embed(code: str, listed: Sequence[Listed], total: int | None = None) -> discord.Embed:
    """Who contributed, as mentions (pinging nobody) with their number of contributions."""
    return discord.Embed(
        title=f"Research credits · {code}",
        description=join_within(
            [
                f"{f'<@{p.id}>' if p.id is not None else _short(p.plain or '', 80)} ({p.contributions})"
                for p in listed
            ],
            4096,
            sep=" ",
            total=total,
        ),
    )


SUBMIT_FORM_PREFIX = "archivist:research:submit:"
_SUBMIT_FORM = re.compile(r"^archivist:research:submit:(\d+)$")


@dataclass(frozen=True, slots=True)
class Submission:
    """A submitted `/research submit` form."""

    episode_id: int
    title: str
    body: str
    sources: str | None


def submit_form(episode: Episode) -> discord.ui.Modal:
    """`/research submit`: the fields' custom ids are `title`, `body` and `sources`; the form's own
    custom id carries the episode.

    Its submission is read by the research cog's interaction listener (`submission`), in this process
    or the next: the form is closed before it is sent, so nothing a restart loses is needed to answer it."""
    form = discord.ui.Modal(
        title=f"Research for {episode.code}"[:45], custom_id=f"{SUBMIT_FORM_PREFIX}{episode.id}"
    )
    form.add_item(
        discord.ui.TextInput(
            label="Title", custom_id="title", max_length=256, placeholder="What is this piece about?"
        )
    )
    form.add_item(
        discord.ui.TextInput(
            label="Research",
            custom_id="body",
            style=discord.TextStyle.paragraph,
            max_length=4000,
            placeholder="Facts, quotes, dates, context…",
        )
    )
    form.add_item(
        discord.ui.TextInput(
            label="Sources",
            custom_id="sources",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=4000,
            placeholder="One per line: books, articles, links",
        )
    )
    form.stop()
    return form


def submission(interaction: discord.Interaction) -> Submission | None:
    """The submitted `/research submit` form, or None when the interaction is something else."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    data = interaction.data or {}
    match = _SUBMIT_FORM.match(str(data.get("custom_id", "")))
    if match is None:
        return None
    values = form_values(interaction)
    return Submission(
        int(match[1]), values.get("title", ""), values.get("body", ""), values.get("sources") or None
    )


PICKER_PREFIX = "archivist:research:"
# pick / code / code-form, then the channel and message the member is adding.
_PICKER = re.compile(r"^archivist:research:(pick|code|code-form):(\d+):(\d+)$")


@dataclass(frozen=True, slots=True)
class PickerAction:
    """A click, choice or submitted form of the **Add to research** episode picker."""

    action: str  # "pick" (a code chosen), "code" (asks for a code), "code-form" (a code typed)
    channel_id: int
    message_id: int
    code: str = ""


def episode_picker(channel_id: int, message_id: int, episodes: list[tuple[str, str]]) -> discord.ui.View:
    """A select of recent episodes plus a button that opens a form taking a code. The custom ids
    carry the message being added, and the cog's interaction listener answers them (`picker_action`),
    in this process or the next: the view is closed before it is sent. Only the member who asked sees
    it (the answer is ephemeral)."""
    view = discord.ui.View(timeout=None)
    if episodes:
        view.add_item(
            discord.ui.Select(
                placeholder="Choose the episode",
                custom_id=f"{PICKER_PREFIX}pick:{channel_id}:{message_id}",
                options=[
                    discord.SelectOption(label=f"{code} · {title}"[:100], value=code)
                    for code, title in episodes[:25]
                ],
            )
        )
    view.add_item(
        discord.ui.Button(
            label="Enter a code",
            style=discord.ButtonStyle.secondary,
            custom_id=f"{PICKER_PREFIX}code:{channel_id}:{message_id}",
        )
    )
    view.stop()
    return view


def code_form(channel_id: int, message_id: int) -> discord.ui.Modal:
    """Asks for an episode code (Add to research, outside an episode thread)."""
    form = discord.ui.Modal(
        title="Add to research", custom_id=f"{PICKER_PREFIX}code-form:{channel_id}:{message_id}"
    )
    form.add_item(
        discord.ui.TextInput(
            label="Episode code", custom_id="code", max_length=20, placeholder="e.g. 1924-01"
        )
    )
    form.stop()
    return form


def picker_action(interaction: discord.Interaction) -> PickerAction | None:
    """What the member did with an episode picker, or None when the interaction is something else."""
    if interaction.type not in (discord.InteractionType.component, discord.InteractionType.modal_submit):
        return None
    data = interaction.data or {}
    match = _PICKER.match(str(data.get("custom_id", "")))
    if match is None:
        return None
    action, channel_id, message_id = match[1], int(match[2]), int(match[3])
    if action == "pick":
        values = data.get("values") or [""]
        return PickerAction(action, channel_id, message_id, str(values[0]))
    if action == "code-form":
        code = form_values(interaction).get("code", "")
        return PickerAction(action, channel_id, message_id, code)
    return PickerAction(action, channel_id, message_id)


# Bytes: an export this large (about 100 contributions; written in a tenth of a second or more) says
# what is coming at once, before it is ready.
EXPORT_NOTE_SIZE = 100_000


def export_starting(code: str, fmt: str) -> str:
    """The first answer to `/research export`, at once, before anything is read (`export_progress`
    replaces it when the dossier is large, the files when they are ready)."""
    return f"Preparing the research dossier of **{_escape(code)}** as {FORMAT_NAMES.get(fmt, fmt)}…"


def export_waiting(code: str, fmt: str) -> str:
    """While another export is being written (one at a time)."""
    return (
        f"Another research dossier is being exported right now: the {FORMAT_NAMES.get(fmt, fmt)} dossier of "
        f"**{_escape(code)}** starts as soon as it is done…"
    )


def export_progress(code: str, fmt: str, estimate: Estimate) -> str | None:
    """What a member reads while a large export is written (None for a small one: it comes at once)."""
    if estimate.parts <= 1 and estimate.size < EXPORT_NOTE_SIZE:
        return None
    size = estimate.size / 1_000_000
    amount = f"{size:.0f} MB" if size >= 10 else f"{size:.1f} MB"
    what = f"{estimate.contributions:,} contributions, about {amount} of {FORMAT_NAMES[fmt]}"
    text = f"Preparing the research dossier of **{_escape(code)}** ({what})"
    if estimate.parts > 1:
        text += (
            f": it is larger than this server's upload limit, so it will come in about {estimate.parts} "
            "part files"
        )
    return text + "…"


def export_answer(code: str, files: int) -> str:
    text = f"The research dossier of **{_escape(code)}**."
    if files > 1:
        text += f" It is larger than this server's upload limit, so it comes in {files} parts."
    return text
