"""The image-LCP page in headless Chromium (Playwright): one measured navigation in a
fresh context, the bound's primed navigation, and the learned variant's warm-up visits.

Chromium is launched as harness/chromium.py launches it (its flags, the test key
trusted), plus ``--host-resolver-rules`` mapping :data:`~bench.pageload.lcp_stack.HOST`
to one loopback address: 127.0.0.1 to measure (the relays), 127.0.0.K for a warm-up
client (a gate that connects to the server from 127.0.0.K).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

from harness.chromium import CHROMIUM_FLAGS

from .gate import Gate
from .lcp_stack import HOST

__all__ = ["LcpNavigation", "launch", "measure", "playwright", "visit"]


class LcpNavigation(TypedDict):
    """What one navigation measured; times in ms from the navigation's start."""

    network: str
    variant: str
    form: str  # img | bg
    nonce: str
    image_key: str  # the image's ``n``: the nonce, or the bound's per-context key
    protocol: str
    fcp: float | None
    lcp: float | None
    lcp_url: str  # the LCP entry's url ('' for text)
    load: float
    early: dict[str, bool]  # css/js/img -> fetched because of the 103 (initiatorType 'early-hints')
    img_transfer: int  # the image's Resource Timing transferSize (0: from the cache; -1: no entry)
    ttfb: float  # the navigation's responseStart (Chromium: when the 103 arrived, if one did)
    connect_ms: float  # connectEnd - connectStart (0 also when Chromium's predictor preconnected)
    new_connections: int  # bound: connections its gate accepted during the measured navigation; else -1
    log_mark: int  # responses in its server's access log before it started
    downloads: dict[str, int]  # css/js/img -> times sent (status 200), from the access log (filled in later)


# Wait for FCP and for an LCP entry naming an image (the hero), at most 3 s after load:
# the image's paint may come a frame after the load event.
_METRICS = """
async () => {
  const seen = {fcp: null, lcp: null, lcp_url: ''};
  await new Promise((resolve) => {
    const done = () => seen.fcp !== null && seen.lcp_url !== '' && resolve();
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') seen.fcp = e.startTime;
      done();
    }).observe({type: 'paint', buffered: true});
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      const last = entries[entries.length - 1];
      seen.lcp = last.startTime;
      seen.lcp_url = last.url;
      done();
    }).observe({type: 'largest-contentful-paint', buffered: true});
    setTimeout(resolve, 3000);
  });
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const find = (path) => resources.find((e) => new URL(e.name).pathname.endsWith(path));
  const early = {};
  for (const [name, path] of Object.entries({css: '/lcp.css', js: '/static/lcp.js', img: '/static/hero.jpg'})) {
    const entry = find(path);
    early[name] = entry !== undefined && entry.initiatorType === 'early-hints';
  }
  const image = find('/static/hero.jpg');
  return {protocol: nav.nextHopProtocol, ttfb: nav.responseStart, load: nav.loadEventStart,
          connect: nav.connectEnd - nav.connectStart,
          img_transfer: image === undefined ? -1 : image.transferSize, early, ...seen};
}
"""


@contextmanager
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as session:
        yield session


@contextmanager
def launch(session: Any, executable: str, spki_sha256: str, address: str = "127.0.0.1") -> Iterator[Any]:
    """Headless Chromium that reaches :data:`HOST` at *address*."""
    browser = session.chromium.launch(
        executable_path=executable,
        args=[
            *CHROMIUM_FLAGS,
            f"--ignore-certificate-errors-spki-list={spki_sha256}",
            f"--host-resolver-rules=MAP {HOST} {address}",
        ],
    )
    try:
        yield browser
    finally:
        browser.close()


def _load(page: Any, url: str) -> None:
    response = page.goto(url, wait_until="load", timeout=20_000)
    if response is None or response.status != 200:
        raise RuntimeError(f"{url}: status {response.status if response else None}")


def measure(
    browser: Any, network: str, variant: str, form: str, base: str, *, stable: bool, log_mark: int, prime: Gate | None
) -> LcpNavigation:
    """One navigation to *base*/*form* in a new context. With *prime* (the bound), the
    context first loads the page once with the same image key, then *prime*'s
    connections are closed, so the measured navigation finds the image in the cache
    and opens a new connection like every other variant (Chromium's predictor may
    open it at the navigation's start: Navigation Timing then shows no connect time,
    the gate's count shows the connection). *stable*: no nonce in the
    files' URLs (the learned variant; the page's own URL still carries one)."""
    nonce = uuid.uuid4().hex[:16]
    key = uuid.uuid4().hex[:16] if prime is not None else nonce
    context = browser.new_context()
    try:
        page = context.new_page()
        if prime is not None:
            _load(page, f"{base}/{form}?n=prime{nonce[:11]}&i={key}")
            prime.drop()
            time.sleep(0.3)  # the relay passes the close on after its one-way delay
        accepted = prime.accepted if prime is not None else 0
        _load(page, f"{base}/{form}?n={nonce}" + ("" if stable else f"&i={key}"))
        found: dict[str, Any] = page.evaluate(_METRICS)
        new_connections = prime.accepted - accepted if prime is not None else -1
    finally:
        context.close()
    return LcpNavigation(
        network=network,
        variant=variant,
        form=form,
        nonce=nonce,
        image_key=key,
        protocol=str(found["protocol"]),
        fcp=None if found["fcp"] is None else float(found["fcp"]),
        lcp=None if found["lcp"] is None else float(found["lcp"]),
        lcp_url=str(found["lcp_url"] or ""),
        load=float(found["load"]),
        early={name: bool(value) for name, value in found["early"].items()},
        img_transfer=int(found["img_transfer"]),
        ttfb=float(found["ttfb"]),
        connect_ms=float(found["connect"]),
        new_connections=new_connections,
        log_mark=log_mark,
        downloads={},
    )


def visit(browser: Any, url: str, width: int, height: int) -> None:
    """A warm-up visit at a viewport of *width* x *height*: load, let the LCP settle,
    then leave the page (``pagehide``: when a reporting script sends its beacon)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        _load(page, url)
        page.wait_for_timeout(600)
        page.goto("about:blank")
        page.wait_for_timeout(300)
    finally:
        context.close()
