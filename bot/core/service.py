"""What every feature service is built on: the bot, its database, the scheduler and the episodes."""

from __future__ import annotations

import discord

from bot.core.db import Database
from bot.core.scheduler import Scheduler
from cogs.episodes.service import EpisodeService


class FeatureService:
    def __init__(
        self, bot: discord.Client, db: Database, scheduler: Scheduler, episodes: EpisodeService
    ) -> None:
        self.bot = bot
        self.db = db
        self.scheduler = scheduler
        self.episodes = episodes
