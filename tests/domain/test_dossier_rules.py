"""The dossier's small rules: which replies are corrections, plurals, reading order, who is credited,
and stored rows read as entries (with their mark)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cogs.research.dossier import Person, count, credits_of, entries_of, layout_of, reading_order, reply_kind
from cogs.research.store import Attachment, Contribution
from tests.domain.test_dossier_seed import T0, contribution, seed_dossier


@pytest.mark.parametrize(
    "text",
    [
        "A minor nitpick: Krupskaya is probably the correct way to spell it",
        "Small correction: he died on the 21st",
        "Actually it was 1924.",
        "typo in the second paragraph",
        "I think that's a mistake, the congress was in May",
        "Krupska is misspelled",
        "The spelling should be Krupskaya",
        "That's wrong, Petrograd was renamed in 1924",
        "It should read Dzierżyński",
        "not Krupska but Krupskaya",
        "Krupskaya, not Krupska.",
    ],
)
def test_a_reply_that_reads_like_a_correction(text):
    assert reply_kind(text) == "corrected"


@pytest.mark.parametrize(
    "text",
    [
        "Yeah, you're right. I left it written the Polish way by accident.",
        "You are correct, thanks!",
        "I'm happy that I could help. I'll post more research soon.",
        "Thanks, not sure I'll have time this week",
        "The episode was recorded this week; thank you for your great contribution!",
        "",
    ],
)
def test_a_reply_that_answers(text):
    assert reply_kind(text) == "answered"


def test_counts_read_as_words():
    assert [count(n, "like") for n in (0, 1, 2, 31)] == ["no likes", "1 like", "2 likes", "31 likes"]
    assert count(1, "contribution") == "1 contribution" and count(3, "contributor") == "3 contributors"


def test_key_research_first_then_by_date_never_excluded():
    a = contribution(1, Person(1, "Veles"), "late but first", mark="key")
    b = replace(contribution(2, Person(2, "Spartacus"), "earliest"), created_at=T0 - timedelta(days=1))
    c = contribution(3, Person(2, "Spartacus"), "chat", mark="excluded")
    d = contribution(4, Person(3, "Indy"), "key too", mark="key")
    assert [e.id for e in reading_order([d, c, b, a])] == [1, 4, 2]


def test_credits_count_people_by_member_or_forum_name_and_skip_excluded():
    entries = [
        contribution(1, Person(None, "Indy"), "from the forum"),
        contribution(2, Person(None, "Indy"), "again"),
        contribution(3, Person(7, "Indy"), "a member who is also called Indy"),
        contribution(4, Person(8, "Veles"), "ok", mark="excluded"),
    ]
    assert [(c.person.id, c.person.name, c.contributions) for c in credits_of(entries)] == [
        (None, "Indy", 2),
        (7, "Indy", 1),
    ]


def test_plain_names_are_one_line_and_never_empty():
    assert Person(1, "  Veles\n the\tresearcher ").plain == "Veles the researcher"
    assert Person(None, " \n").plain == "someone"


def test_replies_are_listed_under_what_they_answer_in_date_order():
    layout = layout_of(seed_dossier())
    first = next(item for item in layout.key if item.entry.id == 1)
    assert [(r.number, r.kind) for r in first.replies] == [(2, "corrected")]
    second = next(item for item in layout.others if item.entry.id == 2)
    assert second.reply_to is not None and (second.reply_to.number, second.reply_to.shown) == (1, True)
    assert [(r.number, r.kind) for r in second.replies] == [(3, "answered")]


def test_a_reply_to_an_unrecorded_message_says_so():
    entry = contribution(9, Person(1, "Veles"), "as I said above", reply_to_message_id=123)
    (item,) = layout_of(replace(seed_dossier(), entries=(entry,), credits=())).others
    assert item.reply_to is None and item.reply_elsewhere


def row(number: int, **kw) -> Contribution:
    fields = dict(
        id=number,
        guild_id=1,
        episode_id=1,
        author_id=11,
        author_name="Veles",
        origin="thread",
        title=None,
        body="Lenin died on 21 January 1924.",
        sources=None,
        attachments=(Attachment("map.png", "https://cdn.example/map.png"),),
        links=(),
        channel_id=2,
        message_id=500 + number,
        jump_url=f"https://discord.com/channels/1/2/{500 + number}",
        reply_to_message_id=None,
        added_by=None,
        created_at=T0,
        edited_at=None,
        likes=0,
    )
    fields.update(kw)
    return Contribution(**fields)


def test_stored_rows_become_entries_with_their_mark_likes_and_replies():
    rows = [row(1, mark="key"), row(2, reply_to_message_id=501, author_id=12, author_name="Spartacus")]
    entries = entries_of(rows, {1: [12, 13]}, lambda uid, name: Person(uid, name or f"member {uid}"))
    assert [(e.id, e.mark, e.likes, e.reply_to_id) for e in entries] == [
        (1, "key", 2, None),
        (2, "normal", 0, 1),
    ]
    assert entries[0].attachments == (("map.png", "https://cdn.example/map.png"),)
    assert entries[1].author == Person(12, "Spartacus")
