"""Learning from a page's own HTML, through the request hooks: what a page
that never calls ``push()`` teaches, when its body is read, and what is
never read or learned."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask, Response, session

from flask_firehose import Firehose, MemoryHintStore
from flask_firehose import _page_learning as page_learning
from flask_firehose._learning_scope import scoped_key
from flask_firehose._state import AppState, state_of
from flask_firehose.testing import links_of, record_early_hints

HEAD = (
    "<!doctype html><html><head><title>Home</title>"
    '<link rel="stylesheet" href="/static/main.css">'
    '<script defer src="/static/app.js"></script>'
    '<link rel="stylesheet" href="/admin/private.css">'
    '<link rel="stylesheet" href="https://cdn.example/x.css">'
    "</head><body><h1>Home</h1></body></html>"
)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    original = page_learning.PageLearning.__init__

    def init(self: page_learning.PageLearning, *args: Any, **kwargs: Any) -> None:
        kwargs["clock"] = clock
        original(self, *args, **kwargs)

    monkeypatch.setattr(page_learning.PageLearning, "__init__", init)
    return clock


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The page paths scanned, in order."""
    seen: list[str] = []
    from flask_firehose._page_hints import scan_page as original

    def counting(body: bytes, page_path: str, **kwargs: Any) -> Any:
        seen.append(page_path)
        return original(body, page_path, **kwargs)

    monkeypatch.setattr("flask_firehose._page_learning.scan_page", counting)
    return seen


def _state(app: Flask) -> AppState:
    found = state_of(app)
    assert found is not None
    return found


def _app(store: MemoryHintStore | None = None, **config: Any) -> tuple[Flask, MemoryHintStore]:
    store = store if store is not None else MemoryHintStore(min_seen=2)
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, FIREHOSE_LCP=False, **config)
    Firehose(app, hint_store=store)

    @app.get("/")
    def home() -> str:
        return HEAD

    @app.get("/admin/private.css")
    def private_css() -> str:
        return "secret"

    @app.get("/signed-in")
    def signed_in() -> str:
        session.get("user")
        return HEAD

    @app.get("/stream")
    def stream() -> Response:
        return Response(iter([HEAD[:40], HEAD[40:]]), mimetype="text/html")

    @app.get("/article/<int:number>")
    def article(number: int) -> str:
        return HEAD.replace("</head>", f'<link rel="stylesheet" href="/static/article-{number}.css"></head>')

    return app, store


def test_a_page_that_never_pushes_gets_its_head_in_the_103(scans: list[str]) -> None:
    app, _ = _app()
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(3):
            response = client.get("/")
            assert response.get_data(as_text=True) == HEAD  # the page is served as written
    # Learned from the first two visits, hinted in the third's 103: public
    # files of this app only (not a view's URL, not another origin), CSS
    # first, the deferred script at the low priority the browser gives it.
    assert len(hints.sent) == 1
    (sent,) = hints.links
    assert [(link.target, link.get("as"), link.get("fetchpriority")) for link in sent] == [
        ("/static/main.css", "style", None),
        ("/static/app.js", "script", "low"),
    ]
    # Nothing from the page goes into its own final header: the HTML names them.
    assert links_of(response) == []
    assert scans == ["/", "/", "/"]


def test_a_steady_page_is_not_read_again_until_the_rescan(scans: list[str], clock: _Clock) -> None:
    app, store = _app()
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(10):
            client.get("/")
        assert len(scans) == page_learning.STEADY_AFTER
        # Still fed to the learner without reading: the hints stay learned.
        assert [link.target for link in hints.links[-1]] == ["/static/main.css", "/static/app.js"]
        clock.now += page_learning.RESCAN
        client.get("/")
        client.get("/")
    assert len(scans) == page_learning.STEADY_AFTER + 2
    key = scoped_key(str(_state(app).learner.namespace), "localhost", "home")  # type: ignore[union-attr]
    assert {link.target for link in store.learned(key)} == {"/static/main.css", "/static/app.js"}


def test_links_one_url_alone_names_are_not_learned(scans: list[str]) -> None:
    app, _ = _app()
    client = app.test_client()
    with record_early_hints(client) as hints:
        for number in (1, 2, 3, 4):
            client.get(f"/article/{number}")
    assert [link.target for link in hints.links[-1]] == ["/static/main.css", "/static/app.js"]


def test_a_signed_in_page_is_never_read(scans: list[str]) -> None:
    app, store = _app()
    client = app.test_client()
    client.set_cookie("session", "x")
    with record_early_hints(client) as hints:
        for _ in range(4):
            client.get("/signed-in")
    assert scans == []
    assert hints.sent == []
    assert list(store.endpoints()) == []


def test_a_streamed_page_is_never_read_and_arrives_whole(scans: list[str]) -> None:
    app, _ = _app()
    client = app.test_client()
    with record_early_hints(client):
        for _ in range(3):
            assert client.get("/stream").get_data(as_text=True) == HEAD
    assert scans == []


def test_without_a_103_nothing_is_read(scans: list[str]) -> None:
    app, _ = _app()
    client = app.test_client()
    for _ in range(3):
        client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
    assert scans == []


@pytest.mark.parametrize(
    "config", [{"FIREHOSE_LEARN_FROM_HTML": False}, {"FIREHOSE_LEARN": False}, {"FIREHOSE_ENABLED": False}]
)
def test_switched_off(scans: list[str], config: dict[str, Any]) -> None:
    app, _ = _app(**config)
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(3):
            client.get("/")
    assert scans == []
    assert hints.sent == []
    if "FIREHOSE_ENABLED" not in config:
        assert _state(app).pages is None


def test_a_failing_scan_serves_the_page_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("scanner bug")

    monkeypatch.setattr("flask_firehose._page_learning.scan_page", broken)
    app, _ = _app(FIREHOSE_STRICT=False)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_firehose"), record_early_hints(client):
        response = client.get("/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == HEAD
    assert "scanner bug" in caplog.text


def test_a_failing_scan_raises_in_testing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("scanner bug")

    monkeypatch.setattr("flask_firehose._page_learning.scan_page", broken)
    app, _ = _app()
    client = app.test_client()
    with record_early_hints(client), pytest.raises(RuntimeError, match="scanner bug"):
        client.get("/")


def test_pushed_and_page_links_are_learned_together(scans: list[str]) -> None:
    from flask_firehose import push

    store = MemoryHintStore(min_seen=2)
    app, _ = _app(store)

    @app.get("/both")
    def both() -> str:
        push("/static/main.css", **{"as": "style"})
        push("/static/extra.js")
        return HEAD

    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(3):
            response = client.get("/both")
    assert [link.target for link in hints.links[-1]] == ["/static/main.css", "/static/extra.js", "/static/app.js"]
    # The final header holds what the view pushed, as before.
    assert [link.target for link in links_of(response)] == ["/static/main.css", "/static/extra.js"]


HERO_PAGE = HEAD.replace(
    "<h1>Home</h1>",
    '<h1>Home</h1><picture><source media="(min-width: 601px)" srcset="/static/wide.jpg">'
    '<img src="/static/hero.jpg" alt=""></picture><img src="/admin/x.jpg">',
)
KEY_CLASSES = 4


def _lcp_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "s", "TESTING": True, **config})
    Firehose(app, hint_store=MemoryHintStore(min_seen=2))

    @app.get("/")
    def home() -> str:
        return HERO_PAGE

    @app.get("/admin/x.jpg")
    def admin_image() -> str:
        return "private"

    return app


def _agree(app: Flask, url: str, classes: range = range(KEY_CLASSES)) -> str:
    """Store three distinct visitors' agreeing reports for every class of ``/``."""
    pages = _state(app).pages
    assert pages is not None and pages.lcp is not None
    key = scoped_key(str(_state(app).learner.namespace), "localhost", "home")  # type: ignore[union-attr]
    for viewport in classes:
        for client in range(3):
            assert pages.lcp.store.record(key, f"id-{viewport}-{client}", f"client-{client}", viewport, url)
    return key


def test_a_sampled_page_gets_the_lcp_script_and_only_it() -> None:
    app = _lcp_app()
    client = app.test_client()
    with record_early_hints(client):
        html = client.get("/").get_data(as_text=True)
    script = html[html.index("<script src=") : html.index("</script>", html.index("<script src=")) + 9]
    assert script.startswith('<script src="/_firehose/lcp.js" async data-firehose-lcp="')
    assert html.replace(script, "") == HERO_PAGE
    # The token names the public image the page referenced, not the view's URL.
    from flask_firehose._lcp import tokens

    token = script.split('data-firehose-lcp="')[1].split('"')[0]
    payload = tokens.verify("s", _token_context(app), token)
    assert payload.images == ("/static/wide.jpg", "/static/hero.jpg")


def _token_context(app: Flask) -> str:
    from flask import request

    from flask_firehose._lcp.reports import token_context

    with app.test_request_context("/"):
        return token_context(request)


@pytest.mark.parametrize("config", [{"FIREHOSE_LCP": False}, {"SECRET_KEY": None}, {"FIREHOSE_LEARN": False}])
def test_no_script_when_lcp_learning_cannot_or_may_not_run(config: dict[str, Any]) -> None:
    app = _lcp_app(**config)
    client = app.test_client()
    with record_early_hints(client):
        for _ in range(3):
            assert client.get("/").get_data(as_text=True) == HERO_PAGE


def test_a_signed_in_visit_is_never_sampled() -> None:
    app = _lcp_app()
    client = app.test_client()
    client.set_cookie("session", "x")

    @app.before_request
    def read_session() -> None:
        session.get("user")

    with record_early_hints(client):
        assert client.get("/").get_data(as_text=True) == HERO_PAGE


def test_sampling_is_bounded_per_minute(clock: _Clock) -> None:
    """At most 30 sampled visits a minute, and at most two of them from one
    address: one client cannot take a page's samples from the others."""
    app = _lcp_app()
    client = app.test_client()

    def sampled(address: str) -> bool:
        response = client.get("/", environ_base={"REMOTE_ADDR": address})
        return "lcp.js" in response.get_data(as_text=True)

    with record_early_hints(client):
        one = [sampled("192.0.2.1") for _ in range(5)]
        many = [sampled(f"198.51.100.{n}") for n in range(page_learning.SAMPLES_PER_MINUTE + 2)]
        clock.now += 60
        later = sampled("192.0.2.1")
    assert one == [True, True, False, False, False]
    assert many == [True] * (page_learning.SAMPLES_PER_MINUTE - 2) + [False] * 4
    assert later


def test_an_agreed_lcp_image_goes_in_the_103_after_the_css_and_in_the_final_header() -> None:
    app = _lcp_app()
    _agree(app, "/static/hero.jpg")
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(3):
            response = client.get("/")
    # The deferred script stays out of a 103 that carries the LCP image: it
    # would compete with it for the link (the page finds it soon enough).
    assert [(link.target, link.get("fetchpriority")) for link in hints.links[-1]] == [
        ("/static/main.css", None),
        ("/static/hero.jpg", "high"),
    ]
    assert [(link.target, link.get("as"), link.get("fetchpriority")) for link in links_of(response)] == [
        ("/static/hero.jpg", "image", "high")
    ]
    # Every class agreed: no visit is sampled any more.
    assert response.get_data(as_text=True) == HERO_PAGE


@pytest.mark.parametrize("url", ["/admin/x.jpg", "https://evil.example/x.jpg", "//evil.example/x.jpg", "/nowhere.jpg"])
def test_a_stored_image_that_is_no_public_file_of_this_app_is_never_hinted(url: str) -> None:
    """A shared store may hold anything: what it says agreed is checked as a
    learned hint is, in the 103 and in the final header."""
    app = _lcp_app(FIREHOSE_STRICT=False)
    _agree(app, url)
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/")
    assert all(link.target != url for sent in hints.links for link in sent)
    assert all(link.target != url for link in links_of(response))


def test_when_classes_disagree_the_final_header_says_which_with_media() -> None:
    app = _lcp_app()
    pages = _state(app).pages
    assert pages is not None and pages.lcp is not None
    key = _agree(app, "/static/hero.jpg", range(2))
    for viewport in (2, 3):
        for client_number in range(3):
            pages.lcp.store.record(
                key, f"wide-{viewport}-{client_number}", f"c{client_number}", viewport, "/static/wide.jpg"
            )
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/")
    assert all(link.get("as") != "image" for sent in hints.links for link in sent)
    images = [(link.target, link.get("media")) for link in links_of(response) if link.get("as") == "image"]
    assert [target for target, _ in images] == ["/static/hero.jpg", "/static/wide.jpg"]
    assert all(media for _, media in images)


# -- one URL's files never become the endpoint's ---------------------------------------------------------------


def _share_app() -> tuple[Flask, MemoryHintStore]:
    store = MemoryHintStore(min_seen=2)
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    Firehose(app, hint_store=store)

    @app.get("/share/<token>")
    def share(token: str) -> str:
        return (
            '<html><head><link rel="stylesheet" href="/static/main.css">'
            f'<link rel="stylesheet" href="/static/u/{token}.css"></head>'
            f'<body><img src="/static/u/{token}.jpg"><img src="/static/logo.png"></body></html>'
        )

    return app, store


def test_one_urls_head_read_again_and_again_is_never_replayed_for_others() -> None:
    """Alice reloads her share page until it would be steady; others then
    visit theirs. Her file never reaches another visitor's 103."""
    app, _ = _share_app()
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(page_learning.STEADY_AFTER + 2):
            client.get("/share/alice-secret")
        for token in ("bob", "carol", "mallory", "mallory", "dave"):
            client.get(f"/share/{token}")
    sent = [link.target for links in hints.links for link in links]
    assert "/static/u/alice-secret.css" not in sent
    assert hints.links[-1] and [link.target for link in hints.links[-1]] == ["/static/main.css"]


def test_an_lcp_image_one_url_agreed_on_is_not_hinted_on_the_others() -> None:
    """Twelve reports from /share/alice-secret settle its image; learning is
    per endpoint, so it is hinted nowhere (not even on Alice's own URL) until
    this process has seen the image on two URLs: only a shared one is."""
    app, _ = _share_app()
    pages = _state(app).pages
    assert pages is not None and pages.lcp is not None
    pages.lcp.memo_seconds = 0  # the agreement is read again on every call
    key = scoped_key(str(_state(app).learner.namespace), "localhost", "share")  # type: ignore[union-attr]
    for viewport in range(KEY_CLASSES):
        for client_number in range(3):
            pages.lcp.store.record(
                key, f"i{viewport}{client_number}", f"c{client_number}", viewport, "/static/u/alice-secret.jpg"
            )
    client = app.test_client()
    with record_early_hints(client) as hints:
        responses = [client.get(f"/share/{token}") for token in ("alice-secret", "alice-secret", "bob", "mallory")]
    sent = [link.target for links in hints.links for link in links]
    assert "/static/u/alice-secret.jpg" not in sent
    assert all("alice-secret.jpg" not in response.headers.get("Link", "") for response in responses)
    # The shared image, once agreed, is hinted everywhere.
    for viewport in range(KEY_CLASSES):
        for client_number in range(3):
            pages.lcp.store.record(
                key, f"j{viewport}{client_number}", f"c{client_number}", viewport, "/static/logo.png"
            )
    with record_early_hints(client) as hints:
        response = client.get("/share/erin")
    assert [link.target for link in hints.links[-1]][:2] == ["/static/main.css", "/static/logo.png"]
    assert "/static/logo.png" in response.headers["Link"]


def test_an_lcp_link_sets_no_tracking_cookie() -> None:
    """A page that never pushes gets no digest cookie for its learned LCP
    image: the final header carries it as a hint (nopush), tracked by no one."""
    app = _lcp_app()
    _agree(app, "/static/hero.jpg")
    client = app.test_client()
    with record_early_hints(client):
        for _ in range(3):
            response = client.get("/")
    assert "fh-pushed" not in " ".join(response.headers.getlist("Set-Cookie"))
    (hero,) = [link for link in links_of(response) if link.target == "/static/hero.jpg"]
    assert hero.has("nopush")


@pytest.mark.parametrize(
    ("config", "headers"),
    [
        ({}, {"Cache-Control": "public, s-maxage=3600"}),
        ({}, {"Cache-Control": "max-age=600"}),
        ({}, {"CDN-Cache-Control": "max-age=60"}),
        ({"FIREHOSE_BEHIND_CDN": True}, {}),
    ],
)
def test_no_script_in_a_page_a_shared_cache_may_keep(config: dict[str, Any], headers: dict[str, str]) -> None:
    """One single-use token cached for every visitor would make each of them
    report in vain: such pages are not sampled."""
    app = _lcp_app(**config)

    @app.after_request
    def caching(response: Response) -> Response:
        response.headers.update(headers)
        return response

    client = app.test_client()
    with record_early_hints(client):
        for _ in range(2):
            assert client.get("/").get_data(as_text=True) == HERO_PAGE
