"""tests/tools.py: a missing program skips a test with the reason, or fails it when CI requires tools."""

from __future__ import annotations

import pytest

from tests.tools import REQUIRE, require_program


def test_a_program_on_the_path_is_found(monkeypatch, tmp_path):
    program = tmp_path / "fakeoffice"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert require_program("fakeoffice") == str(program)


def test_a_missing_program_skips_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"soffice is not installed .*libreoffice-calc"):
        require_program("soffice", package="libreoffice-calc")


def test_a_missing_program_fails_when_tools_are_required(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match=f"chromium is not installed.*{REQUIRE}=1"):
        require_program("chromium")
