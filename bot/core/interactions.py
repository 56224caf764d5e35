"""Error handling in one place: every command, button and form reports failures through `report`.

Domain errors (`ArchivistError`) become a short ephemeral message that says what to do; anything
unexpected is logged with its traceback and the member gets a generic apology.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.errors import ArchivistError

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. The team has been told; please try again in a moment."


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

    After `thinking()` deferred it, the first answer replaces the "thinking…" message."""
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


async def report(interaction: discord.Interaction, error: BaseException) -> None:
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


async def guarded(interaction: discord.Interaction, action: Callable[[], Awaitable[Any]]) -> None:
    """Run a component or form callback; expected errors are answered here and go no further."""
    started = time.perf_counter()
    try:
        await action()
    except ArchivistError as exc:
        await report(interaction, exc)
    finally:
        log.info(
            "%s by %s took %.1f ms",
            _label(interaction),
            interaction.user.id,
            1000 * (time.perf_counter() - started),
        )


def guard_command(command: app_commands.Command | app_commands.ContextMenu) -> None:
    """Wrap a command's callback so expected refusals are answered without counting as failures.

    Unexpected exceptions still propagate to the tree's `on_error` (and are logged there).
    """
    original = command._callback  # the public `callback` property is read-only
    if getattr(original, "__archivist_guarded__", False):
        return

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        interaction = next(a for a in args if isinstance(a, discord.Interaction))
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        except ArchivistError as exc:
            await report(interaction, exc)
        finally:
            log.info(
                "/%s by %s in %s took %.1f ms",
                command.qualified_name,
                interaction.user.id,
                interaction.guild_id,
                1000 * (time.perf_counter() - started),
            )

    wrapper.__archivist_guarded__ = True  # type: ignore[attr-defined]
    command._callback = wrapper


class ArchivistTree(app_commands.CommandTree):
    """The command tree: guards every command and answers every failure."""

    def guard_all(self) -> None:
        for command in self.walk_commands():
            if isinstance(command, app_commands.Command):
                guard_command(command)
        for menu in self.get_commands(type=discord.AppCommandType.message):
            guard_command(menu)
        for menu in self.get_commands(type=discord.AppCommandType.user):
            guard_command(menu)

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report(interaction, error)


class ArchivistView(discord.ui.View):
    """Base for the bot's views: failures in callbacks are reported like command failures."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await report(interaction, error)


class ArchivistModal(discord.ui.Modal):
    """Base for forms: subclasses implement `submitted`; refusals are answered politely."""

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await guarded(interaction, lambda: self.submitted(interaction))

    async def submitted(self, interaction: discord.Interaction) -> None:
        raise TypeError(f"{type(self).__name__} must define submitted()")

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report(interaction, error)
