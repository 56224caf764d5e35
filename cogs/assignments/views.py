"""The author-request review message: its embed, its persistent Approve / Decline buttons, the Decline
form, and the Withdraw button a volunteer gets.

The buttons are `DynamicItem`s whose custom id carries the request id, so they keep working after a
restart (registered with `bot.add_dynamic_items` by `bot.wiring` on every start). A click calls the
assignments service the composition root built (`services_of(interaction).assignments`).

The Decline form is the same: its custom id carries the request id, and a submitted form is read from
the interaction itself (`decline_submission`), never looked up among forms this process opened, so a
form opened before a restart is answered after it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.core.interactions import ArchivistButton, form_values, handle, reply, services_of
from bot.core.text import thread_url, ts
from bot.errors import NotAllowed
from cogs.assignments.store import AuthorRequest, RequestStatus
from cogs.episodes.store import Episode
from cogs.episodes.views import DESCRIPTION_MAX, FIELD_MAX, TITLE_MAX, clip, fit

if TYPE_CHECKING:
    from cogs.assignments.service import Decided

log = logging.getLogger(__name__)

REASON_MAX = 500
REASON_FIELD = "reason"  # the Decline form's text input custom id

_COLOURS = {
    RequestStatus.PENDING: discord.Colour.orange(),
    RequestStatus.APPROVED: discord.Colour.green(),
    RequestStatus.DECLINED: discord.Colour.red(),
    RequestStatus.WITHDRAWN: discord.Colour.light_grey(),
}


def thread_link(episode: Episode) -> str | None:
    return thread_url(episode.guild_id, episode.thread_id)


def message_link(request: AuthorRequest) -> str | None:
    if request.review_message_id is None or request.review_channel_id is None:
        return None
    return f"https://discord.com/channels/{request.guild_id}/{request.review_channel_id}/{request.review_message_id}"


def episode_label(episode: Episode) -> str:
    return f"{episode.code} · {discord.utils.escape_markdown(episode.title)}"


def assigned_dm(episode: Episode, guild_name: str | None, by_name: str) -> str:
    """The DM telling a member a host made them an author: which episode, where, who, and its thread."""
    where = f" in **{discord.utils.escape_markdown(guild_name)}**" if guild_name else ""
    text = (
        f"✍️ **{discord.utils.escape_markdown(by_name)}** made you an author of "
        f"**{episode_label(episode)}**{where}."
    )
    link = thread_link(episode)
    return text + (f"\nIts research thread, where the sources and notes are: {link}" if link else "")


def assigned_note(user_id: int, by_id: int, *, by_dm: bool) -> str:
    """The note in the episode's thread; when the DM could not go it also tells the member (and is the
    only message that pings them)."""
    note = f"✍️ <@{by_id}> added <@{user_id}> as an author of this episode."
    if not by_dm:
        note += f"\n<@{user_id}>, I couldn't reach you by DM, so I'm telling you here."
    return note


def request_line(request: AuthorRequest, episode: Episode) -> str:
    """One line of `/episode requests`."""
    link = message_link(request)
    where = f"[review message]({link})" if link else "not posted for review yet"
    line = f"**{episode_label(episode)}** · <@{request.user_id}> · {ts(request.created_at, 'R')} · {where}"
    if request.pitch:
        pitch = discord.utils.escape_markdown(" ".join(request.pitch.split()))
        line += f"\n> {pitch[:120]}{'…' if len(pitch) > 120 else ''}"
    return line


def decision_text(request: AuthorRequest) -> str:
    """What happened to a request, with who and when (Discord timestamps)."""
    when = f"{ts(request.decided_at)} ({ts(request.decided_at, 'R')})" if request.decided_at else ""
    if request.status is RequestStatus.APPROVED:
        return f"✅ Approved by <@{request.decided_by}> · {when}"
    if request.status is RequestStatus.DECLINED:
        text = f"❌ Declined by <@{request.decided_by}> · {when}"
        if request.reason:
            text += f"\nReason: {request.reason}"
        return text
    if request.status is RequestStatus.WITHDRAWN:
        return f"↩️ Withdrawn by <@{request.user_id}> · {when}"
    return "⏳ Waiting for a host"


def volunteer_note(user_id: int) -> str:
    """The note in the episode's thread when a member volunteers (amended once the request is settled)."""
    return f"🙋 <@{user_id}> would like to write this episode."


def volunteer_note_decided(request: AuthorRequest) -> str | None:
    """The volunteer's note once the request is settled; None while it is pending. A decline says no
    more in the thread than that: the reason goes to the member alone."""
    offered = f"🙋 <@{request.user_id}> offered to write this episode"
    if request.status is RequestStatus.APPROVED:
        return f"{offered} — ✅ approved by <@{request.decided_by}>."
    if request.status is RequestStatus.DECLINED:
        return f"{offered} — ❌ not accepted."
    if request.status is RequestStatus.WITHDRAWN:
        return f"{offered} — ↩️ withdrawn."
    return None


def review_embed(request: AuthorRequest, episode: Episode) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Author request · {episode.code} · {episode.title}", TITLE_MAX),
        description=clip(request.pitch or "*No pitch given.*", DESCRIPTION_MAX),
        colour=_COLOURS[request.status],
        url=thread_link(episode),
    )
    embed.add_field(name="Member", value=f"<@{request.user_id}>", inline=True)
    embed.add_field(name="Episode", value=clip(episode_label(episode), FIELD_MAX), inline=True)
    embed.add_field(
        name="Requested", value=f"{ts(request.created_at)} ({ts(request.created_at, 'R')})", inline=True
    )
    embed.add_field(name="Decision", value=clip(decision_text(request), FIELD_MAX), inline=False)
    embed.set_footer(text=f"Request #{request.id} · only hosts can decide")
    return fit(embed)


class _RequestButton(ArchivistButton, template=r"archivist:request:unused:(?P<id>\d+)"):
    """Base: a button whose custom id is `archivist:request:<action>:<request id>`."""

    action = "unused"
    label = "?"
    style = discord.ButtonStyle.secondary

    def __init__(self, request_id: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label,
                style=self.style,
                custom_id=f"archivist:request:{self.action}:{request_id}",
                disabled=disabled,
            )
        )
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ):
        return cls(int(match["id"]))

    async def clicked(self, interaction: discord.Interaction) -> None:
        """Hand the click to `CLICKS[action]` (approve, decline or withdraw)."""
        await CLICKS[self.action](interaction, self.request_id)


class ApproveButton(_RequestButton, template=r"archivist:request:approve:(?P<id>\d+)"):
    action = "approve"
    label = "Approve"
    style = discord.ButtonStyle.success


class DeclineButton(_RequestButton, template=r"archivist:request:decline:(?P<id>\d+)"):
    action = "decline"
    label = "Decline"
    style = discord.ButtonStyle.danger


class WithdrawButton(_RequestButton, template=r"archivist:request:withdraw:(?P<id>\d+)"):
    action = "withdraw"
    label = "Withdraw"
    style = discord.ButtonStyle.secondary


DYNAMIC_ITEMS = (ApproveButton, DeclineButton, WithdrawButton)


def review_view(request: AuthorRequest) -> discord.ui.View:
    """Approve / Decline, disabled once the request is decided or withdrawn."""
    view = discord.ui.View(timeout=None)
    decided = not request.is_pending
    view.add_item(ApproveButton(request.id, disabled=decided))
    view.add_item(DeclineButton(request.id, disabled=decided))
    view.stop()  # its buttons answer by custom id (dynamic items): nothing need be kept per message
    return view


def withdraw_view(request: AuthorRequest) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(WithdrawButton(request.id))
    view.stop()  # its button answers by custom id (a dynamic item): nothing need be kept per message
    return view


DECLINE_FORM_PREFIX = "archivist:request:decline-form:"
# The request id, then (forms opened before this version) the id of the click that opened it.
_DECLINE_FORM = re.compile(r"^archivist:request:decline-form:(\d+)(?::\d+)?$")


def decline_form(request_id: int, episode: Episode) -> discord.ui.Modal:
    """The form a Decline click opens: an optional reason; the decision is made only on submit.

    Its submission is handled by whoever reads `decline_submission` (the assignments cog's interaction
    listener), in this process or the next: the form is closed here before it is sent, so discord.py
    never keeps it in memory or routes its submission to an object a restart would lose."""
    form = discord.ui.Modal(
        title=clip(f"Decline request for {episode.code}", 45), custom_id=f"{DECLINE_FORM_PREFIX}{request_id}"
    )
    form.add_item(
        discord.ui.TextInput(
            label="Reason (optional, sent to the member)",
            custom_id=REASON_FIELD,
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=REASON_MAX,
        )
    )
    form.stop()
    return form


def decline_submission(interaction: discord.Interaction) -> tuple[int, str | None] | None:
    """(request id, reason) when the interaction is a submitted Decline form, else None."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    data = interaction.data or {}
    match = _DECLINE_FORM.match(str(data.get("custom_id", "")))
    if match is None:
        return None
    reason = form_values(interaction).get(REASON_FIELD, "").strip()
    return int(match[1]), reason or None


async def handle_decline_submission(
    interaction: discord.Interaction,
    submit: Callable[[discord.Interaction, int, str | None], Awaitable[None]],
) -> bool:
    """Answer a submitted Decline form through `submit`; False when the interaction is something else."""
    found = decline_submission(interaction)
    if found is None:
        return False
    request_id, reason = found
    await handle(interaction, submit(interaction, request_id, reason))
    return True


# -- what the review buttons and the Decline form do ---------------------------------------------------


def member_of(interaction: discord.Interaction) -> discord.Member:
    if not isinstance(interaction.user, discord.Member):
        raise NotAllowed("This only works inside a server.")
    return interaction.user


TELLING = "I'm letting them know by DM…"  # until `told_text` says how they were told


def told_text(told_by_dm: bool | None) -> str:
    """For the host: how the member heard of it (None: Discord refused for now, a job tells them)."""
    if told_by_dm is None:
        return "I couldn't reach them just now; I'll tell them as soon as Discord lets me."
    if told_by_dm:
        return "I told them by DM."
    return "Their DMs are closed, so I told them in the thread."


async def approve_clicked(interaction: discord.Interaction, request_id: int) -> None:
    service = services_of(interaction).assignments
    decided = await service.approve(member_of(interaction), request_id)
    await _show_decision(interaction, decided)
    decided = await service.after_approval(decided)
    told = told_text(decided.told_by_dm)
    await reply(
        interaction,
        f"Approved: <@{decided.request.user_id}> is now an author of **{episode_label(decided.episode)}**. {told}",
    )


async def decline_clicked(interaction: discord.Interaction, request_id: int) -> None:
    service = services_of(interaction).assignments
    request, episode = await service.decidable(member_of(interaction), request_id)
    await interaction.response.send_modal(decline_form(request.id, episode))


async def decline_submitted(interaction: discord.Interaction, request_id: int, reason: str | None) -> None:
    service = services_of(interaction).assignments
    decided = await service.decline(member_of(interaction), request_id, reason)
    await _show_decision(interaction, decided)
    decided = await service.after_decline(decided)
    told = told_text(decided.told_by_dm)
    await reply(interaction, f"Declined <@{decided.request.user_id}>'s request. {told}")


async def withdraw_clicked(interaction: discord.Interaction, request_id: int) -> None:
    service = services_of(interaction).assignments
    withdrawn = await service.withdraw(interaction.user, request_id, interaction.guild_id)
    text = "You withdrew your request. You can still volunteer again later with `/episode volunteer`."
    try:
        await interaction.response.edit_message(content=text, view=None, embed=None)
    except discord.HTTPException:
        log.info("could not edit the confirmation of request %s", withdrawn.request.id)
        await reply(interaction, text)
    await service.after_withdrawal(withdrawn)


CLICKS = {"approve": approve_clicked, "decline": decline_clicked, "withdraw": withdraw_clicked}


async def _show_decision(interaction: discord.Interaction, decided: Decided) -> None:
    """Edit the review message (as the interaction's answer when it was clicked there), and the
    volunteer's note in the thread."""
    request, episode = decided.request, decided.episode
    review = services_of(interaction).assignments.review
    message = interaction.message
    if message is not None and message.id == request.review_message_id and not interaction.response.is_done():
        try:
            await interaction.response.edit_message(
                embed=review_embed(request, episode),
                view=review_view(request),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            await review.show_in_thread(request, episode)
            return
        except discord.HTTPException as exc:
            log.warning("could not edit review message of request %s in place (%s)", request.id, exc.status)
    await review.update_review_message(request, episode)
