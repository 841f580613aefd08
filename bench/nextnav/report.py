"""Accounting and reports of the next-navigation benchmark: a text table, JSON,
a PNG chart and a reStructuredText fragment for the docs."""

from __future__ import annotations

import json
import statistics
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .app import TRACKING
from .views import View

__all__ = [
    "after_click",
    "chart",
    "rerequests",
    "rst",
    "speculative",
    "summarise",
    "table",
    "unsaved",
    "waste",
    "write_json",
    "write_rst",
]

NOT_WASTE = ("/a", "/favicon.ico")  # what a view of A needs anyway
B, HIT = "/b", "/hit"  # B's document; the request B's inline (analytics) script makes


def _path(entry: dict[str, Any]) -> str:
    return str(entry["target"]).split("?")[0]


def _same(target: str) -> str:
    """*target* without the tracking parameter the query variants' link adds: what a
    speculation of the bare URL could have served."""
    path, _, query = target.partition("?")
    kept = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True) if name != TRACKING]
    return path + (f"?{urlencode(kept)}" if kept else "")


def rerequests(item: View) -> list[str]:
    """Targets the server was asked for after the click that the view had already asked
    for before it (favicon aside), the tracking parameter aside: the second request for
    ``/b?utm_source=bench`` after a prefetch of ``/b`` is one, a request the speculation
    failed to save."""
    click = item["click_wall"]
    if click is None:
        return []
    before = {_same(entry["target"]) for entry in item["requests"] if entry["start"] < click}
    return [target for target in after_click(item) if _same(target) in before]


def unsaved(item: View) -> list[str]:
    """The re-requests (:func:`rerequests`) for B's document with a query the
    speculated URL did not have: what a B without No-Vary-Search costs the query
    click. Only these are expected, and only where B declares none."""
    return [target for target in rerequests(item) if "?" in target and target.split("?")[0] == B]


def after_click(item: View) -> list[str]:
    """Targets the server was asked for after the click (favicon aside)."""
    click = item["click_wall"]
    if click is None:
        return []
    return [e["target"] for e in item["requests"] if e["start"] >= click and _path(e) != "/favicon.ico"]


def waste(item: View) -> dict[str, int]:
    """What a view cost beyond A itself: requests, bytes of their bodies, B's thinks,
    and B's analytics hits (its inline script ran)."""
    extra = [entry for entry in item["requests"] if _path(entry) not in NOT_WASTE]
    return {
        "requests": len(extra),
        "bytes": sum(int(entry["bytes"]) for entry in extra),
        "b_thinks": sum(_path(entry) == B for entry in extra),
        "hits": sum(_path(entry) == HIT for entry in extra),
    }


def hits_before_click(item: View) -> int:
    """B's analytics hits that reached the server before the user clicked: its script
    ran while B was prerendering."""
    click = item["click_wall"]
    return 0 if click is None else sum(_path(e) == HIT and e["start"] < click for e in item["requests"])


def speculative(item: View) -> int:
    """Requests of the view that carried ``Sec-Purpose`` (prefetch, prefetch;prerender)."""
    return sum(bool(entry["purpose"]) for entry in item["requests"])


def _spread(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        p25 = p75 = ordered[0]
    else:
        p25, _, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
    return {"median": statistics.median(ordered), "p25": p25, "p75": p75, "min": ordered[0], "max": ordered[-1]}


def _waste(views: Sequence[View]) -> dict[str, Any] | None:
    if not views:
        return None
    costs = [waste(item) for item in views]
    return {
        "n": len(views),
        "requests": statistics.median(cost["requests"] for cost in costs),
        "kB": statistics.median(cost["bytes"] for cost in costs) / 1000,
        "b_thinks": statistics.mean(cost["b_thinks"] for cost in costs),
        "hits": statistics.mean(cost["hits"] for cost in costs),
        "speculative": sum(speculative(item) for item in views),
    }


def summarise(views: Sequence[View], labels: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per variant: spreads of B's FCP after the click, prerenders, what was asked after
    the click, and the waste of views without a click (with and without hover)."""
    summary: dict[str, dict[str, Any]] = {}
    for variant, label in labels.items():
        mine = [item for item in views if item["variant"] == variant]
        clicks = [item for item in mine if item["kind"] == "click"]
        if not clicks:
            continue
        deliveries: dict[str, int] = {}
        for item in clicks:
            deliveries[item["delivery"] or "(network)"] = deliveries.get(item["delivery"] or "(network)", 0) + 1
        after = [len(after_click(item)) for item in clicks]
        statuses: dict[str, int] = {}
        for item in clicks:
            for status in item["preload"]:
                statuses[status] = statuses.get(status, 0) + 1
        summary[variant] = {
            "label": label,
            "n": len(clicks),
            "fcp_after_click": _spread([v for item in clicks if (v := item["fcp_after_click"]) is not None]),
            "fcp_vitals": _spread([v for item in clicks if (v := item["fcp_vitals"]) is not None]),
            "click_to_start": _spread([v for item in clicks if (v := item["click_to_start"]) is not None]),
            "prerendered": sum(bool(item["prerendered"]) for item in clicks),
            "delivery": deliveries,
            "preload": statuses,  # Chromium's last Preload status of each speculation, over the clicks
            "after_click": {
                "min": min(after),
                "max": max(after),
                "targets": sorted({t for i in clicks for t in after_click(i)}),
            },
            "rerequests": sum(len(rerequests(item)) for item in clicks),
            "unsaved": sum(len(unsaved(item)) for item in clicks),
            "hits_before_click": sum(hits_before_click(item) for item in clicks),
            "click_waste": _waste(clicks),
            "leave": _waste([item for item in mine if item["kind"] == "leave"]),
            "still": _waste([item for item in mine if item["kind"] == "still"]),
        }
    return summary


def _cell(spread: dict[str, float] | None) -> str:
    return f"{spread['median']:.0f} [{spread['p25']:.0f}-{spread['p75']:.0f}]" if spread else "-"


def _range(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def _cost(found: dict[str, Any] | None) -> str:
    if found is None:
        return "-"
    return f"{found['requests']:g} / {found['kB']:.1f} kB / {found['b_thinks']:.2g} / {found['hits']:.2g}"


def table(summary: dict[str, dict[str, Any]], title: str) -> str:
    """Medians with [p25-p75] in ms; counts over the click views; waste medians per view."""
    width = max([len("variant"), *(len(row["label"]) for row in summary.values())]) + 2
    head = (
        f"{'variant':<{width}}{'n':>3}{'FCP after click':>18}{'web-vitals FCP':>18}{'prerendered':>13}"
        f"{'hit early':>11}{'asked after':>13}{'re-asked':>10}{'no click, hover: req / kB / B / hit':>38}"
        f"{'no hover':>28}"
    )
    lines = [title, head, "-" * len(head)]
    for row in summary.values():
        n = row["n"]
        lines.append(
            f"{row['label']:<{width}}{n:>3}{_cell(row['fcp_after_click']):>18}{_cell(row['fcp_vitals']):>18}"
            f"{str(row['prerendered']) + '/' + str(n):>13}{str(row['hits_before_click']) + '/' + str(n):>11}"
            f"{_range(row['after_click']['min'], row['after_click']['max']):>13}{row['rerequests']:>10}"
            f"{_cost(row['leave']):>38}{_cost(row['still']):>28}"
        )
    lines += [
        "FCP after click: B.timeOrigin + max(FCP, activationStart) - (A.timeOrigin + click event's timeStamp), ms.",
        "web-vitals FCP: max(FCP - activationStart, 0), from B's navigation start (the activation when prerendered).",
        "hit early: clicks where B's analytics script (GET /hit) ran before the click, while B was prerendering.",
        "asked after: requests the server got after the click (range over views); re-asked: of those, targets the",
        "view had already asked for before the click, utm_source aside (must be 0, but for the ?utm_source click",
        "to a B without No-Vary-Search: the document the prefetch failed to save). No click: per view of A left",
        "without a click (hover, or no hover for the moderate variants): requests beyond A itself / their body",
        "bytes / B's thinks / B's analytics hits (medians; thinks and hits means), from the server's log.",
    ]
    return "\n".join(lines)


def write_json(path: Path, config: dict[str, Any], views: Sequence[View], summary: Any) -> None:
    path.write_text(json.dumps({"config": config, "summary": summary, "views": views}, indent=2) + "\n")


def chart(path: Path, views: Sequence[View], summary: dict[str, dict[str, Any]], title: str) -> None:
    """B's FCP after the click per variant (box p25-p75, whiskers min-max, points), and
    the waste per view without a click (kB, with and without hover)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(summary)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    data = [
        [v for item in views if item["variant"] == key and (v := item["fcp_after_click"]) is not None] for key in keys
    ]
    left.boxplot(data, vert=False, whis=(0, 100), widths=0.6, medianprops={"color": "black", "linewidth": 2})
    for row, points in enumerate(data, start=1):
        left.scatter(points, [row] * len(points), s=12, alpha=0.45, color="tab:blue", zorder=3)
        if points:
            median = statistics.median(points)
            left.annotate(f"{median:.0f}", (median, row - 0.42), ha="center", fontsize=9, fontweight="bold")
    left.set_yticks(range(1, len(keys) + 1), [summary[key]["label"] for key in keys])
    left.invert_yaxis()
    left.set_xlim(left=0)
    left.set_xlabel("B's first contentful paint after the click (ms)")
    left.grid(axis="x", alpha=0.3)
    for offset, kind, color in ((-0.2, "leave", "tab:orange"), (0.2, "still", "tab:green")):
        found = [(row, cost["kB"]) for row, key in enumerate(keys, start=1) if (cost := summary[key][kind])]
        if found:
            label = "no click, hovered" if kind == "leave" else "no click, no hover"
            right.barh(
                [row + offset for row, _ in found], [kb for _, kb in found], height=0.4, color=color, label=label
            )
    right.set_yticks(range(1, len(keys) + 1), ["" for _ in keys])
    right.invert_yaxis()
    right.set_xlabel("waste per view of A without a click (kB, median)")
    right.grid(axis="x", alpha=0.3)
    right.legend(loc="lower right", fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _span(low: float, high: float) -> str:
    return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}"


def _wrap(lines: list[str]) -> list[str]:
    """Long prose lines wrapped at 110 columns; indented (literal) lines kept."""
    wrapped: list[str] = []
    for line in lines:
        if line.startswith(" ") or len(line) <= 110:
            wrapped.append(line)
        else:
            wrapped += textwrap.wrap(line, 110, break_on_hyphens=False, break_long_words=False)
    return wrapped


#: In the docs' figures file, the line after which the prose is written by hand:
#: :func:`write_rst` rewrites what is above it and keeps the rest.
READING = ".. The reading of these figures, below, is written by hand: --rst rewrites only what is above."


def write_rst(path: Path, summary: dict[str, dict[str, Any]], config: dict[str, Any]) -> None:
    """Write :func:`rst`'s fragment to *path*, keeping the hand-written reading that
    follows :data:`READING` in the file already there."""
    kept = ""
    if path.exists():
        old = path.read_text()
        if READING in old.splitlines():
            kept = old[old.index(READING) :]
    path.write_text(rst(summary, config) + (f"\n{kept}" if kept else ""))


def rst(summary: dict[str, dict[str, Any]], config: dict[str, Any]) -> str:
    """The figures as a reStructuredText fragment (no title: it is included in a page)."""
    rows = [
        [
            "Variant",
            "B's FCP after the click, ms (median [p25-p75])",
            "web-vitals FCP (FCP - activationStart), ms (median)",
            "Prerendered",
            "B's script ran before the click",
            "Requests after the click / for something already speculated",
            "Per view of A without a click, hovered: requests / kB / B's thinks / B's analytics hits",
            "Same, no hover",
        ]
    ]
    for row in summary.values():
        vitals = row["fcp_vitals"]
        after = row["after_click"]
        rows.append(
            [
                row["label"],
                _cell(row["fcp_after_click"]),
                f"{vitals['median']:.0f}" if vitals else "-",
                f"{row['prerendered']}/{row['n']}",
                f"{row['hits_before_click']}/{row['n']}",
                f"{_range(after['min'], after['max'])} / {row['rerequests']}",
                _cost(row["leave"]),
                _cost(row["still"]),
            ]
        )
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in rows:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    bandwidth = f", {config['mbps']:g} Mbit/s each way" if config.get("mbps") else ""
    own = config.get("interfaces") == ["lo"]
    namespace = " in a network namespace of its own (loopback only)," if own else ""
    again = len(config.get("views_done_again", []))
    redone = (
        f" {again} views were done again because the machine's network changed under them"
        " (Chromium then drops its connections and speculations)."
        if again
        else ""
    )
    command = config["command"].strip().replace("python -m", ".venv/bin/python -m", 1)
    if own:
        command = f"unshare --net sh -c 'ip link set lo up && exec {command}'"
    css, js = (config["bytes"][key] / 1000 for key in sorted(config["bytes"]))
    starts = [v["click_to_start"]["median"] for v in summary.values() if v.get("click_to_start")]
    lines += [
        "",
        "A dash: not measured (an immediate rule does not wait for the pointer). kB: response bodies.",
        "",
        f"Measured with {config['chromium']} (headless, driven over the DevTools protocol through the tab target)"
        f" on {config['date'][:10]},{namespace} through a latency relay adding {config['rtt_ms']:g} ms of round-trip"
        f" time{bandwidth}. Each variant is its own gunicorn (one worker, TLS and HTTP/2); each page's view thinks"
        f" {config['think_ms']:g} ms; B has a {css:.0f} kB stylesheet and a {js:.0f} kB deferred script, both in"
        " its 103 Early Hints (gunicorn serves the streams of a connection one after another, so without rules they"
        " go out after B's HTML), and ends with an inline script that asks for ``/hit`` (204), as analytics would."
        " The user loads A, points at the link, waits"
        f" {config['hover_wait_s'] * 1000:g} ms + {config['idle_s']:g} s, then clicks (or leaves);"
        f" {config['navigations_per_variant']} clicks per variant and as many views left without a click,"
        f" interleaved, each in a fresh browser context. Rules: ``{config['rules']}``. In the ``?utm_source``"
        " variants A's link is ``/b?utm_source=bench`` while the rule lists ``/b``; in the ``+ NVS`` ones B's view"
        ' is declared with ``@no_vary_search(ignore=["utm_source"])``: it answers with'
        ' ``No-Vary-Search: params=("utm_source")`` and the rule carries the same value as'
        " ``expects_no_vary_search``."
        + (f" Chromium ran with ``{' '.join(flags)}`` for the whole run." if (flags := config.get("flags")) else "")
        + f"{redone} Command::",
        "",
        f"    {command}",
        "",
        "B's FCP after the click is ``B.timeOrigin + max(FCP, activationStart)`` minus the click event's time in A"
        " (``A.timeOrigin + event.timeStamp``): the whole navigation as the user sees it; a paint made while B was"
        " prerendering was not on screen, so it counts from the activation."
        + (
            " The click's own handling, from the click to B's navigation start or activation, took"
            f" {_span(min(starts), max(starts))} ms (medians)."
            if starts
            else ""
        )
        + " The web-vitals figure counts from B's navigation start, which is the activation for a prerendered B."
        " Requests and bytes come from the server's own log (bodies only, no headers or TLS), attributed to each view"
        " by a cookie; anything a view of A asked for beyond A itself (and /favicon.ico) is waste, the rules"
        " resource included (served with a one-year max-age: a returning visitor has it cached). A request after"
        " the click for a target the view had already asked for, ``utm_source`` aside, is one the speculation"
        " failed to save: an error, but for the ``?utm_source`` click to a B without No-Vary-Search, where it is"
        " the figure.",
        "",
    ]
    return "\n".join(_wrap(lines))
