"""What a member sees first of `/research export`: a note at once, before anything is read (not a
"thinking…" that waits for the estimate), then what is coming once it is known (about how many part
files), then the files in its place; a refusal takes its place too. While another export is being
written (one at a time), the member is told so."""

from __future__ import annotations

import asyncio

from tests.e2e import test_export_stream as streamed
from tests.e2e.test_export_stream import CODE, seed
from tests.e2e.trips import Trips

fixed_time = streamed.fixed_time  # its fixtures: one export time, an upload limit a test sets
upload_limit = streamed.upload_limit

CHANNEL_MESSAGE = 4  # the interaction callback that answers with a message
EPHEMERAL = 64


def exchanges(world, start: int) -> list[tuple[str, dict]]:
    """("answer" | "edit", JSON) of the interaction's requests since `start`, in order."""
    out = []
    for q in world.env.http_requests[start:]:
        if q.path.startswith("/interactions/") and q.path.endswith("/callback"):
            out.append(("answer", q.json or {}))
        elif q.method == "PATCH" and q.path.endswith("/messages/@original"):
            out.append(("edit", q.json or {}))
    return out


async def test_the_member_is_told_at_once_then_what_is_coming_then_gets_the_files(world, upload_limit):
    await seed(world, extra=700)
    upload_limit["bytes"] = 150_000
    start = len(world.env.http_requests)
    trips = Trips(world.env)
    with trips.counting():
        r = await world.bob.slash(world.general, "research export", episode=CODE, format="markdown")
    seen = exchanges(world, start)
    kind, first = seen[0]
    assert kind == "answer" and first["type"] == CHANNEL_MESSAGE, seen[0]
    assert first["data"]["content"] == f"Preparing the research dossier of **{CODE}** as Markdown…"
    assert first["data"]["flags"] & EPHEMERAL
    # Answered before the export read anything: only the episode option's lookup came first.
    assert trips.before_answer <= 1, trips.before_answer
    kind, note = seen[1]
    assert kind == "edit" and "about" in note["content"] and "part files" in note["content"], note
    assert "700" in note["content"] or "715" in note["content"]  # how many contributions
    files = [a for m in (r.response, *r.followups) for a in m.attachments]
    assert len(files) > 1 and f"{len(files)} parts" in r.response.content  # the files replaced the note


async def test_a_small_export_replaces_the_first_note_with_its_file(world, upload_limit):
    await seed(world)
    start = len(world.env.http_requests)
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="csv")
    seen = exchanges(world, start)
    assert [kind for kind, _ in seen] == ["answer", "edit"], seen  # no note between: it comes at once
    assert seen[0][1]["data"]["content"] == f"Preparing the research dossier of **{CODE}** as CSV…"
    assert r.response.content == f"The research dossier of **{CODE}**."
    assert [a.filename for a in r.response.attachments] == [f"{CODE}-research.csv"]
    assert r.followups == []


async def test_a_refusal_takes_the_place_of_the_first_note(world, upload_limit):
    await seed(world, extra=700)
    upload_limit["bytes"] = 20_000
    r = await world.bob.slash(world.general, "research export", episode=CODE, format="markdown")
    assert "can't be split" in r.response.content and r.followups == []
    assert "Preparing" not in r.response.content


async def test_an_export_waiting_for_another_says_so_then_comes(world, upload_limit):
    guild, episode = await seed(world)
    service = world.bot.services.research
    told: list[str] = []

    async def waiting() -> None:
        told.append("waiting")

    async def second() -> int:
        async with service.exporting(guild, episode, "csv", waiting) as job:
            return len(await job.files())

    async with service.exporting(guild, episode, "json") as first:
        task = asyncio.ensure_future(second())
        for _ in range(500):  # until it reaches its turn (its folder is made in a thread first)
            if told or task.done():
                break
            await asyncio.sleep(0.01)
        assert told == ["waiting"] and not task.done()
        await first.files()
    assert await task == 1
    told.clear()
    assert await second() == 1 and told == []  # nobody else exporting: no waiting note
