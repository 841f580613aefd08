"""The suite's shared fixtures: each starts what harness/ knows how to start
(the demo under gunicorn, nginx, Caddy, Apache, h2o, Chromium, Firefox), on free
loopback ports, once per session (the CDP browser once per module), and always
stops it.

A program or library the machine lacks (harness's ``MissingComponent``) skips
the test that needed it, or fails it when ``CI`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cdp import Browser, Tab
from harness.chromium import launch_chromium, playwright_driver
from harness.demo import Front, HintsServer, PushStack, running_front, running_hints_server, running_push_stack
from harness.firefox import Firefox, marionette_available
from harness.processes import MissingComponent, find_binary
from harness.tls import Tls, make_tls


def _missing(error: MissingComponent) -> None:
    if os.environ.get("CI"):
        pytest.fail(str(error), pytrace=False)
    pytest.skip(str(error))


# Setup (every fixture a test needs, a cached failure included) and the test itself.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    try:
        return (yield)
    except MissingComponent as error:
        _missing(error)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    try:
        return (yield)
    except MissingComponent as error:
        _missing(error)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def push_stack(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushStack]:
    """gunicorn serving apps/demo over HTTP/1.1, behind nginx with
    ``http2_push_preload on`` (infra/nginx/push.conf.template) over TLS+HTTP/2."""
    with running_push_stack(tls, tmp_path_factory.mktemp("push-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def hints_server(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HintsServer]:
    """gunicorn 25+ with ``--http-protocols h2,h1`` and TLS, one worker (so the
    in-process learned hints are one store), the demo's slow view at 0.5 s."""
    with running_hints_server(tls, tmp_path_factory.mktemp("hints-server")) as server:
        yield server


@pytest.fixture(scope="session")
def caddy_front(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """Caddy (infra/caddy/Caddyfile, as ``make demo`` runs it) serving /static
    itself and proxying the rest to the demo."""
    with running_front("caddy", tls, tmp_path_factory.mktemp("caddy-front")) as front:
        yield front


@pytest.fixture(scope="session")
def apache_front(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """Apache 2.4 with ``H2EarlyHints on`` and ``H2Push on`` proxying to the demo."""
    with running_front("apache", tls, tmp_path_factory.mktemp("apache-front")) as front:
        yield front


@pytest.fixture(scope="session")
def h2o_front(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """h2o 2.2 pushing preload links, proxying to the demo."""
    with running_front("h2o", tls, tmp_path_factory.mktemp("h2o-front")) as front:
        yield front


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """The one Playwright driver of the run: every module launches its
    browsers from it (a second driver in this thread would fail)."""
    with playwright_driver() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(tls: Tls, playwright: Any) -> Iterator[object]:
    """Debian's Chromium through Playwright, headless, trusting the test
    certificate by its key."""
    with launch_chromium(find_binary("chromium", "chromium"), tls.spki_sha256, playwright) as browser:
        yield browser


@pytest.fixture(scope="session")
def firefox(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Firefox:
    """Headless Firefox ESR over Marionette, a fresh profile per navigation
    trusting the test CA (harness/firefox.py)."""
    executable = find_binary("firefox-esr", "firefox-esr")
    certutil = find_binary("certutil", "libnss3-tools")
    if not marionette_available():
        raise MissingComponent(
            "marionette-driver is missing: pip install the PyPI package 'marionette-driver' (make devenv)"
        )
    return Firefox.prepare(executable, certutil, tls.ca_file, Path(tmp_path_factory.mktemp("firefox")))


@pytest.fixture(scope="module")
def browser(tls: Tls) -> Iterator[Browser]:
    """Chromium driven over the pipe-attached CDP client (harness/cdp.py), which,
    unlike Playwright, gets real prerenders; one per test module."""
    executable = find_binary("chromium", "chromium")
    with Browser(executable, [f"--ignore-certificate-errors-spki-list={tls.spki_sha256}"]) as chromium:
        yield chromium


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A new tab of :func:`browser`, closed after the test."""
    opened = browser.new_tab()
    try:
        yield opened
    finally:
        opened.close()
