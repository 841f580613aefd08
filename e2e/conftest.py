"""Fixtures that start the real stack: the demo under gunicorn, nginx in front,
headless Chromium driven by Playwright. Started once per session, on free
loopback ports, and always stopped."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .cdp import CHROMIUM_FLAGS as BASE_CHROMIUM_FLAGS
from .cdp import Browser, Tab
from .firefox import Firefox, marionette_available
from .servers import REPO, Running, free_port, render_template, require_binary, start

STATIC = REPO / "apps" / "demo" / "demo" / "static"
CHROMIUM_FLAGS = list(BASE_CHROMIUM_FLAGS)


@dataclass(frozen=True)
class Tls:
    """A test CA and a server certificate for 127.0.0.1 and localhost."""

    ca_file: str
    cert_file: str
    key_file: str
    spki_sha256: str


@dataclass(frozen=True)
class Stack:
    """The demo behind nginx: where to reach it and what backs it."""

    port: int
    app: Running
    nginx: Running
    data_dir: Path

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cdn_origin(self) -> str:
        # Same server, other host name: a different origin for the browser.
        return f"https://localhost:{self.port}"


def make_tls(folder: Path) -> Tls:
    """A trustme CA and a certificate for 127.0.0.1 and localhost in *folder*,
    with the SPKI hash Chromium is told to trust (the benchmark makes its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "chain.pem"))
    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return Tls(
        str(folder / "ca.pem"),
        str(folder / "chain.pem"),
        str(folder / "key.pem"),
        base64.b64encode(hashlib.sha256(spki).digest()).decode(),
    )


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def push_stack(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """gunicorn serving apps/demo over HTTP/1.1, behind nginx with
    ``http2_push_preload on`` (infra/nginx/push.conf.template) over TLS+HTTP/2."""
    nginx_bin = require_binary("nginx", "nginx-light")
    run = tmp_path_factory.mktemp("push-stack")
    app_port, nginx_port = free_port(), free_port()
    app_env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{app_port}",
        "FLASK_DEMO_DATA_DIR": str(run / "data"),
        "FLASK_DEMO_CDN_ORIGIN": f"https://localhost:{nginx_port}",
    }
    values = {
        "FIREHOSE_RUN_DIR": str(run),
        "FIREHOSE_UPSTREAM": f"127.0.0.1:{app_port}",
        "FIREHOSE_LISTEN": f"127.0.0.1:{nginx_port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
    }
    site = render_template(REPO / "infra/nginx/push.conf.template", run / "site.conf", values)
    conf = render_template(
        REPO / "infra/nginx/nginx.conf.template", run / "nginx.conf", {**values, "FIREHOSE_SITE_CONF": str(site)}
    )
    if os.geteuid() == 0:  # nginx's workers would otherwise drop to "nobody"
        conf.write_text("user root;\n" + conf.read_text())
    command = [nginx_bin, "-p", str(run), "-c", str(conf), "-e", "stderr"]
    with (
        start(["sh", str(REPO / "infra/run-app.sh")], app_port, run / "app.log", app_env) as app,
        start(command, nginx_port, run / "nginx.log") as nginx,
    ):
        yield Stack(nginx_port, app, nginx, run / "data")


@dataclass(frozen=True)
class HintsServer:
    """gunicorn serving the demo straight to clients over TLS + HTTP/2."""

    port: int
    app: Running
    access_log: Path
    slow_seconds: float

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def access_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []


@pytest.fixture(scope="session")
def hints_server(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HintsServer]:
    """gunicorn 25+ with ``--http-protocols h2,h1`` and TLS, one worker (so the
    in-process learned hints are one store), the demo's slow view at 0.5 s."""
    run = tmp_path_factory.mktemp("hints-server")
    port = free_port()
    slow = 0.5
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_WORKERS": "1",
        "FIREHOSE_ACCESS_LOG": str(run / "access.log"),
        "FLASK_DEMO_DATA_DIR": str(run / "data"),
        "FLASK_DEMO_SLOW_SECONDS": str(slow),
    }
    with start(["sh", str(REPO / "infra/run-app.sh")], port, run / "app.log", env) as app:
        yield HintsServer(port, app, run / "access.log", slow)


@contextmanager
def launch_chromium(executable: str, spki_sha256: str) -> Iterator[Any]:
    """Headless Chromium trusting the test certificate by its key (not
    --ignore-certificate-errors, under which hinted files are not reused)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[*CHROMIUM_FLAGS, f"--ignore-certificate-errors-spki-list={spki_sha256}"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def chromium(tls: Tls) -> Iterator[object]:
    """Debian's Chromium, headless, trusting the test certificate by its key."""
    with launch_chromium(require_binary("chromium", "chromium"), tls.spki_sha256) as browser:
        yield browser


def static_file(url_path: str) -> bytes:
    """The bytes on disk behind a demo ``/static/...?v=...`` URL."""
    path = url_path.split("?", 1)[0]
    assert path.startswith("/static/"), path
    return (STATIC / path.removeprefix("/static/")).read_bytes()


def navigate_fresh(chromium: Any, url: str) -> dict[str, str]:
    """Load *url* in a new browser context (empty cache); return each
    resource's path and ``initiatorType``."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200
        assert page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
        entries = page.evaluate(
            "() => performance.getEntriesByType('resource').map(e => [new URL(e.name).pathname, e.initiatorType])"
        )
    finally:
        context.close()
    return {path: kind for path, kind in entries}


@pytest.fixture(scope="session")
def firefox(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Firefox:
    """Headless Firefox ESR over Marionette, a fresh profile per navigation
    trusting the test CA (e2e/firefox.py); under ``CI`` a missing part fails."""
    executable = require_binary("firefox-esr", "firefox-esr")
    certutil = require_binary("certutil", "libnss3-tools")
    if not marionette_available():
        message = "marionette-driver is missing: pip install the PyPI package 'marionette-driver' (make devenv)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Firefox.prepare(executable, certutil, tls.ca_file, Path(tmp_path_factory.mktemp("firefox")))


@pytest.fixture(scope="module")
def browser(tls: Tls) -> Iterator[Browser]:
    """Chromium driven over the pipe-attached CDP client (e2e/cdp.py), which,
    unlike Playwright, gets real prerenders; one per test module."""
    executable = require_binary("chromium", "chromium")
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
