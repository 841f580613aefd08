"""``make demo`` answers on every name its certificate holds: ``127.0.0.1``,
``localhost`` and ``::1``, behind Caddy (the default front) and with gunicorn
alone (``FRONT=gunicorn``).

Each front is started the way ``make demo`` starts it (``python -m
demo.serve``, on a free port), and each page is asked for by each name: over
TLS checked against the demo's own CA with the name as the server name and the
``Host`` (``localhost`` at both of its addresses), then in Chromium, which
must get a whole page over HTTP/2 (its title, its stylesheet from /static), not
the empty 200 a server that knows only one name gives the others.

``::1`` is asked only where this machine has an IPv6 loopback; where it has
none the ``::1`` cases are skipped, saying so, even under ``CI``.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.devcert import spki_sha256
from demo.serve import find_caddy
from demo.startup import loopback_addresses
from harness.chromium import launch_chromium
from harness.processes import REPO, MissingComponent, find_binary

pytestmark = pytest.mark.integration

IPV6 = "::1" in loopback_addresses()
NO_IPV6 = "this machine has no IPv6 loopback (::1 cannot be bound): the demo listens on 127.0.0.1 alone"
URL_LINE = "Flask-Firehose demo: "
ALSO_LINE = "Also at: "
#: (the name a client uses, the address it reaches), every pair a browser may try.
NAMED = [("127.0.0.1", "127.0.0.1"), ("localhost", "127.0.0.1"), ("localhost", "::1"), ("::1", "::1")]


@dataclass(frozen=True)
class Demo:
    """A running ``python -m demo.serve`` and what it printed."""

    front: str
    port: int
    certs: Path
    output: str


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # serve.py stops what it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module", params=["caddy", "gunicorn"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    front = str(request.param)
    if front == "caddy" and find_caddy()[0] is None:
        raise MissingComponent(f"the demo's front is missing: {find_caddy()[1]}")
    data = tmp_path_factory.mktemp(f"demo-{front}")
    log = data / "serve.log"
    env = {**os.environ, "FIREHOSE_ACCESS_LOG": str(data / "access.log")}
    env.pop("PORT", None)
    command = [sys.executable, "-m", "demo.serve", "--front", front, "--data", str(data), "--no-redis"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while ALSO_LINE not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        time.sleep(0.2)  # the lines after it
        output = log.read_text(errors="replace")
        if front == "caddy":
            assert "Front: Caddy" in output, output  # not the fallback to gunicorn alone
        url = next(line for line in output.splitlines() if line.startswith(URL_LINE)).removeprefix(URL_LINE)
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        yield Demo(front, port, data / "certs", output)
    finally:
        _stop(process)


def _url_host(name: str) -> str:
    return f"[{name}]" if ":" in name else name


class _Reaching(http.client.HTTPSConnection):
    """HTTPS to *address*, with *name* as the server name checked and the Host."""

    def __init__(self, name: str, address: str, port: int, context: ssl.SSLContext) -> None:
        super().__init__(_url_host(name), port, context=context, timeout=10)
        self._name = name
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self._name)


def _get(demo: Demo, name: str, address: str, path: str) -> tuple[int, dict[str, str], bytes]:
    context = ssl.create_default_context(cafile=str(demo.certs / "ca.pem"))
    connection = _Reaching(name, address, demo.port, context)
    try:
        connection.request("GET", path, headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_the_demo_says_every_name_it_answers_on(demo: Demo) -> None:
    (also,) = [line for line in demo.output.splitlines() if line.startswith(ALSO_LINE)]
    expected = [f"https://localhost:{demo.port}/"] + ([f"https://[::1]:{demo.port}/"] if IPV6 else [])
    assert also.removeprefix(ALSO_LINE).split(", ") == expected


@pytest.mark.parametrize(("name", "address"), NAMED, ids=[f"{n}@{a}" for n, a in NAMED])
def test_each_name_gets_the_whole_page(demo: Demo, name: str, address: str) -> None:
    if address == "::1" and not IPV6:
        pytest.skip(NO_IPV6)
    status, headers, body = _get(demo, name, address, "/")
    assert status == 200 and headers["content-type"].startswith("text/html"), (status, headers)
    page = body.decode()
    assert re.search(r"<title>[^<]+</title>", page), page[:500]
    # The page's own stylesheet, asked for by the same name, is the file on disk.
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/[^"]+)"', page)
    assert stylesheet, page[:2000]
    status, headers, css = _get(demo, name, address, stylesheet[1].replace("&amp;", "&"))
    on_disk = REPO / "apps/demo/demo" / stylesheet[1].split("?", 1)[0].lstrip("/")
    assert status == 200 and css == on_disk.read_bytes(), (status, headers)


@pytest.fixture(scope="module")
def chromium_for(demo: Demo, playwright: Any) -> Iterator[Any]:
    """Chromium trusting this demo's certificate by its key, as the README says."""
    key = spki_sha256(demo.certs / "chain.pem")
    with launch_chromium(find_binary("chromium", "chromium"), key, playwright) as browser:
        yield browser


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_chromium_loads_the_page_by_each_name(demo: Demo, chromium_for: Any, host: str) -> None:
    if host == "::1" and not IPV6:
        pytest.skip(NO_IPV6)
    context = chromium_for.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"https://{_url_host(host)}:{demo.port}/", wait_until="load")
        assert response is not None and response.status == 200
        assert page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
        assert page.title().strip(), page.content()[:500]
        loaded = page.evaluate(
            "performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)"
            ".filter(p => p.startsWith('/static/css/'))"
        )
        assert loaded, "no stylesheet loaded"
        # The stylesheet applied: the page is not the blank one an unknown name gets.
        assert page.evaluate("document.styleSheets.length") >= 1
        assert len(page.inner_text("body").strip()) > 100
    finally:
        context.close()
