"""Archivist: a Discord bot for a community that crowdsources the research behind history episodes."""

from .app import create_bot

__all__ = ["create_bot"]
