"""The forum import's service in a simulated server: the sample forum's topics (parsed as the importer
reads them) become episodes and contributions credited to forum names; re-runs, edits, dry runs,
failures, conflicts, posts in Discord, and linking forum names to members afterwards."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import pytest

from bot.errors import Conflict, NotFound
from cogs.episodes import store as episode_store
from cogs.forum_import import store as import_store
from cogs.forum_import.discourse import parse_topic

SAMPLE = Path(__file__).resolve().parents[1] / "forum_import" / "sample"
FORUM = "https://forum.example.org"
SEED_CODE, LOCARNO_CODE = "1924-01", "1925-10"
HOUR = 3600


def topic_json(topic_id: int) -> dict:
    """A topic as `/t/{id}.json?include_raw=true` serves it, with the posts past the first 20 merged in."""
    data = json.loads((SAMPLE / "t" / f"{topic_id}.json").read_text(encoding="utf-8"))
    rest = SAMPLE / "t" / str(topic_id) / "posts.json"
    if rest.exists():
        data["post_stream"]["posts"] += json.loads(rest.read_text(encoding="utf-8"))["post_stream"]["posts"]
    return data


def seed(**first_post) -> dict:
    """The seed topic; `status=` rewrites the first post's Status line."""
    data = topic_json(4711)
    if "status" in first_post:
        post = data["post_stream"]["posts"][0]
        post["raw"] = post["raw"].replace("Status: In Research", f"Status: {first_post['status']}")
    return data


def topic(data: dict):
    return parse_topic(data, base_url=FORUM)


def post_of(data: dict, number: int) -> dict:
    return next(p for p in data["post_stream"]["posts"] if p["post_number"] == number)


async def run(world, *topics, dry_run=False, progress=None):
    guild = world.bot.get_guild(world.guild.id)
    return await world.bot.services.forum_import.import_topics(
        guild, [topic(t) for t in topics], actor_id=world.admin.id, dry_run=dry_run, progress=progress
    )


async def dossier(world, code=SEED_CODE) -> dict:
    services = world.bot.services
    episode = await episode_store.get_by_code(services.db, world.guild.id, code)
    [(_, data)] = await services.research.export(world.bot.get_guild(world.guild.id), episode, "json")
    return json.loads(data)


def by_post(document: dict) -> dict[int, dict]:
    """The dossier's contributions by forum post number (the last part of their link)."""
    return {int(c["link"].rsplit("/", 1)[1]): c for c in document["contributions"]}


def dump(path: Path) -> list[str]:
    """Every row of the database file, as SQL (read on a connection of its own)."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


async def later(world, seconds: float) -> None:
    """Let time pass and deliver what fell due (the service was called from the test, not from a
    command: the scheduler's sleeper it woke is not on the simulator's clock)."""
    await world.env.advance_time(seconds)
    await world.bot.services.scheduler.run_due_now()


def thread_posts(world) -> list:
    """Every request the bot made that creates a message or a forum post."""
    return [
        r
        for r in world.env.http_requests
        if r.method == "POST" and r.path.endswith(("/messages", "/threads"))
    ]


# -- the seed topic --------------------------------------------------------------------------------------


async def test_the_seed_topic_becomes_an_episode_with_all_its_research(world):
    seen = []

    async def progress(p):
        seen.append((p.topics_done, p.topics_total, p.posts_done))

    report = await run(world, seed(), progress=progress)
    assert (report.episodes_created, report.contributions_added, report.skipped) == (1, 5, ())
    assert seen == [(1, 1, 6)]
    document = await dossier(world)
    assert document["episode"]["status"] == "In Research"
    assert {a["id"] for a in document["episode"]["authors"]} == {str(world.bob.id), str(world.host.id)}
    posts = by_post(document)
    assert {c["origin"] for c in posts.values()} == {"forum"}
    research, nitpick, agree, recorded, thanks = (posts[n] for n in (2, 3, 4, 5, 6))
    # Veles, Spartacus and Indy are members' usernames (any case): linked at once. Ardent is not a member.
    assert (research["author_id"], research["author_name"]) == (str(world.alice.id), "veles")
    assert (nitpick["author_id"], nitpick["author_name"]) == (None, "Ardent")
    assert research["text"].startswith("Despite a slight improvement in health")
    assert research["created_at"] == "2021-06-17T20:02:00Z"
    assert "Krupskaya" in nitpick["text"] and nitpick["reply_to"] == research["id"]
    assert agree["reply_to"] == nitpick["id"] and recorded["reply_to"] == research["id"]
    assert (research["likes"], agree["likes"], thanks["likes"]) == (0, 1, 1)
    assert research["link"] == f"{FORUM}/t/1924-01-lenins-death-and-stalins-rise-to-power/4711/2"
    credits = {c["name"]: (c["id"], c["contributions"]) for c in document["credits"]}
    assert credits == {
        "veles": (str(world.alice.id), 3),
        "Ardent": (None, 1),
        "spartacus": (str(world.bob.id), 1),
    }
    assert report.waiting == (("Ardent", 1),)


async def test_the_markdown_dossier_shows_the_correction_both_ways(world):
    await run(world, seed())
    services = world.bot.services
    episode = await episode_store.get_by_code(services.db, world.guild.id, SEED_CODE)
    [(_, data)] = await services.research.export(world.bot.get_guild(world.guild.id), episode, "markdown")
    md = data.decode()
    numbers = by_post(await dossier(world))
    research, nitpick = numbers[2]["id"], numbers[3]["id"]
    assert f"**Corrected by** [#{nitpick}](#c{nitpick}) (Ardent)" in md
    assert f"In reply to [#{research}](#c{research}) (veles)" in md
    assert "- Ardent — 1 contribution" in md


async def test_an_in_research_topic_gets_its_forum_post_with_card_tags_and_the_old_topic(world):
    await run(world, seed())
    thread = world.thread_of(SEED_CODE)
    assert thread.name == "1924-01 Lenin’s Death and Stalin’s rise to Power"
    starter = thread.history()[0]
    assert f"<{FORUM}/t/1924-01-lenins-death-and-stalins-rise-to-power/4711>" in starter.content
    card = {f.name: f.value for f in starter.embeds[0].fields}
    assert card["Status"] == "In Research" and card["Contributions"] == "5"
    assert set(card["Authors"].split()) == {f"<@{world.bob.id}>", f"<@{world.host.id}>"}
    assert card["Contributors"] == f"<@{world.alice.id}> Ardent (forum) <@{world.bob.id}>"
    tags = {t.name for t in world.bot.get_channel(thread.id).applied_tags}
    assert tags == {"In Research"}
    assert thread.history()[1:] == []  # nothing else posted: the research is in the record, not re-posted
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, SEED_CODE)
    assert episode.thread_id == thread.id and episode.thanked_at is None


async def pending_kinds(world) -> list[str]:
    rows = await world.bot.services.db.fetchall("SELECT kind FROM jobs WHERE state = 'pending' ORDER BY id")
    return [r[0] for r in rows]


async def test_an_import_pings_nobody_thanks_nobody_and_schedules_nothing_to_send(world):
    start = len(world.env.http_requests)
    jobs = await pending_kinds(world)  # the weekly digest
    await run(world, seed(), topic_json(4712))
    made = [r for r in world.env.http_requests[start:] if r.method == "POST"]
    assert [r.path for r in made] == [f"/channels/{world.forum.id}/threads"] * 2
    for request in made:
        assert request.json["message"]["allowed_mentions"] == {"parse": []}
    for thread in world.forum.threads:
        for message in thread.history():
            assert list(world.env.backend.get_message(thread.id, message.id).ping_user_ids) == []
    assert await pending_kinds(world) == jobs  # no reminder, no deadline, no thank-you, no post to retry
    await later(world, 24 * HOUR)
    assert [r.path for r in world.env.http_requests[start:] if r.method == "POST"] == [
        f"/channels/{world.forum.id}/threads"
    ] * 2
    assert all(len(t.history()) == 1 for t in world.forum.threads)


# -- recorded episodes ---------------------------------------------------------------------------------


async def test_a_recorded_topic_is_kept_without_a_post_and_works_with_the_commands(world):
    report = await run(world, seed(status="Recorded"))
    assert report.episodes_created == 1
    assert world.forum.threads == [] and thread_posts(world) == []
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, SEED_CODE)
    assert episode.status.value == "recorded" and episode.thread_id is None
    assert episode.thanked_at is not None  # the thank-you for it counts as given: never posted later
    r = await world.alice.slash(world.general, "episode info", episode=SEED_CODE)
    assert "(no post)" in r.response.content
    card = {f.name: f.value for f in r.response.embeds[0].fields}
    assert card["Status"] == "Recorded" and card["Contributions"] == "5"
    r = await world.alice.slash(world.general, "research export", episode=SEED_CODE, format="json")
    document = json.loads(await r.response.attachments[0].read())
    assert len(document["contributions"]) == 5
    r = await world.alice.slash(world.general, "research list", episode=SEED_CODE)
    assert "Ardent (forum)" in r.response.embeds[0].description
    r = await world.host.slash(world.general, "episode status", episode=SEED_CODE, status="published")
    assert "Published" in r.response.content
    await later(world, HOUR)
    assert world.forum.threads == [] and thread_posts(world) == []  # no thank-you, no note anywhere


# -- re-runs ---------------------------------------------------------------------------------------------


async def test_a_re_run_changes_nothing_and_says_so(world, db_path):
    first = await run(world, seed(), topic_json(4712))
    before = dump(db_path)
    requests = len(world.env.http_requests)
    again = await run(world, seed(), topic_json(4712))
    assert (again.episodes_created, again.episodes_updated, again.episodes_unchanged) == (0, 0, 2)
    assert (again.contributions_added, again.contributions_updated) == (0, 0)
    assert again.contributions_unchanged == first.contributions_added == 5 + 21
    assert again.skipped == first.skipped == (("deleted", 1), ("small action", 1), ("whisper", 1))
    assert dump(db_path) == before
    assert world.env.http_requests[requests:] == []


async def test_a_long_topic_keeps_every_reply_across_its_batches(world):
    data = seed()
    template = post_of(data, 3)
    for number in range(7, 7 + 260):  # past BATCH more than twice: every stage works in parts
        post = copy.deepcopy(template)
        post.update(
            id=990_000 + number,
            post_number=number,
            raw=f"Reading {number}: Krupskaya's letters on Lenin's last months.",
            reply_to_post_number=number - 150 if number > 156 else 2,
        )
        data["post_stream"]["posts"].append(post)
    report = await run(world, data)
    assert report.contributions_added == 5 + 260
    posts = by_post(await dossier(world))
    for number in range(7, 7 + 260):
        target = number - 150 if number > 156 else 2
        assert posts[number]["reply_to"] == posts[target]["id"], number
    again = await run(world, data)
    assert (again.episodes_unchanged, again.contributions_unchanged) == (1, 5 + 260)


async def test_an_edited_post_and_new_likes_update_its_contribution(world):
    data = seed()
    await run(world, data)
    numbers = {n: c["id"] for n, c in by_post(await dossier(world)).items()}
    edited = copy.deepcopy(data)
    nitpick = post_of(edited, 3)
    nitpick["raw"] += "\nSource: the Russian spelling is Крупская."
    nitpick["version"], nitpick["updated_at"] = 2, "2021-06-19T08:00:00.000Z"
    post_of(edited, 2)["actions_summary"] = [{"id": 2, "count": 4}]
    report = await run(world, edited)
    assert (report.episodes_updated, report.contributions_updated, report.contributions_unchanged) == (
        1,
        2,
        3,
    )
    posts = by_post(await dossier(world))
    assert {n: c["id"] for n, c in posts.items()} == numbers  # the same contributions, not new ones
    assert posts[3]["text"].endswith("Крупская.") and posts[3]["edited_at"] == "2021-06-19T08:00:00Z"
    assert posts[2]["likes"] == 4


async def test_live_likes_count_on_top_of_the_forum_likes(world):
    await run(world, seed())
    db = world.bot.services.db
    agree = by_post(await dossier(world))[4]
    await db.execute(
        "INSERT INTO contribution_likes (contribution_id, user_id, emoji) VALUES (?, ?, '👍')",
        (agree["id"], world.bob.id),
    )
    assert by_post(await dossier(world))[4]["likes"] == 2


async def test_a_contribution_removed_in_discord_stays_out_of_a_re_run(world):
    await run(world, seed())
    nitpick = by_post(await dossier(world))[3]["id"]
    r = await world.host.slash(world.general, "research remove", episode=SEED_CODE, contribution=nitpick)
    assert "Removed" in r.response.content
    report = await run(world, seed())
    assert report.contributions_added == 0 and report.skipped == (
        ("removed from the research record in Discord", 1),
    )
    posts = by_post(await dossier(world))
    assert sorted(posts) == [2, 4, 5, 6] and posts[4]["reply_to"] is None


# -- dry runs, failures, conflicts ---------------------------------------------------------------------


async def test_a_dry_run_reports_the_import_and_writes_nothing(world, db_path):
    before = dump(db_path)
    requests = len(world.env.http_requests)
    dry = await run(world, seed(), topic_json(4712), dry_run=True)
    assert dump(db_path) == before
    assert world.env.http_requests[requests:] == [] and world.forum.threads == []
    real = await run(world, seed(), topic_json(4712))
    assert dry.dry_run and not real.dry_run
    assert [(t.code, t.outcome, t.added) for t in dry.topics] == [
        (t.code, t.outcome, t.added) for t in real.topics
    ]
    assert (dry.skipped, dry.waiting) == (real.skipped, real.waiting)
    assert dry.lines()[0].startswith("**Dry run**")


async def test_a_topic_that_fails_midway_leaves_nothing_behind(world, monkeypatch):
    real_replies = import_store.set_replies_in

    async def fail_for_locarno(tx, replies):
        rows = await tx.fetchall("SELECT code FROM episodes WHERE code = ?", (LOCARNO_CODE,))
        if rows:
            raise RuntimeError("disk trouble")
        await real_replies(tx, replies)

    monkeypatch.setattr(import_store, "set_replies_in", fail_for_locarno)
    report = await run(world, topic_json(4712), seed())
    assert [(t.code, t.outcome) for t in report.topics] == [(LOCARNO_CODE, "failed"), (SEED_CODE, "created")]
    db = world.bot.services.db
    assert await episode_store.get_by_code(db, world.guild.id, LOCARNO_CODE) is None
    assert await db.fetchval("SELECT COUNT(*) FROM forum_posts WHERE topic_id = 4712") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM contributions") == 5
    assert await db.fetchval("SELECT COUNT(*) FROM forum_authors WHERE username IN ('Mirna', 'TobiasH')") == 0
    assert [t.name for t in world.forum.threads] == ["1924-01 Lenin’s Death and Stalin’s rise to Power"]
    monkeypatch.setattr(import_store, "set_replies_in", real_replies)
    again = await run(world, topic_json(4712))
    assert [(t.code, t.outcome, t.added) for t in again.topics] == [(LOCARNO_CODE, "created", 21)]


async def test_a_code_taken_by_another_episode_is_a_conflict_and_the_topic_is_skipped(world):
    await world.episode(SEED_CODE, "Lenin's Death")
    report = await run(world, seed(), topic_json(4712))
    assert [(t.code, t.outcome) for t in report.topics] == [
        (SEED_CODE, "conflict"),
        (LOCARNO_CODE, "created"),
    ]
    assert "not imported from this topic" in report.conflicts[0].reason
    r = await world.alice.slash(world.general, "research list", episode=SEED_CODE)
    assert "No contributions yet" in (r.response.embeds[0].description or r.response.content)
    # The same code twice in one import (another topic with the same title): the second is a conflict.
    twin = seed()
    twin["id"] = 5000
    report = await run(world, topic_json(4712), twin, dry_run=True)
    assert [t.outcome for t in report.topics] == ["unchanged", "conflict"]


async def test_the_first_post_changing_on_the_forum_updates_the_episode(world):
    data = seed()
    await run(world, data)
    changed = copy.deepcopy(data)
    first = post_of(changed, 1)
    first["raw"] = first["raw"].replace("Author: @Spartacus @Indy", "Author: @Spartacus @Ardent")
    first["raw"] = first["raw"].replace("Status: In Research", "Status: Writing")
    report = await run(world, changed)
    assert [(t.outcome, t.added, t.updated) for t in report.topics] == [("updated", 0, 0)]
    document = await dossier(world)
    assert document["episode"]["status"] == "Writing"
    assert {(a["id"], a["name"]) for a in document["episode"]["authors"]} == {
        (str(world.bob.id), "spartacus"),
        (str(world.host.id), "indy"),  # a member once named stays an author until a host removes them
        (None, "Ardent"),
    }
    await later(world, 60)  # the card follows (its card_sync job)
    card = {f.name: f.value for f in world.thread_of(SEED_CODE).history()[0].embeds[0].fields}
    assert card["Status"] == "Writing" and "Ardent (forum)" in card["Authors"]


# -- forum names -----------------------------------------------------------------------------------------


async def test_linking_a_forum_name_moves_its_research_to_the_member_everywhere(world):
    await run(world, seed(), topic_json(4712))
    service = world.bot.services.forum_import
    assert await service.unlinked_authors(world.guild.id) == [("Mirna", 8), ("Ardent", 6), ("TobiasH", 4)]
    assert await service.forum_names(world.guild.id, "t") == ["TobiasH"]
    scholar = world.guild.add_member(world.env.create_user("ardent_scholar"))
    result = await service.link(world.guild.id, "ardent", scholar.id, actor_id=world.admin.id)
    assert (result.forum_name, result.changed, result.contributions, result.authorships) == (
        "Ardent",
        True,
        6,
        0,
    )
    # export, credits, list, search and the card all show the member now
    posts = by_post(await dossier(world))
    assert (posts[3]["author_id"], posts[3]["author_name"]) == (str(scholar.id), "ardent_scholar")
    assert (str(scholar.id), "ardent_scholar") in {
        (c["id"], c["name"]) for c in (await dossier(world))["credits"]
    }
    r = await world.alice.slash(world.general, "research list", episode=SEED_CODE, contributor=scholar.user)
    assert f"<@{scholar.id}>" in r.response.embeds[0].description
    r = await world.alice.slash(world.general, "research search", query="Krupskaya", episode=SEED_CODE)
    assert (
        f"<@{scholar.id}>" in r.response.embeds[0].description
        and "(forum)" not in r.response.embeds[0].description
    )
    card = {f.name: f.value for f in world.thread_of(SEED_CODE).history()[0].embeds[0].fields}
    assert f"<@{scholar.id}>" in card["Contributors"] and "Ardent" not in card["Contributors"]
    assert [n for n, _ in await service.unlinked_authors(world.guild.id)] == ["Mirna", "TobiasH"]
    # new posts by a linked name are the member's from the start
    data = seed()
    data["post_stream"]["posts"].append(
        {**post_of(data, 3), "id": 471107, "post_number": 7, "raw": "Krupskaya outlived him by 15 years."}
    )
    await run(world, data)
    assert by_post(await dossier(world))[7]["author_id"] == str(scholar.id)


async def test_a_forum_name_as_author_counts_until_linked_then_the_member_is_the_author(world):
    data = topic_json(4712)
    first = post_of(data, 1)
    first["raw"] = first["raw"].replace("Author: @Indy", "Author: @Mirna")
    await run(world, data)
    service = world.bot.services.forum_import
    assert ("Mirna", 9) in await service.unlinked_authors(world.guild.id)  # 8 posts and the authorship
    thread = world.thread_of(LOCARNO_CODE)
    assert {t.name for t in world.bot.get_channel(thread.id).applied_tags} == {"Writing"}  # no Needs Author
    card = {f.name: f.value for f in thread.history()[0].embeds[0].fields}
    assert card["Authors"] == "Mirna (forum)"
    r = await world.alice.slash(world.general, "episode list", needs_author=True)
    assert LOCARNO_CODE not in (r.response.embeds[0].description if r.response.embeds else r.response.content)
    document = await dossier(world, LOCARNO_CODE)
    assert document["episode"]["authors"] == [{"id": None, "name": "Mirna"}]
    result = await service.link(world.guild.id, "Mirna", world.bob.id, actor_id=world.admin.id)
    assert (result.contributions, result.authorships) == (8, 1)
    r = await world.alice.slash(world.general, "episode list", author=world.bob)
    assert LOCARNO_CODE in r.response.embeds[0].description
    card = {f.name: f.value for f in thread.history()[0].embeds[0].fields}
    assert card["Authors"] == f"<@{world.bob.id}>"
    document = await dossier(world, LOCARNO_CODE)
    assert document["episode"]["authors"] == [{"id": str(world.bob.id), "name": "spartacus"}]


async def test_link_refusals_and_repeats(world):
    await run(world, seed())
    service = world.bot.services.forum_import
    with pytest.raises(NotFound, match="No forum name `Nobody`"):
        await service.link(world.guild.id, "Nobody", world.bob.id, actor_id=world.admin.id)
    first = await service.link(world.guild.id, "Ardent", world.bob.id, actor_id=world.admin.id)
    again = await service.link(world.guild.id, "ARDENT", world.bob.id, actor_id=world.admin.id)
    assert first.changed and not again.changed and again.contributions == 0
    with pytest.raises(Conflict, match="already linked"):
        await service.link(world.guild.id, "Ardent", world.alice.id, actor_id=world.admin.id)
    assert by_post(await dossier(world))[3]["author_id"] == str(world.bob.id)


async def test_a_forum_name_that_becomes_a_members_username_is_linked_by_the_next_import(world):
    await run(world, seed())
    ardent = world.guild.add_member(world.env.create_user("ardent"))
    report = await run(world, seed())
    assert [(t.outcome, t.added, t.updated) for t in report.topics] == [("updated", 0, 0)]
    assert report.waiting == ()
    assert by_post(await dossier(world))[3]["author_id"] == str(ardent.id)
    assert await world.bot.services.forum_import.unlinked_authors(world.guild.id) == []


async def test_a_post_discord_refuses_is_opened_later_by_its_job(world):
    world.env.inject_error("POST", f"/channels/{world.forum.id}/threads", status=500, times=1)
    report = await run(world, seed())
    assert report.episodes_created == 1 and world.forum.threads == []  # imported all the same
    episode = await episode_store.get_by_code(world.bot.services.db, world.guild.id, SEED_CODE)
    assert episode.thread_id is None
    await later(world, 31)
    thread = world.thread_of(SEED_CODE)
    assert len(world.forum.threads) == 1 and "/t/1924-01-lenins-death" in thread.history()[0].content
    await later(world, 3600)
    assert len(world.forum.threads) == 1  # opened once
    jobs = await world.bot.services.db.fetchall("SELECT state FROM jobs WHERE kind = 'forum_import_post'")
    assert [j[0] for j in jobs] == ["done"]
