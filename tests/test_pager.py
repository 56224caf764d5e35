"""bot.core.pager.QueryPager's footer: a list whose total is only a lower bound (a search that stops
counting at 10,000, "10,000+") never names a last page it does not know."""

from __future__ import annotations

from bot.core.pager import AtLeast, QueryPager


def pager(total: int) -> QueryPager:
    async def fetch(offset: int, limit: int) -> tuple[int, list[str]]:
        lines = [f"Lenin died at Gorki, note {n}" for n in range(offset, min(offset + limit, int(total)))]
        return total, lines

    return QueryPager(1, lambda n: f"Search: Gorki ({n})", fetch, empty="Nothing matches.", size=6)


async def test_a_counted_total_names_the_last_page():
    shown = pager(15)
    await shown.load(0)
    assert shown.embed().footer.text == "Page 1 of 3"
    await shown.load(1)
    assert shown.embed().footer.text == "Page 2 of 3"


async def test_a_total_counted_only_so_far_does_not_name_a_last_page():
    shown = pager(AtLeast(10_000))
    await shown.load(0)
    assert shown.embed().footer.text == "Page 1 of 1,667 or more"
    await shown.load(1)
    assert shown.embed().footer.text == "Page 2 of 1,667 or more"
