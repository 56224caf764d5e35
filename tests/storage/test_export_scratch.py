"""An export's first pass kept on disk (`export_store.Scratch`) gathers exactly what the in-memory one
does (`dossier.InMemory`, `bibliography.Collector`): the same sources, numbered alike, with the same
words, identifiers and citing contributions, the same sources per contribution, the same replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cogs.research.bibliography import citations_in
from cogs.research.dossier import InMemory, Link
from cogs.research.export_store import Scratch

# Sources written in the forms members use, several of them the same source (a URL with tracking
# parameters, a DOI in two forms, an ISBN-10 and its ISBN-13, a book and its ISBN on one line).
WRITTEN = [
    "https://en.wikipedia.org/wiki/Nadezhda_Krupskaya",
    "http://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/?utm_source=forum",
    "doi:10.2307/2495085",
    "https://doi.org/10.2307/2495085",
    'Wade, "Krupskaya and the Soviet School", doi:10.2307/2495085',
    "ISBN 0-330-49139-3",
    "ISBN 978-0330491396",
    "Source: Service, Robert. Lenin: A Biography. London: Macmillan, 2000. ISBN 0-330-49139-3",
    'Robert Service\'s "Lenin: A Biography"',
    "Source: https://example.org/archive/lenin-death",
    "Sources:\n- Pipes, The Russian Revolution; ISBN 978-0-394-57394-6\n- https://www.britannica.com/place/Soviet-Union/",
    "Lenin died on 21 January 1924; Krupskaya, not Krupska.",
]
TEXT = st.lists(st.sampled_from(WRITTEN), max_size=4).map("\n".join)
FIELD = st.none() | st.lists(st.sampled_from(WRITTEN[:8]), max_size=2).map("\n".join)


def gathered(keeper, contributions):
    for number, (body, sources) in enumerate(contributions, 1):
        keeper.add_citations(number, citations_in(body, sources))
    return keeper.kept()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, FIELD), max_size=25))
def test_the_scratch_gathers_the_bibliography_as_memory_does(tmp_path_factory, contributions):
    scratch = Scratch(tmp_path_factory.mktemp("scratch") / "s.sqlite3")
    try:
        sources, cites, _ = gathered(scratch, contributions)
        expected_sources, expected_cites, _ = gathered(InMemory(), contributions)
        assert list(sources) == list(expected_sources)
        assert len(sources) == len(expected_sources)
        numbers = range(1, len(contributions) + 1)
        assert [cites.get(n, ()) for n in numbers] == [expected_cites.get(n, ()) for n in numbers]
    finally:
        scratch.close()


def test_replies_come_back_oldest_first(tmp_path):
    t0 = datetime(2024, 1, 21, 12, tzinfo=UTC)
    replies = [  # (target, when, reply): given in reading order, key research first
        (1, t0 + timedelta(hours=5), Link(9, "Veles", True, "answered")),
        (1, t0 + timedelta(hours=2), Link(4, "Spartacus", True, "corrected")),
        (1, t0 + timedelta(hours=2), Link(3, "Indy", True, "answered")),
        (2, t0 + timedelta(hours=3), Link(5, "Veles", True, "corrected")),
    ]
    scratch = Scratch(tmp_path / "s.sqlite3")
    memory = InMemory()
    for keeper in (scratch, memory):
        for target, when, link in replies:
            keeper.add_reply(target, when, link)
    try:
        got, expected = scratch.kept()[2], memory.kept()[2]
        assert [got.get(n, ()) for n in (1, 2, 3)] == [expected.get(n, ()) for n in (1, 2, 3)]
        assert [link.number for link in got[1]] == [3, 4, 9]
        assert got.get(3) is None and sorted(got) == [1, 2] and len(got) == 2
    finally:
        scratch.close()
