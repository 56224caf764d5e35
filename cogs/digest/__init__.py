"""The weekly digest posted in the announcements channel."""
