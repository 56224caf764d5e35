"""`python -m bot demo --browser`: the seeded demo server in your browser, through simcord's local preview.

The real bot runs against the simulator with the community of bot.demo_world. A small page on the
loopback interface (the lobby) lists the server's channels; choosing one opens simcord's preview of it,
where you type the bot's slash commands in the message box as any of the server's people ("Viewing as")
and click its buttons. simcord previews one channel at a time, so choosing another channel ends the
previous preview. Everything stays on this computer: both servers listen on 127.0.0.1 only, and the
lobby's address carries a random token. Ctrl+C (or SIGTERM) closes the bot and its database; exit 0.
"""

from __future__ import annotations

import asyncio
import html
import os
import secrets
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.demo_world import SERVER, Community, seed, show_mentions_in_embeds

LOBBY_TITLE = "Archivist demo"


@dataclass
class Lobby:
    """The page that lists the channels and opens simcord's preview of the one chosen."""

    community: Community
    token: str
    preview_port: int
    preview: Any = None
    channel_id: int | None = None
    ended: asyncio.Future | None = None  # done once the preview ends (also by its own "End session")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def channels(self) -> list[tuple[Any, str]]:
        """Every channel worth opening, with a sentence on what to try there, in the order shown."""
        c = self.community
        threads = sorted(c.forum.threads, key=lambda t: t.name)
        listed: list[tuple[Any, str]] = []
        for thread in threads:
            if thread.name.startswith("1924-01 "):
                hint = (
                    "The episode's post in the research forum: its status card, research from Veles, "
                    "Ardent's Krupskaya correction. Post research here: the card counts it within half a "
                    "minute (press Refresh preview to see it)."
                )
            else:
                hint = "An episode's post in the research forum, with its status card."
            listed.append((thread, hint))
        listed += [
            (
                c.review,
                "Veles asks to write 1924-01. View as Indy or Spartacus (hosts) and click Approve or "
                "Decline; as a member the bot refuses.",
            ),
            (c.announcements, "This week's digest: who needs an author, research counts, deadlines."),
            (
                c.general,
                "A place for commands: /help, /episode list, /episode info, /research export, "
                "/remind me; as a host, /episode create.",
            ),
        ]
        return listed

    def viewers(self, channel: Any) -> list[Any]:
        """Who can be chosen under "Viewing as"; the first is the one the preview starts with."""
        c = self.community
        if channel is c.review:
            return [c.indy, c.spartacus, c.veles, c.ardent]
        return [c.veles, c.indy, c.spartacus, c.ardent]

    async def open(self, channel: Any) -> str:
        """The preview's address for `channel`: the current preview, or a new one in its place."""
        async with self.lock:
            if self.preview is not None and self.channel_id == channel.id and not self.ended.done():
                return self.preview.url
            await self.close()
            preview = self.community.env.preview(
                channel, viewers=self.viewers(channel), layout="channel", port=self.preview_port
            )
            await preview.__aenter__()
            self.preview, self.channel_id = preview, channel.id
            self.ended = asyncio.ensure_future(preview.wait_closed())
            return preview.url

    async def close(self) -> None:
        if self.preview is not None:
            preview, self.preview, self.channel_id = self.preview, None, None
            await preview.close()
            await self.ended

    def page(self, base: str) -> str:
        rows = "\n".join(
            f'<li><a href="{base}open/{channel.id}">{html.escape(label(channel))}</a>'
            f"<p>{html.escape(hint)}</p></li>"
            for channel, hint in self.channels()
        )
        return LOBBY_PAGE.format(title=LOBBY_TITLE, server=html.escape(SERVER), rows=rows)


def label(channel: Any) -> str:
    return f"# {channel.name}"


LOBBY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
  background: #313338; color: #dbdee1; }}
h1 {{ font-size: 1.5rem; margin-bottom: 0.2rem; color: #fff; }}
a {{ color: #00a8fc; font-weight: 600; text-decoration: none; }} a:hover {{ text-decoration: underline; }}
ul {{ list-style: none; padding: 0; }} li {{ background: #2b2d31; border-radius: 8px; padding: 0.7rem 1rem;
  margin: 0.6rem 0; }} li p {{ margin: 0.2rem 0 0; color: #b5bac1; }}
code {{ background: #1e1f22; padding: 0 0.3rem; border-radius: 4px; }}
</style></head><body>
<h1>Archivist in a simulated Discord server</h1>
<p>This is the real bot, running on this computer against a simulated Discord: no token, nothing sent
anywhere. The server <b>{server}</b> has two hosts, <b>Indy</b> (also an admin) and <b>Spartacus</b>,
and two members, <b>Veles</b> and <b>Ardent</b>. Open a channel, then type <code>/</code> in the message
box to run the bot's commands, and switch who you are with <b>Viewing as</b> at the top.</p>
<ul>
{rows}
</ul>
<p>One channel at a time: opening another ends the previous one's tab. Come back here with your
browser's Back button. Stop the demo with Ctrl+C in the terminal.</p>
</body></html>
"""


async def start_lobby(lobby: Lobby, port: int) -> tuple[Any, int]:
    """Serves the lobby on 127.0.0.1:`port` (0: any free port); returns the runner and the port."""
    from aiohttp import web

    async def index(request: web.Request) -> web.Response:
        check(request)
        return web.Response(text=lobby.page(f"/{lobby.token}/"), content_type="text/html", headers=NO_STORE)

    async def open_channel(request: web.Request) -> web.Response:
        from simcord import SetupError

        check(request)
        wanted = request.match_info["channel"]
        channel = next((ch for ch, _ in lobby.channels() if str(ch.id) == wanted), None)
        if channel is None:
            raise web.HTTPNotFound(text="That channel is not in the demo server.")
        try:
            url = await lobby.open(channel)
        except SetupError:  # simcord refuses while a command is still running: say so, and retry
            return web.Response(text=BUSY, content_type="text/html", headers=NO_STORE, status=503)
        raise web.HTTPFound(url, headers=NO_STORE)

    def check(request: web.Request) -> None:
        if request.match_info["token"] != lobby.token or request.host not in allowed:
            raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{token}/", index)
    app.router.add_get("/{token}/open/{channel}", open_channel)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    allowed = {f"127.0.0.1:{bound}", f"localhost:{bound}"}
    return runner, bound


NO_STORE = {"Cache-Control": "no-store"}
BUSY = (
    '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="1">'
    "<p>The bot is still busy with a command; trying again in a second…</p>"
)


# Over 60 lines: start, serve, wait for Ctrl+C, stop — each with what the person at the terminal reads.
async def serve(port: int | None = None) -> int:
    """Runs the browser demo until SIGINT or SIGTERM; 0 after a clean stop, 1 if the port is taken."""
    import simcord

    from bot import create_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # from the start: Ctrl+C while preparing stops cleanly too
        loop.add_signal_handler(signum, stop.set)
    code = 0
    try:
        with tempfile.TemporaryDirectory(prefix="archivist-demo-") as workdir:
            os.environ["DATABASE_PATH"] = str(Path(workdir) / "demo.sqlite3")
            os.environ.setdefault("LOG_DIR", "")
            say(f"Preparing {SERVER}, a simulated Discord server with Archivist in it …")
            bot = create_bot()
            async with simcord.run(bot, check_errors=False) as env:
                runner = None
                lobby: Lobby | None = None
                try:
                    community = await seed(env)
                    show_mentions_in_embeds()
                    lobby = Lobby(community, secrets.token_urlsafe(16), preview_port=port + 1 if port else 0)
                    try:
                        runner, bound = await start_lobby(lobby, port or 0)
                    except OSError:
                        say(
                            f"Port {port} is taken on this computer: choose another with --port, or leave it out."
                        )
                        code = 1
                        stop.set()
                    if not stop.is_set():
                        say(
                            "\nArchivist is running. Open this address in your browser (it works on this "
                            f"computer only):\n\n    http://127.0.0.1:{bound}/{lobby.token}/\n\n"
                            "Pick a channel, type / in the message box to use the bot's commands, and switch "
                            "between a member and a host with “Viewing as”. Press Ctrl+C here to stop."
                        )
                    await stop.wait()
                    if code == 0:
                        say("\nStopping …")
                finally:
                    if lobby is not None:
                        await lobby.close()
                    if runner is not None:
                        await runner.cleanup()
                    await env.bot.close()
            say("The bot closed its database. Goodbye.")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return code


def say(text: str) -> None:
    print(text, flush=True)
