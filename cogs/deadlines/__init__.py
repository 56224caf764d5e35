"""Deadlines of episodes: their reminders in the thread, and `/episode deadline`."""
