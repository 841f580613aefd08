"""The final ``Link`` header, unit by unit: which responses carry links, how
the field is added next to the view's own, what the outcome memo may reuse,
and when the tracker is asked at all."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

import pytest
from flask import Response

from flask_firehose import Link
from flask_firehose._collection import NOT_LOADED
from flask_firehose._config import Settings
from flask_firehose._failure import FailurePolicy
from flask_firehose._final_header import FinalHeader, Outcome, may_carry_links
from flask_firehose._memo import IdentityMemo
from flask_firehose.testing import ParsedLink, parse_link_headers

CARRYING_METHODS = ["GET", "HEAD"]
OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CARRYING_STATUSES = [200, 201, 204, 206, 299]
OTHER_STATUSES = [100, 103, 199, 300, 301, 302, 304, 400, 404, 500, 503]

STYLE = Link("/static/a.css", as_="style")
SCRIPT = Link("/static/a.js", as_="script")


@pytest.mark.parametrize("method", CARRYING_METHODS + OTHER_METHODS)
@pytest.mark.parametrize("status", CARRYING_STATUSES + OTHER_STATUSES)
def test_may_carry_links(method: str, status: int) -> None:
    expected = method in CARRYING_METHODS and status in CARRYING_STATUSES
    assert may_carry_links(method, status) is expected


class FakeTracker:
    """Remembers *already* as pushed; records every call."""

    name = "fake tracking"

    def __init__(self, already: Sequence[str] = ()) -> None:
        self.already = set(already)
        self.calls: list[str] = []
        self.saved: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    def load(self) -> set[str]:
        self.calls.append("load")
        return set(self.already)

    def admit(self, state: set[str], seen: Sequence[str], new: Sequence[str]) -> Sequence[str]:
        self.calls.append("admit")
        return new

    def state_key(self, state: set[str]) -> Hashable | None:
        return frozenset(state)

    def save(self, state: set[str], seen: Sequence[str], added: Sequence[str], response: Any) -> None:
        self.calls.append("save")
        self.saved.append((tuple(seen), tuple(added)))


def _settings(**config: Any) -> Settings:
    return Settings.from_config(config)


def _write(
    response: Response,
    links: Sequence[Link],
    *,
    method: str = "GET",
    settings: Settings | None = None,
    tracker: FakeTracker | None = None,
    memo: IdentityMemo[Outcome] | None = None,
    loaded: Any = NOT_LOADED,
    prefixes: Sequence[str] = ("/static/",),
) -> tuple[Link, ...]:
    failures = FailurePolicy(strict=True)
    settings = settings or _settings()
    header = FinalHeader(settings, failures, lambda: tuple(prefixes))
    if memo is not None:
        header.outcomes = memo
    return header.write(method, response, links, tracker, loaded)


def _links(response: Response) -> list[ParsedLink]:
    return parse_link_headers(response.headers.getlist("Link"))


@pytest.mark.parametrize(("method", "status"), [("POST", 200), ("GET", 404), ("GET", 302), ("HEAD", 500)])
def test_nothing_for_responses_that_carry_no_links(method: str, status: int) -> None:
    tracker = FakeTracker()
    response = Response("x", status=status)
    assert _write(response, [STYLE], method=method, tracker=tracker) == ()
    assert "Link" not in response.headers
    assert tracker.calls == []


def test_the_field_is_added_next_to_the_views_own() -> None:
    response = Response("x")
    response.headers["Link"] = "<https://api.example>; rel=preconnect"
    kept = _write(response, [STYLE, SCRIPT])
    assert kept == (STYLE, SCRIPT)
    assert response.headers.getlist("Link")[0] == "<https://api.example>; rel=preconnect"
    assert [(link.target, link.rels) for link in _links(response)] == [
        ("https://api.example", frozenset({"preconnect"})),
        ("/static/a.css", frozenset({"preload"})),
        ("/static/a.js", frozenset({"preload"})),
    ]


def test_no_links_no_field() -> None:
    response = Response("x")
    assert _write(response, []) == ()
    assert "Link" not in response.headers


def test_the_budget_counts_the_views_own_link() -> None:
    settings = _settings(FIREHOSE_MAX_HEADER_BYTES=160)
    links = [Link(f"/static/{n}.png", as_="image") for n in range(10)]
    alone = _write(Response("x"), links, settings=settings)
    response = Response("x")
    response.headers["Link"] = "<https://api.example/with/a/rather/long/path>; rel=preconnect"
    beside = _write(response, links, settings=settings)
    assert 0 < len(beside) < len(alone)
    fields = response.headers.getlist("Link")
    assert sum(len(value) for value in fields) + len(", ") * (len(fields) - 1) <= 160


def test_the_memo_gives_the_same_outcome_for_the_same_links() -> None:
    memo: IdentityMemo[Outcome] = IdentityMemo(8)
    links = [STYLE, SCRIPT]
    first, second = Response("x"), Response("x")
    kept = _write(first, links, memo=memo)
    assert _write(second, links, memo=memo) is kept  # the remembered outcome itself
    assert len(memo) == 1
    assert first.headers.getlist("Link") == second.headers.getlist("Link")


def test_the_memo_tells_links_with_equal_targets_apart() -> None:
    memo: IdentityMemo[Outcome] = IdentityMemo(8)
    plain = Link("/static/font.woff2", as_="font", crossorigin="")
    credentialed = Link("/static/font.woff2", as_="font", crossorigin="use-credentials")
    _write(Response("x"), [plain], memo=memo)
    response = Response("x")
    assert _write(response, [credentialed], memo=memo) == (credentialed,)
    assert [link.get("crossorigin") for link in _links(response)] == ["use-credentials"]


class _OneSlot(OrderedDict[Hashable, Any]):
    """Entries whose keys all collide, as ids reused by new objects would."""

    def get(self, key: Hashable, default: Any = None) -> Any:
        return next(reversed(self.values())) if self else default


def _colliding() -> IdentityMemo[Outcome]:
    memo: IdentityMemo[Outcome] = IdentityMemo(1)
    memo._memo._entries = _OneSlot()
    return memo


def test_a_colliding_key_never_hands_out_another_links_outcome() -> None:
    memo = _colliding()
    _write(Response("x"), [Link("/static/a.css", as_="style")], memo=memo)
    response = Response("x")
    hint = Link("/static/a.css", as_="style", nopush=True)
    assert _write(response, [hint], memo=memo) == (hint,)
    assert [link.has("nopush") for link in _links(response)] == [True]


def test_a_tracked_response_records_what_was_pushed() -> None:
    tracker = FakeTracker(already=["/static/a.css"])
    response = Response("x")
    kept = _write(response, [STYLE, SCRIPT], tracker=tracker)
    assert [(link.target, link.nopush) for link in kept] == [("/static/a.css", True), ("/static/a.js", False)]
    assert tracker.calls == ["load", "admit", "save"]
    assert tracker.saved == [(("/static/a.css",), ("/static/a.js",))]


def test_state_loaded_for_the_103_is_not_loaded_again() -> None:
    tracker = FakeTracker()
    _write(Response("x"), [STYLE], tracker=tracker, loaded={"/static/a.css"})
    assert "load" not in tracker.calls
    assert tracker.saved == []  # nothing new was pushed


@pytest.mark.parametrize(
    "fields",
    [
        [("Cache-Control", "public, max-age=600")],
        [("Cache-Control", "s-maxage=60")],
        [("Cache-Control", "max-age=600")],
        [("Expires", "Thu, 01 Dec 2099 16:00:00 GMT")],
    ],
)
def test_responses_a_shared_cache_may_serve_to_others_are_not_tracked(fields: list[tuple[str, str]]) -> None:
    tracker = FakeTracker(already=["/static/a.css"])
    response = Response("x")
    for name, value in fields:
        response.headers.add(name, value)
    kept = _write(response, [STYLE], tracker=tracker)
    assert tracker.calls == []
    assert kept == (STYLE,) and [link.has("nopush") for link in _links(response)] == [False]


PER_USER = Link("/u/alice/avatar.png", as_="image")
CROSS_ORIGIN = Link("https://cdn.example/a.js", as_="script")
WITH_SRCSET = Link("/static/hero.png", as_="image", params=(("imagesrcset", "/u/alice/hero.png 2x"),))


@pytest.mark.parametrize(
    "fields",
    [
        [("CDN-Cache-Control", "max-age=60")],
        [("Surrogate-Control", "max-age=60")],
        [("Cache-Control", "s-maxage=60")],
    ],
)
def test_a_response_a_shared_cache_keeps_holds_public_links_only(fields: list[tuple[str, str]]) -> None:
    tracker = FakeTracker(already=["/static/a.css"])
    response = Response("x")
    for name, value in fields:
        response.headers.add(name, value)
    kept = _write(response, [PER_USER, STYLE, CROSS_ORIGIN, WITH_SRCSET, SCRIPT], tracker=tracker)
    assert kept == (STYLE, SCRIPT)
    assert tracker.calls == []
    assert [(link.target, link.has("nopush")) for link in _links(response)] == [
        ("/static/a.css", False),
        ("/static/a.js", False),
    ]


def test_behind_a_cdn_the_tracker_is_never_asked() -> None:
    tracker = FakeTracker(already=["/static/a.css"])
    response = Response("x")
    settings = _settings(FIREHOSE_BEHIND_CDN=True)
    kept = _write(response, [PER_USER, STYLE, SCRIPT], tracker=tracker, settings=settings, loaded={"/static/a.css"})
    assert kept == (STYLE, SCRIPT) and tracker.calls == [] and tracker.saved == []
    assert not any(link.has("nopush") for link in _links(response))


def test_behind_a_cdn_with_no_public_prefix_nothing_goes_out() -> None:
    response = Response("x")
    assert _write(response, [STYLE], settings=_settings(FIREHOSE_BEHIND_CDN=True), prefixes=()) == ()
    assert "Link" not in response.headers


def test_public_prefixes_are_asked_only_for_a_public_response() -> None:
    asked: list[int] = []

    def prefixes() -> tuple[str, ...]:
        asked.append(1)
        return ("/static/",)

    failures = FailurePolicy(strict=True)
    header = FinalHeader(_settings(), failures, prefixes)
    header.write("GET", Response("x"), [STYLE], None)
    assert asked == []
    cached = Response("x", headers={"CDN-Cache-Control": "max-age=60"})
    header.write("GET", cached, [STYLE], None)
    assert asked == [1]


def test_the_memo_tells_a_public_response_from_a_private_one() -> None:
    """The same links, the same room, no tracker: one outcome for a private
    response, another for one a shared cache keeps."""
    memo: IdentityMemo[Outcome] = IdentityMemo(8)
    private = Response("x")
    assert _write(private, [PER_USER, STYLE], memo=memo) == (STYLE, PER_USER)
    cached = Response("x", headers={"CDN-Cache-Control": "max-age=60"})
    assert _write(cached, [PER_USER, STYLE], memo=memo) == (STYLE,)
    again = Response("x")
    assert _write(again, [PER_USER, STYLE], memo=memo) == (STYLE, PER_USER)
    behind = _settings(FIREHOSE_BEHIND_CDN=True)
    assert _write(Response("x"), [PER_USER, STYLE], memo=memo, settings=behind) == (STYLE,)


def test_public_prefixes_outside_an_app_context_are_none() -> None:
    from flask_firehose._final_header import public_prefixes

    assert public_prefixes(_settings()) == ()
    assert public_prefixes(_settings(FIREHOSE_LEARN_PREFIXES=["/assets/"])) == ("/assets/",)


def test_head_requests_are_not_tracked() -> None:
    tracker = FakeTracker()
    response = Response("x")
    assert _write(response, [STYLE], method="HEAD", tracker=tracker) == (STYLE,)
    assert tracker.calls == []


def test_links_that_cannot_be_pushed_are_not_tracked() -> None:
    tracker = FakeTracker()
    _write(Response("x"), [Link("https://cdn.example/a.js", as_="script", nopush=True)], tracker=tracker)
    assert tracker.calls == []
