"""Hints from a real Vite build's manifest, in Chromium.

The session builds e2e/vite-app with the Vite its package-lock.json pins
(``npm ci``, then ``vite build``) into a temporary folder, twice: with script
entries (vite.config.js: two entries sharing a chunk, CSS from an entry and
from the shared chunk, a CSS entry, a dynamic import) for the app, and with
HTML pages as entries (vite.html.config.js, a diamond of chunks included) for
Vite's own tags.

* ``AssetManifest.tags()`` writes, for each HTML page's manifest entry, the
  tags Vite's HTML plugin wrote into that page: the same tags, stylesheets
  and module preloads each in Vite's order.
* gunicorn (TLS + HTTP/2) serves the script build with e2e/vite_manifest_app.py,
  which declares the entries from the manifest and writes their tags: an HTTP/2
  client sees one 103 with the stylesheets then the module files, and a final
  ``Link`` header with each file once.
* Chromium, through the 100 ms relay, runs the page (its module script, the
  shared chunk and the dynamic import ran; the CSS applies), reports each
  hinted file with ``initiatorType`` ``'early-hints'``, and the app serves
  every file exactly once: the hint made the request the tag makes (CORS mode,
  same destination), or the page would have fetched it again.

Node.js and npm come from the system (``make sysdeps``), Vite from the npm
registry; without them the tests skip, or fail under ``CI``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flask_firehose import AssetManifest
from flask_firehose.testing import ParsedLink, parse_link_header
from harness.h2client import fetch
from harness.processes import REPO, MissingComponent, Running, find_binary, free_port, start
from harness.relay import Relay
from harness.tls import Tls

pytestmark = pytest.mark.integration

PROJECT = REPO / "e2e" / "vite-app"
RTT = 0.1
THINK = 0.3
NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]
_TAG = re.compile(r'<(?:script type="module"|link rel="(?:modulepreload|stylesheet)")[^>]*>(?:</script>)?')


@dataclass(frozen=True)
class Builds:
    """The two builds of e2e/vite-app."""

    scripts: Path  # vite.config.js: what the app serves
    pages: Path  # vite.html.config.js: Vite's own tags in its pages


def _run(command: list[str], cwd: Path, timeout: float) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        if command[1] == "ci" and re.search(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network", output):
            raise MissingComponent(f"vite could not be installed from the npm registry (npm ci):\n{output}")
        raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n{output}")


def _check_node(node: str) -> None:
    """:raises MissingComponent: for a Node.js older than Vite 8 needs."""
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    found = re.match(r"v(\d+)\.(\d+)", version.strip())
    major, minor = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    if not ((major == 20 and minor >= 19) or (major == 22 and minor >= 12) or major > 22):
        raise MissingComponent(
            f"Vite 8 needs Node.js 20.19+ or 22.12+, and {node} is {version.strip() or 'unknown'!r}: "
            "install a newer 'nodejs' package (Debian 12's is 18; NodeSource's or trixie's will do)"
        )


@pytest.fixture(scope="session")
def vite_builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    """``npm ci`` and two ``vite build`` runs of a copy of e2e/vite-app."""
    node = find_binary("node", "nodejs")
    npm = find_binary("npm", "npm")
    _check_node(node)
    work = tmp_path_factory.mktemp("vite")
    project = work / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("node_modules", "dist"))
    _run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], project, 180)
    vite = [node, str(project / "node_modules" / "vite" / "bin" / "vite.js"), "build", "--emptyOutDir"]
    builds = Builds(work / "dist", work / "dist-pages")
    _run([*vite, "--outDir", str(builds.scripts)], project, 60)
    _run([*vite, "-c", "vite.html.config.js", "--outDir", str(builds.pages)], project, 60)
    return builds


@dataclass(frozen=True)
class ViteServer:
    """gunicorn serving e2e/vite_manifest_app.py over TLS + HTTP/2."""

    port: int
    app: Running
    request_log: Path

    def requests(self) -> list[dict[str, Any]]:
        if not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def server(vite_builds: Builds, tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViteServer]:
    run = tmp_path_factory.mktemp("vite-server")
    port = free_port()
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_WORKERS": "1",
        "VITE_DIST": str(vite_builds.scripts),
        "VITE_REQUEST_LOG": str(run / "requests.jsonl"),
        "VITE_THINK": str(THINK),
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")]
    with start([*command, "e2e.vite_manifest_app:create_app()"], port, run / "app.log", env) as app:
        yield ViteServer(port, app, run / "requests.jsonl")


def _manifest(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / ".vite" / "manifest.json").read_text()))


def _expected(builds: Builds) -> list[tuple[str, str]]:
    """What the page's hints must be, from the manifest read here by hand:
    the shared chunk's CSS, main's, the CSS entry; main's script, the shared chunk."""
    manifest = _manifest(builds.scripts)
    main = manifest["src/main.js"]
    (shared_key,) = main["imports"]
    shared = manifest[shared_key]
    url = "/static/dist/{}".format
    return [
        *((url(css), "preload") for css in shared["css"]),
        *((url(css), "preload") for css in main["css"]),
        (url(manifest["src/theme.css"]["file"]), "preload"),
        (url(main["file"]), "modulepreload"),
        (url(shared["file"]), "modulepreload"),
    ]


def _pairs(links: list[ParsedLink]) -> list[tuple[str, str]]:
    return [(link.target, " ".join(sorted(link.rels))) for link in links]


@pytest.mark.parametrize("page", ["index.html", "admin.html", "diamond.html"])
def test_tags_are_the_tags_vites_own_html_plugin_writes(vite_builds: Builds, page: str) -> None:
    vites = _TAG.findall((vite_builds.pages / page).read_text())
    assets = AssetManifest.vite(vite_builds.pages / ".vite" / "manifest.json", base="/static/dist/")
    ours = str(assets.tags(page)).split("\n")
    assert sorted(ours) == sorted(vites)
    for kind in ("stylesheet", "modulepreload"):
        assert [tag for tag in ours if kind in tag] == [tag for tag in vites if kind in tag]
    # The hints: Vite's stylesheets in its order, then the script, then its module preloads in its order.
    href = re.compile(r'(?:href|src)="([^"]+)"')
    hints = [link.target for link in assets.links(page)]
    css = [href.findall(tag)[0] for tag in vites if "stylesheet" in tag]
    script = [href.findall(tag)[0] for tag in vites if tag.startswith("<script")]
    preloads = [href.findall(tag)[0] for tag in vites if "modulepreload" in tag]
    assert hints == css + script + preloads
    if page == "diamond.html":  # two chunks importing a third: the third first
        assert [Path(url).name.split("-")[0] for url in preloads] == ["modulepreload", "base", "left", "right"]


def test_the_103_and_the_final_header_carry_each_file_once(server: ViteServer, vite_builds: Builds, tls: Tls) -> None:
    expected = _expected(vite_builds)
    exchange = fetch(server.port, "/", ca_file=tls.ca_file, extra_headers=NAVIGATE)
    assert exchange.status == 200
    (info,) = exchange.informational
    assert info.status == 103
    assert exchange.response_at - info.at >= THINK * 0.6  # sent before the view thought
    early = [link for name, value in info.headers if name == "link" for link in parse_link_header(value)]
    assert _pairs(early) == expected
    final = [link for value in exchange.header_values("link") for link in parse_link_header(value)]
    assert _pairs(final) == expected
    for link in early + final:
        assert link.has("crossorigin") and link.get("crossorigin") is None, link
        assert link.get("as") == ("style" if link.rels == {"preload"} else None), link
    html = exchange.body.decode()
    written = [re.findall(r'(?:href|src)="([^"]+)"', tag)[0] for tag in _TAG.findall(html)]
    assert sorted(written) == sorted(target for target, _ in expected)


_READ = """async () => {
  const deadline = Date.now() + 5000;
  const root = document.documentElement.dataset;
  while (!(root.main && root.lazy) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const style = (selector, property) => getComputedStyle(document.querySelector(selector))[property];
  return {
    protocol: performance.getEntriesByType('navigation')[0].nextHopProtocol,
    ran: [root.main || null, root.lazy || null],
    styles: [style('.main', 'color'), style('.shared', 'marginLeft'), style('body', 'paddingTop')],
    resources: performance.getEntriesByType('resource').map((e) => [new URL(e.name).pathname, e.initiatorType]),
  };
}"""


def _downloads(server: ViteServer, since: int, paths: list[str]) -> dict[str, int]:
    """How many times each /static file was served (200) since request *since*;
    waits for *paths*, then a moment for any second copy."""
    deadline = time.monotonic() + 5

    def count() -> dict[str, int]:
        served = [entry["path"] for entry in server.requests()[since:] if entry["status"] == 200]
        return {path: served.count(path) for path in sorted({*served, *paths})}

    while min(count()[path] for path in paths) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return count()


def test_chromium_uses_the_103_and_downloads_every_file_once(
    chromium: Any, server: ViteServer, vite_builds: Builds
) -> None:
    hinted = [target for target, _ in _expected(vite_builds)]
    manifest = _manifest(vite_builds.scripts)
    lazy = [
        f"/static/dist/{manifest['src/lazy.js']['file']}",
        *(f"/static/dist/{css}" for css in manifest["src/lazy.js"]["css"]),
    ]
    with Relay(("127.0.0.1", server.port), RTT, max_lifetime=120) as relay:
        seen = []
        for _ in range(3):  # Chromium now and then makes no early-hints fetch at all (CONTRIBUTING)
            before = len(server.requests())
            context = chromium.new_context()
            try:
                page = context.new_page()
                response = page.goto(f"https://127.0.0.1:{relay.port}/", wait_until="load")
                assert response is not None and response.status == 200
                found = page.evaluate(_READ)
            finally:
                context.close()
            downloads = _downloads(server, before, hinted + lazy)
            modes = {entry["path"]: (entry["dest"], entry["mode"]) for entry in server.requests()[before:]}
            initiators: dict[str, str] = {}
            for path, kind in found["resources"]:
                initiators.setdefault(path, kind)
            assert found["protocol"] == "h2", found
            assert found["ran"] == ["main ran", "ran"], found  # the entry, the shared chunk, the dynamic import
            assert found["styles"] == ["rgb(1, 2, 3)", "7px", "11px"], found  # entry CSS, shared CSS, CSS entry
            assert downloads == dict.fromkeys(hinted + lazy, 1), (downloads, found)
            assert {path: modes[path] for path in hinted} == {
                path: ("style" if path.endswith(".css") else "script", "cors") for path in hinted
            }
            seen.append({path: initiators.get(path) for path in hinted})
            if seen[-1] == dict.fromkeys(hinted, "early-hints"):
                break
    assert seen[-1] == dict.fromkeys(hinted, "early-hints"), seen
