"""The seed episode's dossier, as a script writer reads it: key research first, the Krupskaya correction
linked both ways, the excluded chat left out, sources cited in every written form listed once, plain
names. `seed_dossier()` is also the dossier the browser and spreadsheet checks open."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cogs.research.export import Dossier, DossierEntry, DossierEpisode, Person, credits_of, render

T0 = datetime(2024, 1, 21, 12, 0, tzinfo=UTC)
VELES, SPARTACUS, INDY = (
    Person(1456000000000000011, "Veles"),
    Person(1456000000000000012, "Spartacus"),
    Person(None, "Indy"),
)
HOSTILE_NAME = (
    '<script>alert("name")</script>"><img src=x onerror=alert(1)> **bold** [x](javascript:alert(2))'
)
HOSTILE_TITLE = '"><svg onload=alert(3)> # Title [link](javascript:alert(4)) <!--'
HOSTILE_TEXT = (
    "<script>document.title='pwned'</script> <img src=x onerror=alert(5)>\n"
    "[click me](javascript:alert(6)) javascript:alert(7) data:text/html,<b>x</b>\n"
    '<a href="https://evil.example/">not a link</a> https://ok.example/page?a=1&b="><script>x</script>\n'
    "# not a heading\n</article></main><style>body{display:none}</style>"
)


def contribution(number, author, body, **kw):
    return DossierEntry(
        id=number,
        author=author,
        origin=kw.pop("origin", "thread"),
        title=kw.pop("title", None),
        body=body,
        sources=kw.pop("sources", None),
        created_at=T0 + timedelta(hours=number),
        edited_at=None,
        url=f"https://discord.com/channels/1/2/{100 + number}",
        likes=kw.pop("likes", 0),
        **kw,
    )


def seed_entries(hostile: bool = True) -> tuple[DossierEntry, ...]:
    entries = [
        contribution(
            1,
            VELES,
            "Lenin had seemed a little better late in 1923, but he died on 21 January 1924, aged 53.\n"
            "Moscow filed past his coffin for four days; the congress of soviets then had him embalmed, "
            "named 21 January a day of mourning and renamed Petrograd as Leningrad.\n\n"
            "Stalin, general secretary since 1922, used Lenin's illness to gather power; the testament "
            "warning against him was read out at the XIII congress in May 1924 and set aside. "
            "Krupska sided with Zinoviev and Kamenev in 1925.\n\n"
            "Sources:\n"
            "- Service, Robert. Lenin: A Biography. London: Macmillan, 2000. ISBN 0-330-49139-3\n"
            "- https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin?utm_source=forum",
            title="Lenin's death and Stalin's rise",
            likes=3,
            mark="key",
        ),
        contribution(
            2,
            SPARTACUS,
            "A minor nitpick: Krupskaya is the correct spelling, as in Russian and in the English sources I "
            "checked: https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/\n"
            'On her: Wade, "Krupskaya and the Soviet School", doi:10.2307/2495085',
            reply_to_message_id=101,
            reply_to_id=1,
            likes=1,
        ),
        contribution(
            3,
            VELES,
            "Yeah, you're right. I wrote it the Polish way by accident.",
            reply_to_message_id=102,
            reply_to_id=2,
            likes=1,
        ),
        contribution(4, SPARTACUS, "ok thanks!", mark="excluded"),
        contribution(
            5,
            INDY,
            "Recorded this week: the research was essential, even if the script took another angle. "
            'Robert Service\'s "Lenin: A Biography" shaped the subtext; on her later life see '
            "http://en.wikipedia.org/wiki/Nadezhda_Krupskaya#Later_life and https://doi.org/10.2307/2495085",
            origin="forum",
            likes=2,
        ),
        contribution(
            6,
            SPARTACUS,
            "The Soviet government at the time of Lenin's death, for the intro.",
            title="Government in 1924",
            origin="form",
            sources="Pipes, The Russian Revolution; ISBN 978-0-394-57394-6\nhttps://www.britannica.com/place/Soviet-Union/",
        ),
    ]
    if hostile:
        entries.append(
            contribution(
                7,
                Person(1456000000000000066, HOSTILE_NAME),
                HOSTILE_TEXT,
                title=HOSTILE_TITLE,
                sources='javascript:alert(8)\nhttps://evil.example/"onmouseover=alert(9)',
            )
        )
    return tuple(entries)


def seed_dossier(hostile: bool = True) -> Dossier:
    entries = seed_entries(hostile)
    episode = DossierEpisode(
        code="1924-01",
        title="Lenin's Death and Stalin's Rise to Power",
        status="In research",
        description="Post any ideas or research for this episode; if it has no author yet, say so here.",
        authors=(SPARTACUS, INDY),
        created_at=T0,
        updated_at=T0 + timedelta(days=2),
        exported_at=T0 + timedelta(days=3),
        dates=(("Script deadline", T0 + timedelta(days=14)),),
        url="https://discord.com/channels/1/2",
    )
    return Dossier(episode, entries, credits_of(entries))


def markdown() -> str:
    return render(seed_dossier(hostile=False), "markdown")[1]


def test_header_and_contents_come_first():
    text = markdown()
    head = text[: text.index("## Key research")]
    for part in (
        "# 1924-01 · Lenin's Death and Stalin's Rise to Power",
        "- **Status:** In research",
        "- **Authors:** Spartacus, Indy",
        "- **Script deadline:** 2024-02-04 12:00 UTC",
        "- **Thread:** <https://discord.com/channels/1/2>",
        "- **Exported:** 2024-01-24 12:00 UTC",
        "- **Research:** 5 contributions from 3 contributors, 1 of them key research; 1 left out (#4, marked excluded)",
        "> Post any ideas",
        "## Contents",
        "- [Key research](#key-research)\n  - [#1 · Lenin's death and Stalin's rise](#c1) — Veles",
        "- [Other contributions](#contributions)\n  - [#2 · A minor nitpick",
        "- [Bibliography](#bibliography)",
        "- [Credits](#credits)",
    ):
        assert part in head, part


def test_key_research_first_then_the_rest_by_date_and_excluded_left_out():
    text = markdown()
    headings = re.findall(r"^### (#\d+)", text, re.MULTILINE)
    assert headings == ["#1", "#2", "#3", "#5", "#6"]
    assert text.index("## Key research") < text.index("### #1") < text.index("## Other contributions")
    assert "ok thanks" not in text
    assert "#4" in text.split("## Contents")[0]  # said to be left out, without its text


def test_plain_names_and_proper_plurals():
    text = markdown()
    assert "<@" not in text and "1456000000000000011" not in text and "id " not in text
    assert "(s)" not in text
    assert (
        "**Veles** · 2024-01-21 13:00 UTC · [message](<https://discord.com/channels/1/2/101>) · 3 likes · key research"
        in text
    )
    assert "· 1 like  " in text and "· no likes  " in text
    assert "- Veles — 2 contributions" in text and "- Indy — 1 contribution" in text
    assert "- Spartacus — 2 contributions" in text  # the excluded "ok thanks!" is not credited


def test_the_correction_is_linked_both_ways():
    text = markdown()
    first = text[text.index("### #1") : text.index("### #2")]
    assert "**Corrected by** [#2](#c2) (Spartacus)" in first
    second = text[text.index("### #2") : text.index("### #3")]
    assert "In reply to [#1](#c1) (Veles)" in second
    assert "**Answered by** [#3](#c3) (Veles)" in second  # "you're right" agrees: not a correction
    assert "In reply to [#2](#c2) (Spartacus)" in text[text.index("### #3") :]


def test_bibliography_lists_each_source_once_with_who_cites_it():
    text = markdown()
    bibliography = text[text.index("## Bibliography") : text.index("## Credits")]
    items = re.findall(r"^\d+\. .*$", bibliography, re.MULTILINE)
    assert items == [
        '1. <a id="s1"></a>Service, Robert. Lenin: A Biography. London: Macmillan, 2000 — '
        "[ISBN 978-0330491396](<https://openlibrary.org/isbn/9780330491396>) · cited in [#1](#c1), [#5](#c5)",
        '2. <a id="s2"></a><https://en.wikipedia.org/wiki/Death_and_state_funeral_of_Vladimir_Lenin?utm_source=forum>'
        " · cited in [#1](#c1)",
        '3. <a id="s3"></a><https://www.en.wikipedia.org/wiki/Nadezhda_Krupskaya/> · cited in [#2](#c2), [#5](#c5)',
        '4. <a id="s4"></a>Wade, Krupskaya and the Soviet School — '
        "[doi:10.2307/2495085](<https://doi.org/10.2307/2495085>) · cited in [#2](#c2), [#5](#c5)",
        '5. <a id="s5"></a>Pipes, The Russian Revolution — '
        "[ISBN 978-0394573946](<https://openlibrary.org/isbn/9780394573946>) · cited in [#6](#c6)",
        '6. <a id="s6"></a><https://www.britannica.com/place/Soviet-Union/> · cited in [#6](#c6)',
    ]
    assert "Bibliography: [1](#s1), [2](#s2)" in text
