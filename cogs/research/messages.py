"""Thread messages as the research record keeps them: which are collected, their fields, applying an edit."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.core.db import Database
from cogs.research import rules, store
from cogs.research.store import Attachment, MessageEdit, NewContribution

CARD_DELAY = 30.0  # seconds: card updates for new contributions are batched this long
_COLLECTED_TYPES = (discord.MessageType.default, discord.MessageType.reply)


@dataclass(frozen=True, slots=True)
class MessageData:
    """A Discord message reduced to what the record keeps (its episode is found from its channel)."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    author_name: str
    content: str
    attachments: tuple[Attachment, ...]
    created_at: int
    edited_at: int | None
    jump_url: str
    reply_to_message_id: int | None

    @property
    def empty(self) -> bool:
        return not self.content.strip() and not self.attachments

    def edit(self) -> MessageEdit:
        """Its current text and attachments, for the contributions mirroring it (`store.write_page`)."""
        return MessageEdit(
            message_id=self.message_id,
            body=self.content,
            links=tuple(rules.extract_links(self.content)),
            attachments=self.attachments,
            edited_at=self.edited_at,
            author_name=self.author_name,
        )

    def contribution(self, episode_id: int, origin: str, added_by: int | None = None) -> NewContribution:
        return NewContribution(
            guild_id=self.guild_id,
            episode_id=episode_id,
            author_id=self.author_id,
            author_name=self.author_name,
            origin=origin,
            body=self.content,
            attachments=self.attachments,
            links=tuple(rules.extract_links(self.content)),
            channel_id=self.channel_id,
            message_id=self.message_id,
            jump_url=self.jump_url,
            reply_to_message_id=self.reply_to_message_id,
            added_by=added_by,
            created_at=self.created_at,
            edited_at=self.edited_at,
        )


def message_data(message: discord.Message) -> MessageData:
    content = message.content or ""
    attachments = [Attachment(a.filename, a.url) for a in message.attachments]
    if not content and message.message_snapshots:  # a forwarded message: keep what was forwarded
        snapshot = message.message_snapshots[0]
        content = snapshot.content or ""
        attachments += [Attachment(a.filename, a.url) for a in snapshot.attachments]
    ref = message.reference
    reply_to = (
        ref.message_id
        if ref is not None and ref.type is discord.MessageReferenceType.reply and ref.message_id
        else None
    )
    author = message.author
    return MessageData(
        guild_id=message.guild.id if message.guild else 0,
        channel_id=message.channel.id,
        message_id=message.id,
        author_id=author.id,
        author_name=getattr(author, "display_name", None) or author.name,
        content=content,
        attachments=tuple(attachments),
        created_at=int(message.created_at.timestamp()),
        edited_at=int(message.edited_at.timestamp()) if message.edited_at else None,
        jump_url=message.jump_url,
        reply_to_message_id=reply_to,
    )


def collectable(message: discord.Message) -> bool:
    """A member's own message (not a bot's, not a webhook's, not a system message)."""
    return (
        message.guild is not None
        and not message.author.bot
        and message.webhook_id is None
        and message.type in _COLLECTED_TYPES
    )


async def store_edit(db: Database, message_id: int, data: MessageData) -> list[int]:
    """Apply a message's current text and attachments to its stored contribution(s); the episodes changed."""
    return await store.update_message(
        db,
        message_id,
        body=data.content,
        links=rules.extract_links(data.content),
        attachments=data.attachments,
        edited_at=data.edited_at,
        author_name=data.author_name,
    )
