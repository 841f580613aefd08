"""The learner on a page it has seen before.

A steady endpoint (its last response held every candidate, all learned)
still goes through the whole learner on every response: the store's own
steady test records something too (the endpoint's place among the most
recently observed), and only for a response that may teach. A shortcut at
the top of ``Learner.observe`` would change which endpoint a full store
forgets. What the learner remembers of a page's links (per store key) never
hands one response, or one site, another's."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from flask import Flask, request

from flask_firehose import Firehose, Link, MemoryHintStore, push
from flask_firehose._learning import Learner
from flask_firehose._learning_scope import scoped_key
from flask_firehose._requests import RequestFacts
from flask_firehose._state import state_of
from flask_firehose.testing import record_early_hints


def _app(store: MemoryHintStore) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    Firehose(app, hint_store=store)
    for name in ("a", "b", "c"):

        def view(name: str = name) -> tuple[str, dict[str, str]]:
            push(f"/static/{name}.css")
            # Its Link header goes out on any response; only HTML teaches.
            return "<p>page</p>", {"Content-Type": "application/json" if request.headers.get("X-Json") else "text/html"}

        app.add_url_rule(f"/{name}", name, view)
    return app


def _visit(app: Flask, name: str, *, json: bool = False) -> list[str]:
    """Navigate to ``/name`` over HTTP/2; the targets of its 103."""
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        response = client.get(f"/{name}", headers={"X-Json": "1"} if json else {})
    assert f"</static/{name}.css>" in response.headers["Link"]
    return [link.target for links in hints.links for link in links]


def _keys(app: Flask, store: MemoryHintStore) -> list[str]:
    namespace = str(state_of(app).learner.namespace)  # type: ignore[union-attr]
    every = {scoped_key(namespace, "localhost", name): name for name in "abc"}
    return [every[key] for key in store.endpoints()]


@pytest.mark.parametrize("json", [False, True])
def test_a_steady_endpoint_keeps_its_place_only_when_its_response_may_teach(json: bool) -> None:
    """Two endpoints fit. ``a`` is steady, ``b`` observed after it, then
    ``a`` answered again, then ``c`` arrives: a successful ``a`` was
    observed last but one (``b`` goes); one answered with JSON (which may
    not teach) was not observed at all (``a`` goes, and its 103 loses the
    learned hint)."""
    store = MemoryHintStore(min_seen=1, max_endpoints=2)
    app = _app(store)
    for _ in range(3):
        _visit(app, "a")
    assert store._endpoints[store_key(app, "a")].steady is not None
    _visit(app, "b")
    assert _keys(app, store) == ["a", "b"]
    responses = store._endpoints[store_key(app, "a")].responses
    _visit(app, "a", json=json)
    assert store._endpoints[store_key(app, "a")].responses == responses  # not counted either way
    assert _keys(app, store) == (["a", "b"] if json else ["b", "a"])
    _visit(app, "c")
    assert _keys(app, store) == (["b", "c"] if json else ["a", "c"])
    assert _visit(app, "a") == ([] if json else ["/static/a.css"])


def store_key(app: Flask, name: str) -> str:
    return scoped_key(str(state_of(app).learner.namespace), "localhost", name)  # type: ignore[union-attr]


class _Spy(MemoryHintStore):
    """Counts as the memory store does, and remembers every call."""

    def __init__(self) -> None:
        super().__init__(min_seen=1)
        self.calls: list[tuple[str, tuple[Link, ...]]] = []

    def observe(self, key: str, links: Sequence[Link]) -> None:
        self.calls.append((key, tuple(links)))
        super().observe(key, links)


_NAVIGATION = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html"}


def _observe(app: Flask, learner: Learner, links: tuple[Link, ...], base_url: str = "http://localhost/") -> None:
    """One HTML response to a navigation of ``/`` pushing *links*, given to the learner."""
    with app.test_request_context("/", base_url=base_url, headers=_NAVIGATION):
        response = app.make_response("<p>page</p>")
        facts = RequestFacts(request.environ, "home", early_hints=True, allow_http1=True, own_cookie="fh-pushed")
        learner.observe(app, request._get_current_object(), response, links, False, facts)  # type: ignore[attr-defined]


def _learner() -> tuple[Flask, Learner, _Spy]:
    store = _Spy()
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    Firehose(app, hint_store=store)
    app.add_url_rule("/", "home", lambda: "<p>page</p>")
    learner = state_of(app).learner  # type: ignore[union-attr]
    assert learner is not None
    return app, learner, store


CSS, JS = Link("/static/a.css", as_="style"), Link("/static/b.js", as_="script")


def test_each_response_gives_the_store_its_own_links() -> None:
    """The same page again (a new tuple of the same links, or of equal
    ones), then a changed one, then the first again: each response's own
    learnable links reach the store."""
    app, learner, store = _learner()
    key = store_key(app, "home")
    pages = [(CSS, JS), (CSS, JS), (Link("/static/a.css", as_="style"), JS), (CSS,), (JS, CSS), (CSS, JS)]
    private = Link("/account/avatar.png", as_="image")  # not a public file: never learned
    for page in pages:
        _observe(app, learner, (*page, private))
    assert store.calls == [(key, page) for page in pages]
    assert store.learned(key) == [CSS, JS]


def test_one_page_on_two_sites_teaches_each_what_is_public_there() -> None:
    """The same links, one after another, on the site root and on a mount
    at ``/app`` (whose public files lie under ``/app/static/``): what was
    worked out for one key is not what the other is given."""
    app, learner, store = _learner()
    mounted = (Link("/app/static/a.css", as_="style"), JS)
    for _ in range(2):
        _observe(app, learner, (CSS, JS))
        _observe(app, learner, (CSS, JS), base_url="http://localhost/app/")
        _observe(app, learner, mounted, base_url="http://localhost/app/")
    root = store_key(app, "home")
    app_key = scoped_key(str(learner.namespace), "localhost/app", "home")
    assert store.calls == [(root, (CSS, JS)), (app_key, mounted[:1])] * 2
    assert store.learned(root) == [CSS, JS] and store.learned(app_key) == list(mounted[:1])
