"""`python -m bot demo` runs the scripted community and writes the dossier, without a token; its transcript
reads as members see Discord: names instead of ids, times instead of timestamp markup, no Markdown signs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.demo import absolute, relative

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_demo_runs_and_writes_the_dossier(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DATABASE_PATH"}}
    env["LOG_DIR"] = ""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "Created 1924-01" in out
    assert "Krupskaya" in out
    assert "is now an author" in out
    assert "deadline" in out.lower()
    assert "Thank you" in out
    dossier = tmp_path / "demo-output" / "1924-01-research.md"
    text = dossier.read_text()
    assert "Lenin died on 21 January 1924" in text
    assert "Veles" in text and "Ardent" in text

    # Names where Discord shows names: the new post, the people, the link in the DM.
    assert "#1924-01 Lenin's Death and Stalin's Rise to Power" in out
    assert "@Veles is now an author of this episode (request approved by @Indy)" in out
    assert "You're now one of its authors: #1924-01 Lenin's Death" in out
    # Times as a reader sees them: the deadline four days ahead, its reminders, the request "now".
    assert "(in 4 days)" in out
    assert "Reminders in the thread: in 1 day, in 3 days, in 4 days." in out
    # Nothing a member would never see.
    for artefact in ("<@", "<#", "<t:", "(relative)", "**", "```", "](http", "discord.com/channels"):
        assert artefact not in out, artefact
    assert not re.search(r"[#@]\d{5,}", out), re.search(r".{40}[#@]\d{5,}.{20}", out)


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(seconds=10), "now"),
        (timedelta(seconds=-30), "now"),
        (timedelta(minutes=1), "in 1 minute"),
        (timedelta(minutes=50), "in 50 minutes"),
        (timedelta(hours=5), "in 5 hours"),
        (timedelta(hours=-1), "1 hour ago"),
        (timedelta(days=4), "in 4 days"),
        (timedelta(days=-3), "3 days ago"),
        (timedelta(days=40), "in 1 month"),
        (timedelta(days=-400), "1 year ago"),
    ],
)
def test_relative_times_read_like_discord(offset, shown):
    assert relative(NOW + offset, NOW) == shown


@pytest.mark.parametrize(
    ("style", "shown"),
    [
        (None, "Mon 05 Jan 2026 09:00 UTC"),
        ("f", "Mon 05 Jan 2026 09:00 UTC"),
        ("F", "Monday 05 January 2026 09:00 UTC"),
        ("t", "09:00 UTC"),
        ("d", "05 Jan 2026"),
        ("D", "05 January 2026"),
    ],
)
def test_absolute_times_name_the_month(style, shown):
    assert absolute(NOW, style) == shown
