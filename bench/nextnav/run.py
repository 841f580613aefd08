"""The next navigation in headless Chromium: page A, then a click to page B, with and
without Speculation Rules from Flask-Firehose.

A user loads A, moves the mouse over its link to B, idles (200 ms + ``--idle``,
default 1.5 s), then clicks. Variants, each its own gunicorn (TLS + HTTP/2, 103 Early
Hints for B's stylesheet and script) behind its own latency relay (harness/relay.py):

none                        no rules (B loads when clicked)
prefetch-immediate          A asks for B's HTML at once; prefetch-moderate: on hover
prerender_until_script-...  A prerenders B at once (-immediate) or on hover (-moderate),
                            B's scripts held until the click; the rule's prefetch twin is
                            what a Chromium without the feature does
prerender-immediate         A prerenders B at once; prerender-moderate: on hover
query-prefetch-...          A's link is /b?utm_source=bench, its list rule prefetches /b
                            (-immediate, -moderate); B declares no No-Vary-Search, so the
                            click asks for B again (moderate: the hover triggers nothing)
query-nvs-prefetch-...      the same, B declares @no_vary_search(ignore=["utm_source"]) and
                            the rule carries expects_no_vary_search: the click uses the prefetch

Chromium 156 runs prerender_until_script only with ``--enable-features=PrerenderUntilScript``:
a run with a prerender_until_script variant passes it to its one browser (the other
variants do the same with and without it: docs/speculation-measured.rst says how that
was checked); a run without one does not.

Chromium is driven over the DevTools protocol through the tab target (harness/cdp.py),
so that prerendering is allowed. Three kinds of view, interleaved round-robin with the
variants (the order rotates each round), one fresh browser context each:

click  hover, idle, click: B's FCP after the click (views.py says how it is timed),
       whether B was prerendered, what the server was asked after the click
leave  hover, idle, leave without clicking: what the speculation cost for nothing
still  no hover, idle, leave (moderate variants only): the cost when the user does not
       even point at the link

The server's log (bench/nextnav/app.py) is the accounting: every request of a view
carries the view's cookie. A request that reaches the server after the click for a
target the view already asked for before the click (``utm_source`` aside) is a
*re-request*, a request the speculation failed to save: there must be none, except
B's document in the query variants without No-Vary-Search, where that is what they
measure. Waste per view of A without a click: requests other than A itself (and
/favicon.ico), the bytes of their bodies, how many times B's view ran (its think)
and B's analytics hits (its inline script ran, ``/hit``).

Run from the repository root::

    python -m bench.nextnav [--quick] [--navigations 6] [--rtt 100] [--mbps 10]
                            [--variants none,prerender-moderate] [--out var/bench-nextnav]
                            [--rst docs/speculation-measured.rst]

On a machine where other programs add and remove network interfaces (containers),
Chromium sees each change (``ERR_NETWORK_CHANGED``), drops its connections and
cancels its speculations; such views are done again. To keep the benchmark out of
it, run it as root in a network namespace with only loopback::

    unshare --net sh -c 'ip link set lo up && exec .venv/bin/python -m bench.nextnav'

Exit status: 0, or 1 on a real error (a failed navigation, no prerender at all in a
prerender variant, no speculation at all in a speculating variant, speculation without
rules, an unexpected re-request after the click, a missing paint); noisy figures never fail.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from harness.cdp import Browser, CDPError
from harness.processes import REPO, free_port, start
from harness.relay import Relay
from harness.tls import make_tls

from ..pageload.app import CSS, JS, write_static
from .app import RULES, setup
from .report import chart, rerequests, speculative, summarise, table, unsaved, write_json, write_rst
from .views import Pass, View, view

LABELS = {
    "none": "no rules",
    "prefetch-immediate": "prefetch immediate",
    "prefetch-moderate": "prefetch moderate (hover)",
    "prerender_until_script-immediate": "prerender_until_script immediate",
    "prerender_until_script-moderate": "prerender_until_script moderate (hover)",
    "prerender-immediate": "prerender immediate",
    "prerender-moderate": "prerender moderate (hover)",
    "query-prefetch-immediate": "?utm_source, prefetch immediate",
    "query-nvs-prefetch-immediate": "?utm_source + NVS, prefetch immediate",
    "query-prefetch-moderate": "?utm_source, prefetch moderate (hover)",
    "query-nvs-prefetch-moderate": "?utm_source + NVS, prefetch moderate (hover)",
}

#: Chromium 156 runs prerender_until_script rules only with this feature on.
UNTIL_SCRIPT_FLAG = "--enable-features=PrerenderUntilScript"


def _flags(variants: list[str]) -> list[str]:
    """Chromium flags for the whole run: the prerender_until_script feature when a
    variant asks for that action."""
    return [UNTIL_SCRIPT_FLAG] if any(setup(v).action == "prerender_until_script" for v in variants) else []


@dataclass
class Server:
    variant: str
    origin: str  # through the relay
    log: Path


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.nextnav", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt", type=float, default=100, help="added round-trip time in ms (default 100)")
    parser.add_argument("--mbps", type=float, default=10, help="bandwidth each way in Mbit/s, 0: no cap (default 10)")
    parser.add_argument("--think", type=float, default=300, help="each view's think time in ms (default 300)")
    parser.add_argument("--idle", type=float, default=1.5, help="seconds the user idles on A after hovering (1.5)")
    parser.add_argument("--navigations", type=int, default=None, help="click views per variant (default 6, --quick 2)")
    parser.add_argument("--quick", action="store_true", help="a smoke run for CI: no warm-up, no 'still' views")
    parser.add_argument("--variants", default=",".join(RULES), help=f"comma-separated, from {', '.join(RULES)}")
    parser.add_argument("--out", type=Path, default=REPO / "var/bench-nextnav", help="where results go")
    parser.add_argument(
        "--rst",
        type=Path,
        default=None,
        help="also write the figures as a reStructuredText fragment (keeping its hand-written reading)",
    )
    args = parser.parse_args(argv)
    args.variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    if not args.variants or not set(args.variants) <= set(RULES):
        parser.error(f"--variants takes names from {', '.join(RULES)}")
    args.variants = [name for name in RULES if name in args.variants]
    if args.navigations is None:
        args.navigations = 2 if args.quick else 6
    return args


def _stem(args: argparse.Namespace) -> str:
    stem = f"nextnav-rtt{args.rtt:g}ms" + (f"-{args.mbps:g}mbps" if args.mbps else "")
    return stem + ("-quick" if args.quick else "")


@contextlib.contextmanager
def _servers(variants: list[str], run: Path, tls: Any, args: argparse.Namespace) -> Iterator[list[Server]]:
    """One gunicorn (one worker) and one relay per variant; all stopped on exit."""
    bits = args.mbps * 1e6 if args.mbps else None
    with ExitStack() as stack:
        servers = []
        for variant in variants:
            port, log = free_port(), run / f"requests-{variant}.log"
            env = {
                "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
                "FIREHOSE_TLS_CERT": tls.cert_file,
                "FIREHOSE_TLS_KEY": tls.key_file,
                "FIREHOSE_WORKERS": "1",
                "FIREHOSE_ACCESS_LOG": str(run / f"access-{variant}.log"),
                "BENCH_NEXTNAV_RULES": variant,
                "BENCH_NEXTNAV_THINK": str(args.think / 1000),
                "BENCH_NEXTNAV_STATIC": str(run / "static"),
                "BENCH_NEXTNAV_LOG": str(log),
            }
            command = [
                sys.executable,
                *("-m", "gunicorn", "--config", str(REPO / "infra/gunicorn.conf.py")),
                "bench.nextnav.app:create_app()",
            ]
            stack.enter_context(start(command, port, run / f"gunicorn-{variant}.log", env))
            relay = stack.enter_context(Relay(("127.0.0.1", port), args.rtt / 1000, bits_per_second=bits))
            servers.append(Server(variant, f"https://127.0.0.1:{relay.port}", log))
        yield servers


def _account(views: list[View], servers: list[Server]) -> None:
    """Give each view the server's log lines that carry its cookie."""
    by_view: dict[str, list[dict[str, Any]]] = {}
    for server in servers:
        if server.log.exists():
            for line in server.log.read_text().splitlines():
                entry = json.loads(line)
                by_view.setdefault(entry["view"], []).append(entry)
    for item in views:
        item["requests"] = sorted(by_view.get(item["id"], []), key=lambda entry: float(entry["start"]))


def _interfaces() -> list[str]:
    """The machine's network interfaces (Chromium watches them: a change resets its
    connections and cancels what it was prefetching or prerendering)."""
    try:
        return sorted(name for _, name in socket.if_nameindex())  # this network namespace's
    except OSError:
        return []


def _settle(quiet: float = 2.0, limit: float = 60.0) -> None:
    """Wait until the network interfaces stayed the same for *quiet* seconds (at most *limit*)."""
    deadline = time.monotonic() + limit
    seen, since = _interfaces(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.2)
        if (now := _interfaces()) != seen:
            seen, since = now, time.monotonic()


TRIES = 5


def _view(browser: Browser, variant: str, origin: str, kind: Pass, idle: float, retried: list[str]) -> View:
    """One view, done again (up to TRIES in all, once the network has settled) when the
    machine's network changed under it: other programs adding or removing interfaces
    (containers' veth pairs), seen as ``ERR_NETWORK_CHANGED`` or as a change in
    the interfaces. Chromium then drops its connections and its speculations, which
    measures the machine, not the rules. Nothing of a discarded try is counted (the
    server's log attributes requests by each try's own id); the JSON lists them.
    On a busy machine, run the benchmark in a network namespace of its own (see the
    module's docstring), where no such change happens."""
    for attempt in range(TRIES):
        before = _interfaces()
        try:
            found = view(browser, variant, origin, kind, idle)
        except CDPError as exc:
            if "ERR_NETWORK_CHANGED" not in str(exc) or attempt == TRIES - 1:
                raise
            reason = str(exc)
        else:
            if _interfaces() == before or attempt == TRIES - 1:
                return found
            reason = "network interfaces changed during the view"
        retried.append(f"{variant} {kind}: {reason}")
        print(f"warning: {variant} {kind}: {reason}; view done again", file=sys.stderr, flush=True)
        _settle()
    raise AssertionError("unreachable")


def problems(views: list[View], variants: list[str]) -> list[str]:
    """Real errors only; spread in the figures is none."""
    found = []
    for variant in variants:
        clicks = [item for item in views if item["variant"] == variant and item["kind"] == "click"]
        if not clicks:
            continue
        prerendered = sum(bool(item["prerendered"]) for item in clicks)
        speculated = sum(speculative(item) > 0 for item in clicks)
        if variant.startswith("prerender") and prerendered == 0:
            statuses = sorted({status for item in clicks for status in item["preload"]})
            found.append(f"{variant}: B was never prerendered in {len(clicks)} clicks (Chromium said: {statuses})")
        if variant == "none" and (prerendered or speculated):
            found.append(f"{variant}: speculation without rules ({prerendered} prerendered, {speculated} speculated)")
        asked = setup(variant)
        # Without the expects_no_vary_search hint, hovering a ?utm_source link does not
        # trigger a moderate list rule for the bare URL: nothing to speculate is the figure.
        unhinted = asked.query and not asked.nvs and asked.eagerness == "moderate"
        if variant != "none" and speculated == 0 and not unhinted:
            found.append(f"{variant}: no request with Sec-Purpose reached the server: nothing was speculated")
        for item in clicks:
            expected = unsaved(item) if asked.query and not asked.nvs else []
            if again := [target for target in rerequests(item) if target not in expected]:
                said = item["preload"]
                found.append(f"{variant}: view {item['id']} asked again after the click for {again} (Chromium: {said})")
            if item["fcp_after_click"] is None:
                found.append(f"{variant}: view {item['id']}: B's first-contentful-paint missing")
    return found


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # so every finally block stops what it started


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        print("chromium is missing: install the Debian package 'chromium' (make sysdeps)", file=sys.stderr)
        return 1
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    views: list[View] = []
    retried: list[str] = []  # views done again after a network change
    kinds: list[tuple[str, Pass]] = [(variant, "click") for variant in args.variants]
    kinds += [(variant, "leave") for variant in args.variants]
    if not args.quick:
        kinds += [(variant, "still") for variant in args.variants if variant.endswith("moderate")]
    flags = _flags(args.variants)
    with tempfile.TemporaryDirectory(prefix="bench-nextnav-") as folder:
        run = Path(folder)
        sizes = write_static(run / "static")
        tls = make_tls(run / "tls")
        try:
            with (
                _servers(args.variants, run, tls, args) as servers,
                Browser(executable, [f"--ignore-certificate-errors-spki-list={tls.spki_sha256}", *flags]) as browser,
            ):
                version = browser.version
                origins = {server.variant: server.origin for server in servers}
                if not args.quick:  # warm-up, not recorded: imports, first responses
                    for variant in args.variants:
                        _view(browser, variant, origins[variant], "click", args.idle, retried)
                for round_ in range(args.navigations):
                    shift = round_ % len(kinds)
                    for variant, kind in kinds[shift:] + kinds[:shift]:
                        views.append(_view(browser, variant, origins[variant], kind, args.idle, retried))
                    print(f"round {round_ + 1}/{args.navigations} done", file=sys.stderr, flush=True)
                time.sleep(1.0)  # the server logs a request once its response is closed
                _account(views, servers)
        except Exception as exc:  # a real error: say what failed, keep the logs
            logs = out / (_stem(args) + "-logs")
            shutil.copytree(run, logs, dirs_exist_ok=True, ignore=shutil.ignore_patterns("static", "tls"))
            print(f"error: {exc!r}\n(server logs copied to {logs})", file=sys.stderr)
            return 1
    config: dict[str, Any] = {
        "command": "python -m bench.nextnav " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rtt_ms": args.rtt,
        "mbps": args.mbps or None,
        "think_ms": args.think,
        "idle_s": args.idle,
        "hover_wait_s": 0.2,
        "bytes": {"/static/" + CSS: sizes[CSS], "/static/" + JS: sizes[JS]},
        "navigations_per_variant": args.navigations,
        "rules": "Firehose.speculate(action, eagerness=..., endpoints=('page_b',), blueprint='first')",
        "chromium": version,
        "flags": flags,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "views_done_again": retried,
        "interfaces": _interfaces(),  # ["lo"]: run in a network namespace of its own
    }
    summary = summarise(views, {variant: LABELS[variant] for variant in args.variants})
    title = (
        f"Next navigation A -> B, RTT {args.rtt:g} ms"
        + (f", {args.mbps:g} Mbit/s" if args.mbps else "")
        + f", think {args.think:g} ms, idle {args.idle:g} s, {args.navigations} clicks per variant"
        + f" ({version})"
    )
    report = table(summary, title)
    print(report)
    stem = out / _stem(args)
    stem.with_suffix(".txt").write_text(report + "\n")
    write_json(stem.with_suffix(".json"), config, views, summary)
    chart(stem.with_suffix(".png"), views, summary, title)
    if args.rst is not None:
        write_rst(args.rst, summary, config)
        print(f"wrote {args.rst}")
    print(f"wrote {stem}.txt, .json and .png in {config['seconds']} s")
    found = problems(views, args.variants)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if found else 0
