"""One measured navigation in headless Chromium (Playwright), in a fresh context,
or in headless Firefox ESR (harness/firefox.py, Marionette), in a fresh Firefox."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict, cast

from playwright.sync_api import Browser

from harness.chromium import launch_chromium
from harness.firefox import Firefox

from .app import CSS, JS, XCSS

__all__ = ["Navigation", "chromium", "navigate", "navigate_firefox"]


class Navigation(TypedDict):
    """What one navigation measured; times in ms from the navigation's start."""

    variant: str
    nonce: str
    protocol: str
    ttfb: float
    fcp: float | None
    lcp: float | None
    load: float
    early: dict[str, bool]  # file -> fetched because of the 103 (initiatorType 'early-hints')
    downloads: dict[str, int]  # file -> times served, from the access log (filled in later)
    finished: dict[str, float | None]  # file -> server finished it minus finished the page, ms (filled in later)
    # The second origin's stylesheet (c, g), Resource Timing in ms from the navigation's
    # start: startTime, connectStart, connectEnd, secureConnectionStart, requestStart,
    # responseEnd; None when the page loads no such file (or the browser is Firefox).
    xorigin: dict[str, float] | None


# FCP and LCP arrive through buffered observers; wait for both, at most 3 s past load.
# Early-hint use is judged by Resource Timing's initiatorType, not firstInterimResponseStart
# (a 103 can be received and still not used).
_METRICS = """
async ({files, xorigin}) => {
  const seen = {fcp: null, lcp: null};
  await new Promise((resolve) => {
    const done = () => seen.fcp !== null && seen.lcp !== null && resolve();
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') seen.fcp = e.startTime;
      done();
    }).observe({type: 'paint', buffered: true});
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      seen.lcp = entries[entries.length - 1].startTime;
      done();
    }).observe({type: 'largest-contentful-paint', buffered: true});
    setTimeout(resolve, 3000);
  });
  const nav = performance.getEntriesByType('navigation')[0];
  const early = {};
  for (const file of files) {
    const entry = performance.getEntriesByType('resource').find((e) => e.name.includes('/static/' + file + '?'));
    early[file] = entry !== undefined && entry.initiatorType === 'early-hints';
  }
  const x = performance.getEntriesByType('resource').find((e) => e.name.includes('/static/' + xorigin + '?'));
  const timing = x === undefined ? null : {
    start: x.startTime, connect_start: x.connectStart, connect_end: x.connectEnd,
    secure_start: x.secureConnectionStart, request_start: x.requestStart, response_end: x.responseEnd,
  };
  return {protocol: nav.nextHopProtocol, ttfb: nav.responseStart, load: nav.loadEventStart,
          early, xorigin: timing, ...seen};
}
"""


@contextmanager
def chromium(executable: str, spki_sha256: str) -> Iterator[Browser]:
    """Headless Chromium trusting the test certificate by its key, as the e2e suite launches it."""
    with launch_chromium(executable, spki_sha256) as browser:
        yield cast(Browser, browser)


def navigate(browser: Browser, variant: str, url: str) -> Navigation:
    """Load *url* (with a fresh nonce) in a new context; raise on a failed navigation."""
    nonce = uuid.uuid4().hex[:16]
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{url}?n={nonce}", wait_until="load", timeout=20_000)
        if response is None or response.status != 200:
            raise RuntimeError(f"{url}: status {response.status if response else None}")
        found: dict[str, Any] = page.evaluate(_METRICS, {"files": [CSS, JS], "xorigin": XCSS})
    finally:
        context.close()
    return Navigation(
        variant=variant,
        nonce=nonce,
        protocol=str(found["protocol"]),
        ttfb=float(found["ttfb"]),
        fcp=None if found["fcp"] is None else float(found["fcp"]),
        lcp=None if found["lcp"] is None else float(found["lcp"]),
        load=float(found["load"]),
        early={name: bool(value) for name, value in found["early"].items()},
        downloads={},
        finished={},
        xorigin=None if found["xorigin"] is None else {k: float(v) for k, v in found["xorigin"].items()},
    )


def navigate_firefox(firefox: Firefox, variant: str, url: str) -> Navigation:
    """Load *url* (with a fresh nonce) in a new Firefox on a fresh profile; raise on a
    failed navigation. Firefox reports no LCP here (None)."""
    nonce = uuid.uuid4().hex[:16]
    loaded = firefox.navigate(f"{url}?n={nonce}")
    if loaded.status not in (None, 200) or loaded.load is None or loaded.ttfb is None:
        raise RuntimeError(f"{url}: status {loaded.status}, load {loaded.load}")
    resources = loaded.resources
    early = {}
    for name in (CSS, JS):
        entry = resources.get(f"/static/{name}")
        early[name] = entry is not None and entry.initiator_type == "early-hints"
    return Navigation(
        variant=variant,
        nonce=nonce,
        protocol=loaded.protocol,
        ttfb=loaded.ttfb,
        fcp=loaded.fcp,
        lcp=None,
        load=loaded.load,
        early=early,
        downloads={},
        finished={},
        xorigin=None,
    )
