"""Archivist: a Discord bot for a community that crowdsources the research behind history episodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_bot

__all__ = ["create_bot"]


def __getattr__(name: str) -> Any:
    # `from bot import create_bot` loads the whole bot (every feature package) only when asked for, so
    # importing any one module of the core or a feature first never meets a half-loaded package.
    if name == "create_bot":
        from .app import create_bot

        return create_bot
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
