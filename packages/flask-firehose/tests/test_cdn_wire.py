"""On the wire, through gunicorn on 127.0.0.1: what a CDN in front would
store and replay (the final ``Link`` header, ``Set-Cookie``) for two users,
and a browser's duplicate ``fh-pushed`` cookies, read from raw HTTP/1.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from flask_firehose.testing import ParsedLink, parse_link_headers

pytestmark = pytest.mark.integration

APP = textwrap.dedent(
    """
    from flask import Flask, request
    from flask_firehose import Firehose, early_hints, push

    def build(behind_cdn):
        app = Flask(__name__)
        app.config.update(FIREHOSE_BEHIND_CDN=behind_cdn, FIREHOSE_EARLY_HINTS_HTTP1=True)
        Firehose(app)

        def own():
            return f"/u/{request.headers.get('X-User', 'nobody')}/feed.json"

        @app.get("/")
        @early_hints("/static/app.css", own)
        def home():
            user = request.headers.get("X-User", "nobody")
            push(f"/static/app.js?user={user}", as_="script")
            push("/static/app.js", as_="script")
            return "<p>home</p>"

        @app.get("/cached")
        def cached():
            user = request.headers.get("X-User", "nobody")
            push("/static/feed.css", as_="style")
            push(f"/api/{user}/inbox.json", as_="fetch", crossorigin="anonymous")
            response = app.make_response("<p>feed</p>")
            response.headers["CDN-Cache-Control"] = "max-age=60"
            return response

        @app.get("/account/<int:n>")
        def account(n):
            for url in (f"/static/page-{n}.css", "/static/app.css"):
                push(url, as_="style")
            return "<p>account</p>"

        return app

    cdn = build(True)
    origin = build(False)
    """
)


class Reply(NamedTuple):
    interim: list[list[tuple[str, str]]]
    status: int
    headers: list[tuple[str, str]]

    def links(self) -> list[ParsedLink]:
        return parse_link_headers([value for name, value in self.headers if name.lower() == "link"])

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn() -> str:
    found = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("gunicorn is missing: pip install 'gunicorn>=23'")
        pytest.skip("gunicorn is not installed")
    return found


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    folder = tmp_path_factory.mktemp("cdn_wire")
    (folder / "cdn_wire_app.py").write_text(APP)
    ports: dict[str, int] = {}
    processes = []
    logs = []
    try:
        for name in ("cdn", "origin"):
            port = _free_port()
            log = (folder / f"{name}.log").open("w")
            logs.append(log)
            process = subprocess.Popen(
                [
                    _gunicorn(),
                    "-k",
                    "gthread",
                    "--threads",
                    "4",
                    "-w",
                    "1",
                    "-b",
                    f"127.0.0.1:{port}",
                    "--chdir",
                    str(folder),
                    f"cdn_wire_app:{name}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
            processes.append(process)
            ports[name] = port
        for port in ports.values():
            _wait(port, folder)
        yield ports
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for log in logs:
            log.close()


def _wait(port: int, folder: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    logs = "".join(path.read_text() for path in folder.glob("*.log"))
    pytest.fail(f"gunicorn did not listen on {port}: {logs[-2000:]}")


def _head(block: bytes) -> tuple[int, list[tuple[str, str]]]:
    lines = block.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return status, headers


def _get(port: int, path: str, headers: dict[str, str]) -> Reply:
    request = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close", "Accept: text/html"]
    request.extend(f"{name}: {value}" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    interim = []
    while True:
        block, _, data = data.partition(b"\r\n\r\n")
        status, fields = _head(block)
        if 100 <= status < 200:
            interim.append(fields)
            continue
        return Reply(interim, status, fields)


def _described(reply: Reply) -> list[tuple[str, tuple[tuple[str, str | None], ...]]]:
    return [(link.target, tuple(sorted(link.params))) for link in reply.links()]


def test_behind_a_cdn_two_users_get_one_final_header_and_no_cookie(servers: dict[str, int]) -> None:
    port = servers["cdn"]
    replies = [_get(port, "/", {"X-User": user}) for user in ("alice", "bob", "alice")]
    assert all(reply.status == 200 for reply in replies)
    assert all(reply.all("set-cookie") == [] for reply in replies)
    assert _described(replies[0]) == _described(replies[1]) == _described(replies[2])
    assert [link.target for link in replies[0].links()] == ["/static/app.css", "/static/app.js"]
    # The 103 is per request and not stored by a CDN: it still carries the
    # user's own declared hint (only to that user).
    hinted = [link.target for fields in replies[0].interim for link in _interim_links(fields)]
    assert "/u/alice/feed.json" in hinted and "/u/bob/feed.json" not in hinted


def _interim_links(fields: list[tuple[str, str]]) -> list[ParsedLink]:
    return parse_link_headers([value for name, value in fields if name.lower() == "link"])


def test_a_page_the_cdn_keeps_carries_no_users_link(servers: dict[str, int]) -> None:
    port = servers["origin"]
    alice = _get(port, "/cached", {"X-User": "alice"})
    bob = _get(port, "/cached", {"X-User": "bob"})
    assert alice.status == bob.status == 200
    assert [link.target for link in alice.links()] == ["/static/feed.css"]
    assert _described(alice) == _described(bob)
    assert alice.all("set-cookie") == [] and bob.all("set-cookie") == []


def test_duplicate_cookies_on_the_wire(servers: dict[str, int]) -> None:
    port = servers["origin"]
    first = _get(port, "/account/1", {"Cookie": "fh-pushed=junk"})
    (ours,) = [value.split(";", 1)[0] for value in first.all("set-cookie")]
    assert not any(link.has("nopush") for link in first.links())
    planted = "; ".join(f"fh-pushed=planted{i}" for i in range(50))
    for cookie in (f"{planted}; {ours}", f"fh-pushed=junk; {ours}; fh-pushed=%%"):
        again = _get(port, "/account/1", {"Cookie": cookie})
        assert again.status == 200
        assert [(link.target, link.has("nopush")) for link in again.links()] == [
            ("/static/page-1.css", True),
            ("/static/app.css", True),
        ]
        assert again.all("set-cookie") == []
    huge = _get(port, "/account/1", {"Cookie": f"fh-pushed={'A' * 6000}; {ours}"})
    assert huge.status == 200 and all(link.has("nopush") for link in huge.links())
