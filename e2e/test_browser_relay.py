"""Headless Chromium acting on the app's 103 through a latency relay (harness/relay.py).

On plain loopback (RTT ~ 0) Chromium drops a 103 that arrives in the same
millisecond as its request finished sending, in a quarter of navigations or so
in this project's runs; behind 100 ms of round trip it never did. So here every
navigation counts: through the relay, each one (fresh browser context, empty
cache) must fetch every file the article page declares with ``@early_hints``
through the hints (``initiatorType`` ``'early-hints'``), and the server that
serves static files must log each of them exactly once: hints used, never
fetched a second time.

Two stacks: gunicorn serving the browser directly (TLS + HTTP/2, the ``hints_server``
fixture of e2e/conftest.py) and Caddy in front of it, serving /static itself
(the ``caddy_front`` fixture of e2e/conftest.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from harness.chromium import navigate_fresh
from harness.demo import Front, HintsServer
from harness.fronts import Served, read_access_log
from harness.relay import Relay

pytestmark = pytest.mark.integration

RTT = 0.1
NAVIGATIONS = 5
PAGE = "/articles/budgets"
#: What the article view declares with @early_hints: its 103 on every visit.
DECLARED = ["/static/css/main.css", "/static/css/article.css", "/static/js/app.js"]


@dataclass
class Stack:
    """Where the browser goes (the relay) and the log of whoever serves /static."""

    name: str
    origin: str
    static_log: Callable[[], list[Served]]


@pytest.fixture(params=["gunicorn", "caddy"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    if request.param == "gunicorn":
        server: HintsServer = request.getfixturevalue("hints_server")
        port, log = server.port, server.access_log
    else:
        front: Front = request.getfixturevalue("caddy_front")
        port, log = front.port, front.access_log
    with Relay(("127.0.0.1", port), RTT, max_lifetime=120) as relay:
        yield Stack(request.param, f"https://127.0.0.1:{relay.port}", lambda: read_access_log(log))


def _downloads(stack: Stack, since: int) -> dict[str, int]:
    """How many times each declared file was served (200) since line *since*;
    waits for the log (written after each response), then a moment for any second copy."""
    deadline = time.monotonic() + 5

    def count() -> dict[str, int]:
        served = [entry.path for entry in stack.static_log()[since:] if entry.status == 200]
        return {path: served.count(path) for path in DECLARED}

    while min(count().values()) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    return count()


def test_every_navigation_uses_the_hints_and_downloads_each_file_once(chromium: Any, stack: Stack) -> None:
    seen = []
    for _ in range(NAVIGATIONS):
        before = len(stack.static_log())
        initiators = navigate_fresh(chromium, stack.origin + PAGE)
        seen.append(({path: initiators.get(path) for path in DECLARED}, _downloads(stack, before)))
    expected = (dict.fromkeys(DECLARED, "early-hints"), dict.fromkeys(DECLARED, 1))
    assert seen == [expected] * NAVIGATIONS, f"{stack.name}: (initiatorType, downloads) per navigation"
