"""The composition root's parts: every service built once, every job kind and listener registered in one
visible list, every cog handed its services. `bot.app.Archivist` calls these; nothing else builds a
service, registers a handler or finds a cog by name.

A new command goes in its feature's cog (or the cog's group); a new feature adds its service to
`Services` and `build_services`, its job kinds to `register_handlers` and its cog to `feature_cogs`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.core.db import Database
from bot.core.metrics import Metrics
from bot.core.outbox import Outbox
from bot.core.pacing import ChannelPacer
from bot.core.pager import PageButton, PageSources
from bot.core.ratelimit import GlobalPacer
from bot.core.scheduler import Scheduler
from cogs.assignments import views as assignment_views
from cogs.assignments.cog import Assignments
from cogs.assignments.review import REVIEW_SYNC
from cogs.assignments.service import AssignmentService
from cogs.assignments.store import TELL_JOB
from cogs.config.cog import Admin
from cogs.config.service import ConfigService
from cogs.deadlines.cog import Deadlines
from cogs.deadlines.service import DEADLINE, DeadlineService
from cogs.digest.cog import Digest
from cogs.digest.service import DIGEST, DigestService
from cogs.episodes.cog import Episodes
from cogs.episodes.notes import NOTE_EDIT_JOB
from cogs.episodes.posts_store import NOTE_JOB
from cogs.episodes.service import EpisodeService
from cogs.episodes.sync import CARD_SYNC
from cogs.forum_import.cog import ForumImport
from cogs.forum_import.service import ForumImportService
from cogs.forum_import.store import POST_JOB as IMPORT_POST_JOB
from cogs.forum_import.store import topic_url as import_topic_url
from cogs.help.cog import Help
from cogs.reminders import views as reminder_views
from cogs.reminders.cog import Reminders
from cogs.reminders.service import REMINDER, ReminderItems, ReminderService
from cogs.research import search_store
from cogs.research.catchup import CATCH_UP_JOB
from cogs.research.cog import Research
from cogs.research.posting import FORM_POST_JOB, THANKS_JOB
from cogs.research.service import ResearchService


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the features share, built once per bot by `build_services`."""

    metrics: Metrics  # what benchmarks and tests read: statements, wake-ups, timings
    db: Database
    scheduler: Scheduler
    outbox: Outbox  # every automatic post, paced per channel
    pacer: GlobalPacer  # every REST call: at most 45 in any second, fair between servers, members first
    pages: PageSources  # the lists whose pages turn after a restart (their cogs register them)
    config: ConfigService
    episodes: EpisodeService
    assignments: AssignmentService
    research: ResearchService
    reminders: ReminderService
    deadlines: DeadlineService
    digest: DigestService
    forum_import: ForumImportService  # `/import`: the old Discourse forum's topics and posts


def build_services(bot: discord.Client, settings: Settings) -> Services:
    metrics = Metrics()
    db = Database(settings.database_path, metrics)
    scheduler = Scheduler(db, metrics)
    outbox = Outbox(bot, db, ChannelPacer(), metrics)
    episodes = EpisodeService(bot, db, scheduler)
    feature = (bot, db, scheduler, episodes)
    posting = (*feature, outbox)  # features whose jobs post through the outbox
    return Services(
        metrics=metrics,
        db=db,
        scheduler=scheduler,
        outbox=outbox,
        pacer=GlobalPacer(metrics=metrics),
        pages=PageSources(),
        config=ConfigService(bot, db),
        episodes=episodes,
        assignments=AssignmentService(*feature),
        research=ResearchService(*feature),
        reminders=ReminderService(*posting),
        deadlines=DeadlineService(*posting),
        digest=DigestService(*posting),
        forum_import=ForumImportService(*feature),
    )


def register_handlers(bot: discord.Client, s: Services) -> None:
    """Every scheduler job kind, outbox item kind, status listener and persistent button, in one place."""
    each = s.scheduler.register_each  # a handler given one job at a time, each outcome recorded at once
    batch = s.scheduler.register  # a handler given a slice of its kind's due jobs at a time
    each(CARD_SYNC, s.episodes.posts.card_job)
    each(NOTE_JOB, s.episodes.notes.note_job)
    each(NOTE_EDIT_JOB, s.episodes.notes.note_edit_job)  # a note amended ("would like to write" → decided)
    each(REVIEW_SYNC, s.assignments.review.review_job)
    each(TELL_JOB, s.assignments.telling.tell_job)
    each(THANKS_JOB, s.research.posts.thanks_job)
    each(FORM_POST_JOB, s.research.posts.form_post_job)
    each(CATCH_UP_JOB, s.research.catch_up.run_job)
    # A batch kind's `together` keeps what goes out as one message in one slice (kinds take turns by slices).
    batch(REMINDER, s.reminders.deliver_reminders, together=s.reminders.delivery_groups)
    batch(DEADLINE, s.deadlines.deliver_deadlines, together=s.deadlines.delivery_groups)
    each(DIGEST, s.digest.deliver_digest)
    each(IMPORT_POST_JOB, s.forum_import.post_job)  # the forum post of an imported episode
    s.outbox.register(REMINDER, ReminderItems(s.db, s.scheduler))
    s.db.upkeep(search_store.merge_index_step)  # the search index's merging, between commands (0016)
    # The starter message of an episode imported from the old forum keeps saying where its research began.
    s.episodes.posts.origin_urls.append(functools.partial(import_topic_url, s.db))
    # Told after an episode's status changed, in this order.
    s.episodes.status_listeners.extend([s.research.on_status, s.deadlines.on_status])
    # Buttons that keep working after a restart (their custom id carries what they act on).
    # PageButton turns the pages of the lists in `s.pages`.
    bot.add_dynamic_items(PageButton, *assignment_views.DYNAMIC_ITEMS, *reminder_views.DYNAMIC_ITEMS)  # type: ignore[attr-defined]


def episode_group() -> app_commands.Group:
    """The one `/episode` group; the episodes, assignments and deadlines cogs add subcommands to it."""
    group = app_commands.Group(name="episode", description="Episodes and their research threads")
    return app_commands.guild_only()(group)


def feature_cogs(bot: commands.Bot, s: Services, episode: app_commands.Group) -> list[commands.Cog]:
    """Every feature's cog, handed its services. Any order works; this one is the order of /help and of
    the commands synced to Discord."""
    return [
        Admin(bot, s.config),
        Episodes(bot, s.episodes, episode, s.pages),
        Assignments(bot, s.assignments, episode, s.pages),
        Research(bot, s.research, s.pages),
        Reminders(bot, s.reminders, s.pages),
        Deadlines(s.deadlines, episode),
        Digest(s.digest),
        ForumImport(bot, s.forum_import),
        Help(s.episodes),
    ]
