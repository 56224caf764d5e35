"""Like emoji as an admin types them (`/config research likes`) and as reactions carry them."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from cogs.research.rules import DEFAULT_LIKES, MAX_LIKES, like_emoji, like_key, parse_like_emoji

ARCHIVE = "<:archive:123456789012345678>"


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("🔥 📜", ("🔥", "📜")),
        ("🔥📜", ("🔥", "📜")),  # no space needed between emoji
        ("🔥, 📜", ("🔥", "📜")),
        (f"{ARCHIVE} <a:spin:123456789012345679>", (ARCHIVE, "<a:spin:123456789012345679>")),
        ("👍 👍🏽 ❤ ❤️", ("👍", "❤")),  # skin tones and the emoji-style selector make no new like
        ("1️⃣ 🇵🇱 👩🏾‍🔬 🏳️‍🌈", ("1️⃣", "🇵🇱", "👩🏾‍🔬", "🏳️‍🌈")),
        ("default", None),
        (" Reset ", None),
    ],
)
def test_typed_like_emoji_are_read_in_order_each_once(typed, read):
    assert parse_like_emoji(typed) == read


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("like", "`like` is not an emoji"),
        (":fire:", "`:fire:` is not an emoji"),
        ("🔥 ok", "`ok` is not an emoji"),
        ("1", "`1` is not an emoji"),
        ("<:short:12>", "`<:short:12>` is not an emoji"),
        ("", "Give at least one emoji"),
        (" , ", "Give at least one emoji"),
        ("`x`", "`'x'` is not an emoji"),
        ("x" * 300, "…` is not an emoji"),
        (" ".join(chr(0x1F600 + i) for i in range(MAX_LIKES + 1)), f"At most {MAX_LIKES} like emoji"),
    ],
)
def test_what_is_not_emoji_is_refused_with_what_was_wrong(typed, says):
    with pytest.raises(InvalidInput) as refused:
        parse_like_emoji(typed)
    assert says in str(refused.value)
    assert len(str(refused.value)) < 300


def test_twenty_emoji_are_fine():
    assert len(parse_like_emoji(" ".join(chr(0x1F600 + i) for i in range(MAX_LIKES)))) == MAX_LIKES


def test_keys_ignore_skin_tones_selectors_and_custom_emoji_names():
    assert like_key("👍🏿") == like_key("👍") == "👍"
    assert like_key("❤️") == like_key("❤")
    assert like_key(ARCHIVE) == like_key("<a:renamed:123456789012345678>") == "123456789012345678"
    assert like_key("❌") != like_key("👍")


def test_the_default_set_takes_in_the_forums_default_reaction():
    assert like_emoji(None).emoji == DEFAULT_LIKES and not like_emoji(None).chosen
    with_forum = like_emoji(None, "📜")
    assert with_forum.emoji == (*DEFAULT_LIKES, "📜") and with_forum.forum_default == "📜"
    assert like_emoji(None, "❤").emoji == DEFAULT_LIKES  # already one of them
    chosen = like_emoji("🔥 📜", "⭐")
    assert chosen.chosen and chosen.emoji == ("🔥", "📜")  # once set, exactly the emoji given
    assert chosen.counts("📜") and chosen.counts("🔥") and not chosen.counts("⭐") and not chosen.counts("👍")
    assert like_emoji(None).counts("👍🏽") and not like_emoji(None).counts("🤔")
