"""The small community the demos and the README's screenshots show: a server, its people, and what they wrote.

`create_server` builds the server (roles, the research forum, the review, announcements and general
channels, two hosts and two members) in a simcord `Env`; `seed` then plays a few days of its life through
the real bot, as members would: configuration, two episodes, research with a correction and likes, a
pending volunteer request, deadlines and the Monday digest. The plain demo (bot.demo), the browser demo
(bot.demo_browser) and scripts/screenshots.py all start from here, so they show the same
people and the same words. simcord is imported by the callers; this module only drives its handles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

SERVER = "History Channel Research"

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
PITCH = "I know the sources well and would love to write the script."
CONGRESS = (
    "For the congress episode: the delegates heard the testament read out in closed session, and "
    "Zinoviev and Kamenev argued Stalin should stay. Krupskaya had asked for it to be read to the whole "
    "congress. Source: https://en.wikipedia.org/wiki/13th_Congress_of_the_Russian_Communist_Party_(Bolsheviks)"
)

LENIN = ("1924-01", "Lenin's Death and Stalin's Rise to Power")
CONGRESS_EPISODE = ("1924-02", "The 13th Party Congress")


@dataclass(frozen=True)
class Community:
    """The simulated server and its people, as simcord handles (members act through them)."""

    env: Any
    guild: Any
    admin_role: Any
    host_role: Any
    forum: Any
    review: Any
    announcements: Any
    general: Any
    indy: Any  # host and admin
    spartacus: Any  # host
    veles: Any  # member, researches and volunteers
    ardent: Any  # member, corrects

    @property
    def members(self) -> tuple[Any, ...]:
        return (self.indy, self.spartacus, self.veles, self.ardent)

    def thread(self, code: str) -> Any:
        """The forum post of an episode."""
        return next(t for t in self.forum.threads if t.name.startswith(f"{code} "))


async def create_server(env: Any) -> Community:
    """The server, its channels and people; the bot is called Archivist, as a real install would be."""
    await env.bot.user.edit(username="Archivist")
    guild = env.create_guild(SERVER)
    admin_role = guild.create_role("Admin", permissions=discord.Permissions(manage_guild=True))
    host_role = guild.create_role("Host")
    forum = guild.create_forum_channel("episode-research")
    review = guild.create_text_channel("author-review")
    announcements = guild.create_text_channel("announcements")
    general = guild.create_text_channel("general")

    def person(name: str, roles: list[Any]) -> Any:
        return guild.add_member(env.create_user(name.lower(), global_name=name), roles=roles)

    return Community(
        env=env,
        guild=guild,
        admin_role=admin_role,
        host_role=host_role,
        forum=forum,
        review=review,
        announcements=announcements,
        general=general,
        indy=person("Indy", [host_role, admin_role]),
        spartacus=person("Spartacus", [host_role]),
        veles=person("Veles", []),
        ardent=person("Ardent", []),
    )


async def seed(env: Any) -> Community:
    """The server after a few days of use, ending on Monday 09:00 just after the weekly digest.

    1924-01 is In Research with three contributions (a correction among them, likes on the first),
    a research deadline on Friday and Veles's pending request to write it; 1924-02 is being written
    by Spartacus, with a script deadline."""
    c = await create_server(env)
    # simcord's clock starts on Thursday 1 January 2026: the week's work happens on Monday morning.
    await env.advance_time((4 * 24 + 8) * 3600)
    await _answered(
        c.indy.slash(
            c.general,
            "config channels",
            research_forum=c.forum,
            review=c.review,
            announcements=c.announcements,
        )
    )
    await _answered(c.indy.slash(c.general, "config roles", host=c.host_role))
    await _answered(c.spartacus.slash(c.general, "episode create", code=LENIN[0], title=LENIN[1]))
    await _answered(
        c.spartacus.slash(c.general, "episode create", code=CONGRESS_EPISODE[0], title=CONGRESS_EPISODE[1])
    )
    lenin = c.thread(LENIN[0])
    first = await c.veles.send(lenin, RESEARCH)
    await c.veles.send(lenin, TESTAMENT)
    await c.ardent.send(lenin, CORRECTION, reply_to=first)
    for member in (c.ardent, c.spartacus, c.indy):
        await member.react(first, "👍")
    await _answered(
        c.spartacus.slash(
            c.general, "episode deadline", episode=LENIN[0], milestone="research", when="2026-01-09 18:00"
        )
    )
    await _answered(c.veles.slash(c.general, "episode volunteer", episode=LENIN[0], pitch=PITCH))
    congress = c.thread(CONGRESS_EPISODE[0])
    await _answered(c.spartacus.slash(congress, "episode claim", episode=CONGRESS_EPISODE[0]))
    await c.ardent.send(congress, CONGRESS)
    await _answered(
        c.spartacus.slash(congress, "episode status", episode=CONGRESS_EPISODE[0], status="writing")
    )
    await _answered(
        c.spartacus.slash(
            congress,
            "episode deadline",
            episode=CONGRESS_EPISODE[0],
            milestone="script",
            when="2026-01-16 18:00",
        )
    )
    await env.advance_time(3600 + 60)  # the Monday digest, 09:00
    return c


def show_mentions_in_embeds() -> None:
    """Lets simcord's preview show `<@id>`, `<@&id>` and `<#id>` inside embed descriptions and field values
    as names, as Discord does. simcord 3.2 resolves them in message text only and leaves them raw in
    embeds, which is exactly where Archivist shows people it must not ping (cards, requests, digests).
    The switch is in simcord's private table of field rules; a simcord without it is left as it is."""
    try:
        from simcord.preview import _markdown

        for field in ("embed_description", "embed_field_value"):
            _markdown._FIELD_POLICIES[field]["mentions"] = True
    except (ImportError, AttributeError, KeyError, TypeError):
        return


async def _answered(pending: Any) -> Any:
    """Runs one member's command and checks that the bot answered it: a seed that silently went wrong
    would show newcomers a broken server."""
    result = await pending
    if result.response is None:
        raise RuntimeError("the bot did not answer while the demo server was being prepared")
    return result
