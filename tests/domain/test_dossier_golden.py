"""The dossier's files are byte for byte what they were before exports were streamed: digests of every
format, whole and split into parts, of a varied dossier (key and excluded marks, forum authors, likes,
replies and corrections, attachments, sources in every form, hostile and non-Latin text), recorded from
the renderers as they were (`tests/domain/dossier_golden.json`)."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import InvalidInput
from cogs.research.export import Dossier, DossierEntry, Person, credits_of, package, render
from tests.domain.test_dossier_seed import INDY, SPARTACUS, VELES, contribution, seed_dossier, seed_entries

GOLDEN = Path(__file__).with_name("dossier_golden.json")
FORMATS = ("markdown", "html", "json", "csv")
# Limits that split the varied dossier into a few parts, and into many (an HTML part carries its
# stylesheet, a JSON part its bibliography and credits at the end).
LIMITS = {
    "markdown": (2_500, 6_000),
    "html": (12_000, 20_000),
    "json": (9_000, 14_000),
    "csv": (1_200, 4_000),
}
MANY_LIMITS = {
    "markdown": (12_000, 30_000),
    "html": (40_000, 60_000),
    "json": (30_000, 60_000),
    "csv": (1_200, 9_000),
}


def varied_entries() -> tuple[DossierEntry, ...]:
    """The seed episode's research, then contributions with what the seed lacks."""
    zoe = Person(1456000000000000077, "Zoë  Łucja\tWąsowska")
    extra = [
        contribution(
            8,
            zoe,
            "Found in #general, worth keeping: the funeral on 27 January 1924.\n"
            "Source: Tumarkin, Nina. Lenin Lives!. Harvard, 1983. ISBN 978-0-674-52431-7\n"
            "see also https://en.m.wikipedia.org/wiki/Lenin%27s_Mausoleum?fbclid=abc",
            origin="menu",
            added_by=SPARTACUS,
            attachments=(("funeral.jpg", "https://cdn.example/funeral.jpg"), ("notes [1].pdf", "ftp://x/y")),
            links=("https://example.org/not-in-the-text",),
            liked_by=(VELES.id, SPARTACUS.id),
            likes=2,
        ),
        contribution(
            9,
            VELES,
            "Answering a message the bot never recorded: the embalming was Krasin's idea.",
            reply_to_message_id=99999,
        ),
        contribution(10, SPARTACUS, "", attachments=(("map.png", "https://cdn.example/map.png"),)),
        contribution(
            11,
            INDY,
            "Actually it was the Second Congress of Soviets, not the first.",
            reply_to_message_id=101,
            reply_to_id=1,
            mark="key",
            origin="forum",
        ),
        contribution(12, Person(None, "Indy "), "Forum post under the same name, spaced.", origin="forum"),
        contribution(
            13,
            Person(1456000000000000088, "毛 🙂"),
            "列宁 died in Gorki.\ud800 A lone surrogate, and **emphasis** kept.\n\n> quoted\n# heading",
            title="Ленин умер в 1924 году " + "x" * 120,
            sources="10.1000/xyz123; DOI:10.1000/XYZ123\n1. https://example.org/a?b=2&a=1\n"
            "* Service, Lenin: A Biography (2000)",
        ),
        contribution(
            14,
            VELES,
            "Replying to the excluded chat, which is left out: you are correct.",
            reply_to_message_id=104,
            reply_to_id=4,
        ),
        contribution(15, SPARTACUS, "=1+1 and @here", title="-dash title", mark="excluded"),
    ]
    extra[5] = replace(extra[5], edited_at=extra[5].created_at + timedelta(days=3))
    return (*seed_entries(hostile=True), *extra)


def varied_dossier(entries: tuple[DossierEntry, ...] | None = None) -> Dossier:
    entries = varied_entries() if entries is None else entries
    return Dossier(replace(seed_dossier().episode), entries, credits_of(entries))


def many_dossier(n: int = 60) -> Dossier:
    """Many contributions (for many parts), every one citing a source of its own."""
    base = varied_entries()
    entries = list(base)
    for i in range(16, 16 + n):
        text = f"Note {i}: Lenin's succession, point {i}. " * (1 + i % 5) + f"https://example.org/n/{i}"
        entries.append(contribution(i, (VELES, SPARTACUS, INDY)[i % 3], text, likes=i % 4))
    return varied_dossier(tuple(entries))


DOSSIERS = {
    "seed": lambda: seed_dossier(),
    "varied": varied_dossier,
    "many": many_dossier,
    "empty": lambda: varied_dossier(()),
    "only-key": lambda: varied_dossier(tuple(e for e in varied_entries() if e.mark == "key")),
}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:24]


@functools.cache
def outputs() -> dict[str, str]:
    """Digest of every file: `<dossier>/<format>` whole, `<dossier>/<format>@<limit>` its parts."""
    out: dict[str, str] = {}
    for label, make in DOSSIERS.items():
        dossier = make()
        for fmt in FORMATS:
            name, text = render(dossier, fmt)
            out[f"{label}/{fmt}"] = digest(text.encode("utf-8"))
            for limit in (MANY_LIMITS if label == "many" else LIMITS)[fmt]:
                try:
                    files = package(name, text, limit)
                except InvalidInput:
                    out[f"{label}/{fmt}@{limit}"] = "refused"
                    continue
                out[f"{label}/{fmt}@{limit}"] = (
                    digest(b"".join(n.encode() + b"\0" + data + b"\0" for n, data in files))
                    + f" ({len(files)} files)"
                )
    return out


@pytest.mark.parametrize("key", sorted(json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}))
def test_every_file_is_what_it_was(key):
    assert outputs()[key] == json.loads(GOLDEN.read_text())[key]


def test_the_golden_digests_cover_splits_into_several_parts():
    golden = json.loads(GOLDEN.read_text())
    assert len(golden) == len(DOSSIERS) * len(FORMATS) * 3
    several = [k for k, v in golden.items() if "@" in k and v.endswith("files)") and "(1 files)" not in v]
    assert {k.split("/")[1].split("@")[0] for k in several} == set(FORMATS)


if __name__ == "__main__":  # records the digests (run once, from the renderers as they were)
    GOLDEN.write_text(json.dumps(outputs(), indent=1, sort_keys=True) + "\n")
