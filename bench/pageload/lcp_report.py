"""Summaries of the image-LCP navigations: a text table, the goals, JSON and a PNG chart."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .lcp_app import FILES
from .lcp_browser import LcpNavigation
from .lcp_stack import Network
from .report import METRICS, _cell, _downloads, _spread

__all__ = ["GOAL_VARIANTS", "chart", "goals", "summarise", "table", "write_json"]

GOAL_VARIANTS = ("lcp", "learned")
_RTT_SLACK_MS = 30  # LCP within 30 ms of the bound with no bandwidth cap
_CAPPED_SLACK = 0.10  # within 10% of it with one


def summarise(navigations: Sequence[LcpNavigation]) -> list[dict[str, Any]]:
    """One row per (network, form, variant), in the order they first appear."""
    cells = list(dict.fromkeys((nav["network"], nav["form"], nav["variant"]) for nav in navigations))
    cells.sort(key=lambda cell: (cell[0], cell[1]))  # stable: variants keep the run's order
    rows = []
    for network, form, variant in cells:
        runs = [nav for nav in navigations if (nav["network"], nav["form"], nav["variant"]) == (network, form, variant)]
        row: dict[str, Any] = {"network": network, "form": form, "variant": variant, "n": len(runs)}
        for metric in METRICS:
            found = [float(v) for nav in runs if (v := nav[metric]) is not None]
            row[metric] = _spread(found) if found else None
        row["early"] = {name: sum(nav["early"][name] for nav in runs) for name in FILES}
        row["downloads"] = {name: [nav["downloads"].get(name, 0) for nav in runs] for name in FILES}
        row["lcp_is_hero"] = sum("/static/hero.jpg" in nav["lcp_url"] for nav in runs)
        row["ttfb"] = _spread([nav["ttfb"] for nav in runs])
        rows.append(row)
    return rows


def goals(rows: list[dict[str, Any]], networks: list[Network]) -> list[dict[str, Any]]:
    """For lcp and learned, per network and form: median LCP against the bound's."""
    capped = {network.name: bool(network.mbps) for network in networks}
    found = []
    for row in rows:
        if row["variant"] not in GOAL_VARIANTS or row["lcp"] is None:
            continue
        bound = next(
            (r for r in rows if r["variant"] == "bound" and (r["network"], r["form"]) == (row["network"], row["form"])),
            None,
        )
        if bound is None or bound["lcp"] is None:
            continue
        gap = row["lcp"]["median"] - bound["lcp"]["median"]
        allowed = bound["lcp"]["median"] * _CAPPED_SLACK if capped.get(row["network"]) else _RTT_SLACK_MS
        found.append(
            {
                "network": row["network"],
                "form": row["form"],
                "variant": row["variant"],
                "lcp": row["lcp"]["median"],
                "bound": bound["lcp"]["median"],
                "gap_ms": gap,
                "allowed_ms": allowed,
                "met": gap <= allowed,
            }
        )
    return found


def table(rows: list[dict[str, Any]], met: list[dict[str, Any]], networks: list[Network], title: str) -> str:
    """Medians with [p25-p75] in ms; files used from the 103 (css js img, of n); downloads
    per file per navigation; how often the LCP entry was the hero; then the goals."""
    labels = {network.name: network.label for network in networks}
    head = f"{'network':<22}{'form':<5}{'variant':<10}{'n':>3}"
    head += "".join(f"{name + ' med [p25-p75]':>24}" for name in ("FCP", "LCP", "load"))
    head += f"{'via 103 css/js/img':>20}{'downloads c/j/i':>17}{'LCP=hero':>10}"
    lines = [title, head, "-" * len(head)]
    for row in rows:
        cells = f"{labels.get(row['network'], row['network']):<22}{row['form']:<5}{row['variant']:<10}{row['n']:>3}"
        cells += "".join(f"{_cell(row[metric]):>24}" for metric in METRICS)
        early = "/".join(str(row["early"][name]) for name in FILES)
        downloads = " ".join(_downloads(row["downloads"][name]) for name in FILES)
        lines.append(f"{cells}{early:>20}{downloads:>17}{row['lcp_is_hero']:>7}/{row['n']}")
    lines.append(
        "via 103: navigations whose file came from the 103 (Resource Timing initiatorType 'early-hints');"
        " downloads: times the server sent each file per navigation (min-max; bound's image: the priming load)."
    )
    if met:
        lines += ["", "goals: LCP within 30 ms of the bound (no cap), within 10% of it (capped)"]
        for goal in met:
            verdict = "met" if goal["met"] else "MISSED"
            lines.append(
                f"  {labels.get(goal['network'], goal['network']):<22}{goal['form']:<5}{goal['variant']:<10}"
                f"LCP {goal['lcp']:.0f} vs bound {goal['bound']:.0f}: {goal['gap_ms']:+.0f} ms"
                f" (allowed +{goal['allowed_ms']:.0f}) {verdict}"
            )
    return "\n".join(lines)


def write_json(path: Path, config: dict[str, Any], navigations: Sequence[LcpNavigation], rows: Any, met: Any) -> None:
    document = {"config": config, "summary": rows, "goals": met, "navigations": navigations}
    path.write_text(json.dumps(document, indent=2) + "\n")


def chart(
    path: Path, navigations: Sequence[LcpNavigation], variants: list[str], networks: list[Network], title: str
) -> None:
    """One panel per (form, network): LCP per variant as a box (p25-p75, whiskers
    min-max) with its points and median, the bound's median as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    forms = [form for form in ("img", "bg") if any(nav["form"] == form for nav in navigations)]
    shown = [network for network in networks if any(nav["network"] == network.name for nav in navigations)]
    figure, axes = plt.subplots(
        len(forms), len(shown), figsize=(6.5 * len(shown), 0.55 * len(variants) * len(forms) + 2), squeeze=False
    )
    for i, form in enumerate(forms):
        for j, network in enumerate(shown):
            ax = axes[i][j]
            data = [
                [
                    float(v)
                    for nav in navigations
                    if (nav["network"], nav["form"], nav["variant"]) == (network.name, form, variant)
                    and (v := nav["lcp"]) is not None
                ]
                for variant in variants
            ]
            present = [(variant, points) for variant, points in zip(variants, data, strict=True) if points]
            if not present:
                ax.set_visible(False)
                continue
            ax.boxplot(
                [points for _, points in present],
                vert=False,
                whis=(0, 100),
                widths=0.6,
                medianprops={"color": "black", "linewidth": 2},
            )
            for row, (variant, points) in enumerate(present, start=1):
                ax.scatter(points, [row] * len(points), s=12, alpha=0.45, color="tab:blue", zorder=3)
                median = statistics.median(points)
                ax.annotate(f"{median:.0f}", (median, row - 0.42), ha="center", fontsize=9, fontweight="bold")
                if variant == "bound":
                    ax.axvline(median, color="tab:green", linestyle="--", linewidth=1)
            ax.set_yticks(range(1, len(present) + 1), [variant for variant, _ in present])
            ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.3)
            name = "<img> after 20 kB" if form == "img" else "CSS background"
            ax.set_title(f"LCP (ms), {name}, {network.label}", fontsize=10)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
