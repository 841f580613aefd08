"""Exclusions hold for every spelling of a URL, in real Chromium.

A page links to spellings of excluded URLs (``/%6Cogout``, ``//admin/x``,
``/admin%2Fx``, ``/caf%c3%a9/secret``...: each one reaches an excluded view of
the app) and to ordinary pages, under an app-wide ``prefetch`` rule with
``immediate`` eagerness: Chromium prefetches every link the rules let it at
once. gunicorn's access log records each request's ``Sec-Purpose``.

With the rules Firehose writes, Chromium prefetches the ordinary pages and none
of the spellings. With the same rules minus the patterns that guard other
spellings, it prefetches some of them: the guards are what keeps them out, and
Chromium accepts them (a pattern it refused would drop the whole rule, and the
ordinary pages would not be prefetched either).
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
from harness.processes import free_port, start
from harness.tls import Tls

from .speculation_spellings_app import EXCLUDED, KEPT

pytestmark = pytest.mark.integration

_LINE = re.compile(r'"GET (?P<target>\S+) [^"]*" (?P<status>\d+) purpose=(?P<purpose>.*)')


@dataclass(frozen=True)
class Site:
    origin: str
    access_log: Path

    def lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def prefetched(self, since: int = 0) -> set[str]:
        """The request targets Chromium asked for as speculations, after line *since*."""
        return {
            match["target"]
            for match in map(_LINE.search, self.lines()[since:])
            if match and match["purpose"].strip().startswith("prefetch")
        }


@pytest.fixture(scope="module")
def site(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    run = tmp_path_factory.mktemp("speculation-spellings")
    port = free_port()
    log = run / "access.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        "1",
        # Chromium opens connections ahead of need: with gthread's default four
        # threads, idle ones would hold every thread and delay the prefetches.
        "--threads",
        "16",
        "--certfile",
        tls.cert_file,
        "--keyfile",
        tls.key_file,
        "--access-logfile",
        str(log),
        "--access-logformat",
        '"%(r)s" %(s)s purpose=%({sec-purpose}i)s',
        "e2e.speculation_spellings_app:create_app()",
    ]
    with start(command, port, run / "app.log"):
        yield Site(f"https://127.0.0.1:{port}", log)


def _visit(site: Site, tab: Tab, path: str) -> set[str]:
    """What Chromium prefetched from *path*, once the ordinary links came in."""
    since = len(site.lines())
    tab.navigate(site.origin + path)
    deadline = time.monotonic() + 20
    while not set(KEPT) <= site.prefetched(since) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # anything else it was going to prefetch
    return site.prefetched(since)


@pytest.mark.parametrize("page", ["/page", "/deep/page"])
def test_no_spelling_of_an_excluded_url_is_prefetched(site: Site, tab: Tab, page: str) -> None:
    prefetched = _visit(site, tab, page)
    assert set(KEPT) <= prefetched, f"the rules are not in force: {sorted(prefetched)}"
    # Chromium requests the URL as it parsed it: "/admin/./x" as "/admin/x", "\\" as "/".
    assert not prefetched - set(KEPT), sorted(prefetched)


def test_without_the_guards_chromium_prefetches_other_spellings(site: Site, tab: Tab) -> None:
    prefetched = _visit(site, tab, "/naive")
    assert set(KEPT) <= prefetched
    leaked = prefetched & set(EXCLUDED)
    # Those a pattern for the plain URL cannot see: escapes, "//".
    assert {"/%6Cogout", "/admin%2Fx", "//admin/x", "/caf%c3%a9/secret"} <= leaked, sorted(prefetched)
    assert "/logout" not in leaked and "/admin/x" not in leaked
