"""The record of each message the outbox sends (the `sends` and `send_items` tables, migration 0006):
what identifies it (nonce, fingerprint), its items, and whether Discord has it."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.db import Database, Tx

if TYPE_CHECKING:
    import discord

UNKNOWN, SENT, ABSENT = "unknown", "sent", "absent"


def fingerprint(content: str | None, embeds: Sequence[discord.Embed] = ()) -> str:
    """What identifies a message the bot posted, as Discord shows it back: its text and its embeds'
    titles and descriptions."""
    parts = [(content or "").strip()]
    for embed in embeds:
        parts += [(embed.title or "").strip(), (embed.description or "").strip()]
    return "\x1f".join(parts)


def nonce_for(items: Sequence[str]) -> str:
    """The nonce of a message carrying `items`: every attempt at the same items sends the same one, so
    Discord, which deduplicates a repeated nonce for a few minutes, never makes a second message of a
    send whose answer was lost (items name one delivery each; 24 characters, Discord takes 25)."""
    return hashlib.sha256("\x1f".join(sorted(items)).encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Send:
    id: int
    nonce: str
    channel_id: int
    fingerprint: str
    created_at: float
    state: str
    message_id: int | None
    items: tuple[str, ...]


async def begin_send(
    db: Database, *, nonce: str, channel_id: int, fingerprint: str, items: list[str], created_at: float
) -> int:
    """Record the intent to send one message carrying `items`, before it is sent; its id."""
    async with db.transaction() as tx:
        send_id = int(
            await tx.insert(
                "INSERT INTO sends (nonce, channel_id, fingerprint, created_at) VALUES (?, ?, ?, ?)",
                (nonce, channel_id, fingerprint, created_at),
            )
            or 0
        )
        await tx.executemany(
            "INSERT OR IGNORE INTO send_items (item, send_id) VALUES (?, ?)", [(i, send_id) for i in items]
        )
    return send_id


async def mark_sent_in(tx: Tx, send_id: int, message_id: int, at: float) -> None:
    await tx.execute(
        "UPDATE sends SET state = 'sent', message_id = ?, resolved_at = ? WHERE id = ?",
        (message_id, at, send_id),
    )


async def record_sent(db: Database, send_id: int, message_id: int, at: float) -> None:
    """Discord accepted the message of this send."""
    async with db.transaction() as tx:
        await mark_sent_in(tx, send_id, message_id, at)


async def record_absent(db: Database, send_ids: list[int], at: float) -> None:
    """These sends were refused by Discord, or looked for and not found: their items may be sent again."""
    await db.executemany(
        "UPDATE sends SET state = 'absent', resolved_at = ? WHERE id = ? AND state = 'unknown'",
        [(at, i) for i in send_ids],
    )


async def open_sends(db: Database, items: list[str]) -> list[Send]:
    """The sends, sent or of unknown outcome, that carry any of `items` (with all their items)."""
    found: dict[int, Send] = {}
    for start in range(0, len(items), 500):
        part = items[start : start + 500]
        rows = await db.fetchall(
            "SELECT s.id, s.nonce, s.channel_id, s.fingerprint, s.created_at, s.state, s.message_id, "
            "(SELECT group_concat(item, char(31)) FROM send_items a WHERE a.send_id = s.id) "
            "FROM sends s WHERE s.state != 'absent' AND s.id IN (SELECT send_id FROM send_items WHERE item IN "
            f"({', '.join('?' for _ in part)}))",
            part,
        )
        for r in rows:
            found[r[0]] = Send(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple((r[7] or "").split("\x1f")))
    return sorted(found.values(), key=lambda s: s.id)


async def prune_sends(db: Database, before: float) -> int:
    """Forget sends resolved before `before` (their jobs are long finished); how many."""
    async with db.transaction() as tx:
        pruned = await tx.execute("DELETE FROM sends WHERE state != 'unknown' AND resolved_at < ?", (before,))
    return pruned


async def record_delivery(
    db: Database,
    send_id: int,
    message_id: int,
    *,
    at: float,
    also: Sequence[Callable[[Tx], Awaitable[None]]] = (),
) -> None:
    """Discord accepted the message of send `send_id`: record it, and what `also` records about the
    items it carries (e.g. personal reminders delivered), in one transaction."""
    async with db.transaction() as tx:
        await mark_sent_in(tx, send_id, message_id, at)
        for step in also:
            await step(tx)
