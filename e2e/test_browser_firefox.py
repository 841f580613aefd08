"""Headless Firefox (Debian's ``firefox-esr``) acting on the app's 103, through a latency relay.

The Firefox counterpart of e2e/test_browser_relay.py, on the gunicorn-direct stack
(TLS + HTTP/2, the ``hints_server`` fixture of e2e/conftest.py) behind 100 ms of
round trip (harness/relay.py). Each navigation runs a new Firefox on a fresh profile
(empty cache) that trusts the test CA (harness/firefox.py). Every navigation counts:
each file the article view declares with ``@early_hints`` must be reported with
``initiatorType`` ``'early-hints'``, and gunicorn's access log must show it served
exactly once: hints used, never fetched a second time. (The article view does not
think, so its 103 and 200 arrive together: the order of ``requestStart`` and the
page's ``responseStart`` proves nothing here and is only quoted on failure.)

Needs ``firefox-esr`` and ``certutil`` (Debian ``libnss3-tools``) and pip's
``marionette-driver``; a missing one fails the test under ``CI``, else skips it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.demo import HintsServer
from harness.firefox import Firefox, Loaded
from harness.fronts import read_access_log
from harness.relay import Relay

pytestmark = pytest.mark.integration

RTT = 0.1
NAVIGATIONS = 3
PAGE = "/articles/budgets"
#: What the article view declares with @early_hints: its 103 on every visit.
DECLARED = ["/static/css/main.css", "/static/css/article.css", "/static/js/app.js"]


@pytest.fixture
def relayed(hints_server: HintsServer) -> Iterator[str]:
    """The origin the browser uses: the relay in front of gunicorn."""
    with Relay(("127.0.0.1", hints_server.port), RTT, max_lifetime=120) as relay:
        yield f"https://127.0.0.1:{relay.port}"


def _downloads(server: HintsServer, since: int) -> dict[str, int]:
    """How many times each declared file was served (200) since line *since*;
    waits for the log (written after each response), then a moment for any second copy."""
    deadline = time.monotonic() + 5

    def count() -> dict[str, int]:
        served = [entry.path for entry in read_access_log(server.access_log)[since:] if entry.status == 200]
        return {path: served.count(path) for path in DECLARED}

    while min(count().values()) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    return count()


def _timings(page: Loaded) -> str:
    """For a failure message: when the page's response began and each declared file was requested."""
    files = {path: entry.request_start for path, entry in page.resources.items() if path in DECLARED}
    return f"ttfb {page.ttfb} ms, requestStart {files}"


def test_every_firefox_navigation_uses_the_hints_and_downloads_each_file_once(
    firefox: Firefox, hints_server: HintsServer, relayed: str
) -> None:
    seen, timings = [], []
    for _ in range(NAVIGATIONS):
        before = len(read_access_log(hints_server.access_log))
        page = firefox.navigate(relayed + PAGE)
        assert page.protocol == "h2", page
        assert page.status in (None, 200), page
        initiators = {path: entry.initiator_type for path, entry in page.resources.items()}
        seen.append(({path: initiators.get(path) for path in DECLARED}, _downloads(hints_server, before)))
        timings.append(_timings(page))
    expected = (dict.fromkeys(DECLARED, "early-hints"), dict.fromkeys(DECLARED, 1))
    assert seen == [expected] * NAVIGATIONS, f"(initiatorType, downloads) per navigation; {timings}"
