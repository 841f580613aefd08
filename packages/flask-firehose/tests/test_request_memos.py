"""What the per-request path remembers between requests never changes an answer.

Each memo here saves work a request would otherwise repeat: the link a
template's ``push(url, **attrs)`` builds, the digest a ``Cookie`` header
holds, the final header's outcome for a connector's or a session's state,
the learner's site and store key, a connector's plain set. Each test holds a
memo to what must still differ: the attribute types, the client, the app, the
request, the state a tracker saves.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask, render_template_string, request, session
from markupsafe import Markup

from flask_firehose import Firehose, InvalidLinkError, Link, MemoryHintStore, SessionConnector, push
from flask_firehose._collection import current_links
from flask_firehose._links import ATTRIBUTE_LINKS, _build
from flask_firehose._state import state_of
from flask_firehose.testing import links_of

from .conftest import AppFactory

TEMPLATE = "{{ push('/static/site.css', **{'as': 'style', 'rel': 'preload'}) }}"


# -- push() with attributes ---------------------------------------------------


def _pushed(app: Flask, url: str, **attrs: object) -> Link:
    """The link ``push(url, **attrs)`` adds in a request of *app*."""
    with app.test_request_context("/"):
        assert push(url, **attrs) == url
        links = current_links()
        assert links is not None
        (link,) = links.pushed.as_tuple()
        return link


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"crossorigin": True}, {"crossorigin": "1"}),  # a bare attribute, then the text "1"
        ({"x_flag": True}, {"x_flag": 1}),  # True == 1 in Python, not in a header
        ({"x_size": 1}, {"x_size": 1.0}),  # an int, then a float (refused)
        ({"as_": "style"}, {"as": "style", "type": "text/css"}),
    ],
)
def test_attribute_links_keep_types_and_names_apart(
    make_app: AppFactory, first: dict[str, object], then: dict[str, object]
) -> None:
    """The second call, after the first one is remembered, gets the link a
    fresh build gives (or the same error), never the first one's."""
    app, _ = make_app()  # strict: a bad call raises
    url = "/static/a.woff2"
    remembered = _pushed(app, url, **first)
    assert remembered.text == _build(url, (), first).text
    try:
        fresh = _build(url, (), then)
    except (InvalidLinkError, ValueError, TypeError):
        with pytest.raises(InvalidLinkError):
            _pushed(app, url, **then)
        return
    got = _pushed(app, url, **then)
    assert got.text == fresh.text != remembered.text


def test_attribute_call_that_fails_fails_every_time(make_app: AppFactory) -> None:
    app, _ = make_app()  # TESTING: strict
    with app.test_request_context("/"):
        for _ in range(3):
            with pytest.raises(InvalidLinkError, match="x_bad"):
                push("/static/a.css", x_bad="line\r\nInjected: yes")
    assert not any(key[0] == "/static/a.css" and "line\r\n" in repr(key) for key in ATTRIBUTE_LINKS)


def test_unhashable_attribute_value_is_refused_by_name(make_app: AppFactory) -> None:
    app, _ = make_app()
    with app.test_request_context("/"), pytest.raises(InvalidLinkError):
        push("/static/a.css", as_=["style"])  # a list: cannot be a key, nor a value


def test_hostile_hash_never_breaks_the_page() -> None:
    class Angry(str):
        def __hash__(self) -> int:
            raise RuntimeError("no hash for you")

    app = Flask(__name__)
    Firehose(app)  # lenient: not testing, not debug

    @app.get("/")
    def page() -> str:
        return push("/static/a.css", as_=Angry("style")) + push(Markup("/static/b.css"), as_="style")

    response = app.test_client().get("/", headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "/static/a.css/static/b.css"
    targets = [link.target for link in links_of(response)]
    assert "/static/b.css" in targets


def test_attribute_links_stay_bounded() -> None:
    app = Flask(__name__)
    Firehose(app)
    with app.test_request_context("/"):
        for n in range(2600):
            push(f"/static/{n}.css", as_="style")
    assert 0 < len(ATTRIBUTE_LINKS) <= 2048


def test_template_usage_gives_the_same_header_each_time(make_app: AppFactory) -> None:
    app, _ = make_app()

    @app.get("/")
    def page() -> str:
        return render_template_string(TEMPLATE)

    client = app.test_client()
    first = client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
    assert first.headers["Link"] == "</static/site.css>; rel=preload; as=style"
    again = app.test_client().get("/", headers={"Sec-Fetch-Mode": "navigate"})
    assert again.headers["Link"] == first.headers["Link"]


# -- the digest by Cookie header ---------------------------------------------


def test_cookie_header_memo_is_per_app_and_cookie_name(make_app: AppFactory) -> None:
    """Two apps with different digest cookies read the same header text each
    for its own cookie: the memo belongs to one tracker."""
    one, _ = make_app(FIREHOSE_COOKIE_NAME="one")
    two, _ = make_app(FIREHOSE_COOKIE_NAME="two")
    for app in (one, two):

        @app.get("/")
        def page() -> str:
            push("/static/a.css")
            push("/static/b.css")
            return "ok"

    nav = {"Sec-Fetch-Mode": "navigate"}
    first = one.test_client(use_cookies=False).get("/", headers=nav)
    value = first.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    header = f"one={value}; other=1"
    for _ in range(2):  # the second time from the memo
        seen_one = one.test_client(use_cookies=False).get("/", headers={**nav, "Cookie": header})
        seen_two = two.test_client(use_cookies=False).get("/", headers={**nav, "Cookie": header})
        assert all(link.has("nopush") for link in links_of(seen_one))  # its own cookie: already pushed
        assert not any(link.has("nopush") for link in links_of(seen_two))  # not its cookie: pushed
        assert "Set-Cookie" in seen_two.headers and "Set-Cookie" not in seen_one.headers


def test_long_cookie_header_is_read_every_time(make_app: AppFactory) -> None:
    app, _ = make_app()

    @app.get("/")
    def page() -> str:
        push("/static/a.css")
        return "ok"

    nav = {"Sec-Fetch-Mode": "navigate"}
    first = app.test_client(use_cookies=False).get("/", headers=nav)
    cookie = first.headers["Set-Cookie"].split(";", 1)[0]
    header = "pad=" + "x" * 5000 + "; " + cookie
    state = state_of(app)
    assert state is not None
    tracker: Any = state.tracker
    for _ in range(2):
        again = app.test_client(use_cookies=False).get("/", headers={**nav, "Cookie": header})
        assert all(link.has("nopush") for link in links_of(again))
    assert header not in tracker._by_header._entries


# -- shared outcomes for connectors and sessions ------------------------------


class RecordingConnector:
    """A connector keeping each client's set by an ``X-Client`` header."""

    def __init__(self, sets: dict[str, set[str]]) -> None:
        self.sets = sets
        self.saved: list[tuple[str, set[str]]] = []

    def get_pushed(self) -> set[str]:
        return set(self.sets[request.headers["X-Client"]])

    def set_pushed(self, inset: set[str]) -> None:
        client = request.headers["X-Client"]
        self.saved.append((client, set(inset)))
        self.sets[client] = set(inset)


def test_connector_clients_share_outcomes_never_their_sets(make_app: AppFactory) -> None:
    """Two clients holding the same of a page's files get the same header;
    what each connector call saves is that client's own set."""
    connector = RecordingConnector(
        {"a": {"/static/x.css", "/static/only-a.css"}, "b": {"/static/x.css", "/static/only-b.css"}, "c": set()}
    )
    app, _ = make_app(connector=connector)

    @app.get("/")
    def page() -> str:
        push("/static/x.css")
        push("/static/y.css")
        return "ok"

    nav = {"Sec-Fetch-Mode": "navigate"}
    a = app.test_client().get("/", headers={**nav, "X-Client": "a"})
    b = app.test_client().get("/", headers={**nav, "X-Client": "b"})
    c = app.test_client().get("/", headers={**nav, "X-Client": "c"})
    assert a.headers["Link"] == b.headers["Link"]
    assert [(link.target, link.has("nopush")) for link in links_of(a)] == [
        ("/static/x.css", True),
        ("/static/y.css", False),
    ]
    assert [(link.target, link.has("nopush")) for link in links_of(c)] == [
        ("/static/x.css", False),
        ("/static/y.css", False),
    ]
    assert connector.saved == [
        ("a", {"/static/x.css", "/static/only-a.css", "/static/y.css"}),
        ("b", {"/static/x.css", "/static/only-b.css", "/static/y.css"}),
        ("c", {"/static/x.css", "/static/y.css"}),
    ]


def test_session_clients_share_outcomes_never_their_sessions(make_app: AppFactory) -> None:
    app, _ = make_app(connector=SessionConnector)

    @app.get("/")
    def page() -> str:
        push("/static/x.css")
        push("/static/y.css")
        return "ok"

    @app.get("/seed/<name>")
    def seed(name: str) -> str:
        session["h2-pushed"] = f"/static/x.css,/static/only-{name}.css"
        return "seeded"

    nav = {"Sec-Fetch-Mode": "navigate"}
    stored = {}
    for name in ("a", "b"):
        client = app.test_client()
        client.get(f"/seed/{name}")
        response = client.get("/", headers=nav)
        assert [(link.target, link.has("nopush")) for link in links_of(response)] == [
            ("/static/x.css", True),
            ("/static/y.css", False),
        ]
        with client.session_transaction() as kept:
            stored[name] = set(kept["h2-pushed"].split(","))
    assert stored == {
        "a": {"/static/only-a.css", "/static/x.css", "/static/y.css"},
        "b": {"/static/only-b.css", "/static/x.css", "/static/y.css"},
    }


def test_connector_plain_set_is_copied_and_odd_items_still_checked(make_app: AppFactory) -> None:
    class Sub(str):
        pass

    answers: list[object] = []

    class Connector:
        def get_pushed(self) -> object:
            return answers[-1]

        def set_pushed(self, inset: set[str]) -> None:
            answers.append(inset)

    mine = {"/static/x.css"}
    app = Flask(__name__)  # lenient: odd items are logged and left out
    Firehose(app, connector=Connector())
    state = state_of(app)
    assert state is not None
    tracker: Any = state.tracker
    with app.test_request_context("/"):
        answers.append(mine)
        loaded = tracker.load()
        assert loaded == mine and loaded is not mine
        loaded.add("/static/y.css")
        assert mine == {"/static/x.css"}
        answers.append([Sub("/static/s.css"), b"/static/b.css"])
        assert tracker.load() == {"/static/s.css", "/static/b.css"}
        assert all(type(item) is str for item in tracker.load())
        answers.append({"/static/x.css", 3})
        assert tracker.load() == {"/static/x.css"}


# -- the learner's site and key, once per request ----------------------------


def test_learner_key_follows_each_request_across_threads(make_app: AppFactory) -> None:
    app, _ = make_app()

    @app.get("/p")
    def p() -> str:
        return "ok"

    state = state_of(app)
    assert state is not None and state.learner is not None
    learner = state.learner
    keys: dict[str, set[str | None]] = {"one.example": set(), "two.example": set()}
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def ask(host: str) -> None:
        try:
            with app.test_request_context("/p", base_url=f"https://{host}"):
                barrier.wait()
                for _ in range(300):
                    keys[host].add(learner.key(app, request._get_current_object()))  # type: ignore[attr-defined]
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=(host,)) for host in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures
    one, two = keys["one.example"], keys["two.example"]
    assert len(one) == 1 and len(two) == 1
    assert one != two
    assert "one.example" in str(next(iter(one))) and "two.example" in str(next(iter(two)))


# -- what the memory store answers, between counts ----------------------------


def test_memory_store_answer_is_the_callers_own_and_follows_every_count() -> None:
    store = MemoryHintStore(min_seen=2)
    a, b = Link("/static/a.css", as_="style"), Link("/static/b.js", as_="script")
    store.observe("k", [a])
    assert store.learned("k") == []
    store.observe("k", [a, b])
    first = store.learned("k")
    assert first == [a]
    first.append(b)  # a caller's list: the store's answer is unchanged
    assert store.learned("k") == [a]
    store.observe("k", [a, b])
    assert store.learned("k") == [a, b]
    store.min_seen = 4  # read at each answer
    assert store.learned("k") == []
    store.min_seen = 2
    for _ in range(60):  # b alone: a is forgotten past the window
        store.observe("k", [b])
    assert store.learned("k") == [b]
