"""``make sysdeps`` (scripts/install-system-deps.sh) waits for the package
manager's locks while another install holds them, saying so, and gives up in
one line when the wait runs out; apt-get gets ``-o DPkg::Lock::Timeout``.

The lock is a real one: an fcntl write lock, as apt and dpkg take theirs, held
by another process on a file of the test's own (``SYSDEPS_LOCKS``); apt-get and
sudo are stand-ins on ``PATH`` that record their arguments and when they ran,
so nothing is installed and no system lock is touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "install-system-deps.sh"
_HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""
_APT_GET = """#!{python}
import json, sys, time
with open({record!r}, "a") as out:
    out.write(json.dumps([time.time(), sys.argv[1:]]) + "\\n")
"""


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A ``PATH`` with the stand-ins and what the script needs besides, but
    not the packages it installs (so it finds some missing)."""
    if not SCRIPT.exists():  # an sdist of the package alone has no scripts/
        if os.environ.get("CI"):
            pytest.fail(f"missing in CI: {SCRIPT}")
        pytest.skip(f"{SCRIPT} is not here")
    folder = tmp_path / "bin"
    folder.mkdir()
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    (folder / "apt-get").write_text(_APT_GET.format(python=python, record=str(tmp_path / "apt-get.jsonl")))
    (folder / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for name in ("apt-get", "sudo"):
        (folder / name).chmod(0o755)
    for name in ("id", "tee", "chmod", "rm"):
        found = next(Path(d) / name for d in ("/usr/bin", "/bin") if (Path(d) / name).exists())
        (folder / name).symlink_to(found)
    (folder / "python3").symlink_to(python)
    return folder


def _calls(tmp_path: Path) -> list[tuple[float, list[str]]]:
    import json

    record = tmp_path / "apt-get.jsonl"
    lines = record.read_text().splitlines() if record.exists() else []
    return [(float(at), list(args)) for at, args in map(json.loads, lines)]


@contextmanager
def _held(lock: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """*lock* held by another process for *seconds*."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def _comm(pid: int) -> str:
    """The process's name, as the script reads it."""
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _run(bin_dir: Path, tmp_path: Path, lock: Path, wait: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(bin_dir),
        "SYSDEPS_LOCKS": str(lock),
        "SYSDEPS_LOCK_WAIT": wait,
        "SYSDEPS_POLICY_RC": str(tmp_path / "policy-rc.d"),
    }
    return subprocess.run(["/bin/sh", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def test_it_waits_for_a_held_lock_saying_so_then_installs(bin_dir: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    with _held(lock, 2.0) as holder:
        name = _comm(holder.pid)
        started = time.time()
        result = _run(bin_dir, tmp_path, lock, "30")
        released = holder.wait(10)  # it slept its 2 s and exited
    assert result.returncode == 0, result.stderr
    assert (
        f"waiting for another package install to finish: {lock} is held by process {holder.pid} ({name}) (up to 30 s)"
    ) in result.stdout.splitlines()
    calls = _calls(tmp_path)
    assert [args[:3] for _, args in calls] == [
        ["-o", "DPkg::Lock::Timeout=30", "update"],
        ["-o", "DPkg::Lock::Timeout=30", "install"],
    ]
    assert released == 0 and calls[0][0] >= started + 1.5  # apt-get ran once the lock was let go
    assert not (tmp_path / "policy-rc.d").exists()  # its own policy file, removed again


def test_it_gives_up_in_one_line_when_the_wait_runs_out(bin_dir: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    with _held(lock, 30) as holder:
        name = _comm(holder.pid)
        result = _run(bin_dir, tmp_path, lock, "1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"gave up after 1 s: {lock} is still held by process {holder.pid} ({name}); "
        "run make sysdeps again once it is done"
    ]
    assert _calls(tmp_path) == []


def test_a_free_lock_costs_no_wait_and_no_line(bin_dir: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.touch()
    result = _run(bin_dir, tmp_path, lock, "600")
    assert result.returncode == 0 and "waiting" not in result.stdout
    assert [args[1] for _, args in _calls(tmp_path)] == ["DPkg::Lock::Timeout=600"] * 2


def test_a_wait_that_is_not_a_number_is_refused(bin_dir: Path, tmp_path: Path) -> None:
    result = _run(bin_dir, tmp_path, tmp_path / "lock", "ten")
    assert result.returncode == 2
    assert result.stderr.strip() == "SYSDEPS_LOCK_WAIT must be a number of seconds, not 'ten'"
