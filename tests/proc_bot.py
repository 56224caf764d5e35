"""A real process running Archivist against simcord, for tests that signal it (tests/test_clean_stop.py).

    python -m tests.proc_bot command    # SIGTERM/SIGINT arrive while /episode create waits on Discord
    python -m tests.proc_bot delivery   # … while a due reminder is being posted

The bot is built by `create_bot()` (DATABASE_PATH from the environment) and stops on signals exactly as
`python -m bot run` does (`Archivist.stop_on_signals`); simcord stands in for Discord, which is slow for
one request: the runner prints `SLOW <method> <path>` when that request starts and then waits 2 s before
Discord answers, so the signal lands while the bot is in the middle of real work. The runner prints what
members saw (`ANSWER …`, `CHANNEL …`), waits for the stop to finish, and exits 0 only when it did.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from typing import Any

import simcord

from bot import create_bot
from tests.conftest import build_world

SLOW_SECONDS = 2.0
HOUR = 3600


def say(line: str) -> None:
    print(line, flush=True)


def slow_discord(bot: Any, method: str, path: re.Pattern[str]) -> None:
    """Discord takes SLOW_SECONDS to answer the first request matching `method` and `path`."""
    request = bot.http.request
    pending = [True]

    async def slow_request(route: Any, **kwargs: Any) -> Any:
        if pending and route.method == method and path.fullmatch(route.path):
            pending.clear()
            say(f"SLOW {route.method} {route.path}")
            await asyncio.to_thread(time.sleep, SLOW_SECONDS)  # real time, whatever simcord's clock does
        return await request(route, **kwargs)

    bot.http.request = slow_request


async def command(env: simcord.Env, world: Any) -> None:
    """A host creates an episode; Discord is slow to create its forum post."""
    slow_discord(env.bot, "POST", re.compile(r"/channels/\{channel_id\}/threads"))
    r = await world.host.slash(world.general, "episode create", code="1924-01", title="Lenin's Death")
    say(f"ANSWER {r.response.content if r.response else None!r}")


async def delivery(env: simcord.Env, world: Any) -> None:
    """A member's reminder falls due; Discord is slow to take the reminder's message."""
    r = await world.alice.slash(
        world.general, "remind me", when="in 1 hour", text="check the Krupskaya spelling"
    )
    say(f"ANSWER {r.response.content if r.response else None!r}")
    slow_discord(env.bot, "POST", re.compile(r"/channels/\{channel_id\}/messages"))
    await env.advance_time(HOUR + 5)
    reminders = [m for m in world.general.history() if "Krupskaya" in (m.content or "")]
    say(f"CHANNEL {len(reminders)} reminder message(s)")


SCENARIOS = {"command": command, "delivery": delivery}


async def main(scenario: str) -> int:
    bot = create_bot()
    async with simcord.run(bot) as env:
        bot.stop_on_signals()  # what `python -m bot run` does once the bot is built
        world = await build_world(env)
        say("READY")
        await SCENARIOS[scenario](env, world)
        for _ in range(400):  # the signal came during the scenario; the stop may still be finishing
            if bot.stopping:
                break
            await asyncio.sleep(0.05)
        else:
            say("NO STOP")
            return 2
        await bot.close()  # waits for the stop under way
        say(f"STOPPED database open: {bot.services.db.is_open}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    sys.exit(asyncio.run(main(sys.argv[1])))
