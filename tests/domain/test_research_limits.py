"""Fitting member text into Discord's limits: whole items and "… and N more", visible cuts."""

from __future__ import annotations

import re

import pytest

from cogs.research.rules import chunk_mentions, clip, join_within


@pytest.mark.parametrize("limit", [1, 5, 12, 20, 40, 100, 1024, 4096])
@pytest.mark.parametrize("count", [0, 1, 2, 10, 300])
def test_join_within_keeps_whole_items_and_counts_the_rest(limit, count):
    items = [f"<@{10**17 + i}> ({i % 7 + 1})" for i in range(count)]
    text = join_within(items, limit, sep=" ")
    assert len(text) <= limit
    if len(" ".join(items)) <= limit:
        assert text == " ".join(items)
        return
    more = re.search(r"… and (\d+) more$", text)
    if more is None:  # not even the marker fits: only tiny limits
        assert limit < len("… and 300 more") + 1
        return
    shown = text[: more.start()].split(" ")
    shown = [s for s in shown if s]
    whole = [s for s in shown if s in " ".join(items).split(" ")]
    assert len(whole) == len(shown) or shown[0].endswith("…")
    pairs = len([s for s in shown if s.startswith("<@") and s.endswith(">")])
    cut_first = 1 if shown and shown[0].endswith("…") else 0
    assert pairs + cut_first + int(more.group(1)) == count


def test_join_within_lines():
    lines = [f"- source {i}" for i in range(200)]
    text = join_within(lines, 1024, more="… and {n} more in the export")
    *kept, last = text.split("\n")
    assert kept == lines[: len(kept)]
    assert last == f"… and {200 - len(kept)} more in the export"
    assert len(text) <= 1024


def test_join_within_cuts_a_single_huge_item_visibly():
    text = join_within(["x" * 5000, "short"], 1024)
    assert len(text) <= 1024
    assert text.startswith("xxx") and text.endswith("…\n… and 1 more")


def test_clip_is_visible_and_within_the_limit():
    assert clip("short", 10) == "short"
    body = "\n".join(f"line {i} " + "y" * 50 for i in range(200))
    out = clip(body, 4096)
    assert len(out) <= 4096 and out.endswith("full text is in the export)")
    assert out.split("\n")[-2].startswith("line ")  # ends at a whole line
    assert len(clip("z" * 9000, 4096)) <= 4096


def test_thank_you_messages_ping_at_most_100_members_each():
    ids = list(range(1, 251))  # short ids: many more than 100 mentions would fit in 2,000 characters
    messages = chunk_mentions("Thanks:", ids, footer="Bye")
    found = [re.findall(r"<@(\d+)>", m) for m in messages]
    assert all(len(f) <= 100 for f in found)
    assert [int(u) for f in found for u in f] == ids
    assert all(len(m) < 2000 for m in messages)
