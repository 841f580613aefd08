"""Speculation Rules in real Chromium: a hovered article link is prerendered, a
"Sign out" link never is.

The demo runs under gunicorn (two workers, TLS, HTTP/2) behind the latency relay
(RTT 100 ms, harness/relay.py), as a browser meets it on a network. Its pages carry a
``Speculation-Rules`` header: every same-origin link prefetched on hover, the
article list's articles prerendered on hover. The access log records each
request's ``Sec-Purpose``.

Chromium is driven over the DevTools protocol attached through the tab target
(harness/cdp.py): Playwright attaches to the page target, and Chromium refuses to
prerender while DevTools is attached that way.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cdp import Tab
from harness.processes import REPO, free_port, start
from harness.relay import Relay
from harness.tls import Tls

pytestmark = pytest.mark.integration

ARTICLE = "/articles/early-hints"
# gunicorn's access log: the request line, the status and the Sec-Purpose header.
_LINE = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) purpose=(?P<purpose>.*)')


@dataclass(frozen=True)
class Demo:
    origin: str
    access_log: Path

    def requests(self) -> list[tuple[str, str, str]]:
        """``(method, path, Sec-Purpose or "-")`` of each request so far."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        found = []
        for line in lines:
            match = _LINE.search(line)
            if match and match["status"] != "404":
                found.append((match["method"], match["path"], match["purpose"].strip()))
        return found

    def wait_for_request(self, path: str, timeout: float = 10.0) -> list[tuple[str, str, str]]:
        deadline = time.monotonic() + timeout
        while True:
            seen = [entry for entry in self.requests() if entry[1].split("?")[0] == path]
            if seen or time.monotonic() > deadline:
                return seen
            time.sleep(0.05)


@pytest.fixture(scope="module")
def demo(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo under gunicorn with its two workers (a rules resource one worker
    names may be asked of the other), behind the 100 ms relay."""
    run = tmp_path_factory.mktemp("speculation")
    port = free_port()
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_WORKERS": "2",
        "FLASK_DEMO_DATA_DIR": str(run / "data"),
        "FLASK_DEMO_SLOW_SECONDS": "0.3",
    }
    log = run / "access.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(REPO / "infra" / "gunicorn.conf.py"),
        "--access-logfile",
        str(log),
        "--access-logformat",
        '"%(r)s" %(s)s purpose=%({sec-purpose}i)s',
        "demo:create_app()",
    ]
    with start(command, port, run / "app.log", env), Relay(("127.0.0.1", port), 0.1, max_lifetime=180) as relay:
        yield Demo(f"https://127.0.0.1:{relay.port}", log)


def _rules_fetched(demo: Demo) -> list[tuple[str, str, str]]:
    return [entry for entry in demo.requests() if entry[1].startswith("/_firehose/speculation/")]


def _hover(tab: Tab, selector: str) -> None:
    tab.mouse_move(*tab.center(selector))


def _wait_prerendered(tab: Tab, path: str, timeout: float = 10.0) -> str | None:
    """The session of the tab's prerendered page for *path*, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for session, info in tab.pages():
            if info.get("subtype") == "prerender" and info.get("url", "").endswith(path):
                return session
        time.sleep(0.05)
    return None


def test_a_hovered_article_link_is_prerendered_and_shown_at_once(demo: Demo, tab: Tab) -> None:
    tab.navigate(demo.origin + "/")
    # The page named its rules in a header, and the browser fetched them.
    deadline = time.monotonic() + 10
    while not _rules_fetched(demo) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _rules_fetched(demo), f"Chromium never asked for the rules resource: {demo.requests()}"

    _hover(tab, f'a[href="{ARTICLE}"]')
    session = _wait_prerendered(tab, ARTICLE)
    assert session is not None, f"no prerender after a hover; requests: {demo.requests()}"
    # The page loads in the background: prerendering, not shown.
    assert tab.evaluate("document.prerendering", session=session) is True
    requested = demo.wait_for_request(ARTICLE)
    assert requested == [("GET", ARTICLE, "prefetch;prerender")]

    x, y = tab.center(f'a[href="{ARTICLE}"]')
    tab.click(x, y)
    tab.wait_until(f"location.pathname === {ARTICLE!r} && document.readyState === 'complete'")
    activation = tab.evaluate("performance.getEntriesByType('navigation')[0].activationStart")
    assert activation > 0, "the article was loaded by the click, not activated from the prerender"
    assert tab.evaluate("document.prerendering") is False
    # The click asked the server for nothing: the one request was the prerender's.
    time.sleep(0.5)
    assert [entry for entry in demo.requests() if entry[1] == ARTICLE] == [("GET", ARTICLE, "prefetch;prerender")]


def test_a_sign_out_link_is_never_speculated(demo: Demo, tab: Tab) -> None:
    tab.navigate(demo.origin + "/account/login")
    tab.evaluate(
        "document.querySelector('input[name=user]').value = 'alice';document.querySelector('form').submit(); true"
    )
    tab.wait_until("location.pathname === '/account/' && document.readyState === 'complete'")
    assert "Hello, alice" in tab.evaluate("document.body.innerText")

    tab.navigate(demo.origin + "/")
    # The nav's "Sign out" link matches the app-wide rule's "/*": only the
    # exclusions keep it out. Hovered far longer than the 200 ms that triggers.
    _hover(tab, "a.signout")
    time.sleep(1.5)
    # The same rule does fire for a link next to it: the rules are in force.
    _hover(tab, 'nav a[href="/gallery"]')
    gallery = demo.wait_for_request("/gallery")
    assert gallery and all(purpose.startswith("prefetch") for _, _, purpose in gallery), gallery
    _hover(tab, "a.signout")
    time.sleep(1.0)

    assert not [entry for entry in demo.requests() if "logout" in entry[1]], demo.requests()
    assert not any("logout" in info.get("url", "") for _, info in tab.pages())
    tab.navigate(demo.origin + "/account/")
    assert "Hello, alice" in tab.evaluate("document.body.innerText"), "the user was signed out"
