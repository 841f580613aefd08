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


FETCHED = "taken from the 103, fetched over the network"
CACHED = "the 103 named it; this browser already had it cached"


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
    assert sorted(marks) == sorted([uri, FETCHED] for uri in shown)
    # ...and the front's log agrees: each file was downloaded once (the hint
    # was used, not fetched again by the page) and, where the view thinks,
    # served while it did, well before the page's final response.
    assert _served_counts(caddy_front, since, shown) == dict.fromkeys(shown, 1)
    if case.thinks:
        served = _served_during_think(caddy_front, since, case.url)
        assert set(shown) <= served, (shown, served)


def test_compare_measures_each_load_with_empty_caches(caddy_front: Front, origin: str, page: Any) -> None:
    since = len(_log(caddy_front.access_log))
    page.goto(origin + "/compare", wait_until="load")
    page.wait_for_function(PANEL_FILLED, timeout=10_000)  # panel.js wired the button
    page.click("#fh-compare-run")
    try:
        page.wait_for_selector("#fh-compare-results table", timeout=60_000)
    except Exception as error:  # where the run stopped, and its state
        state = page.evaluate("sessionStorage.getItem('firehose-compare')")
        raise AssertionError(f"{page.url}: {state}") from error
    rows = page.eval_on_selector_all(
        "#fh-compare-results tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    state = json.loads(page.evaluate("sessionStorage.getItem('firehose-compare')"))
    loads = state["results"]
    entries = _log(caddy_front.access_log)[since:]

    # Three rounds, the order alternating: neither variant always comes second.
    assert [(load["round"], load["label"]) for load in loads] == [
        (1, "With hints"),
        (1, "No-hints twin"),
        (2, "No-hints twin"),
        (2, "With hints"),
        (3, "With hints"),
        (3, "No-hints twin"),
    ]
    # Each load fetched every file afresh: Caddy served the report's stylesheet
    # and image (which /compare does not use) once per load: no cache, memory
    # or HTTP, kept the other load's.
    for path in ("/static/css/report.css", "/static/img/heatmap.png"):
        served = [e for e in entries if e.path == path and e.status == 200]
        assert len(served) == len(loads), (path, served)
    for load in loads:
        if load["label"] == "With hints":
            # Chromium took the stylesheet from the 103, fetched for this load.
            assert [uri.split("?")[0] for uri in load["early"]] == ["/static/css/report.css"], json.dumps(load)
        else:
            # The twin got no 103: nothing came early, whatever Chromium's labels.
            assert load["early"] == [] and load["got103"] is False, load
    hinted, twin = state["summary"]
    assert [row[0] for row in rows] == ["With hints", "No-hints twin"]
    column = rows[0].index("1 file(s)")
    assert rows[1][column] == "none"
    # "From cache": only a file the page itself asks for twice (the logo,
    # once as an image and once by the panel), the same in both variants.
    assert rows[0][-1] == rows[1][-1] == str(twin["cached"]) == str(hinted["cached"]), rows
    assert hinted["cached"] <= 1, state

    # Every page's panel now shows that run.
    page.goto(origin + PAGE, wait_until="load")
    page.wait_for_function(
        "() => document.getElementById('fh-measured').textContent.includes('Last /compare run')", timeout=10_000
    )
    measured = page.text_content("#fh-measured") or ""
    assert "FCP " in measured and "LCP " in measured and "1 file(s) came early with hints" in measured


def _shown(page: Any) -> tuple[list[str], list[list[str]]]:
    page.wait_for_function(PANEL_FILLED, timeout=10_000)
    shown = page.eval_on_selector_all("#fh-came-early code", "codes => codes.map(c => c.textContent)")
    marks = page.eval_on_selector_all(
        "#fh-early li[data-target]",
        "items => items.map(i => [i.dataset.target, i.querySelector('.fh-used').textContent])",
    )
    return shown, marks


def _static_served(front: Front, since: int, page_uri: str) -> set[str]:
    """The static URIs Caddy served (200) since line *since*, once *page_uri* is logged."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = _log(front.access_log)[since:]
        if any(entry.uri == page_uri for entry in entries):
            time.sleep(0.3)  # any file still on its way
            entries = _log(front.access_log)[since:]
            return {e.uri for e in entries if e.path.startswith("/static/") and e.status == 200}
        time.sleep(0.05)
    raise AssertionError(f"{page_uri} not in Caddy's log")


def test_a_second_visit_in_the_same_browser_reports_only_what_was_fetched(
    caddy_front: Front, origin: str, page: Any
) -> None:
    # One browser context: the article, again, then /report, whose 103 names
    # its stylesheet. Chromium labels "early-hints" both the files its 103
    # fetched and those it already held (its HTTP or memory cache, the first
    # article's among them): only the files the front served again may be
    # reported as fetched because of the 103.
    page.goto(origin + PAGE, wait_until="load")
    _shown(page)
    for url in (PAGE, "/report"):
        since = len(_log(caddy_front.access_log))
        response = page.goto(origin + url, wait_until="load")
        assert response is not None and response.status == 200
        shown, marks = _shown(page)
        labelled = page.evaluate(RESOURCE_TIMING)["early"]
        served = _static_served(caddy_front, since, url)
        assert set(shown) <= served, (url, shown, served)
        for target, mark in marks:
            assert (mark == FETCHED) == (target in served), (url, target, mark, served)
            if target not in served:
                assert mark in (CACHED, "not used by this browser"), (url, target, mark)
        if url == "/report":
            # Its stylesheet was new to this browser: the 103 fetched it; the
            # article's files it still labels were not fetched again.
            assert [uri.split("?")[0] for uri in shown] == ["/static/css/report.css"], (shown, labelled)
            assert len(labelled) > len(shown), labelled
            assert dict(marks)[shown[0]] == FETCHED


def test_files_from_the_http_cache_are_not_reported_as_fetched(caddy_front: Front, origin: str, page: Any) -> None:
    # The article, then /compare (cross-origin isolated: the next page gets a
    # new renderer process, so an empty memory cache), then the article again
    # with the app's record of this visitor's pushes forgotten (asked outside
    # the browser, whose HTTP cache stays as it is), so its 103 names the same
    # files. Chromium's preload reads them from its HTTP cache, and their
    # entries look like fetched ones (a firstInterimResponseStart): the panel
    # must still not report them as fetched, since the front served none.
    page.goto(origin + PAGE, wait_until="load")
    _shown(page)
    page.goto(origin + "/compare", wait_until="load")
    page.wait_for_function(PANEL_FILLED, timeout=10_000)
    assert page.request.post(origin + "/compare/reset", ignore_https_errors=True).status == 204
    since = len(_log(caddy_front.access_log))
    page.goto(origin + PAGE, wait_until="load")
    shown, marks = _shown(page)
    timing = page.evaluate(RESOURCE_TIMING)
    served = _static_served(caddy_front, since, PAGE)

    assert timing["interim"] > 0 and {uri.split("?")[0] for uri in timing["early"]} == DECLARED, timing
    assert not served & set(timing["early"]), served
    assert shown == [], shown
    assert sorted(mark for _, mark in marks) == [CACHED] * len(DECLARED), marks
