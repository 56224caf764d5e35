"""Settings read from the environment (after .env is loaded): fail fast, with one clear sentence."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_PATH = "data/archivist.sqlite3"
# A bot token is three base64url parts separated by dots.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; str() is one line meant for the person running the bot."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_path: Path
    token: str | None
    guild_id: int | None
    log_level: int
    log_dir: Path | None
    gc_freeze: bool = True
    # Sent as Api-Key / Api-Username to a Discourse forum by `/import discourse` (private categories).
    discourse_api_key: str | None = None
    discourse_api_username: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        level_name = (env.get("LOG_LEVEL") or "INFO").strip().upper()
        level = logging.getLevelName(level_name)
        if not isinstance(level, int):
            raise ConfigError(
                f"LOG_LEVEL={level_name!r} is not a log level (use DEBUG, INFO, WARNING or ERROR)."
            )
        guild_raw = (env.get("DISCORD_GUILD_ID") or "").strip()
        if guild_raw and not guild_raw.isdigit():
            raise ConfigError(f"DISCORD_GUILD_ID must be a server id (digits only), not {guild_raw!r}.")
        log_dir = env.get("LOG_DIR", "data/logs").strip()
        freeze_raw = (env.get("GC_FREEZE") or "1").strip().lower()
        if freeze_raw not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ConfigError(f"GC_FREEZE must be 1 or 0, not {freeze_raw!r}.")
        return cls(
            database_path=Path(env.get("DATABASE_PATH") or DEFAULT_DATABASE_PATH).expanduser(),
            token=(env.get("DISCORD_TOKEN") or "").strip() or None,
            guild_id=int(guild_raw) if guild_raw else None,
            log_level=level,
            log_dir=Path(log_dir).expanduser() if log_dir else None,
            gc_freeze=freeze_raw in {"1", "true", "yes", "on"},
            discourse_api_key=(env.get("DISCOURSE_API_KEY") or "").strip() or None,
            discourse_api_username=(env.get("DISCOURSE_API_USERNAME") or "").strip() or None,
        )

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
                "(Developer Portal → your application → Bot → Reset Token)."
            )
        if not _TOKEN_SHAPE.match(self.token):
            raise ConfigError(
                "DISCORD_TOKEN does not look like a bot token (three dot-separated parts); "
                "copy it again from the Developer Portal → Bot → Reset Token."
            )
        return self.token
