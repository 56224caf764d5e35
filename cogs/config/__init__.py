"""Per-server settings: channels, roles, time zone, reminder offsets."""
