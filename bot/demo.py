"""`python -m bot demo`: Archivist at work against the simcord simulator, no Discord token needed.

A scripted community creates an episode, posts research and a correction, volunteers, gets approved,
receives a deadline reminder, records the episode and is thanked. The transcript shows what members
would see, with names where Discord shows names and times as readers see them; the exported dossier is
written to `demo-output/`. `python -m bot demo --browser` serves a seeded server to try by hand instead
(bot.demo_browser).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import clock
from bot.demo_world import CORRECTION, PITCH, RESEARCH, TESTAMENT, create_server

OUTPUT = Path("demo-output")
MENTION = re.compile(r"<(@!?|@&|#)(\d+)>")
TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
LINK = re.compile(r"\[([^\]]+)\]\(<?(https?://[^)>\s]+)>?\)")
DISCORD_URL = re.compile(r"https://discord\.com/channels/\d+/(\d+)(/\d+)?")
STYLE = re.compile(r"\*\*|__|~~")
HEADING = re.compile(r"^#{1,3} ", re.MULTILINE)


def relative(when: datetime, now: datetime) -> str:
    """A Discord `<t:…:R>` timestamp as the reader sees it: "in 4 days", "3 hours ago", "now"."""
    seconds = (when - now).total_seconds()
    size = abs(seconds)
    if size < 45:
        return "now"
    units = (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))
    unit, length = next((u, n) for u, n in units if size >= n * 0.95 or u == "minute")
    count = max(1, round(size / length))
    amount = f"{count} {unit}{'s' if count != 1 else ''}"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def absolute(when: datetime, style: str | None) -> str:
    """The other Discord timestamp styles, in UTC (the demo server's time zone)."""
    if style in {"d", "D"}:
        return when.strftime("%d %b %Y" if style == "d" else "%d %B %Y")
    formats = {"t": "%H:%M", "T": "%H:%M:%S", "F": "%A %d %B %Y %H:%M"}
    return when.strftime(formats.get(style or "f", "%a %d %b %Y %H:%M")) + " UTC"


class Narrator:
    """Prints what members see: mentions and channel links as names, timestamps as readable times,
    Markdown as plain text (a link shows its label, as Discord does)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.seen: set[int] = set()

    def name(self, kind: str, ident: int) -> str:
        if kind.startswith("@&"):
            role = next((r for g in self.bot.guilds if (r := g.get_role(ident)) is not None), None)
            return f"@{role.name}" if role is not None else "@unknown-role"
        if kind.startswith("@"):
            user = self.bot.get_user(ident)
            return f"@{user.display_name}" if user is not None else "@unknown-user"
        channel = self.bot.get_channel(ident)
        return f"#{channel.name}" if channel is not None else "#unknown-channel"

    def text(self, value: str | None) -> str:
        value = LINK.sub(lambda m: m.group(1), value or "")
        value = DISCORD_URL.sub(self._discord_link, value)
        value = MENTION.sub(lambda m: self.name(m.group(1), int(m.group(2))), value)
        value = TIMESTAMP.sub(self._time, value)
        value = HEADING.sub("", value)
        lines = [line for line in STYLE.sub("", value).splitlines() if not line.startswith("```")]
        return "\n".join(lines)

    def _discord_link(self, match: re.Match) -> str:
        where = self.name("#", int(match.group(1)))
        return f"{where} › message" if match.group(2) else where

    @staticmethod
    def _time(match: re.Match) -> str:
        when = datetime.fromtimestamp(int(match.group(1)), tz=UTC)
        if match.group(2) == "R":
            return relative(when, clock.now())
        return absolute(when, match.group(2))

    def block(self, content: str | None, embeds, indent: str = "    ") -> None:
        if content:
            for line in self.text(content).splitlines():
                print(f"{indent}{line}")
        for embed in embeds or []:
            if embed.title:
                print(f"{indent}┃ {self.text(embed.title)}")
            if embed.description:
                for line in self.text(embed.description).splitlines()[:6]:
                    print(f"{indent}┃ {cut(line)}")
            for field in embed.fields:
                value = self.text(field.value).replace("\n", " / ")
                print(f"{indent}┃ {self.text(field.name)}: {cut(value)}")

    def step(self, title: str) -> None:
        print(f"\n━━ {title} " + "━" * max(0, 70 - len(title)))

    def command(self, who: str, line: str, result) -> None:
        print(f"  {who} › {line}")
        response = result.response
        if response is not None:
            label = "(only you can see this)" if response.ephemeral else ""
            print(f"    Archivist {label}")
            self.block(response.content, response.embeds, "      ")
            for attachment in response.attachments:
                print(f"      📎 {attachment.filename}")
            self.seen.add(response.id)

    def new_messages(self, channel, label: str) -> None:
        for message in channel.history():
            if message.id in self.seen:
                continue
            self.seen.add(message.id)
            author = "Archivist" if message.author.bot else self.name("@", message.author.id)[1:]
            print(f"  [{label}] {author}:")
            self.block(message.content, message.embeds)


def cut(line: str, limit: int = 140) -> str:
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# Over 60 lines: a script, one scene after another as a member would see them.
async def run_demo() -> int:
    import simcord

    from bot import create_bot

    workdir = tempfile.mkdtemp(prefix="archivist-demo-")
    os.environ["DATABASE_PATH"] = str(Path(workdir) / "demo.sqlite3")
    os.environ.setdefault("LOG_DIR", "")
    bot = create_bot()
    async with simcord.run(bot, check_errors=False) as env:
        try:
            c = await create_server(env)
            forum, review, general = c.forum, c.review, c.general
            indy, spartacus, veles, ardent = c.indy, c.spartacus, c.veles, c.ardent
            say = Narrator(env.bot)

            say.step("An admin configures Archivist")
            r = await indy.slash(
                general, "config channels", research_forum=forum, review=review, announcements=c.announcements
            )
            say.command(
                "Indy",
                "/config channels research_forum:#episode-research review:#author-review announcements:#announcements",
                r,
            )
            r = await indy.slash(general, "config roles", host=c.host_role)
            say.command("Indy", "/config roles host:@Host", r)

            say.step("A host opens an episode for research")
            r = await spartacus.slash(
                general, "episode create", code="1924-01", title="Lenin's Death and Stalin's Rise to Power"
            )
            say.command(
                "Spartacus", "/episode create code:1924-01 title:Lenin's Death and Stalin's Rise to Power", r
            )
            thread = c.thread("1924-01")
            say.new_messages(thread, "#1924-01")

            say.step("Members post research, a correction, and likes")
            first = await veles.send(thread, RESEARCH)
            await veles.send(thread, TESTAMENT)
            await ardent.send(thread, CORRECTION, reply_to=first)
            await ardent.react(first, "👍")
            await spartacus.react(first, "👍")
            say.new_messages(thread, "#1924-01")
            r = await ardent.slash(general, "research list", episode="1924-01")
            say.command("Ardent", "/research list episode:1924-01", r)

            say.step("A member volunteers to write; a host approves")
            r = await veles.slash(general, "episode volunteer", episode="1924-01", pitch=PITCH)
            say.command("Veles", "/episode volunteer episode:1924-01 pitch:…", r)
            say.new_messages(review, "#author-review")
            request = review.last_message
            r = await indy.click(request, label="Approve")
            print("  Indy clicks Approve")
            say.new_messages(review, "#author-review")
            say.new_messages(thread, "#1924-01")
            say.new_messages(veles.user.dm_channel, "DM to Veles")

            say.step("A deadline, and its reminder three days later")
            r = await veles.slash(
                general, "episode deadline", episode="1924-01", milestone="script", when="in 4 days"
            )
            say.command("Veles", "/episode deadline episode:1924-01 milestone:script when:in 4 days", r)
            await env.advance_time(24 * 3600 + 60)
            say.new_messages(thread, "#1924-01")

            say.step("The episode is recorded: everyone who helped is thanked")
            r = await veles.slash(general, "episode status", episode="1924-01", status="writing")
            say.command("Veles", "/episode status episode:1924-01 status:writing", r)
            r = await indy.slash(
                general,
                "episode status",
                episode="1924-01",
                status="recorded",
                note="Recorded this week, thank you all!",
            )
            say.command("Indy", "/episode status episode:1924-01 status:recorded note:…", r)
            say.new_messages(thread, "#1924-01")

            say.step("The research dossier")
            r = await indy.slash(general, "research credits", episode="1924-01")
            say.command("Indy", "/research credits episode:1924-01", r)
            r = await indy.slash(general, "research export", episode="1924-01", format="markdown")
            say.command("Indy", "/research export episode:1924-01 format:markdown", r)
            response = r.response
            files = response.attachments if response is not None else []
            if not files:
                files = [a for f in r.followups for a in f.attachments]
            OUTPUT.mkdir(exist_ok=True)
            for attachment in files:
                target = OUTPUT / attachment.filename
                target.write_bytes(await attachment.read())
                print(f"\nDossier written to {target} ({target.stat().st_size} bytes).")
        finally:
            await env.bot.close()
    return 0


def main(*, browser: bool = False, port: int | None = None) -> int:
    """The scripted demo; with `browser`, a seeded community served in the browser instead."""
    try:
        import simcord  # noqa: F401
    except ImportError:
        print(
            "The demo needs the simulator: .venv/bin/pip install -e '.[demo]' (python3 tasks.py demo does it)."
        )
        return 1
    if browser:
        from bot.demo_browser import serve

        return asyncio.run(serve(port))
    return asyncio.run(run_demo())


if __name__ == "__main__":
    sys.exit(main())
