"""Forum import rules: codes and titles from topic titles, the first post's lines, URLs (pure)."""

from __future__ import annotations


def split_title(title: str, topic_id: int) -> tuple[str, str]:
    """(code, title): `1924 01 Lenin's Death…` → (`1924-01`, `Lenin's Death…`); no code → `F<id>`."""
    raise NotImplementedError


def read_first_post(raw: str) -> tuple[tuple[str, ...], str, str]:
    """(authors' forum names, status option value, description) from the first post's Markdown."""
    raise NotImplementedError


def absolute_images(raw: str, cooked: str, base_url: str) -> tuple[str, ...]:
    """Absolute URLs of the images the post shows (`upload://` references resolved through `cooked`)."""
    raise NotImplementedError


def topic_ref(text: str) -> int:
    """A topic id from `123`, `https://forum/t/slug/123` or `/t/123`; InvalidInput otherwise."""
    raise NotImplementedError


def forum_url(text: str) -> str:
    """The forum's base URL, normalised (`https://forum.example.org`); InvalidInput when not allowed."""
    raise NotImplementedError
