"""``python -m bench.pageload --page lcp``: the image-LCP page in headless Chromium.

A 60 kB render-blocking stylesheet, a 150 kB deferred script and a ~200 kB hero image
found late, in two forms (an ``<img>`` after 20 kB of markup; a CSS background that
only the stylesheet names), the view thinking 300 ms. Variants, one gunicorn each
(the bound shares lcp-nojs's), each behind a latency relay per network:

none      no Firehose
today     a 103 with the stylesheet and the script (``@early_hints``, as today)
lcp       a 103 with the stylesheet, the image (``as=image; fetchpriority=high``) and
          the script (``as=script; fetchpriority=low``), in the order Firehose sorts them
lcp-nojs  a 103 with the stylesheet and the image; the page finds the script
learned   ``Firehose(app)`` alone: after warm-up visits (lcp_learned.py), measured only
          where a plain HTTP/2 request's 103 then holds the image ("not learned" otherwise)
bound     lcp-nojs with the image already in the browser's cache: each context loads
          the page once, its connections are closed, then the measured navigation
          (fresh nonce for the page, stylesheet and script, the same image URL)

Networks: RTT alone and RTT with 10 Mbit/s (``--mbps 10``: that one only; ``--mbps 0``:
RTT alone). Navigations interleave round-robin over every (variant, form) cell, each
in a fresh context, after one unrecorded navigation per cell. Per navigation: FCP,
LCP (and which element), load, which files came from the 103, downloads per file
from the access log. Exit status 1 on real errors only (a 103 never used, or used
where none is sent, no HTTP/2, a missing paint), never on noisy figures or a missed goal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .lcp_app import write_files
from .lcp_browser import LcpNavigation, launch, measure, playwright
from .lcp_learned import hints_image, sent_103, warm_up
from .lcp_report import chart, goals, summarise, table, write_json
from .lcp_stack import SERVES, Network, Server, count_downloads, log_lines, make_tls, running_servers

__all__ = ["VARIANTS", "main"]

VARIANTS = ("none", "today", "lcp", "lcp-nojs", "learned", "bound")
FORMS = ["img", "bg"]
_SENDS_103 = {"today", "lcp", "lcp-nojs", "learned", "bound"}


def _variants(text: str | None) -> list[str]:
    if text is None:
        return list(VARIANTS)
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in VARIANTS]
    if unknown or not chosen:
        raise SystemExit(f"--variants with --page lcp takes names from {','.join(VARIANTS)}, not {text!r}")
    return [name for name in VARIANTS if name in chosen]


def _networks(args: argparse.Namespace) -> list[Network]:
    rtt = float(args.rtt)
    plain = Network(f"rtt{rtt:g}", rtt, None)
    if args.mbps is None:
        return [plain] if args.quick else [plain, Network(f"rtt{rtt:g}-10mbps", rtt, 10.0)]
    if args.mbps == 0:
        return [plain]
    return [Network(f"rtt{rtt:g}-{args.mbps:g}mbps", rtt, float(args.mbps))]


def _problems(navigations: list[LcpNavigation]) -> list[str]:
    found = []
    for cell in dict.fromkeys((nav["network"], nav["variant"], nav["form"]) for nav in navigations):
        runs = [nav for nav in navigations if (nav["network"], nav["variant"], nav["form"]) == cell]
        name = " ".join(cell)
        used = sum(any(nav["early"].values()) for nav in runs)
        if cell[1] in _SENDS_103 and used == 0:
            found.append(f"{name}: no navigation used the 103's hints (initiatorType 'early-hints')")
        if cell[1] not in _SENDS_103 and used:
            found.append(f"{name}: {used} navigations used early hints, but it sends no 103")
        if any(nav["protocol"] != "h2" for nav in runs):
            found.append(f"{name}: not all navigations used HTTP/2")
        if any(nav["fcp"] is None or nav["lcp"] is None for nav in runs):
            found.append(f"{name}: a paint (FCP or LCP) was not reported")
    return found


def _warnings(navigations: list[LcpNavigation]) -> list[str]:
    found = []
    twice = [nav for nav in navigations if any(count > 1 for count in nav["downloads"].values())]
    if twice:
        found.append(f"{len(twice)} navigations downloaded a file more than once (downloads in the JSON)")
    bound = [nav for nav in navigations if nav["variant"] == "bound"]
    if uncached := sum(nav["downloads"].get("img", 0) != 1 for nav in bound):
        found.append(f"bound: {uncached} of {len(bound)} navigations did not take the image from the cache")
    if reused := sum(nav["new_connections"] < 1 for nav in bound):
        found.append(f"bound: {reused} of {len(bound)} navigations reused the priming load's connection")
    if not_hero := sum("/static/hero.jpg" not in nav["lcp_url"] for nav in navigations):
        found.append(f"{not_hero} navigations reported an LCP element other than the hero")
    return found


def _count(navigations: list[LcpNavigation], servers: dict[str, Server], marks: list[int]) -> None:
    """Fill in each navigation's downloads from its server's access logs; *marks*:
    where the learned server's files log stood before each of its navigations,
    the unrecorded ones included."""
    every = {mode: [line for log in server.logs for line in log_lines(log)] for mode, server in servers.items()}
    files = {mode: log_lines(server.files_log) for mode, server in servers.items()}
    for nav in navigations:
        mode = SERVES[nav["variant"]]
        if nav["variant"] != "learned":
            nav["downloads"] = count_downloads(every[mode], nav["nonce"], nav["image_key"])
            continue
        # Stable URLs: what the files' log got from its start to the next one's.
        end = min((mark for mark in marks if mark > nav["log_mark"]), default=len(files[mode]))
        nav["downloads"] = count_downloads(files[mode][nav["log_mark"] : end], None, None)


def main(args: argparse.Namespace) -> int:
    if args.browser != "chromium":
        print("--page lcp runs in Chromium only (Firefox's LCP is not read by this bench)", file=sys.stderr)
        return 1
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        print("chromium is missing: install the Debian package 'chromium' (make sysdeps)", file=sys.stderr)
        return 1
    variants = _variants(args.variants)
    networks = _networks(args)
    rounds = args.navigations if args.navigations is not None else (2 if args.quick else 10)
    warm_visits = 1 if args.quick else 2
    modes = list(dict.fromkeys(SERVES[variant] for variant in variants))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    navigations: list[LcpNavigation] = []
    sent: dict[str, list[str] | None] = {}  # "network variant form" -> the 103's Link lines
    learning: dict[str, Any] = {}
    learned_marks: list[int] = []  # see _count
    with tempfile.TemporaryDirectory(prefix="bench-pageload-lcp-") as folder:
        run = Path(folder)
        sizes = write_files(run / "static", round(args.css_kb * 1000), round(args.js_kb * 1000))
        tls = make_tls(run / "tls")
        try:
            with (
                running_servers(modes, run, run / "static", tls, args.think / 1000, networks, args.front) as servers,
                playwright() as session,
            ):
                learned: dict[tuple[str, str], bool] = {}
                for network in networks:
                    for variant in variants:
                        for form in FORMS if variant not in ("bound", "learned") else ():
                            url = f"{servers[SERVES[variant]].url(network)}/{form}?n=check-103"
                            sent[f"{network.name} {variant} {form}"] = sent_103(url, tls.ca_file)
                if "learned" in variants:
                    for index, network in enumerate(networks):
                        server = servers["learned"]
                        done = warm_up(
                            session,
                            executable,
                            tls.spki_sha256,
                            server,
                            network,
                            FORMS,
                            warm_visits,
                            2 + 12 * len(FORMS) * index,
                        )
                        for form in FORMS:
                            links = sent_103(f"{server.url(network)}/{form}?n=check-103", tls.ca_file)
                            sent[f"{network.name} learned {form}"] = links
                            learned[(network.name, form)] = hints_image(links)
                        learning[network.name] = {
                            "visits": done.visits,
                            "clients": done.clients,
                            "reports_by_status": done.reports,
                            "learned": {form: learned[(network.name, form)] for form in FORMS},
                        }
                        verdicts = ", ".join(
                            f"{form}: {'learned' if learned[(network.name, form)] else 'not learned (skipped)'}"
                            for form in FORMS
                        )
                        print(
                            f"learned, {network.label}: {done.visits} warm-up visits from {len(done.clients)} clients,"
                            f" report POSTs by status {done.reports or 'none'}; {verdicts}"
                            f" ({time.monotonic() - started:.0f} s)",
                            file=sys.stderr,
                            flush=True,
                        )
                for key, links in sent.items():
                    print(f"103 {key}: {links}", file=sys.stderr, flush=True)
                with launch(session, executable, tls.spki_sha256) as browser:
                    for network in networks:
                        cells = [
                            (variant, form)
                            for variant in variants
                            for form in FORMS
                            if variant != "learned" or learned.get((network.name, form))
                        ]

                        def one(variant: str, form: str, network: Network = network) -> LcpNavigation:
                            server = servers[SERVES[variant]]
                            mark = 0
                            if variant == "learned":
                                mark = len(log_lines(server.files_log))
                                learned_marks.append(mark)
                            prime = server.gate if variant == "bound" else None
                            return measure(
                                browser,
                                network.name,
                                variant,
                                form,
                                server.url(network),
                                stable=variant == "learned",
                                log_mark=mark,
                                prime=prime,
                            )

                        for variant, form in cells:  # unrecorded: imports, first TLS sessions, page caches
                            one(variant, form)
                        for round_ in range(rounds):
                            shift = round_ % len(cells)
                            for variant, form in cells[shift:] + cells[:shift]:
                                navigations.append(one(variant, form))
                            elapsed = time.monotonic() - started
                            print(
                                f"{network.label}: round {round_ + 1}/{rounds} done ({elapsed:.0f} s)",
                                file=sys.stderr,
                                flush=True,
                            )
                time.sleep(0.5)  # the server logs a response once it is sent
                _count(navigations, servers, learned_marks)
        except Exception as exc:  # a real error: say what failed, keep the logs
            logs = out / "lcp-logs"
            shutil.copytree(run, logs, dirs_exist_ok=True, ignore=shutil.ignore_patterns("static", "tls"))
            print(f"error: {exc!r}\n(server logs copied to {logs})", file=sys.stderr)
            return 1
    from .run import _version

    config: dict[str, Any] = {
        "page": "lcp",
        "front": args.front,
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "networks": [{"name": n.name, "rtt_ms": n.rtt_ms, "mbps": n.mbps} for n in networks],
        "think_ms": args.think,
        "bytes": sizes,
        "variants": variants,
        "forms": FORMS,
        "navigations_per_cell": rounds,
        "sent_103_links": sent,
        "learning": learning,
        "browser": "chromium",
        "browser_version": _version(executable),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
    }
    title = (
        f"Image LCP page ({'gunicorn 27 alone' if args.front == 'gunicorn' else 'behind Caddy'}):"
        f" think {args.think:g} ms, CSS {sizes['css'] / 1000:.0f} kB, JS {sizes['js'] / 1000:.0f} kB"
        f" deferred, hero {sizes['img'] / 1000:.0f} kB; {rounds} navigations per cell ({config['browser_version']})"
    )
    rows = summarise(navigations)
    met = goals(rows, networks)
    report = table(rows, met, networks, title)
    skipped = [
        f"{network} {form}" for network, status in learning.items() for form, ok in status["learned"].items() if not ok
    ]
    if skipped:
        report += "\n\nlearned: not learned (skipped) in " + ", ".join(skipped)
    print(report)
    stem = out / (
        f"lcp-{args.front}-" + "-".join(network.name for network in networks) + ("-quick" if args.quick else "")
    )
    stem.with_suffix(".txt").write_text(report + "\n")
    write_json(stem.with_suffix(".json"), config, navigations, rows, met)
    chart(stem.with_suffix(".png"), navigations, [v for v in variants], networks, title)
    print(f"wrote {stem}.txt, .json and .png in {config['seconds']} s")
    for warning in _warnings(navigations):
        print(f"warning: {warning}", file=sys.stderr)
    problems = _problems(navigations)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0
