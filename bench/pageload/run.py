"""Page load in headless Chromium (or Firefox ESR) with and without Flask-Firehose's hints.

Variants, each served by gunicorn 27 (TLS + HTTP/2) behind its own latency relay:

a  no Firehose                    b  final Link header only (FIREHOSE_EARLY_HINTS=False)
c  103 from gunicorn directly     d  103 through Caddy (reverse_proxy over HTTP/1.1 with
e  the page without subresources     FIREHOSE_EARLY_HINTS_HTTP1; Caddy serves /static)
   (the physical limit for FCP)   f  103 through Apache 2.4 (mod_http2 + mod_proxy_http,
                                     H2EarlyHints on; Apache serves /static from disk)
g  c plus ``<https://localhost:PORT>; rel=preconnect; crossorigin=anonymous`` in the 103

c and g also load a small render-blocking stylesheet (``crossorigin``, not hinted)
from a second origin, https://localhost:PORT (its own gunicorn and relay, same RTT):
g against c is what the 103's preconnect saves. The 103 that c and g send is checked
with curl (g's must carry the preconnect, c's must not) and kept in the JSON.

The default runs all seven; --quick runs a-e (f needs Debian's apache2).

Navigations are interleaved round-robin (the starting variant rotates each round),
one fresh browser context each, after one unrecorded warm-up per variant. Per
navigation: FCP, LCP, load event, whether each hinted file came from the 103
(Resource Timing ``initiatorType === 'early-hints'``) and how often the server
sent it, and when the server finished sending each hinted file against when it
finished sending the page (access logs, sub-ms end times). Run from the repository root::

    python -m bench.pageload [--quick] [--rtt 100] [--mbps 10] [--variants abcdef]
                             [--browser chromium|firefox] [--out var/bench-pageload]

``--page lcp`` runs the image-LCP page instead (lcp_run.py): variants by name
(``--variants none,today,lcp,lcp-nojs,learned,bound``), at RTT alone and at 10 Mbit/s.

With --browser firefox each navigation runs in a fresh headless Firefox ESR
(harness/firefox.py; about 3.5 s each) trusting the test CA; it reports no LCP.

Exit status: 0, or 1 on a real error (a failed navigation, a missing component, a
103 variant whose hints were never used, hints used where none were sent); noisy
numbers never fail the run.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from harness.firefox import Firefox, marionette_available
from harness.processes import REPO
from harness.tls import make_tls

from .app import CSS, JS, XCSS, write_static, write_xorigin
from .browser import Navigation, chromium, navigate, navigate_firefox
from .report import chart, summarise, table, write_json
from .stack import VARIANTS, running_variants

HINTED = {"c", "d", "f", "g", "h"}  # variants whose page gets a 103
QUICK_VARIANTS = "abcde"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pageload", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt", type=float, default=100, help="added round-trip time in ms (default 100)")
    parser.add_argument("--mbps", type=float, default=None, help="bandwidth each way in Mbit/s (default: no cap)")
    parser.add_argument("--think", type=float, default=300, help="the view's think time in ms (default 300)")
    parser.add_argument("--navigations", type=int, default=None, help="per variant (default 14, --quick 3)")
    parser.add_argument("--quick", action="store_true", help="a few navigations: a smoke run for CI")
    parser.add_argument(
        "--variants", default=None, help=f"which of {''.join(VARIANTS)} to run (default all; --quick {QUICK_VARIANTS})"
    )
    parser.add_argument("--browser", choices=("chromium", "firefox"), default="chromium", help="default chromium")
    parser.add_argument("--css-kb", type=float, default=60, help="render-blocking stylesheet size (default 60)")
    parser.add_argument("--js-kb", type=float, default=150, help="deferred script size (default 150)")
    parser.add_argument("--out", type=Path, default=REPO / "var/bench-pageload", help="where results go")
    parser.add_argument(
        "--page",
        choices=("basic", "lcp"),
        default="basic",
        help="basic: the page above (default); lcp: the image-LCP page, variants by name (see lcp_run.py)",
    )
    parser.add_argument(
        "--front", choices=("gunicorn", "caddy"), default="gunicorn", help="--page lcp: gunicorn alone or behind Caddy"
    )
    args = parser.parse_args(argv)
    if args.page == "lcp":
        return args  # lcp_run.py reads --variants, --navigations and --mbps its own way
    if args.variants is None:
        args.variants = QUICK_VARIANTS if args.quick else "".join(VARIANTS)
    if not set(args.variants) <= set(VARIANTS) or not args.variants:
        parser.error(f"--variants takes letters from {''.join(VARIANTS)}")
    if args.navigations is None:
        args.navigations = 3 if args.quick else 14
    return args


def _stem(args: argparse.Namespace) -> str:
    stem = f"pageload-rtt{args.rtt:g}ms"
    if args.mbps:
        stem += f"-{args.mbps:g}mbps"
    if args.browser != "chromium":
        stem += f"-{args.browser}"
    return stem + ("-quick" if args.quick else "")


def _problems(navigations: list[Navigation], keys: list[str]) -> list[str]:
    """Real errors only: a 103 variant never using its hints, or a variant without
    one using them, or a paint never reported. Spread in the numbers is not one."""
    found = []
    for key in keys:
        runs = [nav for nav in navigations if nav["variant"] == key]
        used = sum(any(nav["early"].values()) for nav in runs)
        if key in HINTED and used == 0:
            found.append(f"variant {key}: no navigation used the 103's hints (initiatorType 'early-hints')")
        if key not in HINTED and used:
            found.append(f"variant {key}: {used} navigations used early hints, but it sends no 103")
        if any(nav["protocol"] != "h2" for nav in runs):
            found.append(f"variant {key}: not all navigations used HTTP/2")
        if any(nav["fcp"] is None for nav in runs):
            found.append(f"variant {key}: first-contentful-paint missing")
    return found


def _sent_103(url: str, ca_file: str) -> list[str] | None:
    """The Link lines of the 103 that *url* answers over HTTP/2 (curl), or None without curl."""
    curl = shutil.which("curl")
    if curl is None:
        return None
    command = [curl, "-sS", "--http2", "--cacert", ca_file, "-D", "-", "-o", "/dev/null"]
    # Firehose sends a 103 to navigations only (Sec-Fetch-Mode: navigate, as a browser).
    command += ["-H", "Sec-Fetch-Mode: navigate", "-H", "Accept: text/html", f"{url}?n=check-103"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    links, interim = [], False
    for line in result.stdout.splitlines():
        if line.startswith("HTTP/"):
            interim = line.split()[1:2] == ["103"]
        elif interim and line.lower().startswith("link:"):
            links.append(line.split(":", 1)[1].strip())
    return links


def _preconnect_problems(sent: dict[str, list[str] | None], origin: str) -> list[str]:
    """g's 103 must carry the preconnect to the second origin; h's must not."""
    found = []
    for key, links in sent.items():
        if links is None:
            continue
        has = any(f"<{origin}>" in link and "preconnect" in link for link in links)
        if key == "g" and not has:
            found.append(f"variant g: the 103 carries no preconnect to {origin}: {links}")
        if key == "h" and has:
            found.append(f"variant h: the 103 carries a preconnect to {origin}: {links}")
    return found


def _warnings(navigations: list[Navigation]) -> list[str]:
    doubles = [nav for nav in navigations if any(count > 1 for count in nav["downloads"].values())]
    if not doubles:
        return []
    return [f"{len(doubles)} navigations downloaded a hinted file more than once (see downloads in the JSON)"]


def _version(executable: str) -> str:
    """ "Chromium 156.0.8078.79", "Mozilla Firefox 153.0esr" """
    result = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30, check=False)
    words = result.stdout.split()
    return " ".join(words[:3] if words[:1] == ["Mozilla"] else words[:2])


Navigator = Callable[[str, str], Navigation]  # (variant key, url) -> one measured navigation


def _executable(browser: str) -> tuple[str | None, str]:
    """The browser's executable, or None and what to install."""
    if browser == "firefox":
        if not marionette_available():
            return None, "marionette-driver is missing: pip install marionette-driver (requirements-dev.txt)"
        if shutil.which("certutil") is None:
            return None, "certutil is missing: install the Debian package 'libnss3-tools'"
        found = shutil.which("firefox-esr") or shutil.which("firefox")
        return found, "firefox is missing: install the Debian package 'firefox-esr'"
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found, "chromium is missing: install the Debian package 'chromium' (make sysdeps)"


@contextlib.contextmanager
def _navigator(browser: str, executable: str, run: Path, tls: Any) -> Iterator[Navigator]:
    """One measured navigation per call, in a fresh Chromium context or a fresh Firefox."""
    if browser == "firefox":
        certutil = shutil.which("certutil")
        assert certutil is not None  # checked by _executable
        firefox = Firefox.prepare(executable, certutil, tls.ca_file, run / "firefox")
        yield lambda key, url: navigate_firefox(firefox, key, url)
        return
    with chromium(executable, tls.spki_sha256) as driver:
        yield lambda key, url: navigate(driver, key, url)


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # so every finally block stops what it started


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.page == "lcp":
        from .lcp_run import main as lcp_main

        return lcp_main(args)
    executable, missing = _executable(args.browser)
    if executable is None:
        print(missing, file=sys.stderr)
        return 1
    keys = [key for key in VARIANTS if key in args.variants]
    labels = {key: VARIANTS[key][0] for key in keys}
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    navigations: list[Navigation] = []
    with tempfile.TemporaryDirectory(prefix="bench-pageload-") as folder:
        run = Path(folder)
        sizes = write_static(run / "site/static", round(args.css_kb * 1000), round(args.js_kb * 1000))
        sizes[XCSS] = write_xorigin(run / "site/xorigin/static")
        sent: dict[str, list[str] | None] = {}  # variant -> Link lines of its 103 (curl)
        origin = ""  # the second origin (c, g)
        tls = make_tls(run / "tls")
        bits = args.mbps * 1e6 if args.mbps else None
        try:
            with (
                running_variants(keys, run, run / "site", tls, args.think / 1000, args.rtt / 1000, bits) as variants,
                _navigator(args.browser, executable, run, tls) as measure,
            ):
                for variant in variants:  # warm-up: imports, first TLS session, page caches
                    measure(variant.key, variant.url)
                    if variant.xorigin:
                        origin = variant.xorigin
                        sent[variant.key] = links = _sent_103(variant.url, tls.ca_file)
                        print(f"variant {variant.key}: 103 Link: {links}", file=sys.stderr, flush=True)
                        if links is None:
                            print("warning: curl is missing: the 103's preconnect is not checked", file=sys.stderr)
                for round_ in range(args.navigations):
                    shift = round_ % len(variants)
                    for variant in variants[shift:] + variants[:shift]:
                        navigations.append(measure(variant.key, variant.url))
                    print(f"round {round_ + 1}/{args.navigations} done", file=sys.stderr, flush=True)
                time.sleep(0.5)  # the servers log a response once it is sent
                by_key = {variant.key: variant for variant in variants}
                for nav in navigations:
                    nav["downloads"] = by_key[nav["variant"]].downloads(nav["nonce"])
                    nav["finished"] = by_key[nav["variant"]].finished(nav["nonce"])
        except Exception as exc:  # a real error: say what failed, keep the logs
            logs = out / (_stem(args) + "-logs")
            shutil.copytree(
                run, logs, dirs_exist_ok=True, ignore=shutil.ignore_patterns("site", "tls", "caddy-data", "firefox")
            )
            print(f"error: {exc}\n(server logs copied to {logs})", file=sys.stderr)
            return 1
    config: dict[str, Any] = {
        "rtt_ms": args.rtt,
        "mbps": args.mbps,
        "think_ms": args.think,
        "bytes": {CSS: sizes[CSS], JS: sizes[JS], XCSS: sizes[XCSS]},
        "sent_103_links": sent,
        "navigations_per_variant": args.navigations,
        "browser": args.browser,
        "browser_version": _version(executable),
        "variants": args.variants,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.browser == "chromium":
        config["chromium"] = config["browser_version"]  # the key earlier reports had
    title = (
        f"Page load, RTT {args.rtt:g} ms"
        + (f", {args.mbps:g} Mbit/s" if args.mbps else "")
        + f", think {args.think:g} ms, CSS {sizes[CSS] / 1000:.0f} kB + JS {sizes[JS] / 1000:.0f} kB hinted, "
        + f"{args.navigations} navigations per variant ({config['browser_version']})"
    )
    summary = summarise(navigations, labels)
    report = table(summary, title)
    print(report)
    stem = out / _stem(args)
    (stem.with_suffix(".txt")).write_text(report + "\n")
    write_json(stem.with_suffix(".json"), config, navigations, summary)
    chart(stem.with_suffix(".png"), navigations, labels, title)
    print(f"wrote {stem}.txt, .json and .png in {config['seconds']} s")
    for warning in _warnings(navigations):
        print(f"warning: {warning}", file=sys.stderr)
    problems = _problems(navigations, keys) + _preconnect_problems(sent, origin)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0
