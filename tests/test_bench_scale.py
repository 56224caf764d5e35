"""The scale benchmark's harness (bench/scale.py) runs end to end at its tiny size: seeding by direct SQL
and into simcord, every section measured, every interaction of a round answered, the results written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scale_bench_runs_at_tiny_size(tmp_path):
    out = tmp_path / "tiny.json"
    done = subprocess.run(
        [sys.executable, "bench/scale.py", "--size", "tiny", "--one", str(out), "--formats", "markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert "failed_sections" not in results, results["failed_sections"]
    assert results["broken_interactions"] == {}
    assert results["bot_errors"] == {}
    table = results["interactions"]
    for name in ("ping", "episode status", "research search", "remind edit", "research mark"):
        assert table[name]["n"] == results["scale"]["reps"], name
    assert results["seed"]["big_episode_contributions"] == results["scale"]["largest_episode"]
    assert results["restart_10_threads_changed"]["collected"] == 10  # 2 threads × 5 messages posted offline
    assert results["export"]["markdown"]["files"] >= 1
    assert results["search"]["rare_storage"]["matches"] >= 1
    assert results["ingest"]["messages"] >= 2000 and results["ingest"]["messages_per_s"] > 0
    burst = results["burst"]
    assert burst["delivered"] == burst["reminders"] == 20
    assert burst["dm_messages"] >= 1
    assert isinstance(burst["other_kind_s_after_first_dm"], float)  # the deadline reminder was posted
