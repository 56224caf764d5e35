"""Members' reactions on contributions, and the likes among them.

Every reaction is stored, whatever its emoji (live, and when catching up). Which of them are likes is
decided when they are read, by the server's like emoji (`cogs.research.rules.LikeEmoji`): a change of
the set recounts the reactions already there, with no request to Discord. A member counts once per
contribution, however many like emoji they reacted with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from bot.core.db import Database
from cogs.research.rules import DEFAULT_LIKES, like_key


def _unstyled(expr: str) -> str:
    for code in (0xFE0F, *range(0x1F3FB, 0x1F400)):
        expr = f"replace({expr}, char({code}), '')"
    return expr


def emoji_key(column: str) -> str:
    """SQL: `cogs.research.rules.like_key` of a stored emoji (`<:name:id>` / `<a:name:id>` -> the id;
    a unicode emoji without its emoji-style selector and skin tone)."""
    return (
        f"CASE WHEN {column} LIKE '<%:%>' "
        f"THEN rtrim(substr({column}, length(rtrim({column}, '0123456789>')) + 1), '>') "
        f"ELSE {_unstyled(column)} END"
    )


def is_like(column: str = "l.emoji") -> str:
    """SQL condition: the stored reaction emoji `column` is a like. Takes one parameter: `keys_param`."""
    return f"{emoji_key(column)} IN (SELECT value FROM json_each(?))"


DEFAULT_KEYS = frozenset(like_key(e) for e in DEFAULT_LIKES)


def keys_param(keys: Iterable[str]) -> str:
    """The like emoji's keys (`LikeEmoji.keys`) as the one parameter of `is_like`."""
    return json.dumps(sorted(set(keys)), ensure_ascii=False)


async def add_likes_many(db: Database, rows: Iterable[tuple[int, int, str]]) -> None:
    """Bulk insert (contribution id, user id, emoji) likes in one transaction (seeding, benchmarks)."""
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) VALUES (?, ?, ?)",
            rows,
        )


async def add_like(db: Database, message_id: int, user_id: int, emoji: str) -> int:
    async with db.transaction() as tx:
        added = await tx.execute(
            "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) "
            "SELECT id, ?, ? FROM contributions WHERE message_id = ?",
            (user_id, emoji, message_id),
        )
    return added


async def remove_like(db: Database, message_id: int, user_id: int, emoji: str) -> int:
    async with db.transaction() as tx:
        removed = await tx.execute(
            "DELETE FROM contribution_likes WHERE user_id = ? AND emoji = ? "
            "AND contribution_id IN (SELECT id FROM contributions WHERE message_id = ?)",
            (user_id, emoji, message_id),
        )
    return removed


async def clear_likes(db: Database, message_id: int, emoji: str | None = None) -> int:
    sql = "DELETE FROM contribution_likes WHERE contribution_id IN (SELECT id FROM contributions WHERE message_id = ?)"
    params: tuple = (message_id,)
    if emoji is not None:
        sql += " AND emoji = ?"
        params = (message_id, emoji)
    async with db.transaction() as tx:
        cleared = await tx.execute(sql, params)
    return cleared


async def like_counts(db: Database, episode_id: int, channel_id: int) -> dict[int, dict[str, int]]:
    """{message id: {emoji: members}} of the contributions mirroring messages of one channel: every
    reaction stored, likes or not (catching up compares them with the messages' reactions)."""
    rows = await db.fetchall(
        "SELECT c.message_id, l.emoji, COUNT(*) FROM contribution_likes l JOIN contributions c "
        "ON c.id = l.contribution_id WHERE c.episode_id = ? AND c.channel_id = ? GROUP BY c.message_id, l.emoji",
        (episode_id, channel_id),
    )
    out: dict[int, dict[str, int]] = {}
    for message_id, emoji, count in rows:
        out.setdefault(message_id, {})[emoji] = count
    return out


async def replace_likes(db: Database, message_id: int, likes: Iterable[tuple[int, str]]) -> None:
    """Set the likes of a message's contributions to exactly (user id, emoji) pairs (catching up)."""
    likes = list(likes)
    async with db.transaction() as tx:
        ids = [
            r[0]
            for r in await tx.fetchall("SELECT id FROM contributions WHERE message_id = ?", (message_id,))
        ]
        for cid in ids:
            await tx.execute("DELETE FROM contribution_likes WHERE contribution_id = ?", (cid,))
            await tx.executemany(
                "INSERT OR IGNORE INTO contribution_likes (contribution_id, user_id, emoji) VALUES (?, ?, ?)",
                [(cid, user, emoji) for user, emoji in likes],
            )


async def likers(
    db: Database, episode_id: int, like_keys: Iterable[str] = DEFAULT_KEYS
) -> dict[int, list[int]]:
    """{contribution id: members who liked it} for one episode: who reacted with a like emoji
    (`like_keys`: `LikeEmoji.keys`), each member once."""
    rows = await db.fetchall(
        "SELECT l.contribution_id, l.user_id FROM contribution_likes l JOIN contributions c "
        f"ON c.id = l.contribution_id WHERE c.episode_id = ? AND {is_like()} "
        "GROUP BY l.contribution_id, l.user_id ORDER BY l.contribution_id, l.user_id",
        (episode_id, keys_param(like_keys)),
    )
    out: dict[int, list[int]] = {}
    for cid, user in rows:
        out.setdefault(cid, []).append(user)
    return out
