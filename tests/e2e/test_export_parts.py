"""`/research export` of a dossier larger than the server's upload limit: part files, each within the
limit, that together hold every contribution exactly once, in every format; more than ten parts come in
follow-up messages."""

from __future__ import annotations

import json
import re

import pytest

from cogs.research.service import ResearchService

CODE = "1924-01"
FACTS = (
    "Lenin died on 21 January 1924 at Gorki; the Congress of Soviets renamed Petrograd to Leningrad days later.",
    "Krupskaya, his widow, opposed the embalming and sided with the opposition in 1925.",
    "Stalin had been General Secretary since 1922 and used the post to place loyal people everywhere.",
)


async def post_research(world, count: int):
    thread = await world.episode(CODE)
    for n in range(1, count + 1):
        member = world.alice if n % 2 else world.bob
        await member.send(thread, f"Note {n:03d}: {FACTS[n % 3]} " + "More detail on the succession. " * 12)
    return thread


async def exported(world, fmt: str) -> list[tuple[str, bytes]]:
    r = await world.bob.slash(world.general, "research export", episode=CODE, format=fmt)
    messages = [r.response, *r.followups]
    files = [a for m in messages if m is not None for a in m.attachments]
    return [(a.filename, await a.read()) for a in files]


@pytest.fixture
def small_uploads(monkeypatch):
    limit = {"bytes": 12_000}
    monkeypatch.setattr(ResearchService, "upload_limit", lambda self, guild: limit["bytes"])
    return limit


@pytest.mark.parametrize(
    ("fmt", "ext", "limit"),
    [("markdown", "md", 12_000), ("html", "html", 40_000), ("json", "json", 12_000), ("csv", "csv", 12_000)],
)  # an HTML part carries its whole stylesheet: a larger (still tiny) limit
async def test_a_large_dossier_comes_in_parts_that_hold_everything_once(
    world, small_uploads, fmt, ext, limit
):
    small_uploads["bytes"] = limit
    await post_research(world, 40)
    files = await exported(world, fmt)
    names = [name for name, _ in files]
    assert len(files) > 1, names
    assert names == [f"{CODE}-research-part{n}.{ext}" for n in range(1, len(files) + 1)]
    assert all(len(data) <= small_uploads["bytes"] for _, data in files)
    texts = [data.decode("utf-8-sig") for _, data in files]
    if fmt == "json":
        parts = [json.loads(t) for t in texts]  # every part is valid JSON on its own
        notes = [c["text"][:8] for p in parts for c in p["contributions"]]
        assert "credits" in parts[-1] and "bibliography" in parts[-1]
    else:
        notes = [m for t in texts for m in re.findall(r"Note \d{3}", t)]
        if fmt == "csv":
            assert all(t.startswith('"id"') for t in texts)  # the header row in every part
    assert sorted(set(notes)) == [f"Note {n:03d}" for n in range(1, 41)]
    if fmt in {"json", "csv"}:  # one row / entry per contribution: each exactly once across the parts
        assert len(notes) == 40


async def test_more_than_ten_parts_come_in_follow_up_messages(world, small_uploads):
    await post_research(world, 60)
    small_uploads["bytes"] = 3_000
    files = await exported(world, "csv")
    assert len(files) > 10
    assert [n for n, _ in files] == [f"{CODE}-research-part{n}.csv" for n in range(1, len(files) + 1)]
