"""Domain errors: their message is safe and useful to show the member who caused them."""

from __future__ import annotations


class ArchivistError(Exception):
    """Base of every error a member can fix or should be told about."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ArchivistError):
    """The thing named does not exist (in this server)."""


class NotAllowed(ArchivistError):
    """The member lacks the role or relation the action needs."""


class InvalidInput(ArchivistError):
    """The input breaks a rule; the message says which."""


class NotConfigured(ArchivistError):
    """A server setting is missing; the message names the /config command to run."""


class Conflict(ArchivistError):
    """The action collides with existing state (a duplicate, a decision already made)."""
