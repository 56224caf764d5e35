"""`python -m bot demo`: Archivist at work against the simcord simulator, no Discord token needed.

A scripted community creates an episode, posts research and a correction, volunteers, gets approved,
receives a deadline reminder, records the episode and is thanked. The transcript shows what members
would see; the exported dossier is written to `demo-output/`.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

OUTPUT = Path("demo-output")

RESEARCH = (
    "Some groundwork for the episode. Lenin died on 21 January 1924, aged 53, after a brief rally in his "
    "health late in 1923. Moscow queued for four days to see his body lying in state; the Congress of Soviets "
    "then made 21 January a day of mourning, chose to embalm him in a mausoleum rather than bury him, and "
    "renamed Petrograd to Leningrad.\n\nThe real story is the succession: Stalin had been General Secretary "
    "since 1922, a post others thought clerical, and he used it to place loyal people everywhere. Zinoviev, "
    "Kamenev and Stalin held together mostly to keep Trotsky out. Source: "
    "https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin"
)
TESTAMENT = (
    "On the testament: Lenin's last letters warned against Stalin's rudeness and the power he had gathered, "
    "yet the 13th Party Congress in May 1924 let him stay on. Worth a scene of its own. "
    "https://en.wikipedia.org/wiki/Lenin%27s_Testament"
)
CORRECTION = (
    "Small fix: his widow's name is usually spelled Krupskaya in Russian and in English sources, "
    "not Krupska. Also, the testament criticised every senior Bolshevik, not only Stalin."
)


class Narrator:
    """Prints what members see, with mentions shown as @names."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.seen: set[int] = set()

    def text(self, value: str | None) -> str:
        value = value or ""
        value = re.sub(
            r"<(@|@&|#)!?(\d+)>", lambda m: m.group(1)[0] + self.names.get(int(m.group(2)), m.group(2)), value
        )
        return re.sub(r"<t:(\d+)(?::(\w))?>", self._time, value)

    @staticmethod
    def _time(match: re.Match) -> str:
        when = datetime.fromtimestamp(int(match.group(1)), tz=UTC)
        if match.group(2) == "R":
            return "(relative)"
        return when.strftime("%a %d %b %Y %H:%M UTC")

    def block(self, content: str | None, embeds, indent: str = "    ") -> None:
        if content:
            for line in self.text(content).splitlines():
                print(f"{indent}{line}")
        for embed in embeds or []:
            if embed.title:
                print(f"{indent}┃ {self.text(embed.title)}")
            if embed.description:
                for line in self.text(embed.description).splitlines()[:6]:
                    print(f"{indent}┃ {line[:140]}")
            for field in embed.fields:
                value = self.text(field.value).replace("\n", " / ")
                print(f"{indent}┃ {field.name}: {value[:140]}")

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
            author = (
                "Archivist" if message.author.bot else self.names.get(message.author.id, message.author.name)
            )
            print(f"  [{label}] {author}:")
            self.block(message.content, message.embeds)


# Over 60 lines: a script, one scene after another as a member would see them.
async def run_demo() -> int:
    import discord
    import simcord

    from bot import create_bot

    workdir = tempfile.mkdtemp(prefix="archivist-demo-")
    os.environ["DATABASE_PATH"] = str(Path(workdir) / "demo.sqlite3")
    os.environ.setdefault("LOG_DIR", "")
    bot = create_bot()
    async with simcord.run(bot, check_errors=False) as env:
        try:
            guild = env.create_guild("History Channel Research")
            admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
            host_role = guild.create_role("Host")
            forum = guild.create_forum_channel("episode-research")
            review = guild.create_text_channel("author-review")
            announcements = guild.create_text_channel("announcements")
            general = guild.create_text_channel("general")
            indy = guild.add_member(env.create_user("Indy"), roles=[host_role, admin_role])
            spartacus = guild.add_member(env.create_user("Spartacus"), roles=[host_role])
            veles = guild.add_member(env.create_user("Veles"))
            ardent = guild.add_member(env.create_user("Ardent"))
            names = {m.id: m.user.name for m in (indy, spartacus, veles, ardent)} | {
                env.bot.user.id: "Archivist"
            }
            names |= {c.id: c.name for c in (forum, review, announcements, general)} | {host_role.id: "Host"}
            say = Narrator(names)

            say.step("An admin configures Archivist")
            r = await indy.slash(
                general, "config channels", research_forum=forum, review=review, announcements=announcements
            )
            say.command(
                "Indy",
                "/config channels research_forum:#episode-research review:#author-review announcements:#announcements",
                r,
            )
            r = await indy.slash(general, "config roles", host=host_role)
            say.command("Indy", "/config roles host:@Host", r)

            say.step("A host opens an episode for research")
            r = await spartacus.slash(
                general, "episode create", code="1924-01", title="Lenin's Death and Stalin's Rise to Power"
            )
            say.command(
                "Spartacus", "/episode create code:1924-01 title:Lenin's Death and Stalin's Rise to Power", r
            )
            thread = next(t for t in forum.threads if t.name.startswith("1924-01"))
            names[thread.id] = thread.name
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
            r = await veles.slash(
                general,
                "episode volunteer",
                episode="1924-01",
                pitch="I know the sources well and would love to write the script.",
            )
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


def main() -> int:
    try:
        import simcord  # noqa: F401
    except ImportError:
        print(
            "The demo needs the simulator: .venv/bin/pip install -e '.[demo]' (python3 tasks.py demo does it)."
        )
        return 1
    return asyncio.run(run_demo())


if __name__ == "__main__":
    sys.exit(main())
