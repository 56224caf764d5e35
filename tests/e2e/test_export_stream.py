"""A research export streamed from the database to disk (off the event loop) writes exactly the files the
dossier rendered whole in memory gives (`ResearchService.dossier`, `export.render`, `export.package`):
the same single file, the same parts when split, in every format, on varied research (key and excluded
marks, forum authors, likes, replies and corrections, attachments, sources, members gone from the server).
The size estimate decides before rendering; a refusal says which format would work."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cogs.episodes import store as episode_store
from cogs.research import export, export_store, export_stream, likes_store, store
from cogs.research.export_stream import Overflow
from cogs.research.service import ResearchService
from tests.domain.test_dossier_golden import SPARTACUS, VELES, varied_entries

CODE = "1924-01"
FORMATS = ("markdown", "html", "json", "csv")
EXPORTED = datetime(2024, 2, 1, 9, 30, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch):
    """Both exports of a comparison are stamped with the same time."""
    monkeypatch.setattr("cogs.research.service.now", lambda: EXPORTED)


@pytest.fixture
def upload_limit(monkeypatch):
    limit = {"bytes": 25 * 1024 * 1024}
    monkeypatch.setattr(ResearchService, "upload_limit", lambda self, guild: limit["bytes"])
    return limit


async def seed(world, extra: int = 0):
    """The varied research of tests/domain/test_dossier_golden.py stored for one episode (numbers 1–15),
    then `extra` plain contributions. Veles and Spartacus are members of the server; the others are
    gone (their stored names stand) or forum authors."""
    await world.episode(CODE)
    db = world.bot.services.db
    episode = await episode_store.get_by_code(db, world.guild.id, CODE)
    ids = {VELES.id: world.alice.id, SPARTACUS.id: world.bob.id}
    now = int(EXPORTED.timestamp())
    forum = await db.insert(
        "INSERT INTO forum_authors (guild_id, forum, username, name, created_at) VALUES (?, ?, ?, ?, ?)",
        (world.guild.id, "https://forum.example", "indy", "Indy", now),
    )
    rows = []
    for e in varied_entries():
        rows.append(
            store.NewContribution(
                guild_id=world.guild.id,
                episode_id=episode.id,
                author_id=ids.get(e.author.id, e.author.id) or 0,
                author_name=e.author.name,
                origin="thread" if e.origin == "forum" else e.origin,
                title=e.title,
                body=e.body.replace("\ud800", ""),  # SQLite stores no lone surrogate
                sources=e.sources,
                attachments=tuple(store.Attachment(n, u) for n, u in e.attachments),
                links=e.links,
                channel_id=world.thread_of(CODE).id,
                message_id=100 + e.id,
                jump_url=e.url,
                reply_to_message_id=e.reply_to_message_id,
                added_by=ids.get(e.added_by.id) if e.added_by else None,
                created_at=int(e.created_at.timestamp()),
                edited_at=int(e.edited_at.timestamp()) if e.edited_at else None,
            )
        )
    for n in range(extra):
        who = (world.alice, world.bob)[n % 2]
        rows.append(
            store.NewContribution(
                guild_id=world.guild.id,
                episode_id=episode.id,
                author_id=who.id,
                author_name=who.user.name,
                origin="thread",
                body=f"Note {n}: Krupskaya, not Krupska; Lenin died in January 1924. https://example.org/n/{n % 40}",
                created_at=now + n,
                message_id=10_000 + n,
                reply_to_message_id=10_000 + n - 3 if n % 7 == 3 else None,
            )
        )
    await store.add_many(db, rows)
    for e in varied_entries():
        if e.mark != "normal":
            await store.set_mark(db, episode.id, e.id, e.mark, world.host.id)
        if e.author.id is None:  # a forum author not linked to a member, with the likes it had there
            await db.execute(
                "UPDATE contributions SET author_id = NULL, forum_author_id = ?, origin = 'forum', "
                "forum_likes = ?, reply_to_id = ?, message_id = NULL WHERE id = ?",
                (forum, e.likes, e.reply_to_id, e.id),
            )
    likes = [
        (8, world.alice.id, "👍"),
        (8, world.bob.id, "❤️"),
        (8, world.bob.id, "👍"),
        (1, world.bob.id, "😀"),
    ]
    likes += [(2, world.alice.id, "⭐"), (16, world.bob.id, "🔥")] if extra else [(2, world.alice.id, "⭐")]
    await likes_store.add_likes_many(db, likes)
    episode = await episode_store.get(db, episode.id)
    return world.bot.get_guild(world.guild.id), episode


async def in_memory(service, guild, episode, fmt: str, limit: int) -> list[tuple[str, bytes]]:
    """The files as exports were made before they were streamed: the dossier whole, then its parts."""
    name, text = export.render(await service.dossier(guild, episode), fmt)
    return export.package(name, text, limit)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_one_file_is_the_dossier_rendered_whole(world, upload_limit, fmt):
    guild, episode = await seed(world)
    service = world.bot.services.research
    expected = await in_memory(service, guild, episode, fmt, upload_limit["bytes"])
    assert len(expected) == 1
    assert await service.export(guild, episode, fmt) == expected
    text = expected[0][1].decode("utf-8-sig")
    assert "Zoë" in text and "Krupskaya" in text  # a gone member by their stored name; the correction


# Limits that split the 15 varied contributions and 700 more (past a read batch) into a few parts
# and into many (an HTML part carries its stylesheet).
SPLITS = {
    "markdown": (120_000, 200_000),
    "html": (250_000, 400_000),
    "json": (30_000, 80_000),
    "csv": (4_000, 30_000),
}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_parts_are_the_parts_of_the_dossier_rendered_whole(world, upload_limit, fmt):
    guild, episode = await seed(world, extra=700)
    service = world.bot.services.research
    for limit in SPLITS[fmt]:
        upload_limit["bytes"] = limit
        expected = await in_memory(service, guild, episode, fmt, limit)
        assert len(expected) > 1, (fmt, limit)
        assert await service.export(guild, episode, fmt) == expected, (fmt, limit)


async def test_the_estimate_decides_but_never_changes_the_files(world, upload_limit, tmp_path):
    """Written as one file while the estimate says it fits: when it does not, it is written again in
    parts; written in parts beside the one file when the estimate says it won't fit: the one file wins
    when it does."""
    guild, episode = await seed(world, extra=100)
    service = world.bot.services.research
    async with service.exporting(guild, episode, "markdown") as job:
        estimate = job.estimate
        size = (await job.files())[0].size
    assert estimate.contributions == 115 and estimate.parts == 1
    assert 0.5 < estimate.size / size < 2, (estimate.size, size)  # about right
    async with service.exporting(guild, episode, "markdown") as job:  # its snapshot, written here
        folder = tmp_path / "one"
        folder.mkdir()
        files = export_stream.write(job.source, "markdown", size, folder, split=True)
        assert [f.name for f in files] == [f"{CODE}-research.md"] and files[0].size == size
        assert sorted(p.name for p in folder.iterdir()) == [f"{CODE}-research.md"]  # no part left behind
        folder = tmp_path / "parts"
        folder.mkdir()
        with pytest.raises(Overflow):
            export_stream.write(job.source, "markdown", size - 1, folder, split=False)
        assert list(folder.iterdir()) == []
    upload_limit["bytes"] = size - 1
    files = await service.export(guild, episode, "markdown")
    assert files == await in_memory(service, guild, episode, "markdown", size - 1)
    assert len(files) == 2


async def test_the_estimate_from_sql_alone(world):
    _, episode = await seed(world, extra=40)
    conn = export_store.open_snapshot(world.bot.services.db.path)
    try:
        sizes = export_store.sizes(conn, episode.id)
    finally:
        export_store.close_snapshot(conn)
    assert (sizes.contributions, sizes.key, sizes.excluded) == (55, 2, 2)
    small = export_stream.estimate(sizes, "csv", 10 * 1024 * 1024)
    assert small.parts == 1 and small.splittable
    whole = export_stream.estimate(sizes, "markdown", 10 * 1024 * 1024)
    split = export_stream.estimate(sizes, "markdown", whole.head + (whole.size - whole.head) // 3)
    assert whole.parts == 1 and split.parts >= 3
    assert not export_stream.estimate(sizes, "markdown", 3_000).splittable  # its contents list alone


def export_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("archivist-export-*"))


async def test_a_large_export_says_what_is_coming_and_leaves_no_file_behind(world, upload_limit):
    await seed(world, extra=700)
    upload_limit["bytes"] = 150_000
    before = export_folders()
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="markdown")
    files = [a for m in (r.response, *r.followups) for a in m.attachments]
    assert len(files) > 1
    assert "comes in" in r.response.content and f"{len(files)} parts" in r.response.content
    edits = [
        (q.json or {}).get("content")
        for q in world.env.http_requests
        if q.method == "PATCH" and q.path.endswith("/messages/@original")
    ]
    assert any("Preparing the research dossier" in (c or "") and "part files" in (c or "") for c in edits), (
        edits
    )
    assert export_folders() == before


async def test_a_limit_too_small_for_the_contents_says_which_format_would_work(world, upload_limit):
    await seed(world, extra=700)
    upload_limit["bytes"] = 20_000
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="markdown")
    text = r.response.content
    assert r.response.attachments == []
    assert "can't be split" in text and "contents list alone" in text and "`format:csv`" in text, text
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="csv")
    assert len(r.response.attachments) > 1


@pytest.mark.parametrize(
    ("fmt", "limit", "why", "instead"),
    [
        ("json", 8_000, "its bibliography and credits alone are larger", "Try `format:csv`"),
        ("csv", 300, "even one of its rows can't fit", "Ask an admin for a backup"),
    ],
)
async def test_every_refusal_says_why_and_what_would_work(world, upload_limit, fmt, limit, why, instead):
    await seed(world, extra=700)
    upload_limit["bytes"] = limit
    r = await world.bob.slash(world.general, "research export", episode=CODE, format=fmt)
    assert r.response.attachments == []
    assert why in r.response.content and instead in r.response.content, r.response.content


async def test_a_stopping_bot_stops_the_export_at_its_next_rows(world, tmp_path):
    guild, episode = await seed(world, extra=40)
    async with world.bot.services.research.exporting(guild, episode, "json") as job:
        job.source.stop.set()
        with pytest.raises(export_stream.Stopped):
            export_stream.write(job.source, "json", 10**9, tmp_path, split=True)


async def test_a_refused_progress_note_never_stops_the_files(world, upload_limit):
    await seed(world, extra=700)
    upload_limit["bytes"] = 150_000
    world.env.inject_error("PATCH", "/webhooks/*/messages/@original", status=500, times=1)
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="markdown")
    files = [a for m in (r.response, *r.followups) for a in m.attachments]
    assert len(files) > 1 and "comes in" in r.response.content
