"""`/research credits`' text: plain names ready to paste under a video and the most-cited sources,
together within YouTube's 5,000 characters, cut visibly when there are too many."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from cogs.research.export import Dossier, Person, credits_of, credits_text
from tests.domain.test_dossier_seed import contribution, seed_dossier


def test_the_seed_episode_credits():
    assert credits_text(seed_dossier(hostile=False)) == (
        "Research: Veles, Spartacus, Indy\n"
        "\n"
        "Sources:\n"
        "- Service, Robert. Lenin: A Biography. London: Macmillan, 2000 — ISBN 978-0330491396 "
        "https://openlibrary.org/isbn/9780330491396\n"
        "- https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/\n"
        "- Wade, Krupskaya and the Soviet School — doi:10.2307/2495085 https://doi.org/10.2307/2495085\n"
        "- https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin?utm_source=forum\n"
        "- Pipes, The Russian Revolution — ISBN 978-0394573946 https://openlibrary.org/isbn/9780394573946\n"
        "- https://www.britannica.com/place/Soviet-Union/"
    )


def test_no_research_yet():
    dossier = seed_dossier()
    assert credits_text(Dossier(dossier.episode, ())) == "Research: no contributions yet"


def test_excluded_chat_earns_no_credit_and_names_are_plain():
    dossier = seed_dossier()
    only_chat = tuple(replace(e, mark="excluded") for e in dossier.entries if e.author.name == "Spartacus")
    others = tuple(e for e in dossier.entries if e.author.name != "Spartacus")
    text = credits_text(Dossier(dossier.episode, others + only_chat))
    assert "Spartacus" not in text
    assert text.startswith("Research: Veles, Indy, <script>")  # plain text: a description is not HTML
    assert "<@" not in text


def many(people: int, sources: int) -> Dossier:
    entries = []
    for n in range(1, people + 1):
        cites = "\n".join(
            f"Source: https://archive.example/fond-{(n * 7 + k) % sources}/opis-{k}/delo-{'x' * 40}"
            for k in range(3)
        )
        entries.append(
            contribution(n, Person(10_000 + n, f"Contributor Number {n:04d} Ł ж"), f"Fact {n}.\n{cites}")
        )
    entries = tuple(entries)
    return Dossier(seed_dossier().episode, entries, credits_of(entries))


@pytest.mark.parametrize(("people", "sources"), [(600, 400), (40, 900), (2000, 3), (250, 12)])
def test_many_contributors_and_sources_fit_the_limit_cut_visibly(people, sources):
    dossier = many(people, sources)
    text = credits_text(dossier)
    assert len(text) <= 5000
    names_line, _, rest = text.partition("\n\nSources:\n")
    names = names_line.removeprefix("Research: ").split(", ")
    shown = [n for n in names if n.startswith("Contributor")]
    assert shown == [c.person.name for c in dossier.credits][: len(shown)]  # most contributions first
    if len(shown) < people:
        assert names[-1] == f"… and {people - len(shown)} more"
    assert len(names_line) >= 2000 or len(shown) == people  # the names keep at least half the room
    lines = rest.splitlines()
    total = len(_all_urls(dossier))  # every one a different source
    listed = [line for line in lines if line.startswith("- https://archive.example/")]
    assert 0 < len(listed) <= 10
    if len(listed) < total:
        assert lines[-1] == f"… and {total - len(listed)} more"


def _all_urls(dossier: Dossier) -> set[str]:
    return {m for e in dossier.entries for m in re.findall(r"https://\S+", e.body)}


def test_exactly_at_the_limit_nothing_is_cut_and_one_less_cuts():
    dossier = many(30, 3)
    full = credits_text(dossier, limit=100_000)
    assert "more" not in full
    assert credits_text(dossier, limit=len(full)) == full
    cut = credits_text(dossier, limit=len(full) - 1)
    assert len(cut) <= len(full) - 1 and re.search(r"… and \d+ more", cut)


@pytest.mark.parametrize("limit", [40, 80, 200, 1000])
def test_small_limits_are_kept(limit):
    assert len(credits_text(many(100, 50), limit=limit)) <= limit
