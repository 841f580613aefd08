"""The next-navigation benchmark's own parts (bench/nextnav/app.py, report.py, run.py):
what each variant's app serves (the rules A carries, B's No-Vary-Search, A's link),
and the accounting that tells a request the speculation failed to save from a
benchmark error. The benchmark itself runs in Chromium as CI's smoke run
(``python -m bench.nextnav --quick``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bench.nextnav.app import create_app
from bench.nextnav.report import READING, rerequests, summarise, unsaved, waste, write_rst
from bench.nextnav.run import _flags, problems
from bench.nextnav.views import View
from bench.pageload.app import write_static

pytestmark = pytest.mark.integration

NVS = 'params=("utm_source")'


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nextnav") / "static"
    write_static(folder)
    return folder


def _client(static: Path, monkeypatch: pytest.MonkeyPatch, variant: str) -> FlaskClient:
    monkeypatch.setenv("BENCH_NEXTNAV_RULES", variant)
    monkeypatch.setenv("BENCH_NEXTNAV_STATIC", str(static))
    monkeypatch.setenv("BENCH_NEXTNAV_THINK", "0")
    monkeypatch.delenv("BENCH_NEXTNAV_LOG", raising=False)
    client = create_app().test_client()
    client.set_cookie("bench_view", "view1")  # as in the benchmark: every request carries it
    return client


def _rules(client: FlaskClient) -> dict[str, Any]:
    """A's rules, from the resource its ``Speculation-Rules`` header names."""
    page = client.get("/a", headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
    assert page.status_code == 200
    target = json.loads(page.headers["Speculation-Rules"])  # an sf-string: a quoted path
    resource = client.get(target)
    assert resource.status_code == 200
    assert resource.headers["Content-Type"] == "application/speculationrules+json"
    rules: dict[str, Any] = resource.get_json(force=True)
    return rules


def _href(client: FlaskClient) -> str:
    html = client.get("/a").get_data(as_text=True)
    return html.split('id="next" href="', 1)[1].split('"', 1)[0]


def test_a_visitor_with_the_bench_cookie_still_gets_the_prerender_rule(
    static: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a cookie, Firehose's default counts the visitor as signed in and turns
    # prerender into prefetch; the bench's app declares its visitors anonymous.
    rules = _rules(_client(static, monkeypatch, "prerender-moderate"))
    assert rules["prerender"] == [{"source": "list", "urls": ["/b"], "eagerness": "moderate"}]
    assert "prefetch" not in rules


def test_prerender_until_script_comes_with_its_prefetch_twin(static: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _rules(_client(static, monkeypatch, "prerender_until_script-immediate"))
    assert rules["prerender_until_script"] == [{"source": "list", "urls": ["/b"], "eagerness": "immediate"}]
    assert rules["prefetch"] == [{"source": "list", "urls": ["/b"], "eagerness": "immediate"}]
    assert "prerender" not in rules


@pytest.mark.parametrize(
    ("variant", "declared"), [("query-prefetch-immediate", False), ("query-nvs-prefetch-moderate", True)]
)
def test_the_query_click_links_to_a_tracking_url_and_the_rule_lists_the_bare_one(
    static: Path, monkeypatch: pytest.MonkeyPatch, variant: str, declared: bool
) -> None:
    client = _client(static, monkeypatch, variant)
    assert _href(client) == "/b?utm_source=bench"
    (rule,) = _rules(client)["prefetch"]
    assert rule["urls"] == ["/b"]
    assert rule.get("expects_no_vary_search") == (NVS if declared else None)
    b = client.get("/b?utm_source=bench")
    assert b.status_code == 200
    assert b.headers.get("No-Vary-Search") == (NVS if declared else None)
    assert "fetch('/hit')" in b.get_data(as_text=True)
    assert client.get("/hit").status_code == 204


def test_the_other_variants_link_to_the_bare_url(static: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(static, monkeypatch, "prefetch-immediate")
    assert _href(client) == "/b"
    assert "No-Vary-Search" not in client.get("/b").headers


def test_an_unknown_variant_is_refused_by_name(static: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="'query-prerender-immediate'"):
        _client(static, monkeypatch, "query-prerender-immediate")


def test_only_a_run_with_prerender_until_script_turns_its_feature_on() -> None:
    assert _flags(["prefetch-immediate", "prerender_until_script-moderate"]) == [
        "--enable-features=PrerenderUntilScript"
    ]
    assert _flags(["none", "prerender-immediate", "query-nvs-prefetch-immediate"]) == []


def _entry(start: float, target: str, purpose: str = "", size: int = 100) -> dict[str, Any]:
    return {"start": start, "end": start + 0.1, "target": target, "purpose": purpose, "bytes": size, "status": 200}


def _click(variant: str, requests: list[dict[str, Any]], click: float | None = 10.0) -> View:
    return View(
        variant=variant,
        kind="click" if click is not None else "leave",
        id="v",
        click_wall=click,
        fcp_after_click=200.0 if click is not None else None,
        fcp_vitals=190.0 if click is not None else None,
        click_to_start=3.0 if click is not None else None,
        prerendered=False if click is not None else None,
        delivery="",
        protocol="h2",
        preload=[],
        requests=requests,
    )


# A prefetch of /b, then the click on /b?utm_source=bench asks for B again.
MISSED = [
    _entry(1, "/a"),
    _entry(2, "/b", "prefetch", 1304),
    _entry(11, "/b?utm_source=bench", "", 1304),
    _entry(12, "/static/bench.css"),
    _entry(12, "/hit", "", 0),
]


def test_the_second_request_for_the_tracking_url_is_one_the_prefetch_failed_to_save() -> None:
    item = _click("query-prefetch-immediate", MISSED)
    assert rerequests(item) == ["/b?utm_source=bench"]
    assert unsaved(item) == ["/b?utm_source=bench"]
    assert problems([item], ["query-prefetch-immediate"]) == []  # the figure, not an error


def test_the_same_request_where_b_declares_no_vary_search_is_an_error() -> None:
    item = _click("query-nvs-prefetch-immediate", MISSED)
    (problem,) = problems([item], ["query-nvs-prefetch-immediate"])
    assert "asked again after the click for ['/b?utm_source=bench']" in problem


def test_without_no_vary_search_any_other_re_request_is_still_an_error() -> None:
    item = _click("query-prefetch-immediate", [*MISSED, _entry(2, "/static/bench.js"), _entry(12, "/static/bench.js")])
    (problem,) = problems([item], ["query-prefetch-immediate"])
    assert "['/static/bench.js']" in problem


def test_a_moderate_rule_that_the_unhinted_hover_never_triggered_is_the_figure() -> None:
    plain = [_entry(1, "/a"), _entry(11, "/b?utm_source=bench", "", 1304)]
    assert problems([_click("query-prefetch-moderate", plain)], ["query-prefetch-moderate"]) == []
    (problem,) = problems([_click("query-nvs-prefetch-moderate", plain)], ["query-nvs-prefetch-moderate"])
    assert "nothing was speculated" in problem


def test_a_prerender_until_script_variant_must_prerender() -> None:
    item = _click("prerender_until_script-moderate", [_entry(1, "/a"), _entry(2, "/b", "prefetch", 1304)])
    (problem,) = problems([item], ["prerender_until_script-moderate"])
    assert "never prerendered" in problem


def test_a_view_without_a_click_counts_b_and_its_analytics_hit() -> None:
    leave = _click(
        "prerender-immediate",
        [
            _entry(1, "/a"),
            _entry(2, "/favicon.ico"),
            _entry(2, "/b", "prefetch;prerender", 1304),
            _entry(3, "/static/bench.css", "", 60_000),
            _entry(3, "/hit", "prefetch;prerender", 0),
        ],
        click=None,
    )
    assert waste(leave) == {"requests": 3, "bytes": 61_304, "b_thinks": 1, "hits": 1}


def test_rewriting_the_figures_keeps_the_hand_written_reading(tmp_path: Path) -> None:
    item = _click("query-prefetch-immediate", MISSED)
    summary = summarise([item], {"query-prefetch-immediate": "?utm_source, prefetch immediate"})
    config = {
        "command": "python -m bench.nextnav --rst docs/speculation-measured.rst",
        "chromium": "Chrome/156",
        "date": "2026-12-02T10:00:00+00:00",
        "rtt_ms": 100,
        "mbps": 10,
        "think_ms": 300,
        "idle_s": 1.5,
        "hover_wait_s": 0.2,
        "navigations_per_variant": 1,
        "rules": "...",
        "flags": [],
        "bytes": {"/static/bench.css": 60_000, "/static/bench.js": 150_000},
        "interfaces": ["lo"],
    }
    path = tmp_path / "measured.rst"
    path.write_text(f"old figures\n\n{READING}\n\nWhat the figures say.\n")
    write_rst(path, summary, config)
    text = path.read_text()
    assert "old figures" not in text
    assert "   * - ?utm_source, prefetch immediate\n     - 200 [200-200]" in text
    assert text.endswith(f"\n{READING}\n\nWhat the figures say.\n")
