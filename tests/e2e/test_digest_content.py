"""The weekly digest as members read it: its title names the week the way people do ("Week of 5 January",
in the server's zone, across New Year), and its sections list only what they say."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from cogs.episodes import authors_store
from cogs.episodes import store as episode_store

AUCKLAND = "Pacific/Auckland"  # UTC+13 in January: Monday 09:00 there is Sunday 20:00 UTC


def now() -> datetime:
    return discord.utils.utcnow()


async def advance_to(env, when: datetime) -> None:
    await env.advance_time((when - now()).total_seconds())


def digests(channel) -> list[discord.Embed]:
    return [
        m.embeds[0] for m in channel.history() if m.embeds and "Weekly digest" in (m.embeds[0].title or "")
    ]


def posted_utc(channel) -> list[datetime]:
    return [
        m.created_at.astimezone(UTC)
        for m in channel.history()
        if m.embeds and "Weekly digest" in (m.embeds[0].title or "")
    ]


def section(embed: discord.Embed, start: str, end: str | None = None) -> str:
    text = embed.description.split(start, 1)[1]
    return text.split(end, 1)[0] if end else text


async def set_zone(world, zone: str, **reminders) -> None:
    r = await world.admin.slash(world.general, "config timezone", tz=zone)
    assert r.response.ephemeral
    if reminders:
        await world.admin.slash(world.general, "config reminders", **reminders)


async def test_the_title_is_the_local_monday_in_a_zone_ahead_of_utc(world):
    await set_zone(world, AUCKLAND)
    await advance_to(world.env, datetime(2026, 1, 4, 20, 0, 10, tzinfo=UTC))
    [digest] = digests(world.announcements)
    assert digest.title == "📰 Weekly digest · Week of 5 January"  # Sunday 4 January in UTC
    assert digest.footer.text == f"Monday 5 January 2026 · {AUCKLAND}"
    assert posted_utc(world.announcements)[0].date().isoformat() == "2026-01-04"


async def test_a_sunday_digest_is_titled_with_its_own_day_in_a_zone_behind_utc(world):
    await set_zone(world, "America/Los_Angeles", digest_day="sunday", digest_time="20:00")
    await advance_to(world.env, datetime(2026, 1, 5, 4, 0, 10, tzinfo=UTC))  # Sunday 20:00 in California
    [digest] = digests(world.announcements)
    assert digest.title == "📰 Weekly digest · Week of 4 January"  # not Monday 5 January, the UTC date
    assert digest.footer.text == "Sunday 4 January 2026 · America/Los_Angeles"


async def test_the_title_across_new_year_and_a_late_digest_with_its_year(world, restart):
    env = world.env
    await set_zone(world, AUCKLAND)

    async def to_christmas():
        await advance_to(env, datetime(2026, 12, 27, 19, 0, tzinfo=UTC))

    await restart(to_christmas)  # offline most of the year: the pending digest comes late, once
    [late] = digests(world.announcements)
    assert late.title == "📰 Weekly digest · Week of 5 January"
    assert "delayed" in late.footer.text

    async def over_new_year():
        await advance_to(env, datetime(2026, 12, 31, 12, 0, tzinfo=UTC))  # Friday 1 January 2027, 01:00

    # The digest of Monday 28 December (ISO week 2026-W53) falls due while the bot is down over New Year.
    await restart(over_new_year)
    titles = [d.title for d in digests(world.announcements)]
    assert titles[1:] == ["📰 Weekly digest · Week of 28 December 2026"]  # posted in 2027: with its year
    assert digests(world.announcements)[1].footer.text.startswith(
        f"Friday 1 January 2027 · {AUCKLAND} · delayed"
    )

    await advance_to(env, datetime(2027, 1, 3, 20, 0, 10, tzinfo=UTC))  # Monday 4 January 2027, 09:00
    titles = [d.title for d in digests(world.announcements)]
    assert titles[2:] == ["📰 Weekly digest · Week of 4 January"]  # ISO week 2027-W01
    assert not [t for t in titles if "-W" in t or "W53" in t or "W01" in t]
    assert posted_utc(world.announcements)[-1].date().isoformat() == "2027-01-03"


async def test_an_on_time_digest_in_late_december_has_no_year(world, restart):
    env = world.env
    await set_zone(world, AUCKLAND)

    async def to_december():
        await advance_to(env, datetime(2026, 12, 20, tzinfo=UTC))

    await restart(to_december)
    await advance_to(env, datetime(2026, 12, 27, 20, 0, 10, tzinfo=UTC))  # Monday 28 December, 09:00
    assert digests(world.announcements)[-1].title == "📰 Weekly digest · Week of 28 December"


async def test_needs_an_author_lists_only_episodes_still_to_be_written(world):
    statuses = {
        "1924-01": None,  # in research
        "1924-02": "writing",
        "1924-03": "recorded",
        "1924-04": "published",
        "1924-05": "shelved",
    }
    for code, status in statuses.items():
        await world.episode(code, f"Lenin's funeral, part {code[-1]}")
        if status:
            r = await world.host.slash(world.general, "episode status", episode=code, status=status)
            assert r.response.ephemeral
    # One in writing that has its author, one in research that has its author.
    for code, status in (("1923-01", "writing"), ("1923-02", None)):
        await world.episode(code, "Krupskaya's letters")
        if status:
            await world.host.slash(world.general, "episode status", episode=code, status=status)
        found = await episode_store.get_by_code(world.bot.services.db, world.guild.id, code)
        await authors_store.add_author(world.bot.services.db, found.id, world.alice.id, world.host.id)

    await advance_to(world.env, datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    [digest] = digests(world.announcements)
    needs = section(digest, "Needs an author", "**🔎")
    assert needs.startswith(" (2)**")
    listed = {code for code in [*statuses, "1923-01", "1923-02"] if f"**{code}**" in needs}
    assert listed == {"1924-01", "1924-02"}  # not recorded, published or shelved, nor those with authors

    research = section(digest, "**🔎", "**📅")
    in_research = {code for code in [*statuses, "1923-01", "1923-02"] if f"**{code}**" in research}
    assert in_research == {"1924-01", "1923-02"}  # in research, with or without an author
    assert research.startswith(" In research (2)**")


async def test_a_digest_with_nothing_to_list_says_so(world):
    await advance_to(world.env, datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    [digest] = digests(world.announcements)
    assert digest.title == "📰 Weekly digest · Week of 5 January"
    assert "*Every episode in research or writing has an author.*" in digest.description
    assert "*No episode is in research.*" in digest.description
    assert "*No deadline in the next two weeks.*" in digest.description
