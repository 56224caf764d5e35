"""Interaction handling in one place: the one error path and the one timing log.

Every failure — in a slash command, a context menu, a button, a select or a form — ends in
`ArchivistTree.on_error` (the tree is installed with `tree_cls` when the bot is built). Domain errors
(`ArchivistError`) become a short ephemeral message that says what to do, logged at INFO; anything
unexpected is logged with its traceback and the member gets a generic apology. How each kind gets there:

- commands and context menus: discord.py calls the tree's `on_error` itself;
- component and form callbacks run through `handle`, which hands a failure to the tree: `DynamicItem`
  buttons (`ArchivistButton`, whose `callback` does it; discord.py 2.7 has no error hook for them: it logs
  and drops their exceptions), forms read in `on_interaction` (no error hook either), and view buttons;
- views (`ArchivistView`): the view's `on_error` hands anything else (e.g. a failing check) to the tree.

Every interaction's duration is logged by `_log_timing`: when a command ends (its completion event or
`on_error`) and when `handle` ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.errors import ArchivistError

if TYPE_CHECKING:
    from bot.wiring import Services

log = logging.getLogger(__name__)


def services_of(interaction: discord.Interaction) -> Services:
    """The services `create_bot()` built, for what has no cog to hand them over (buttons, transformers)."""
    return interaction.client.services  # type: ignore[attr-defined]  # bot.app.Archivist.services


APOLOGY = "Sorry, something went wrong on my side. The team has been told; please try again in a moment."


def form_values(interaction: discord.Interaction) -> dict[str, str]:
    """custom id -> value of every text input of a submitted form (in action rows or labels). Forms are
    read from the interaction itself, so a form opened by a process that has since restarted still counts."""
    return _input_values(list((interaction.data or {}).get("components", [])))


def _input_values(components: list[dict]) -> dict[str, str]:
    values: dict[str, str] = {}
    for component in components:
        if "value" in component and "custom_id" in component:
            values[component["custom_id"]] = component["value"]
        nested = component.get("components") or ([component["component"]] if "component" in component else [])
        values.update(_input_values(nested))
    return values


def unwrap(error: BaseException) -> BaseException:
    while (
        isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError) and error.__cause__
    ):
        error = error.__cause__
    return error


def message_for(error: BaseException) -> str | None:
    """The text to show for an expected error, or None when the error is a bug."""
    error = unwrap(error)
    if isinstance(error, ArchivistError):
        return error.message
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works inside a server."
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission for this."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"`{str(error.value)[:50]}` is not a valid value here."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def reply(interaction: discord.Interaction, content: str | None = None, **kwargs: Any) -> None:
    """Answer (ephemerally by default) whether or not the interaction was already acknowledged.

    After `thinking()` deferred it, the first answer replaces the "thinking…" message (or the note
    `working()` answered with)."""
    kwargs.setdefault("ephemeral", True)
    kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
    if not interaction.response.is_done():
        await interaction.response.send_message(content, **kwargs)
        return
    if interaction.extras.get("deferred") and not interaction.extras.get("answered"):
        interaction.extras["answered"] = True
        kwargs.pop("ephemeral")
        if "file" in kwargs:
            kwargs["attachments"] = [kwargs.pop("file")]
        if "files" in kwargs:
            kwargs["attachments"] = kwargs.pop("files")
        await interaction.edit_original_response(content=content, **kwargs)
        return
    await interaction.followup.send(content, **kwargs)


async def update_answer(interaction: discord.Interaction, content: str) -> None:
    """Bring the member's answer up to date (what followed it: a DM sent, a post made). Only a note: when
    Discord refuses the edit, the answer they have stays."""
    try:
        await interaction.edit_original_response(
            content=content, allowed_mentions=discord.AllowedMentions.none()
        )
    except discord.HTTPException as exc:
        log.info("could not update the answer to interaction %s (%s)", interaction.id, exc)


async def publish_after_answer(
    interaction: discord.Interaction, publish: Callable[[], Awaitable[bool]], what: str = "status card"
) -> None:
    """After the member has their answer, bring Discord up to date (cards, tags, notes in threads).

    Members never wait on those updates; when Discord refuses one it is retried by the scheduler, and
    the member hears so in a short follow-up."""
    if not await publish():
        try:
            await reply(
                interaction,
                f"Discord didn't take the {what} update just now; I'll bring it up to date shortly.",
            )
        except discord.HTTPException:
            log.warning("could not tell %s that the %s update waits", interaction.user.id, what)


def thinking(interaction: discord.Interaction, *, ephemeral: bool = True) -> Callable[[], Awaitable[None]]:
    """A callback for services: shows "thinking…" right before slow Discord work begins."""

    async def defer() -> None:
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            interaction.extras["deferred"] = True

    return defer


async def working(interaction: discord.Interaction, text: str) -> None:
    """Answer at once, ephemerally, with what the bot is about to do: for work that takes a while
    (members read what is coming rather than "thinking…"). Like after `thinking()`, the next `reply`,
    a failure's included, replaces this note; `interaction.edit_original_response` updates it meanwhile."""
    await interaction.response.send_message(
        text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )
    interaction.extras["deferred"] = True


async def _answer_failure(interaction: discord.Interaction, error: BaseException) -> None:
    text = message_for(error)
    if text is None:
        original = unwrap(error)
        log.error(
            "unexpected error in %s (guild %s, user %s)",
            _label(interaction),
            interaction.guild_id,
            interaction.user.id if interaction.user else None,
            exc_info=(type(original), original, original.__traceback__),
        )
        text = APOLOGY
    else:
        log.info("refused %s for user %s: %s", _label(interaction), interaction.user.id, text)
    if interaction.type is discord.InteractionType.autocomplete:
        return
    try:
        await reply(interaction, text)
    except discord.HTTPException:
        log.warning("could not deliver the error message for %s", _label(interaction))


def _label(interaction: discord.Interaction) -> str:
    command = interaction.command
    if command is not None:
        return f"/{command.qualified_name}"
    data = interaction.data or {}
    return f"component {data.get('custom_id', '?')}"


def _log_timing(interaction: discord.Interaction) -> None:
    """The one timing log: how long the bot spent on an interaction, from its start to its end."""
    started = interaction.extras.get("started")
    if started is None:
        return
    log.info(
        "%s by %s in %s took %.1f ms",
        _label(interaction),
        interaction.user.id,
        interaction.guild_id,
        1000 * (time.perf_counter() - started),
    )


async def handle(interaction: discord.Interaction, work: Awaitable[Any]) -> None:
    """Run a handler discord.py gives no error hook (a `DynamicItem` callback, a form read in
    `on_interaction`): a failure goes to the tree's `on_error`, like a command's."""
    interaction.extras.setdefault("started", time.perf_counter())
    try:
        await work
    except Exception as error:
        await interaction.client.tree.on_error(interaction, error)  # type: ignore[attr-defined]
    finally:
        _log_timing(interaction)


class ArchivistTree(app_commands.CommandTree):
    """The command tree: the one place where every interaction's failure is answered and logged."""

    def __init__(self, client: Any, **options: Any) -> None:
        super().__init__(client, **options)
        client.add_listener(self._completed, "on_app_command_completion")

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        interaction.extras["started"] = time.perf_counter()
        return True

    async def _completed(self, interaction: discord.Interaction, command: Any) -> None:
        _log_timing(interaction)

    async def on_error(self, interaction: discord.Interaction, error: BaseException, /) -> None:
        """Answer any failure, whatever raised it (the error path for commands, views, buttons, forms)."""
        await _answer_failure(interaction, error)
        if interaction.command is not None:  # `handle` logs the others' timing
            _log_timing(interaction)


class ArchivistView(discord.ui.View):
    """Base for the bot's views: a failing callback is answered by the tree, like a command."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await interaction.client.tree.on_error(interaction, error)  # type: ignore[attr-defined]


class ArchivistButton(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """Base for persistent buttons (`DynamicItem`s): subclasses give a template and define `clicked`.

    The base's template never matches; it is never registered."""

    async def callback(self, interaction: discord.Interaction) -> None:
        await handle(interaction, self.clicked(interaction))

    async def clicked(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError
