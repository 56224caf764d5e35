"""Persistence: every SQL statement of Archivist lives in this package."""

from .db import Database

__all__ = ["Database"]
