"""A unit given to `Parts` piece by piece (a streamed Markdown or HTML dossier: its bibliography is one
unit, however long) comes apart exactly as the same unit given whole: same parts, same cuts."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from cogs.research.parts import Parts, html_plan, markdown_plan

LINE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=10, max_size=120)
UNIT = st.lists(LINE, min_size=1, max_size=60).map(lambda lines: "\n".join(lines) + "\n")
BIG = st.integers(min_value=2, max_value=12).map(lambda n: ("Krupskaya, not Krupska. " * 9 + "\n") * n)


def bodies(parts: Parts) -> list[bytes]:
    return [b.getvalue() for b in parts.bodies]


@settings(max_examples=150, deadline=None)
@given(
    units=st.lists(st.one_of(UNIT, BIG), min_size=2, max_size=8),
    cuts=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=20),
    room=st.integers(min_value=150, max_value=2_500),
    html=st.booleans(),
)
def test_a_unit_streamed_comes_apart_as_the_unit_whole(units, cuts, room, html):
    plan = html_plan("<h1>1924-01</h1>", "") if html else markdown_plan("# 1924-01", "")
    limit = room + 200
    whole = Parts(plan, limit, lambda n: io.BytesIO())
    streamed = Parts(plan, limit, lambda n: io.BytesIO())
    for unit in units:
        whole.add(unit)
        streamed.open_unit()
        at, k = 0, 0
        while at < len(unit):  # the unit in pieces of the drawn sizes, in turn
            step = cuts[k % len(cuts)]
            streamed.unit_text(unit[at : at + step])
            at, k = at + step, k + 1
        streamed.close_unit()
    assert whole.finish() == streamed.finish()
    assert bodies(whole) == bodies(streamed)


def test_a_long_unit_after_short_ones_starts_a_part_of_its_own():
    plan = markdown_plan("# 1924-01", "")
    units = ["Lenin died in 1924.\n" * 3, "Krupskaya\n" + ("Petrograd became Leningrad.\n" * 40)]
    whole = Parts(plan, 400, lambda n: io.BytesIO())
    streamed = Parts(plan, 400, lambda n: io.BytesIO())
    for unit in units:
        whole.add(unit)
        streamed.open_unit()
        for at in range(0, len(unit), 7):
            streamed.unit_text(unit[at : at + 7])
        streamed.close_unit()
    assert whole.finish() == streamed.finish() > 2
    assert bodies(whole) == bodies(streamed)
    assert bodies(streamed)[0] == units[0].encode()  # the long one did not join it


def test_a_bibliography_longer_than_many_parts_is_cut_as_it_comes():
    plan = markdown_plan("# 1924-01", "")
    unit = '<a id="bibliography"></a>\n\n## Bibliography\n\n' + "".join(
        f"{n}. Service, Lenin: A Biography, p. {n} · cited in [#{n}](#c{n})\n" for n in range(1, 3_000)
    )
    whole = Parts(plan, 4_000, lambda n: io.BytesIO())
    whole.add(unit)
    streamed = Parts(plan, 4_000, lambda n: io.BytesIO())
    streamed.open_unit()
    for line in unit.splitlines(keepends=True):
        streamed.unit_text(line)
        assert sum(len(p) for p in streamed._pending) <= streamed.room + len(line)  # never held whole
    streamed.close_unit()
    assert whole.finish() == streamed.finish() > 20
    assert bodies(whole) == bodies(streamed)
