"""Clean stops: SIGTERM and SIGINT let running work finish, record what was delivered, close the
database and exit 0 (a real process, tests/proc_bot.py, signalled in the middle of real work); while the
bot stops, members are told to try again and what they post waits for the next start."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app import RESTARTING

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 30  # seconds from the signal to the process's end; the stop itself takes at most a few
DEATH = "Lenin died on 21 January 1924 at Gorki, aged 53."


class Bot:
    """`python -m tests.proc_bot <scenario>` with its own database; its output lines as they come."""

    def __init__(self, tmp_path: Path, scenario: str) -> None:
        self.database = tmp_path / "archivist.sqlite3"
        env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DISCORD_GUILD_ID"}}
        env.update(DATABASE_PATH=str(self.database), LOG_DIR="", GC_FREEZE="0", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.proc_bot", scenario],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(self, prefix: str, timeout: float = 60) -> str:
        """The first line of output starting with `prefix` (the process is killed if it never comes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if line.startswith(prefix):
                return line.rstrip("\n")
        self.proc.kill()
        _, err = self.proc.communicate()
        pytest.fail(f"no {prefix!r} line from the bot; output {self.lines}; log:\n{err[-3000:]}")

    def signal_and_wait(self, sig: signal.Signals) -> tuple[int, list[str], str]:
        self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            pytest.fail(f"the bot did not end within {DEADLINE} s of {sig.name}; log:\n{err[-3000:]}")
        return self.proc.returncode, self.lines + out.splitlines(), err


def database_after(path: Path) -> sqlite3.Connection:
    """The database as the stop left it: closed for good (no write-ahead log or shared-memory file
    beside it: SQLite removes them when the last connection closes cleanly) and intact."""
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(("-wal", "-shm", "-journal"))]
    assert leftovers == [], f"the database was not closed cleanly: {leftovers}"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    return conn


def before(log: str, first: str, then: str) -> bool:
    return first in log and then in log and log.index(first) < log.index(then)


@pytest.fixture
def bot_process(tmp_path):
    started: list[Bot] = []

    def start(scenario: str) -> Bot:
        started.append(Bot(tmp_path, scenario))
        return started[-1]

    yield start
    for bot in started:
        if bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.communicate()


def test_sigterm_during_a_delivery_records_it_and_exits_0(bot_process):
    bot = bot_process("delivery")
    bot.wait_for("READY")
    bot.wait_for("SLOW POST /channels/")  # the reminder's message is on its way to Discord
    code, lines, log = bot.signal_and_wait(signal.SIGTERM)
    assert code == 0, log[-3000:]
    assert "Traceback" not in log
    # The signal came while the message was on its way; the delivery finished before the bot closed.
    assert before(log, "SIGTERM: stopping", "reminder: 1 job(s) handled"), log[-3000:]
    assert before(log, "reminder: 1 job(s) handled", "stopped cleanly"), log[-3000:]
    assert "CHANNEL 1 reminder message(s)" in lines
    assert "STOPPED database open: False" in lines
    conn = database_after(bot.database)
    [(state, delivered_at)] = conn.execute("SELECT state, delivered_at FROM reminders").fetchall()
    assert state == "delivered" and delivered_at is not None
    [(send_state, message_id)] = conn.execute("SELECT state, message_id FROM sends").fetchall()
    assert send_state == "sent" and message_id is not None  # the next start will not send it again
    assert conn.execute("SELECT state FROM jobs WHERE kind = 'reminder'").fetchall() == [("done",)]


def test_sigint_during_a_command_lets_it_finish_and_exits_0(bot_process):
    bot = bot_process("command")
    bot.wait_for("READY")
    bot.wait_for("SLOW POST /channels/")  # /episode create waits on Discord for the forum post
    code, lines, log = bot.signal_and_wait(signal.SIGINT)
    assert code == 0, log[-3000:]
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    assert before(log, "SIGINT: stopping", "waiting for 1 piece(s) of running work"), log[-3000:]
    assert before(log, "running work finished", "stopped cleanly"), log[-3000:]
    [answer] = [line for line in lines if line.startswith("ANSWER")]
    assert "Created **1924-01**" in answer  # the host got the command's answer
    conn = database_after(bot.database)
    [(code_, thread_id)] = conn.execute("SELECT code, thread_id FROM episodes").fetchall()
    assert code_ == "1924-01" and thread_id is not None  # its forum post was recorded


async def test_while_stopping_members_are_told_to_try_again_and_posts_wait_for_the_next_start(world, restart):
    bot = world.bot
    thread = await world.episode()

    async def still_working() -> None:  # a member's work the stop waits for (at most a few seconds)
        await asyncio.to_thread(time.sleep, 1.0)

    bot.add_listener(still_working, "on_archivist_still_working")
    bot.dispatch("archivist_still_working")
    bot.request_stop("SIGTERM")
    assert bot.stopping
    r = await world.alice.slash(world.general, "remind me", when="in 2 hours", text="read the testament")
    assert r.response.ephemeral and r.response.content == RESTARTING
    choices = await world.alice.autocomplete(world.general, "episode info", "episode", "192")
    assert choices == []  # nothing half-served
    await world.alice.send(thread, DEATH)  # posted while the bot stops: not handled now
    await bot.close()
    assert bot.is_closed() and not bot.services.db.is_open
    await restart()
    r = await world.alice.slash(world.general, "remind list")
    assert "read the testament" not in (r.response.content or "")  # the turned-away command did nothing
    r = await world.bob.slash(world.general, "research export", episode="1924-01", format="json")
    data = json.loads((await r.response.attachments[0].read()).decode("utf-8"))
    assert [c["text"] for c in data["contributions"]] == [DEATH]  # caught up at the next start
