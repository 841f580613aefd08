"""The facade the request hooks call: routes, sampling, links, memo, failures."""

from __future__ import annotations

import logging
import re
from importlib import resources
from typing import Any

import pytest
from flask import Flask, Response

from flask_firehose._failure import FailurePolicy
from flask_firehose._lcp import LcpLearning, MemoryLcpStore
from flask_firehose._links import Link

from .lcp_app import IMAGES, KEY, build, script_tags

HERO = "/static/hero.jpg"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryLcpStore):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.reads = 0

    def samples(self, key: str) -> dict[int, list[tuple[str, str]]]:
        self.reads += 1
        return super().samples(key)


def _learning(store: MemoryLcpStore, clock: Clock | None = None, **options: Any) -> LcpLearning:
    return LcpLearning(
        store=store, failures=FailurePolicy(strict=False), secret=lambda: "s", clock=clock or Clock(), **options
    )


def _fill(store: MemoryLcpStore, urls: list[str], key: str = KEY) -> None:
    for index, url in enumerate(urls):
        for n in range(3):
            store.record(key, f"{index}-{n}", f"c{index}-{n}", index, url)


def _image(url: str, media: str | None = None) -> Link:
    params: tuple[tuple[str, str | None], ...] = (("fetchpriority", "high"),)
    if media:
        params += (("media", media),)
    return Link(url, rel="preload", as_="image", params=params)


def test_routes() -> None:
    site = build()
    rules = {rule.endpoint: rule for rule in site.app.url_map.iter_rules()}
    assert rules["firehose_lcp_script"].rule == "/_firehose/lcp.js"
    assert rules["firehose_lcp_report"].rule == "/_firehose/lcp"
    assert "POST" in rules["firehose_lcp_report"].methods  # type: ignore[operator]
    assert "GET" not in rules["firehose_lcp_report"].methods  # type: ignore[operator]


def test_script_is_served_from_the_package() -> None:
    expected = resources.files("flask_firehose._lcp").joinpath("script.js").read_bytes()
    response = build().app.test_client().get("/_firehose/lcp.js")
    assert response.status_code == 200
    assert response.get_data() == expected
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_custom_path_and_script_root() -> None:
    site = build(path="/perf/lcp")
    client = site.app.test_client()
    page = client.get("/", base_url="http://localhost/shop").get_data(as_text=True)
    (tag,) = [tag for tag in script_tags(page) if "data-firehose-lcp" in tag]
    assert tag["src"] == "/shop/perf/lcp.js"


@pytest.mark.parametrize(
    "options",
    [
        {"path": "_firehose/lcp"},
        {"path": "/_firehose/lcp/"},
        {"path": "/a/../b"},
        {"breakpoints": (600, 480)},
        {"breakpoints": ()},
        {"breakpoints": [480]},
        {"breakpoints": (0,)},
        {"samples": 0},
        {"samples": "3"},
    ],
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(next(iter(options.values()))))):
        _learning(MemoryLcpStore(), **options)


def test_one_image_everywhere() -> None:
    store = MemoryLcpStore()
    _fill(store, [HERO] * 4)
    learning = _learning(store)
    assert learning.hints(KEY) == (_image(HERO),)
    assert learning.final_links(KEY) == (_image(HERO),)
    assert not learning.wants_sample(KEY)


def test_images_by_class() -> None:
    store = MemoryLcpStore()
    _fill(store, ["/small.jpg", "/small.jpg", "", HERO])
    learning = _learning(store)
    assert learning.hints(KEY) == ()
    assert learning.final_links(KEY) == (
        _image("/small.jpg", "(max-width: 600px)"),
        _image(HERO, "(min-width: 783px)"),
    )


@pytest.mark.parametrize("urls", [[HERO] * 3, ["", "", "", ""], []])
def test_nothing_until_every_class_agrees_on_an_image(urls: list[str]) -> None:
    store = MemoryLcpStore()
    _fill(store, urls)
    learning = _learning(store)
    assert learning.hints(KEY) == ()
    assert learning.final_links(KEY) == ()
    assert learning.wants_sample(KEY) is (len(urls) < 4)


@pytest.mark.parametrize("stored", ["https://evil.example/x.jpg", "//evil.example/x.jpg", "x.jpg", "/a b.jpg"])
def test_a_store_is_not_trusted_with_urls(stored: str) -> None:
    store = MemoryLcpStore()
    _fill(store, [stored] * 4)
    assert _learning(store).hints(KEY) == ()


def test_memoized_a_few_seconds() -> None:
    clock = Clock()
    store = CountingStore()
    learning = _learning(store, clock)
    for _ in range(100):
        learning.hints(KEY)
        learning.final_links(KEY)
        learning.wants_sample(KEY)
    assert store.reads == 1
    _fill(store, [HERO] * 4)
    assert learning.hints(KEY) == ()  # still the remembered answer
    clock.now += 5
    assert learning.hints(KEY) == (_image(HERO),)
    assert store.reads == 2


def test_memo_is_bounded() -> None:
    learning = _learning(MemoryLcpStore())
    for n in range(5000):
        learning.hints(f"key{n}")
    assert len(learning._memo) == 1024


def test_page_images_forget_a_stale_image() -> None:
    store = MemoryLcpStore()
    _fill(store, [HERO] * 4)
    learning = _learning(store)
    learning.page_images(KEY, [HERO, "/other.jpg"])
    assert learning.hints(KEY) == (_image(HERO),)
    learning.page_images(KEY, ["/other.jpg"])
    assert store.samples(KEY) == {}
    assert learning.hints(KEY) == ()
    assert learning.wants_sample(KEY)


class Broken(MemoryLcpStore):
    def samples(self, key: str) -> dict[int, list[tuple[str, str]]]:
        raise ConnectionError("down")

    def forget(self, key: str) -> None:
        raise ConnectionError("down")


def test_a_failing_store_means_no_sampling_and_no_hints(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    learning = _learning(Broken())
    with app.test_request_context(), caplog.at_level(logging.ERROR, "flask_firehose"):
        assert learning.hints(KEY) == ()
        assert learning.final_links(KEY) == ()
        assert not learning.wants_sample(KEY)
        response = Response("<head></head>", mimetype="text/html")
        assert not learning.inject(response, KEY, IMAGES)
        learning.page_images(KEY, [])
    assert "LCP store samples()" in caplog.text


def test_strict_failures_raise() -> None:
    app = Flask(__name__)
    learning = LcpLearning(store=Broken(), failures=FailurePolicy(strict=True), secret=lambda: "s")
    with app.test_request_context(), pytest.raises(ConnectionError):
        learning.hints(KEY)


def test_inject_refused_by_csp_is_said(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    learning = _learning(MemoryLcpStore())
    with app.test_request_context("/"), caplog.at_level(logging.WARNING, "flask_firehose"):
        response = Response("<head></head>", mimetype="text/html")
        response.headers["Content-Security-Policy"] = "script-src 'none'"
        assert not learning.inject(response, KEY, IMAGES)
        assert response.get_data() == b"<head></head>"
    assert "Content-Security-Policy" in caplog.text


def test_no_script_once_complete() -> None:
    store = MemoryLcpStore()
    _fill(store, [HERO] * 4)
    app = Flask(__name__)
    learning = _learning(store)
    with app.test_request_context("/"):
        response = Response("<head></head>", mimetype="text/html")
        assert not learning.inject(response, KEY, IMAGES)
        assert response.get_data() == b"<head></head>"
