"""The one error path (bot.core.interactions): commands, buttons and forms fail the same way.

A refusal is a short ephemeral answer, logged at INFO and not recorded as a bug; anything else gets the
apology, is logged with its traceback and is recorded (so it fails the test that caused it). Every
interaction's duration is logged."""

from __future__ import annotations

import logging
import re

import pytest

from bot.core.interactions import APOLOGY, ArchivistButton
from cogs.assignments.service import AssignmentService

CODE = "1924-01"


async def broken(*args, **kwargs):
    raise RuntimeError("disk on fire")


def logged(caplog, level: int, pattern: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == level and re.search(pattern, r.getMessage())]


@pytest.fixture
async def review(world):
    """An episode and Alice's request to author it, waiting in the review channel."""
    await world.episode(CODE)
    await world.alice.slash(world.general, "episode volunteer", episode=CODE)
    return world.review.history()[0]


async def test_a_refused_command_is_answered_logged_at_info_and_not_recorded(world, caplog):
    caplog.set_level(logging.INFO)
    r = await world.alice.slash(world.general, "episode info", episode="NOPE-1")
    assert r.response.ephemeral and r.response.content and APOLOGY not in r.response.content
    assert world.env.errors == []
    assert logged(caplog, logging.INFO, r"refused /episode info for user")
    assert not logged(caplog, logging.ERROR, ".")
    assert logged(caplog, logging.INFO, r"/episode info by \d+ in \d+ took [\d.]+ ms")


async def test_a_command_that_breaks_gets_the_apology_and_the_error_is_recorded(world, caplog, monkeypatch):
    monkeypatch.setattr("cogs.episodes.lists_store.list_page", broken)
    r = await world.alice.slash(world.general, "episode list")
    assert r.response.ephemeral and r.response.content == APOLOGY
    [error] = world.env.errors
    assert "disk on fire" in str(error)
    [record] = logged(caplog, logging.ERROR, r"unexpected error in /episode list")
    assert record.exc_info and "disk on fire" in str(record.exc_info[1])
    world.env.errors.clear()


async def test_a_refused_click_is_answered_and_not_recorded(world, review, caplog):
    caplog.set_level(logging.INFO)
    r = await world.bob.click(review, label="Approve")
    assert r.response.ephemeral and "Only hosts" in r.response.content
    assert world.env.errors == []
    assert logged(caplog, logging.INFO, r"refused component archivist:request:approve:\d+")
    assert logged(caplog, logging.INFO, r"component archivist:request:approve:\d+ by \d+ in \d+ took")


async def test_a_click_that_breaks_gets_the_apology_and_the_error_is_recorded(
    world, review, caplog, monkeypatch
):
    monkeypatch.setattr(AssignmentService, "approve", broken)
    r = await world.host.click(review, label="Approve")
    assert r.response.ephemeral and r.response.content == APOLOGY
    assert [str(e) for e in world.env.errors] == ["disk on fire"]
    assert logged(caplog, logging.ERROR, r"unexpected error in component archivist:request:approve")
    world.env.errors.clear()


async def test_a_form_that_breaks_gets_the_apology_and_the_error_is_recorded(
    world, review, caplog, monkeypatch
):
    shown = await world.host.click(review, label="Decline")
    monkeypatch.setattr(AssignmentService, "decline", broken)
    r = await world.host.submit_modal(shown, {"reason": "Not now."})
    assert r.response.ephemeral and r.response.content == APOLOGY
    assert [str(e) for e in world.env.errors] == ["disk on fire"]
    assert logged(caplog, logging.ERROR, r"unexpected error in component archivist:request:decline-form")
    world.env.errors.clear()


def test_every_persistent_button_answers_failures_through_the_one_path():
    """Buttons define `clicked`; only the base's `callback` hands failures on (no try/except per button)."""
    from bot.core.pager import PageButton
    from cogs.assignments.views import DYNAMIC_ITEMS as REQUEST_BUTTONS
    from cogs.reminders.views import DYNAMIC_ITEMS as REMINDER_BUTTONS

    for button in (PageButton, *REQUEST_BUTTONS, *REMINDER_BUTTONS):
        assert issubclass(button, ArchivistButton), button
        assert button.callback is ArchivistButton.callback, button
