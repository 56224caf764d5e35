"""Personal reminders and their delivery."""
