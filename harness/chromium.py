"""Headless Chromium (Debian's ``chromium``) driven by Playwright, as the
browser tests and the page-load benchmarks start it.

Chromium trusts the test certificate by its key (``harness.tls``); the
flags every Chromium here gets are :data:`CHROMIUM_FLAGS`, shared with the
CDP client (``harness.cdp``), which is what drives Chromium where Playwright
cannot (prerendering).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CHROMIUM_FLAGS", "launch_chromium", "navigate_fresh", "playwright_driver"]

#: What every Chromium the tests and benchmarks start is given: it may run as
#: root, and it fetches nothing in the background.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@contextmanager
def playwright_driver() -> Iterator[Any]:
    """Playwright's driver (``sync_playwright()``). A thread can run one at a
    time: a second one started while the first runs fails ("Sync API inside
    the asyncio loop"), so the tests share one (``e2e/conftest.py``) and
    launch every browser they need, whatever its flags, from it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@contextmanager
def launch_chromium(executable: str, spki_sha256: str, driver: Any = None) -> Iterator[Any]:
    """Headless Chromium (a Playwright ``Browser``) trusting the certificate
    whose key hashes to *spki_sha256* (comma-separated for several), not
    ``--ignore-certificate-errors``, under which hinted files are not reused;
    launched from *driver* (:func:`playwright_driver`), else from a driver
    of its own."""
    if driver is None:
        with playwright_driver() as own, launch_chromium(executable, spki_sha256, own) as browser:
            yield browser
        return
    browser = driver.chromium.launch(
        executable_path=executable,
        args=[*CHROMIUM_FLAGS, f"--ignore-certificate-errors-spki-list={spki_sha256}"],
    )
    try:
        yield browser
    finally:
        browser.close()


def navigate_fresh(chromium: Any, url: str) -> dict[str, str]:
    """Load *url* in a new browser context (empty cache); return each
    resource's path and ``initiatorType``.

    :raises AssertionError: unless the page answered 200 over HTTP/2.
    """
    context = chromium.new_context()
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, (url, response and response.status)
        protocol = page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
        assert protocol == "h2", (url, protocol)
        entries = page.evaluate(
            "() => performance.getEntriesByType('resource').map(e => [new URL(e.name).pathname, e.initiatorType])"
        )
    finally:
        context.close()
    return {path: kind for path, kind in entries}
