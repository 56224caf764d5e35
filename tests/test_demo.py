"""`python -m bot demo` runs the scripted community and writes the dossier, without a token."""

from __future__ import annotations

import os
import subprocess
import sys


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
    assert "Created **1924-01**" in out
    assert "Krupskaya" in out
    assert "is now an author" in out
    assert "deadline" in out.lower()
    assert "Thank you" in out
    dossier = tmp_path / "demo-output" / "1924-01-research.md"
    text = dossier.read_text()
    assert "Lenin died on 21 January 1924" in text
    assert "Veles" in text and "Ardent" in text
