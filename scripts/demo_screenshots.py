#!/usr/bin/env python3
"""Screenshots of the demo for the docs (docs/demo.rst), taken in headless Chromium.

The demo runs as ``make demo`` runs it, behind Caddy (TLS, HTTP/2, /static
served by Caddy, the app's 103 forwarded, learning on, Caddy known not to
push), here on free 127.0.0.1 ports with a throwaway certificate that Chromium
trusts by its key. Chromium reaches it through the latency relay (100 ms of
round trip): on plain loopback it drops a 103 now and then. Then:

1. three visitors (fresh browser contexts) read the report page, so that its
   hints are learned beside the one it declares;
2. a fourth runs the /compare page's comparison (three rounds, each load
   with empty caches, medians): ``compare.png``; the medians and each load are
   printed, and a run in which a load found files in a cache, or the hinted
   load got no 103, is refused (no screenshot is worth an unfair table);
3. and reads an article, the whole page with its "What Firehose did" panel
   (the /compare run in it, the files not pushed again): ``article.png``;
4. and the report page's panel, its 103 declared and learned:
   ``report-panel.png``.

The PNGs are reduced to a 64-colour palette (text and flat colours survive it)
to keep them small. Usage, from the repository's root::

    .venv/bin/python scripts/demo_screenshots.py [--out docs/images/demo]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.chromium import launch_chromium  # noqa: E402
from harness.demo import STATIC, running_demo  # noqa: E402
from harness.fronts import running_caddy  # noqa: E402
from harness.processes import find_binary  # noqa: E402
from harness.relay import Relay  # noqa: E402
from harness.tls import make_tls  # noqa: E402

ARTICLE = "/articles/early-hints"
REPORT = "/report"
WIDTH = 960
PANEL_FILLED = "() => !document.getElementById('fh-browser').textContent.includes('Needs JavaScript')"


def _shrink(path: Path) -> None:
    """Rewrite the PNG at *path* with a 64-colour palette."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _visit(browser: Any, url: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_function(PANEL_FILLED, timeout=10_000)
    finally:
        context.close()


def _check_compare(page: Any) -> None:
    """Print the /compare run; refuse one that did not measure fairly."""
    state = json.loads(page.evaluate("sessionStorage.getItem('firehose-compare')"))
    for load in state["results"]:
        print(
            f"round {load['round']} {load['label']}: first byte {load['ttfb']:.0f} ms, FCP {load['fcp']:.0f} ms, "
            f"LCP {load['lcp']:.0f} ms, came early {len(load['early'])}, from cache {load['cached']}"
        )
    for summary in state["summary"]:
        print(f"median {summary['label']}: FCP {summary['fcp']:.0f} ms, LCP {summary['lcp']:.0f} ms")
    unfair = [load for load in state["results"] if load["cached"] > 1]
    if unfair or not all(load["early"] for load in state["results"] if load["variant"] == 0):
        raise SystemExit(f"/compare did not measure fairly (a cache kept files, or no 103): {state['results']}")


def shoot(out: Path) -> list[Path]:
    """Start the demo, take the screenshots into *out*; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        run = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-shots-")))
        tls = make_tls(run / "tls")
        env = {"FLASK_FIREHOSE_LEARN": "true", "FLASK_FIREHOSE_FRONT_PUSHES": "false"}
        app, _ = stack.enter_context(running_demo(run, env))
        caddy = stack.enter_context(running_caddy(tls, run, app.port, STATIC))
        relay = stack.enter_context(Relay(("127.0.0.1", caddy.port), 0.1, max_lifetime=300))
        origin = f"https://127.0.0.1:{relay.port}"
        browser = stack.enter_context(launch_chromium(find_binary("chromium", "chromium"), tls.spki_sha256))
        for _ in range(3):
            _visit(browser, origin + REPORT)

        context = browser.new_context(viewport={"width": WIDTH, "height": 900})
        stack.callback(context.close)
        page = context.new_page()
        page.goto(origin + "/compare", wait_until="load")
        page.wait_for_function(PANEL_FILLED, timeout=10_000)
        page.click("#fh-compare-run")
        page.wait_for_selector("#fh-compare-results table", timeout=120_000)
        _check_compare(page)
        compare = out / "compare.png"
        page.locator("main").screenshot(path=str(compare))

        page.goto(origin + ARTICLE, wait_until="load")
        page.wait_for_function(PANEL_FILLED, timeout=10_000)
        page.wait_for_function("() => document.getElementById('fh-measured').textContent.includes('Last /compare')")
        article = out / "article.png"
        page.screenshot(path=str(article), full_page=True)

        page.goto(origin + REPORT, wait_until="load")
        page.wait_for_function(PANEL_FILLED, timeout=10_000)
        report = out / "report-panel.png"
        page.locator("#fh-panel").screenshot(path=str(report))
    shots = [compare, article, report]
    for shot in shots:
        _shrink(shot)
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "demo", help="where the PNGs go")
    args = parser.parse_args(argv)
    for shot in shoot(args.out):
        print(f"{shot} ({shot.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
