"""scripts/screenshots.py makes the README's four pictures from the real bot, each cropped to what it shows
(a message, not the preview's window; the dossier down to its bibliography); the README's copies exist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.tools import require_program

ROOT = Path(__file__).resolve().parent.parent
PICTURES = ("card.png", "review.png", "digest.png", "dossier.png")


def test_the_script_writes_four_cropped_pictures(tmp_path):
    require_program("chromium")
    env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DATABASE_PATH"}}
    env["LOG_DIR"] = ""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    sizes = {}
    for name in PICTURES:
        path = tmp_path / name
        assert path.stat().st_size > 10_000, name  # a picture with something in it
        with Image.open(path) as image:
            sizes[name] = image.size
    # Discord's pictures are one message each, not the preview's 1100 × 1000 window.
    for name in ("card.png", "review.png", "digest.png"):
        width, height = sizes[name]
        assert 400 <= width <= 860 and 200 <= height <= 800, (name, sizes[name])
    # The dossier: its page width, from the title down to the bibliography, not the whole page.
    width, height = sizes["dossier.png"]
    assert width == 900 and 800 <= height <= 2500, sizes["dossier.png"]
    # The review request and the digest are cropped to their embed, narrower than the channel.
    assert sizes["review.png"][0] < sizes["card.png"][0]
    assert sizes["digest.png"][0] < sizes["card.png"][0]


def test_the_readme_pictures_are_committed():
    for name in PICTURES:
        assert (ROOT / "docs" / "screenshots" / name).stat().st_size > 10_000, name
