"""``make demo`` whose servers stop at once says why in one line on stderr
(the reason quoted from the server's own log, and where that log is), exits 1,
and leaves nothing running: gunicorn given a bad ``FIREHOSE_*`` setting, Caddy
unable to open its access log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from demo.serve import find_caddy
from harness.processes import REPO, MissingComponent

pytestmark = pytest.mark.integration


def _serve(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("PORT", None)
    command = [sys.executable, "-m", "demo.serve", "--no-redis", "--data", str(data), *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=90)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _nothing_left(data: Path) -> None:
    """No process still runs from *data* (each server started was given paths under it)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert str(data) not in command, command


def test_gunicorn_stopping_at_once_is_said_with_its_reason(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--front", "gunicorn", env={"FLASK_FIREHOSE_EARLY_HINTS": "maybe"})
    log = tmp_path / "gunicorn.log"
    line = _one_line(result)
    # gunicorn exits 3 (a worker failed to boot) or 1 (halted first), as the race between them goes.
    status = re.fullmatch(r"demo: gunicorn stopped with exit status (\d+): (.*)", line)
    assert status is not None and status[1] in {"1", "3"}, line
    assert status[2] == (
        "flask_firehose.errors.ConfigurationError: "
        f"FIREHOSE_EARLY_HINTS must be True or False, not 'maybe' (its log: {log})"
    )
    assert "Traceback" in log.read_text()  # the wall is in the log, not on the terminal
    _nothing_left(tmp_path)


def test_caddy_stopping_at_once_is_said_with_its_reason(tmp_path: Path) -> None:
    if find_caddy()[0] is None:
        raise MissingComponent(f"the demo's front is missing: {find_caddy()[1]}")
    (tmp_path / "caddy" / "access.log").mkdir(parents=True)  # Caddy cannot open its log
    result = _serve(tmp_path, "--front", "caddy")
    line = _one_line(result)
    assert line.startswith("demo: Caddy stopped with exit status 1: loading initial config: "), line
    assert line.endswith(f"open {tmp_path}/caddy/access.log: is a directory (its log: {tmp_path}/caddy/caddy.log)")
    _nothing_left(tmp_path)
