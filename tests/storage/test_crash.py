"""A process killed in the middle of a burst of writes leaves a sound database holding every acknowledged write."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from bot.core.db import Database
from cogs.config import store as settings_store

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from bot.core.db import Database
    from cogs.config import store as settings_store

    async def main(path):
        db = Database(path)
        await db.open()
        n = 0
        while True:
            n += 1
            await settings_store.set_meta(db, f"k{n}", "v" * 200)
            print(n, flush=True)  # acknowledged: the commit returned

    asyncio.run(main(sys.argv[1]))
    """
)


def test_kill_during_writes_keeps_acknowledged_writes(tmp_path):
    path = tmp_path / "crash.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    acknowledged = 0
    try:
        for line in proc.stdout:
            acknowledged = int(line)
            if acknowledged >= 300:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert acknowledged >= 300
    integrity, missing = asyncio.run(inspect(path, acknowledged))
    assert integrity == "ok"
    assert missing == []


async def inspect(path, acknowledged):
    db = Database(path)
    await db.open()
    try:
        integrity = await db.fetchval("PRAGMA integrity_check")
        missing = [
            n for n in range(1, acknowledged + 1) if await settings_store.get_meta(db, f"k{n}") != "v" * 200
        ]
        return integrity, missing
    finally:
        await db.close()
