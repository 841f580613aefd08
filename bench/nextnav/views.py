"""One page view of the next-navigation benchmark in Chromium (harness/cdp.py).

A view opens a tab in a fresh browser context (empty cache, no cookies but the
``bench_view`` cookie that names the view in the server's log), loads page A, moves
the mouse over its link (or not), idles, then clicks the link and measures page B,
or leaves (closes the tab) without clicking.

Times:

* **click**: ``performance.timeOrigin + event.timeStamp`` of the ``click`` event on
  A's link, read by a capturing listener the benchmark adds to A and handed to B in a
  cookie (``bench_click``).
* **B's FCP after the click**: ``B.timeOrigin + max(FCP, activationStart) - click``,
  FCP being the ``first-contentful-paint`` entry's ``startTime`` in B. For a B loaded
  normally this counts the whole navigation from the click (unloading A included); for
  a prerendered B (``activationStart > 0``) a paint made before activation was never
  on screen, so it counts from the activation at the earliest. Both ends are wall-clock
  times of Chromium (A's and B's renderer processes, the same system clock).
* **B's FCP as web-vitals reports it**: ``max(FCP - activationStart, 0)``, from the
  navigation's start (which for a prerender is the activation); it leaves out the few
  ms between the click and the navigation's start.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal, TypedDict

from harness.cdp import Browser, CDPError, Tab

__all__ = ["Pass", "View", "view"]

#: click: hover A's link, idle, click; leave: hover, idle, close the tab; still: idle, close.
Pass = Literal["click", "leave", "still"]

# Installed in A once it has loaded: the click's wall-clock time, for B to read.
_CLICK_LISTENER = """
addEventListener('click', (event) => {
  document.cookie = 'bench_click=' + (performance.timeOrigin + event.timeStamp) + '; path=/';
}, true);
true
"""

# Read in B once it has loaded: waits (at most 3 s) for the buffered paint entry.
_B_METRICS = """
(async () => {
  let fcp = null;
  await new Promise((resolve) => {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') fcp = e.startTime;
      if (fcp !== null) resolve();
    }).observe({type: 'paint', buffered: true});
    setTimeout(resolve, 3000);
  });
  const nav = performance.getEntriesByType('navigation')[0];
  const click = document.cookie.split('; ').find((c) => c.startsWith('bench_click='));
  return {
    fcp, origin: performance.timeOrigin, activation: nav.activationStart || 0,
    delivery: nav.deliveryType || '', protocol: nav.nextHopProtocol, path: location.pathname,
    click: click === undefined ? null : Number(click.split('=')[1]),
  };
})()
"""


# Preload.PreloadingAttemptKey.action, as the statuses name it (the rules' action names).
_ACTIONS = {"Prefetch": "prefetch", "Prerender": "prerender", "PrerenderUntilScript": "prerender_until_script"}


class View(TypedDict):
    """One page view; times in ms. The server-side fields are filled in from its log."""

    variant: str
    kind: Pass
    id: str
    click_wall: float | None  # unix time (s) just before the mouse button went down; None: no click
    fcp_after_click: float | None
    fcp_vitals: float | None
    click_to_start: float | None  # from the click to B's navigation start (or activation)
    prerendered: bool | None  # activationStart > 0
    delivery: str  # B's deliveryType: '', 'navigational-prefetch', ...
    protocol: str
    preload: list[str]  # what became of each speculation: Chromium's last Preload status per attempt
    requests: list[dict[str, Any]]  # the server's log lines of this view (filled in later)


def view(browser: Browser, variant: str, origin: str, kind: Pass, idle: float, hover_wait: float = 0.2) -> View:
    """One view of A on *origin*; with ``kind == "click"``, the click and B measured.

    :raises CDPError: on a failed load or navigation."""
    ident = uuid.uuid4().hex[:12]
    tab = browser.new_tab(enable=("Page", "Runtime", "Preload"))
    try:
        tab.set_cookie(origin, "bench_view", ident)
        tab.navigate(f"{origin}/a", timeout=30)
        tab.evaluate(_CLICK_LISTENER)
        x, y = tab.center("#next")
        if kind != "still":
            tab.mouse_move(x, y)
        time.sleep(hover_wait + idle)
        result = View(
            variant=variant,
            kind=kind,
            id=ident,
            click_wall=None,
            fcp_after_click=None,
            fcp_vitals=None,
            click_to_start=None,
            prerendered=None,
            delivery="",
            protocol="",
            preload=[],
            requests=[],
        )
        if kind == "click":
            _click_through(tab, result, x, y)
        result["preload"] = _preload_statuses(browser)
        return result
    finally:
        tab.close()
        browser.forget_events()


def _preload_statuses(browser: Browser) -> list[str]:
    """The last ``Preload.prefetchStatusUpdated`` / ``prerenderStatusUpdated`` of each
    speculation of the view, e.g. ``prerender Success``, ``prefetch Failure
    PrefetchFailedNetError``, ``prerender_until_script Success``."""
    last: dict[tuple[str, str], str] = {}
    for event in browser.events_since(0):
        if event.method in ("Preload.prefetchStatusUpdated", "Preload.prerenderStatusUpdated"):
            params = event.params
            action = _ACTIONS.get(str(params.get("key", {}).get("action", "")), "")
            action = action or ("prefetch" if "prefetch" in event.method else "prerender")
            key = (action, str(params.get("key", {}).get("url", "")))
            reason = params.get("prefetchStatus") or params.get("prerenderStatus") or ""
            last[key] = " ".join(filter(None, (action, str(params.get("status", "")), str(reason))))
    return list(last.values())


def _click_through(tab: Tab, result: View, x: float, y: float) -> None:
    if tab.evaluate("location.pathname") != "/a":  # the tab must still show A, not a prerender
        raise CDPError("before the click the tab does not show page A")
    result["click_wall"] = time.time()
    tab.click(x, y)
    tab.wait_for_url(lambda url: url.split("?")[0].endswith("/b"), timeout=30)
    found: dict[str, Any] = tab.evaluate(_B_METRICS, timeout=10)
    activation, fcp, click = float(found["activation"]), found["fcp"], found["click"]
    result["prerendered"] = activation > 0
    result["delivery"] = str(found["delivery"])
    result["protocol"] = str(found["protocol"])
    if fcp is not None:
        result["fcp_vitals"] = round(max(float(fcp) - activation, 0.0), 1)
        if click is not None:
            origin = float(found["origin"])
            result["fcp_after_click"] = round(origin + max(float(fcp), activation) - float(click), 1)
            result["click_to_start"] = round(origin + activation - float(click), 1)
