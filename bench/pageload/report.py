"""Summaries of the navigations: a text table, JSON and a PNG chart."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from .app import CSS, JS, XCSS
from .browser import Navigation

__all__ = ["METRICS", "chart", "summarise", "table", "write_json"]

Metric = Literal["fcp", "lcp", "load"]
METRICS: tuple[Metric, ...] = ("fcp", "lcp", "load")
_NAMES = {"fcp": "FCP", "lcp": "LCP", "load": "load event"}


def _spread(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    if len(ordered) == 1:
        p25 = p75 = ordered[0]
    else:
        p25, _, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
    return {
        "median": statistics.median(ordered),
        "p25": p25,
        "p75": p75,
        "min": ordered[0],
        "max": ordered[-1],
    }


def values(navigations: Sequence[Navigation], key: str, metric: Metric) -> list[float]:
    """The *metric* of each navigation of variant *key* that reported it."""
    return [float(v) for nav in navigations if nav["variant"] == key and (v := nav[metric]) is not None]


def summarise(navigations: Sequence[Navigation], labels: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per variant: n, the spread of each metric, early-hint use and downloads per file."""
    summary: dict[str, dict[str, Any]] = {}
    for key, label in labels.items():
        runs = [nav for nav in navigations if nav["variant"] == key]
        if not runs:
            continue
        row: dict[str, Any] = {"label": label, "n": len(runs)}
        for metric in METRICS:
            found = values(runs, key, metric)
            row[metric] = _spread(found) if found else None
        row["early"] = {name: sum(nav["early"][name] for nav in runs) for name in (CSS, JS)}
        row["downloads"] = {name: [nav["downloads"].get(name, 0) for nav in runs] for name in (CSS, JS)}
        row["finished"] = {name: _finished(runs, name) for name in (CSS, JS)}
        if xorigin := _xorigin(runs):
            row["xorigin"] = xorigin
        summary[key] = row
    return summary


def _xorigin(runs: Sequence[Navigation]) -> dict[str, Any] | None:
    """The second origin's stylesheet over *runs*: how many navigations set up no new
    connection for it (``connectStart == connectEnd``), and spreads in ms of its
    connection setup (connectEnd - connectStart), its TLS part (connectEnd -
    secureConnectionStart), its request's wait (requestStart - startTime) and when
    it was done (responseEnd, from the navigation's start)."""
    found = [x for nav in runs if (x := nav.get("xorigin")) is not None]
    if not found:
        return None
    connect = [x["connect_end"] - x["connect_start"] for x in found]
    tls = [x["connect_end"] - x["secure_start"] if x["secure_start"] > 0 else 0.0 for x in found]
    return {
        "n": len(found),
        "no_new_connection": sum(value == 0 for value in connect),
        "connect": _spread(connect),
        "tls": _spread(tls),
        "wait": _spread([x["request_start"] - x["start"] for x in found]),
        "start": _spread([x["start"] for x in found]),
        "done": _spread([x["response_end"] for x in found]),
    }


def _finished(runs: Sequence[Navigation], name: str) -> dict[str, float] | None:
    """The spread of "server finished *name* minus finished the page" (ms) over *runs*."""
    found = [v for nav in runs if (v := nav.get("finished", {}).get(name)) is not None]
    return _spread(found) if found else None


def table(summary: dict[str, dict[str, Any]], title: str) -> str:
    """Medians with [p25-p75] in ms, hinted files used from the 103, downloads per navigation,
    and the median of when the server finished each hinted file minus when it finished the page."""
    head = f"{'variant':<27}{'n':>3}" + "".join(f"{_NAMES[m] + ' med [p25-p75]':>28}" for m in METRICS)
    head += f"{'css/js via 103':>16}{'css/js downloads':>18}{'css/js done-page ms':>22}"
    lines = [title, head, "-" * len(head)]
    for row in summary.values():
        cells = f"{row['label']:<27}{row['n']:>3}"
        for metric in METRICS:
            cells += f"{_cell(row[metric]):>28}"
        early = f"{row['early'][CSS]}/{row['n']} {row['early'][JS]}/{row['n']}"
        downloads = " ".join(_downloads(row["downloads"][name]) for name in (CSS, JS))
        finished = " ".join(_median(row["finished"][name]) for name in (CSS, JS))
        lines.append(f"{cells}{early:>16}{downloads:>18}{finished:>22}")
    lines.append(
        "css/js done-page: median over navigations of (server finished sending the file) minus"
        " (server finished sending the page), from the access logs; negative = done during the think time."
    )
    crossing = {key: row for key, row in summary.items() if "xorigin" in row}
    if crossing:
        lines += ["", f"cross-origin stylesheet ({XCSS} from https://localhost:PORT, own relay, same RTT; not hinted)"]
        head = f"{'variant':<27}{'no new conn':>12}" + "".join(
            f"{name + ' med [p25-p75]':>28}" for name in ("connect", "TLS", "fetched at", "request wait", "done at")
        )
        lines += [head, "-" * len(head)]
        for row in crossing.values():
            x = row["xorigin"]
            cells = f"{row['label']:<27}{str(x['no_new_connection']) + '/' + str(x['n']):>12}"
            cells += "".join(f"{_cell(x[name]):>28}" for name in ("connect", "tls", "start", "wait", "done"))
            lines.append(cells)
        lines.append(
            "Resource Timing of the cross-origin entry (Timing-Allow-Origin: *), ms: connect = connectEnd -"
            " connectStart (0: no new connection set up for it), TLS = connectEnd - secureConnectionStart,"
            " fetched at = startTime, request wait = requestStart - startTime, done at = responseEnd."
            " The relay delays data, not the TCP handshake: a new connection costs TLS's round trip only."
        )
    return "\n".join(lines)


def _median(spread: dict[str, float] | None) -> str:
    return f"{spread['median']:+.0f}" if spread else "-"


def _cell(spread: dict[str, float] | None) -> str:
    return f"{spread['median']:.0f} [{spread['p25']:.0f}-{spread['p75']:.0f}]" if spread else "-"


def _downloads(counts: list[int]) -> str:
    """``1`` when every navigation downloaded the file once; else ``min-max``."""
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}-{high}"


def write_json(path: Path, config: dict[str, Any], navigations: Sequence[Navigation], summary: Any) -> None:
    path.write_text(json.dumps({"config": config, "summary": summary, "navigations": navigations}, indent=2) + "\n")


def chart(path: Path, navigations: Sequence[Navigation], labels: dict[str, str], title: str) -> None:
    """One panel per metric: a box (p25-p75, whiskers min-max) and the points, per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [key for key in labels if any(nav["variant"] == key for nav in navigations)]
    # Firefox reports no LCP: leave out a panel no variant has a value for.
    shown = [metric for metric in METRICS if any(values(navigations, key, metric) for key in keys)]
    panels = len(shown) + 1  # and the server-side finish of the hinted files
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 5.2), sharey=True, squeeze=False)
    _finish_panel(axes[0][-1], navigations, keys)
    for ax, metric in zip(axes[0][:-1], shown, strict=True):
        data = [values(navigations, key, metric) for key in keys]
        ax.boxplot(data, vert=False, whis=(0, 100), widths=0.6, medianprops={"color": "black", "linewidth": 2})
        for row, points in enumerate(data, start=1):
            ax.scatter(points, [row] * len(points), s=12, alpha=0.45, color="tab:blue", zorder=3)
            if points:
                median = statistics.median(points)
                ax.annotate(
                    f"{median:.0f}",
                    (median, row - 0.42),
                    ha="center",
                    fontsize=9,
                    fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
                )
        ax.set_title(_NAMES[metric] + " (ms)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("ms after navigation start")
    axes[0][0].set_yticks(range(1, len(keys) + 1), [labels[key] for key in keys])
    axes[0][0].invert_yaxis()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _finish_panel(ax: Any, navigations: Sequence[Navigation], keys: list[str]) -> None:
    """Per variant: when the server finished each hinted file minus when it finished the page."""
    for offset, name, color in ((-0.15, CSS, "tab:orange"), (0.15, JS, "tab:green")):
        for row, key in enumerate(keys, start=1):
            points = [
                v for nav in navigations if nav["variant"] == key and (v := nav["finished"].get(name)) is not None
            ]
            ax.scatter(
                points, [row + offset] * len(points), s=12, alpha=0.5, color=color, label=name if row == 1 else None
            )
            if points:
                ax.annotate(
                    f"{statistics.median(points):+.0f}",
                    (statistics.median(points), row + offset),
                    xytext=(0, 5 if offset < 0 else -12),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                    color=color,
                )
    ax.axvline(0, color="black", linewidth=1)
    ax.set_title("server: file done - page done (ms)")
    ax.set_xlabel("< 0: sent during the think time")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
