"""The demo's panel and its /compare page tell what Chromium did with the 103.

The demo runs behind Caddy as ``make demo`` runs it (the ``caddy_front``
fixture of e2e/conftest.py: Caddy serves /static itself, the app sends its 103
over HTTP/1.1, learning off so the 103 holds the view's declarations, the
/report view thinks 0.5 s), reached through the latency relay
(harness/relay.py, 100 ms of round trip): on plain loopback Chromium drops a
103 now and then, behind a round trip it never did.

What the panel says is held to two witnesses that do not share its code:

* Resource Timing, read by the test from the same page: each file Chromium
  fetched because of the 103 is marked ``initiatorType`` ``early-hints``
  (and the navigation got a 103: ``firstInterimResponseStart`` > 0);
* Caddy's access log: each of those files was downloaded once (the page used
  the hinted copy) and, on /report, whose view thinks, served while it was
  still thinking, well before the page's final response (Caddy logs when a
  request ends, ``ts``, and how long it took). The article's view answers at
  once: its 103 and its page leave together, so only the count says anything.

Reverting the panel's old filter (a hinted file counted only if its entry
started before the page's response) fails every test here: Chromium's entry
for a hinted file is the page's adoption of it, after the page's response.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.demo import Front
from harness.relay import Relay

pytestmark = pytest.mark.integration

RTT = 0.1
PAGE = "/articles/budgets"
#: What the article view declares with @early_hints: its whole 103 (learning off).
DECLARED = {"/static/css/main.css", "/static/css/article.css", "/static/js/app.js"}
#: Until panel.js has filled the browser half of the panel.
PANEL_FILLED = "() => !(document.getElementById('fh-browser')?.textContent ?? 'Needs JavaScript').includes('Needs')"
RESOURCE_TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    interim: nav.firstInterimResponseStart,
    protocol: nav.nextHopProtocol,
    early: performance.getEntriesByType('resource')
      .filter((e) => e.initiatorType === 'early-hints')
      .map((e) => { const u = new URL(e.name); return u.pathname + u.search; }),
  };
}"""


@dataclass(frozen=True)
class Logged:
    """One line of Caddy's JSON access log."""

    uri: str
    status: int
    started: float  # when Caddy read the request (Unix time)
    ended: float  # when it finished the response

    @property
    def path(self) -> str:
        return self.uri.split("?", 1)[0]


def _log(log: Path) -> list[Logged]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found = []
    for line in lines:
        entry = json.loads(line)
        ended, took = float(entry["ts"]), float(entry["duration"])
        found.append(Logged(str(entry["request"]["uri"]), int(entry["status"]), ended - took, ended))
    return found


def _served_during_think(front: Front, since: int, page_uri: str) -> set[str]:
    """The static URIs Caddy served (200) while the view of *page_uri* (logged
    after line *since*) was thinking: finished at least half the view's think
    time before the page's response did. The final response leaves the think
    time after the 103 at the earliest, so a file the 103 asked for is served
    well before it; a file the page's HTML asked for is requested one round
    trip after the page's headers left, so never before the page's response
    ends."""
    deadline = time.monotonic() + 5
    entries: list[Logged] = []
    while time.monotonic() < deadline:
        entries = _log(front.access_log)[since:]
        pages = [entry for entry in entries if entry.uri == page_uri and entry.status == 200]
        if pages:
            limit = pages[-1].ended - front.slow_seconds / 2
            return {e.uri for e in entries if e.path.startswith("/static/") and e.status == 200 and e.ended < limit}
        time.sleep(0.05)
    raise AssertionError(f"{page_uri} not in Caddy's log: {entries}")


@pytest.fixture
def origin(caddy_front: Front) -> Iterator[str]:
    with Relay(("127.0.0.1", caddy_front.port), RTT, max_lifetime=120) as relay:
        yield f"https://127.0.0.1:{relay.port}"


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A tab in a fresh browser context: an empty HTTP cache."""
    context = chromium.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _served_counts(front: Front, since: int, uris: list[str]) -> dict[str, int]:
    """How many times Caddy served (200) each of *uris* since line *since*;
    waits for each to be logged, then a moment for any second copy."""
    deadline = time.monotonic() + 5

    def count() -> dict[str, int]:
        served = [entry.uri for entry in _log(front.access_log)[since:] if entry.status == 200]
        return {uri: served.count(uri) for uri in uris}

    while min(count().values(), default=1) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    return count()


@dataclass(frozen=True)
class Case:
    """A demo page, what its view declares (its whole 103 here), and whether
    the view thinks (``/report`` sleeps 0.5 s behind the fixture's Caddy)."""

    url: str
    declared: frozenset[str]
    thinks: bool


CASES = [
    Case("/report", frozenset({"/static/css/report.css"}), thinks=True),
    Case(PAGE, frozenset(DECLARED), thinks=False),
]


@pytest.mark.parametrize("case", CASES, ids=[case.url for case in CASES])
def test_panel_lists_what_resource_timing_and_the_front_saw_come_early(
    caddy_front: Front, origin: str, page: Any, case: Case
) -> None:
    since = len(_log(caddy_front.access_log))
    response = page.goto(origin + case.url, wait_until="load")
    assert response is not None and response.status == 200
    page.wait_for_function(PANEL_FILLED, timeout=10_000)
    timing = page.evaluate(RESOURCE_TIMING)
    shown = page.eval_on_selector_all("#fh-came-early code", "codes => codes.map(c => c.textContent)")
    summary = page.text_content("#fh-browser") or ""
    marks = page.eval_on_selector_all(
        "#fh-early li[data-target]",
        "items => items.map(i => [i.dataset.target, i.querySelector('.fh-used').textContent])",
    )

    assert timing["protocol"] == "h2" and timing["interim"] > 0, timing
    # Resource Timing: Chromium used the 103 for every declared file.
    assert {uri.split("?")[0] for uri in timing["early"]} == case.declared, timing
    # The panel says what Resource Timing says, file for file...
    assert "No file came early" not in summary
    assert f"{len(case.declared)} file(s) came early" in summary
    assert sorted(shown) == sorted(timing["early"])
    # ...the server's half marks each link of the 103 as used...
    assert sorted(marks) == sorted([uri, "used by this browser"] for uri in shown)
    # ...and the front's log agrees: each file was downloaded once (the hint
    # was used, not fetched again by the page) and, where the view thinks,
    # served while it did, well before the page's final response.
    assert _served_counts(caddy_front, since, shown) == dict.fromkeys(shown, 1)
    if case.thinks:
        served = _served_during_think(caddy_front, since, case.url)
        assert set(shown) <= served, (shown, served)


def test_compare_counts_the_files_the_front_served_early(caddy_front: Front, origin: str, page: Any) -> None:
    since = len(_log(caddy_front.access_log))
    page.goto(origin + "/compare", wait_until="load")
    page.wait_for_function(PANEL_FILLED, timeout=10_000)  # panel.js wired the button
    page.click("#fh-compare-run")
    page.wait_for_selector("#fh-compare-results table", timeout=30_000)
    rows = page.eval_on_selector_all(
        "#fh-compare-results tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    state = json.loads(page.evaluate("sessionStorage.getItem('firehose-compare')"))
    hinted, twin = state["results"]
    served_hinted = _served_during_think(caddy_front, since, "/report")

    # The hinted /report declares its stylesheet: Chromium took it from the
    # 103, and Caddy served it while the view thought.
    assert [uri.split("?")[0] for uri in hinted["early"]] == ["/static/css/report.css"], hinted
    assert set(hinted["early"]) <= served_hinted, (hinted, served_hinted)
    # The twin got no 103: nothing came early, whatever Chromium's labels.
    assert twin["early"] == [] and twin["got103"] is False, twin
    column = rows[0].index(f"{len(hinted['early'])} file(s)")
    assert [row[0] for row in rows] == ["With hints", "No-hints twin"]
    assert rows[1][column] == "none"

    # Every page's panel now shows that run.
    page.goto(origin + PAGE, wait_until="load")
    page.wait_for_function(
        "() => document.getElementById('fh-measured').textContent.includes('Last /compare run')", timeout=10_000
    )
    measured = page.text_content("#fh-measured") or ""
    assert "FCP " in measured and "LCP " in measured and "1 file(s) came early with hints" in measured
