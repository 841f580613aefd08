"""The 103 holds exactly what browsers take from it, and they take all of it.

A small app (e2e/fidelity_app.py) under gunicorn (TLS + HTTP/2, ``wsgi.early_hints``)
declares links of every kind with ``@early_hints``: a stylesheet, a script, a font
with ``crossorigin``, an image with ``fetchpriority=high``, a ``modulepreload`` and a
``fetch`` with ``crossorigin``, which browsers act on in a 103; and links carrying
``imagesrcset``, ``media``, ``integrity``, ``referrerpolicy``, ``as=video`` and
``rel=prefetch``, which they ignore there.

* An HTTP/2 client sees one 103 holding exactly the first six (parsed strictly),
  and the final ``Link`` header holding all twelve.
* Chromium (Playwright) and Firefox (Marionette), each through the 100 ms relay
  (harness/relay.py; at RTT ~ 0 Chromium drops some 103s), report every file the
  103 carried with ``initiatorType`` ``'early-hints'``, and the app logs each
  downloaded exactly once.
* The 103 carries the app's ``Referrer-Policy`` (``FIREHOSE_EARLY_HINTS_REFERRER_POLICY``)
  and Chromium applies it to the early preloads: no ``Referer`` under
  ``no-referrer``, the origin alone under ``origin``, and under the default
  (``strict-origin-when-cross-origin``) the page's full URL for a same-origin file.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flask_firehose._browsers import browser_takes  # no public equivalent: the rule the 103 applies
from flask_firehose.testing import ParsedLink, parse_link_header
from harness.demo import STATIC
from harness.firefox import Firefox
from harness.h2client import fetch
from harness.processes import REPO, Running, free_port, start
from harness.relay import Relay
from harness.tls import Tls

from .fidelity_app import FILES, IGNORED_PLAIN, TAKEN

pytestmark = pytest.mark.integration

RTT = 0.1
#: How long the page's view thinks (FIDELITY_THINK's default).
THINK = 0.3
NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]
TAKEN_PATHS = sorted(link.target for link in TAKEN)
IGNORED_PATHS = sorted([*(link.target for link in IGNORED_PLAIN), "/static/checked.js"])


@dataclass(frozen=True)
class FidelityServer:
    """gunicorn serving e2e/fidelity_app.py over TLS + HTTP/2."""

    port: int
    app: Running
    request_log: Path

    def requests(self) -> list[dict[str, Any]]:
        """Each /static request the app answered, in order."""
        if not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines() if line.strip()]


def _static_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text)
    shutil.copyfile(STATIC / "fonts" / "firehose-blocks.woff2", folder / "blocks.woff2")
    for name in ("hero.png", "srcset.png"):
        shutil.copyfile(STATIC / "img" / "hero.png", folder / name)
    return folder


@contextmanager
def serve(tls: Tls, run: Path, config: dict[str, object] | None = None) -> Iterator[FidelityServer]:
    """gunicorn (one gthread worker, the project's gunicorn.conf.py) serving the
    fidelity app on a free port; stopped with its process group."""
    port = free_port()
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_WORKERS": "1",
        "FIDELITY_STATIC": str(_static_folder(run / "static")),
        "FIDELITY_REQUEST_LOG": str(run / "requests.jsonl"),
        "FIDELITY_CONFIG": json.dumps(config or {}),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")]
    with start([*command, "e2e.fidelity_app:create_app()"], port, run / "app.log", env) as app:
        yield FidelityServer(port, app, run / "requests.jsonl")


@pytest.fixture(scope="module")
def fidelity(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FidelityServer]:
    with serve(tls, tmp_path_factory.mktemp("fidelity")) as server:
        yield server


@pytest.fixture
def relayed(fidelity: FidelityServer) -> Iterator[str]:
    """The origin browsers use: the 100 ms relay in front of gunicorn."""
    with Relay(("127.0.0.1", fidelity.port), RTT, max_lifetime=120) as relay:
        yield f"https://127.0.0.1:{relay.port}"


def _links(headers: list[tuple[str, str]]) -> list[ParsedLink]:
    return [link for name, value in headers if name == "link" for link in parse_link_header(value)]


def _downloads(server: FidelityServer, since: int, paths: list[str]) -> dict[str, int]:
    """How many times each of *paths* was served (200) since request *since*;
    waits for them, then a moment for any second copy."""
    deadline = time.monotonic() + 5

    def count() -> dict[str, int]:
        served = [entry["path"] for entry in server.requests()[since:] if entry["status"] == 200]
        return {path: served.count(path) for path in paths}

    while min(count().values()) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return count()


def test_the_103_holds_exactly_what_browsers_take(fidelity: FidelityServer, tls: Tls) -> None:
    exchange = fetch(fidelity.port, "/", ca_file=tls.ca_file, extra_headers=NAVIGATE)
    assert exchange.status == 200
    (info,) = exchange.informational
    assert info.status == 103
    assert exchange.response_at - info.at >= THINK * 0.6  # sent before the view thought
    hinted = _links(info.headers)
    assert sorted((link.target, link.params) for link in hinted) == sorted(
        (link.target, parse_link_header(link.text)[0].params) for link in TAKEN
    )
    assert not any(link.has("nopush") for link in hinted)
    # The final header holds every declared link, the ignored ones as declared.
    final = {link.target: link for link in _links(exchange.headers)}
    assert sorted(final) == sorted(TAKEN_PATHS + IGNORED_PATHS)
    assert final["/static/srcset.png"].get("imagesrcset") == "/static/srcset.png 1x"
    assert final["/static/print.css"].get("media") == "print"
    assert (final["/static/checked.js"].get("integrity") or "").startswith("sha256-")
    assert final["/static/rp.js"].get("referrerpolicy") == "no-referrer"
    assert final["/static/clip.mp4"].get("as") == "video"
    assert final["/static/next.html"].rels == {"prefetch"}


def test_browser_takes_agrees_with_the_declarations() -> None:
    assert [browser_takes(link) for link in TAKEN] == [None] * len(TAKEN)
    assert all(browser_takes(link) for link in IGNORED_PLAIN)


_READ_ENTRIES = """async () => {
  await window.__fetched;
  await document.fonts.ready;
  return performance.getEntriesByType('resource').map((e) => [new URL(e.name).pathname, e.initiatorType]);
}"""


def _chromium_navigation(chromium: Any, url: str) -> dict[str, str]:
    context = chromium.new_context()
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200
        assert page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
        entries = page.evaluate(_READ_ENTRIES)
    finally:
        context.close()
    found: dict[str, str] = {}
    for path, kind in entries:
        found.setdefault(path, kind)
    return found


def test_chromium_fetches_every_link_of_the_103_through_it(
    chromium: Any, fidelity: FidelityServer, relayed: str
) -> None:
    seen = []
    for _ in range(2):
        before = len(fidelity.requests())
        initiators = _chromium_navigation(chromium, relayed + "/")
        seen.append(({path: initiators.get(path) for path in TAKEN_PATHS}, _downloads(fidelity, before, TAKEN_PATHS)))
    expected = (dict.fromkeys(TAKEN_PATHS, "early-hints"), dict.fromkeys(TAKEN_PATHS, 1))
    assert seen == [expected] * 2, "(initiatorType, downloads) per navigation"


_FIREFOX_READ = """
const resolve = arguments[arguments.length - 1];
Promise.all([window.__fetched, document.fonts.ready]).then(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  resolve({
    protocol: nav ? nav.nextHopProtocol : '',
    resources: performance.getEntriesByType('resource').map(
      (e) => [new URL(e.name).pathname, e.initiatorType, e.requestStart]),
  });
});
"""


def test_firefox_fetches_every_link_of_the_103_through_it(
    firefox: Firefox, fidelity: FidelityServer, relayed: str
) -> None:
    """Firefox ESR 153 reports each file it adopted from the 103 as
    ``'early-hints'``, but a font as ``'other'``: a font counts when it was
    requested together with the files reported ``'early-hints'`` (within half
    the view's think time of the first), since nothing but the 103 names it
    before the page arrives, at least the think time later."""
    before = len(fidelity.requests())
    with firefox.session() as client:
        client.navigate(relayed + "/")
        found: dict[str, Any] = client.execute_async_script(_FIREFOX_READ, script_timeout=10_000)
    assert found["protocol"] == "h2", found
    resources = [(str(path), str(kind), float(at)) for path, kind, at in found["resources"]]
    adopted = [at for _, kind, at in resources if kind == "early-hints"]
    assert adopted, f"no file came through the 103: {found}"
    how: dict[str, str] = {}
    for path, kind, at in resources:
        early = kind == "early-hints" or (kind == "other" and at - min(adopted) < THINK * 1000 / 2)
        how.setdefault(path, "103" if early else f"{kind} at {at} ms")
    seen = ({path: how.get(path) for path in TAKEN_PATHS}, _downloads(fidelity, before, TAKEN_PATHS))
    assert seen == (dict.fromkeys(TAKEN_PATHS, "103"), dict.fromkeys(TAKEN_PATHS, 1)), found


@pytest.mark.parametrize(
    ("config", "referer"),
    [
        ({}, "page"),  # strict-origin-when-cross-origin: a same-origin file gets the full URL
        ({"FIREHOSE_EARLY_HINTS_REFERRER_POLICY": "origin"}, "origin"),
        ({"FIREHOSE_EARLY_HINTS_REFERRER_POLICY": "no-referrer"}, None),
    ],
    ids=["default", "origin", "no-referrer"],
)
def test_chromium_applies_the_103s_referrer_policy_to_its_preloads(
    chromium: Any, tls: Tls, tmp_path: Path, config: dict[str, object], referer: str | None
) -> None:
    policy = config.get("FIREHOSE_EARLY_HINTS_REFERRER_POLICY", "strict-origin-when-cross-origin")
    with serve(tls, tmp_path, config) as server:
        exchange = fetch(server.port, "/", ca_file=tls.ca_file, extra_headers=NAVIGATE)
        (info,) = exchange.informational
        assert dict(info.headers).get("referrer-policy") == policy
        assert "referrer-policy" not in dict(exchange.headers)  # the page itself sets none
        with Relay(("127.0.0.1", server.port), RTT, max_lifetime=120) as relay:
            origin = f"https://127.0.0.1:{relay.port}"
            page_url = origin + "/?q=secret"
            before = len(server.requests())
            initiators = _chromium_navigation(chromium, page_url)
            _downloads(server, before, TAKEN_PATHS)
        sent = {entry["path"]: entry["referer"] for entry in server.requests()[before:] if entry["status"] == 200}
    assert {path: initiators.get(path) for path in TAKEN_PATHS} == dict.fromkeys(TAKEN_PATHS, "early-hints")
    expected = {"page": page_url, "origin": origin + "/", None: None}[referer]
    assert {path: sent.get(path, "missing") for path in TAKEN_PATHS} == dict.fromkeys(TAKEN_PATHS, expected)


def test_chromium_enforces_the_103s_csp_on_its_preloads(chromium: Any, tls: Tls, tmp_path: Path) -> None:
    with serve(tls, tmp_path, {"FIREHOSE_EARLY_HINTS_CSP": "img-src 'none'"}) as server:
        exchange = fetch(server.port, "/", ca_file=tls.ca_file, extra_headers=NAVIGATE)
        (info,) = exchange.informational
        assert dict(info.headers).get("content-security-policy") == "img-src 'none'"
        assert "content-security-policy" not in dict(exchange.headers)
        with Relay(("127.0.0.1", server.port), RTT, max_lifetime=120) as relay:
            before = len(server.requests())
            initiators = _chromium_navigation(chromium, f"https://127.0.0.1:{relay.port}/")
            downloads = _downloads(server, before, TAKEN_PATHS)
    # The 103's policy forbade the image preload, and only it: the image came
    # once, later, by the final header's preload (the page has no policy).
    assert initiators.pop("/static/hero.png") in ("link", "img")
    others = [path for path in TAKEN_PATHS if path != "/static/hero.png"]
    assert {path: initiators.get(path) for path in others} == dict.fromkeys(others, "early-hints")
    assert downloads == dict.fromkeys(TAKEN_PATHS, 1)
