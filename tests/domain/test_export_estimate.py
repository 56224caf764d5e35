"""The export's size estimate (from SQL sums alone) and what a member reads while a large export is
written: nothing for a small one, its size for a large one, the part files coming for one over the limit."""

from __future__ import annotations

from cogs.research.export_store import Sizes
from cogs.research.export_stream import estimate
from cogs.research.views import export_progress

MIB = 1024 * 1024


def sizes(n: int, body: int = 600) -> Sizes:
    """n contributions of `body` bytes of text, each with a message link (as bench-seeded research)."""
    return Sizes(contributions=n, body=n * body, urls=n * 87, names=n * 8, shown_body=n * body)


def test_a_small_export_comes_without_a_note():
    small = estimate(sizes(20), "markdown", 10 * MIB)
    assert small.parts == 1 and small.size < 100_000
    assert export_progress("1924-01", "markdown", small) is None


def test_a_large_export_says_its_size_first():
    large = estimate(sizes(2_000), "html", 10 * MIB)
    assert large.parts == 1
    note = export_progress("1924-01", "html", large)
    assert note.startswith("Preparing the research dossier of **1924-01** (2,000 contributions, about ")
    assert "MB of HTML)…" in note and "part" not in note


def test_an_export_over_the_limit_says_how_many_parts_are_coming():
    over = estimate(sizes(50_000), "csv", 10 * MIB)
    assert over.parts == 4  # 40 MB of CSV (measured: 39.9 MB in 4 files)
    note = export_progress("1924-01", "csv", over)
    assert "50,000 contributions, about 40 MB of CSV" in note and "about 4 part files…" in note


def test_contents_larger_than_the_limit_make_markdown_unsplittable_but_not_csv():
    huge = sizes(120_000)
    assert not estimate(huge, "markdown", 10 * MIB).splittable  # its contents list alone
    assert estimate(huge, "csv", 10 * MIB).splittable
    assert estimate(huge, "markdown", 10 * MIB).parts == 0
