"""Migration 0012 on a database made by the version before it: every episode already recorded,
published or shelved that has a post gets one `card_sync` job, so its starter message stops calling
for research at the next start — spread out in time, and never a second job for one already pending."""

from __future__ import annotations

import itertools
import json

from bot.core import jobs as job_store
from bot.core.db import Database
from cogs.episodes import store as episode_store
from cogs.episodes.rules import Status

GUILD, HOST = 1001, 13


async def test_closed_episodes_get_their_post_brought_up_to_date_once(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = Database(path)
    await db.open(target_version=11)
    try:
        made = {}
        for n, status in enumerate(
            ["in_research", "writing", "recorded", "published", "shelved", "recorded", "published"]
        ):
            episode = await episode_store.create(
                db, guild_id=GUILD, code=f"1924-{n:02d}", title=f"Episode {n}", description=None,
                created_by=HOST, forum_id=1, thread_id=5000 + n, starter_message_id=6000 + n,
            )  # fmt: skip
            if status != "in_research":
                episode = await episode_store.set_status(db, episode, Status(status), HOST, None)
            made[n] = episode
        # Imported without a post (Discord never had one), and one with its card job already pending.
        await db.execute("UPDATE episodes SET thread_id = NULL WHERE id = ?", (made[5].id,))
        await job_store.add(
            db, kind="card_sync", due_at=1.0, payload={"episode_id": made[6].id}, guild_id=GUILD,
            dedupe_key=f"card:{made[6].id}", created_at=1.0, replace=False,
        )  # fmt: skip
        before = await db.fetchall("SELECT id FROM jobs WHERE state = 'pending'")
    finally:
        await db.close()

    db = Database(path)
    await db.open()
    try:
        rows = await db.fetchall(
            "SELECT kind, due_at, payload, dedupe_key, guild_id FROM jobs WHERE state = 'pending' ORDER BY due_at"
        )
    finally:
        await db.close()
    added = [r for r in rows if r[1] > 1.0]
    assert len(rows) == len(before) + 3
    assert [json.loads(r[2])["episode_id"] for r in added] == [made[2].id, made[3].id, made[4].id]
    assert {(r[0], r[4]) for r in added} == {("card_sync", GUILD)}
    assert [r[3] for r in added] == [f"card:{made[n].id}" for n in (2, 3, 4)]
    gaps = [round(b[1] - a[1], 3) for a, b in itertools.pairwise(added)]
    assert gaps == [0.2, 0.2]
