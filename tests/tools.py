"""Debian programs some tests drive (Chromium, LibreOffice): found, or the test skips with the reason —
except in CI (ARCHIVIST_REQUIRE_TOOLS=1), where a missing program fails the test."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE = "ARCHIVIST_REQUIRE_TOOLS"


def require_program(name: str, *, package: str | None = None) -> str:
    """The path of program `name` on PATH; when it is missing, skips the test saying so, or fails it
    when ARCHIVIST_REQUIRE_TOOLS=1. `package` is the Debian package that installs it (default: `name`)."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed (Debian package {package or name}), and this test needs it"
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{reason}: {REQUIRE}=1 requires it")
    pytest.skip(reason)
