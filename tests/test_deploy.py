"""deploy/: the systemd unit passes `systemd-analyze verify` and stops the bot the way it stops cleanly;
the Dockerfile and compose file are checked statically (no container engine here can pull the base
image, so neither is built in these tests)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from bot.app import STOP_GRACE
from bot.core.scheduler import STOP_GRACE as SCHEDULER_GRACE
from tests.tools import require_program

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
INSTALLED_AT = "/opt/archivist"  # where the unit expects the project
TOOLS = ("pytest", "ruff", "simcord", "playwright", "psutil", "hypothesis")


def unit() -> dict[str, dict[str, list[str]]]:
    """deploy/archivist.service as section -> key -> values (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in (DEPLOY / "archivist.service").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def seconds(value: str) -> float:
    """A systemd or Compose duration: 30, 30s, 1min, 1m30s."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value.strip())
    assert parts, value
    return sum(float(number) * units[unit] for number, unit in parts)


def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    """`systemd-analyze verify` checks the unit as systemd would load it, including that ExecStart's
    program exists: the unit is verified with the project's place swapped for a folder made here, holding
    what the set-up creates there. Verify reports unknown keys and bad values but still exits 0, so
    anything it prints fails the test too."""
    analyze = require_program("systemd-analyze", package="systemd")
    project = tmp_path / "archivist"
    (project / ".venv-run" / "bin").mkdir(parents=True)
    (project / "data").mkdir()
    (project / ".env").write_text("DISCORD_TOKEN=\n")
    program = project / ".venv-run" / "bin" / "archivist"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    text = (DEPLOY / "archivist.service").read_text()
    assert INSTALLED_AT in text
    copy = tmp_path / "archivist.service"
    copy.write_text(text.replace(INSTALLED_AT, str(project)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""


def test_the_unit_runs_the_run_install_and_stops_it_cleanly():
    service = unit()["Service"]
    command = shlex.split(service["ExecStart"][0])
    assert command == [f"{INSTALLED_AT}/.venv-run/bin/archivist", "run"]  # no test tools on the host
    assert service["WorkingDirectory"] == [INSTALLED_AT]
    assert service["EnvironmentFile"] == [f"{INSTALLED_AT}/.env"]
    assert service["User"] != ["root"] and service["User"][0]
    assert service["Restart"] == ["on-failure"]  # a clean stop exits 0: not restarted
    assert service["KillSignal"] == ["SIGTERM"]
    # Room for the bot's own grace (running work and a delivering round, each 5 s at most) and closing.
    assert seconds(service["TimeoutStopSec"][0]) >= 2 * max(STOP_GRACE, SCHEDULER_GRACE) + 10
    assert service["NoNewPrivileges"] == ["yes"] and service["PrivateTmp"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    writable = " ".join(service["ReadWritePaths"]).split()
    assert f"{INSTALLED_AT}/data" in writable  # DATABASE_PATH and LOG_DIR's defaults live there
    assert unit()["Install"]["WantedBy"] == ["multi-user.target"]


def dockerfile() -> list[tuple[str, str]]:
    """deploy/Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments left out."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        instructions.append((word.upper(), rest.strip()))
    return instructions


def test_the_dockerfile_runs_the_runtime_install_as_a_user_with_its_data_in_a_volume():
    steps = dockerfile()
    words = [word for word, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    env = " ".join(args for word, args in steps if word == "ENV")
    assert "DATABASE_PATH=/data/archivist.sqlite3" in env.split()
    installs = [args for word, args in steps if word == "RUN" and "pip install" in args]
    assert installs and all("[" not in args for args in installs)  # the package without extras
    assert not any(tool in args for args in installs for tool in TOOLS)
    for word, args in steps:
        if word == "COPY":
            *sources, _target = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the project"
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert words.index("USER") < words.index("CMD")
    assert ("VOLUME", '["/data"]') in steps
    assert ("STOPSIGNAL", "SIGTERM") in steps
    [health] = [args for word, args in steps if word == "HEALTHCHECK"]
    assert health.endswith('CMD ["archivist", "check"]')
    assert steps[-1] == ("CMD", '["archivist", "run"]')


def test_the_build_context_leaves_out_secrets_and_data():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"  # everything is left out unless named: .env, data/, .venv*, exports…
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = {s for word, args in dockerfile() if word == "COPY" for s in args.split()[:-1]}
    assert copied <= allowed and ".env" not in allowed


def parse_yaml_subset(text: str) -> object:
    """The block YAML compose.yaml is written in: mappings, lists of scalars, plain or quoted scalars,
    comments. Enough to read it without a YAML library (the test environment has none)."""
    lines = []
    for raw in text.splitlines():
        content = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if content.strip():
            lines.append((len(content) - len(content.lstrip()), content.strip()))

    def scalar(value: str) -> object:
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            return value[1:-1]
        return value

    def block(index: int, indent: int) -> tuple[object, int]:
        if lines[index][1].startswith("- "):
            items = []
            while index < len(lines) and lines[index][0] == indent and lines[index][1].startswith("- "):
                items.append(scalar(lines[index][1][2:].strip()))
                index += 1
            return items, index
        mapping: dict[str, object] = {}
        while index < len(lines) and lines[index][0] == indent:
            key, sep, value = lines[index][1].partition(":")
            assert sep, f"not a mapping line: {lines[index][1]!r}"
            index += 1
            if value.strip():
                mapping[key] = scalar(value.strip())
            elif index < len(lines) and lines[index][0] > indent:
                mapping[key], index = block(index, lines[index][0])
            else:
                mapping[key] = None
        return mapping, index

    parsed, end = block(0, lines[0][0])
    assert end == len(lines), f"unexpected indentation at {lines[end][1]!r}"
    return parsed


def test_the_compose_file_keeps_the_data_in_a_volume_and_stops_gently():
    text = (DEPLOY / "compose.yaml").read_text()
    compose = parse_yaml_subset(text)
    try:
        import yaml
    except ImportError:
        pass
    else:
        assert yaml.safe_load(text) == compose  # the subset reader reads it as YAML does
    service = compose["services"]["archivist"]
    build = service["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert [(DEPLOY / path).resolve() for path in service["env_file"]] == [ROOT / ".env"]
    # .env.example names a DATABASE_PATH under data/: the container's own settings win over it.
    assert service["environment"]["DATABASE_PATH"] == "/data/archivist.sqlite3"
    assert service["environment"]["LOG_DIR"] == ""
    volume, _, mount = service["volumes"][0].partition(":")
    assert mount == "/data" and volume in compose["volumes"]
    assert service["restart"] == "unless-stopped"
    assert service["stop_signal"] == "SIGTERM"
    assert seconds(service["stop_grace_period"]) >= 2 * max(STOP_GRACE, SCHEDULER_GRACE) + 10


@pytest.mark.parametrize("text", ["a:\n  - b\n c: d\n", "a:\n  b\n"])
def test_the_subset_reader_refuses_what_it_does_not_understand(text):
    with pytest.raises(AssertionError):
        parse_yaml_subset(text)
