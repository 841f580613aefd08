"""Hostile checks of what the per-request path remembers between requests.

Each memo of the per-request path (the link a ``push(url, **attrs)`` call
builds, the digest a ``Cookie`` header holds, the final header's outcome
shared by the clients whose state holds the same of a page's links, the
learner's site and key for the request at hand, the 103's field, the demo's
``asset()`` URL) is held here to what must still differ: the client, the
app, the host and mount, the thread, the context a call runs in, the state a
tracker reads, the types of a call's arguments. Where it matters the app runs
on a threaded server on 127.0.0.1 and the answer is read off the wire.
"""

from __future__ import annotations

import gc
import http.client
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, copy_current_request_context, request, session, stream_with_context
from markupsafe import Markup
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_firehose import Firehose, InvalidLinkError, Link, SessionConnector, _links, push
from flask_firehose._collection import current_links
from flask_firehose._links import _build
from flask_firehose._requests import TEST_HTTP2
from flask_firehose._state import state_of
from flask_firehose.testing import links_of, parse_link_headers, record_early_hints

from .live_server import WSGIApp, serving

NAV = {"Sec-Fetch-Mode": "navigate"}


# -- a threaded server on 127.0.0.1 --------------------------------------------


class Answer:
    """One response read off the wire: status, fields, body."""

    def __init__(self, status: int, fields: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.fields = fields
        self.body = body

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key.lower() == name.lower()]

    def links(self) -> list[tuple[str, bool]]:
        """(target, nopush) of every link of every ``Link`` field."""
        return [(link.target, link.has("nopush")) for link in parse_link_headers(self.all("Link"))]

    def cookie(self, name: str) -> str | None:
        for value in self.all("Set-Cookie"):
            if value.startswith(f"{name}="):
                return value.split(";", 1)[0].split("=", 1)[1]
        return None


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", path, headers={**NAV, **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def run_all(jobs: Sequence[Callable[[], None]], workers: int = 8) -> None:
    """Run *jobs* at once on *workers* threads; re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result(timeout=60)


def new_app(connector: object = None, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-secret", **config)
    Firehose(app, connector=connector)
    return app


# -- a SessionConnector subclass whose admit() reads the state -------------------


class CappedSession(SessionConnector):
    """0.2.3's session tracker with a cap of its own, as a user may write it:
    a client already holding three files is pushed nothing more (the page's
    links go out as ``nopush`` hints). Its ``admit()`` reads the whole state,
    not only which of the page's links it holds."""

    def admit(self, state: dict[str, None], seen: Sequence[str], new: Sequence[str]) -> list[str]:
        return [] if len(state) >= 3 else list(new)


@pytest.mark.parametrize("first", ["full", "fresh"])
def test_session_subclass_admit_is_asked_for_each_client(first: str) -> None:
    """BUG: ``shares_outcomes = True`` is a class attribute of
    ``SessionConnector``; a subclass overriding ``admit()`` inherits it, and
    the final header then hands one client's outcome to every client whose
    session holds the same of the page's links, whatever the rest of it."""
    app = new_app(connector=CappedSession(), TESTING=True)

    @app.get("/")
    def page() -> str:
        push("/static/x.css")
        push("/static/y.css")
        return "ok"

    @app.get("/seed")
    def seed() -> str:
        session["h2-pushed"] = "/static/o1.css,/static/o2.css,/static/o3.css"
        return "seeded"

    expected = {"full": [("/static/x.css", True), ("/static/y.css", True)]}
    expected["fresh"] = [("/static/x.css", False), ("/static/y.css", False)]
    got = {}
    for name in (first, "fresh" if first == "full" else "full"):
        client = app.test_client()
        if name == "full":
            client.get("/seed")
        else:
            client.get("/seed")  # a session cookie too, holding nothing
            with client.session_transaction() as kept:
                kept["h2-pushed"] = ""
        response = client.get("/", headers=NAV)
        got[name] = [(link.target, link.has("nopush")) for link in links_of(response)]
    assert got == expected


# -- the demo's asset(): one URL per context it is asked in ----------------------


def _demo(tmp_path: Path, name: str, **config: Any) -> Flask:
    demo = pytest.importorskip("demo")
    data = tmp_path / name
    data.mkdir()
    app: Flask = demo.create_app({"TESTING": True, "DEMO_DATA_DIR": str(data), "DEMO_SLOW_SECONDS": 0, **config})
    return app


@pytest.fixture
def fresh_assets(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """The demo's ``asset()``, with its URL memo emptied for this test."""
    assets = pytest.importorskip("demo.assets")
    monkeypatch.setattr(assets, "_checked", {})
    return assets.asset  # type: ignore[no-any-return]


def _stylesheet(body: bytes) -> str:
    found = re.search(rb'<link rel="stylesheet" href="([^"]*css/main\.css[^"]*)"', body)
    assert found is not None, body[:400]
    return found.group(1).decode()


@pytest.mark.parametrize("order", ["app context first", "page first"])
def test_demo_asset_url_follows_the_context_it_is_asked_in(
    tmp_path: Path, fresh_assets: Callable[[str], str], order: str
) -> None:
    """BUG: ``asset()`` keys its URL by (static folder, filename, script root
    or "" outside a request). Outside a request (a CLI command, an e-mail
    rendered by a job, ``flask shell``) ``url_for`` gives an absolute URL
    (``SERVER_NAME``); a page at the root mount has the same key: for a
    second the page references, and pushes, the absolute URL (which goes out
    ``nopush``, not same-origin), and the job gets a relative one."""
    app = _demo(tmp_path, "one", SERVER_NAME="magazine.example")
    client = app.test_client()

    def page() -> tuple[str, list[tuple[str, bool]]]:
        response = client.get("/articles/early-hints", base_url="http://magazine.example", headers=NAV)
        assert response.status_code == 200
        main = [(link.target, link.has("nopush")) for link in links_of(response) if "main.css" in link.target]
        return _stylesheet(response.get_data()), main

    def outside() -> str:
        with app.app_context():
            return fresh_assets("css/main.css")

    if order == "app context first":
        external = outside()
        href, links = page()
    else:
        href, links = page()
        external = outside()
    assert external.startswith("http://magazine.example/static/css/main.css?v=")
    assert href.startswith("/static/css/main.css?v=")
    assert links == [(href, False)]


def test_demo_asset_outside_requests_is_each_apps_own(tmp_path: Path, fresh_assets: Callable[[str], str]) -> None:
    """BUG (same key): two apps of the factory share the demo's static
    folder; outside a request the second gets the first one's host."""
    one = _demo(tmp_path, "one", SERVER_NAME="one.example")
    two = _demo(tmp_path, "two", SERVER_NAME="two.example", PREFERRED_URL_SCHEME="https")
    with one.app_context():
        first = fresh_assets("css/main.css")
    with two.app_context():
        second = fresh_assets("css/main.css")
    assert first.startswith("http://one.example/static/")
    assert second.startswith("https://two.example/static/")


def test_demo_mounted_twice_each_page_names_its_own_mount(tmp_path: Path, fresh_assets: Callable[[str], str]) -> None:
    """Two demo apps mounted at /en and /fr of one threaded server, asked at
    once: each page's stylesheet and Link targets start with its own mount."""
    mounts = {"/en": _demo(tmp_path, "en"), "/fr": _demo(tmp_path, "fr")}
    root = Flask(__name__)
    wsgi = DispatcherMiddleware(root.wsgi_app, {prefix: app.wsgi_app for prefix, app in mounts.items()})
    failures: list[str] = []

    def visit(prefix: str) -> Callable[[], None]:
        def job() -> None:
            for _ in range(3):
                answer = fetch(port, f"{prefix}/articles/early-hints")
                assert answer.status == 200
                href = _stylesheet(answer.body)
                targets = [target for target, _ in answer.links()]
                if not href.startswith(f"{prefix}/static/") or not all(t.startswith(f"{prefix}/") for t in targets):
                    failures.append(f"{prefix}: {href} {targets}")

        return job

    with serving(wsgi) as port:
        run_all([visit(prefix) for prefix in mounts for _ in range(4)])
    assert failures == []


# -- each client its own state, on a threaded server ------------------------------


def _page_pushing(app: Flask) -> None:
    @app.get("/")
    def page() -> str:
        for name in ("a", "b", "c"):
            push(f"/static/{name}.css")
        return "<p>page</p>"

    @app.get("/seed/<name>")
    def seed(name: str) -> str:
        push(f"/static/{name}.css")
        return "<p>seed</p>"


EXPECTED = {group: [(f"/static/{name}.css", name == group) for name in ("a", "b", "c")] for group in ("a", "b", "n")}


def test_digest_clients_at_once_each_read_their_own_cookie() -> None:
    """Returning visitors, each with a ``Cookie`` header of its own (the
    digest of what it was pushed, and a cookie of another name), asking at
    once: each gets the nopush flags of its own digest, every time."""
    app = new_app()
    _page_pushing(app)
    with serving(app.wsgi_app) as port:
        digests: dict[str, str | None] = {"n": None}
        for group in ("a", "b"):
            digests[group] = fetch(port, f"/seed/{group}").cookie("fh-pushed")
        failures: list[str] = []

        def visitor(group: str, number: int) -> Callable[[], None]:
            digest = digests[group]
            cookie = f"visitor=v{number}" + (f"; fh-pushed={digest}" if digest else "")

            def job() -> None:
                for _ in range(4):
                    answer = fetch(port, "/", {"Cookie": cookie})
                    if answer.links() != EXPECTED[group]:
                        failures.append(f"{group}{number}: {answer.links()}")

            return job

        run_all([visitor(group, n) for n in range(4) for group in ("a", "b", "n")])
    assert failures == []


class PerClientConnector:
    """A connector keeping each client's set by its ``X-Client`` header."""

    def __init__(self, sets: dict[str, set[str]]) -> None:
        self.sets = sets
        self.lock = threading.Lock()
        self.saved: dict[str, list[set[str]]] = {}

    def get_pushed(self) -> set[str]:
        with self.lock:
            return set(self.sets[request.headers["X-Client"]])

    def set_pushed(self, inset: set[str]) -> None:
        client = request.headers["X-Client"]
        with self.lock:
            self.saved.setdefault(client, []).append(set(inset))


def test_connector_clients_at_once_share_a_header_never_a_set() -> None:
    """Clients whose connector sets hold the same of the page's files, and
    different others, asking at once: the same nopush flags, and each
    ``set_pushed()`` call gets that client's own set with the page's files."""
    sets = {
        f"{group}{n}": ({f"/static/{group}.css"} if group != "n" else set()) | {f"/other/{group}{n}"}
        for group in ("a", "b", "n")
        for n in range(4)
    }
    connector = PerClientConnector(sets)
    app = new_app(connector=connector)
    _page_pushing(app)
    failures: list[str] = []

    def client(name: str) -> Callable[[], None]:
        def job() -> None:
            for _ in range(4):
                answer = fetch(port, "/", {"X-Client": name})
                if answer.links() != EXPECTED[name[0]]:
                    failures.append(f"{name}: {answer.links()}")

        return job

    with serving(app.wsgi_app) as port:
        run_all([client(name) for name in sets])
    assert failures == []
    page = {"/static/a.css", "/static/b.css", "/static/c.css"}
    for name, saved in connector.saved.items():
        assert saved and all(inset == sets[name] | page for inset in saved), (name, saved)


def test_session_clients_at_once_keep_their_own_sessions() -> None:
    """0.2.3's session tracker on a threaded server: each client's session
    cookie, read back, holds its own files and the page's."""
    app = new_app(connector=SessionConnector)
    _page_pushing(app)

    @app.get("/own/<name>")
    def own(name: str) -> str:
        session["h2-pushed"] = f"/static/{name[0]}.css,/other/{name}" if name[0] != "n" else f"/other/{name}"
        return "own"

    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    names = [f"{group}{n}" for group in ("a", "b", "n") for n in range(3)]
    failures: list[str] = []

    def client(name: str) -> Callable[[], None]:
        def job() -> None:
            cookie = fetch(port, f"/own/{name}").cookie("session")
            answer = fetch(port, "/", {"Cookie": f"session={cookie}"})
            if answer.links() != EXPECTED[name[0]]:
                failures.append(f"{name}: {answer.links()}")
            stored = set(serializer.loads(answer.cookie("session"))["h2-pushed"].split(","))
            expected = {"/static/a.css", "/static/b.css", "/static/c.css", f"/other/{name}"}
            if stored != expected:
                failures.append(f"{name} saved {stored}")

        return job

    with serving(app.wsgi_app) as port:
        run_all([client(name) for name in names])
    assert failures == []


# -- learned hints: each host its own 103, each request its own key ---------------


def echo_early_hints(app: WSGIApp) -> WSGIApp:
    """Stand in for a server's ``wsgi.early_hints`` over HTTP/2: what each
    103 said in ``Link`` comes back in the final response's
    ``X-Early-Hints`` fields, so that it crosses the wire."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sent: list[list[tuple[str, str]]] = []
        environ["wsgi.early_hints"] = sent.append
        environ[TEST_HTTP2] = True

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            hints = [("X-Early-Hints", value) for fields in sent for name, value in fields if name.lower() == "link"]
            return start_response(status, [*headers, *hints], exc_info)

        return app(environ, start)

    return wsgi


def _learning_app(**config: Any) -> Flask:
    app = new_app(FIREHOSE_TRACKING=False, **config)

    @app.get("/article/<slug>")
    def article(slug: str) -> str:
        push(f"/static/{request.host.split('.')[0]}.css", **{"as": "style", "rel": "preload"})
        return f"<p>{slug}</p>"

    return app


def test_learned_103_of_each_host_at_once() -> None:
    """Two hosts of one app learn apart; asked at once on a threaded server,
    each request's 103 carries its own host's learned file only (the
    learner's site and key are kept for the request at hand, never another
    thread's)."""
    app = _learning_app()
    hosts = ("one.example", "two.example")
    failures: list[str] = []
    with serving(echo_early_hints(app.wsgi_app)) as port:
        for host in hosts:
            for slug in ("x", "y", "z"):
                assert fetch(port, f"/article/{slug}", {"Host": host}).status == 200

        def visit(host: str, slug: str) -> Callable[[], None]:
            def job() -> None:
                for _ in range(5):
                    answer = fetch(port, f"/article/{slug}", {"Host": host})
                    hinted = parse_link_headers(answer.all("X-Early-Hints"))
                    got = [link.target for link in hinted]
                    if got != [f"/static/{host.split('.')[0]}.css"]:
                        failures.append(f"{host} {slug}: {got}")

            return job

        run_all([visit(host, slug) for host in hosts for slug in ("p", "q", "r", "s")])
    assert failures == []


def test_learner_key_for_the_request_proxy_copied_contexts_and_streams() -> None:
    """A test app passing ``flask.request`` (the proxy, one object for
    every request), a thread running a copied context after its request
    ended and another began, and a streamed body read after the response
    hooks: each is told its own request's key."""
    app = _learning_app()
    state = state_of(app)
    assert state is not None and state.learner is not None
    learner = state.learner
    seen: dict[str, str | None] = {}
    go = threading.Event()
    done = threading.Event()

    @app.get("/first")
    def first() -> str:
        seen["first"] = learner.key(app, request)

        @copy_current_request_context
        def later() -> None:
            go.wait(10)
            seen["copied"] = learner.key(app, request)
            done.set()

        threading.Thread(target=later, daemon=True).start()
        return "<p>first</p>"

    @app.get("/second")
    def second() -> str:
        seen["second"] = learner.key(app, request)
        return "<p>second</p>"

    @app.get("/stream")
    def stream() -> Any:
        def body() -> Iterator[str]:
            yield "<p>"
            seen["streamed"] = learner.key(app, request)
            yield "</p>"

        return app.response_class(stream_with_context(body()), mimetype="text/html")

    client = app.test_client()
    assert client.get("/first", headers=NAV).status_code == 200
    assert client.get("/second", headers=NAV).status_code == 200
    go.set()
    assert done.wait(10)
    assert client.get("/stream", headers=NAV).get_data() == b"<p></p>"
    assert seen["first"] is not None and seen["first"].endswith("first")
    assert seen["copied"] == seen["first"]
    assert seen["second"] is not None and seen["second"].endswith("second")
    assert seen["streamed"] is not None and seen["streamed"].endswith("stream")


class MutableStore:
    """A hint store answering with one list object that the test changes in
    place (as a store keeping its answer list may)."""

    def __init__(self) -> None:
        self.answer: list[Link] = []

    def learned(self, key: str) -> list[Link]:
        return self.answer

    def observe(self, key: str, links: Sequence[Link]) -> None:
        pass


def test_103_follows_a_store_answer_changed_in_place() -> None:
    store = MutableStore()
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, FIREHOSE_TRACKING=False)
    Firehose(app, hint_store=store)

    @app.get("/article")
    def article() -> str:
        return "<p>a</p>"

    answers: list[list[str]] = []
    with serving(echo_early_hints(app.wsgi_app)) as port:
        for change in (
            lambda: store.answer.append(Link("/static/a.css", as_="style")),
            lambda: None,
            lambda: store.answer.append(Link("/static/b.css", as_="style")),
            lambda: store.answer.pop(0),
            lambda: store.answer.__setitem__(0, Link("/static/c.js", as_="script")),
            store.answer.clear,
        ):
            change()
            answer = fetch(port, "/article")
            answers.append(answer.all("X-Early-Hints"))
    assert answers == [
        ["</static/a.css>; rel=preload; as=style"],
        ["</static/a.css>; rel=preload; as=style"],
        ["</static/a.css>; rel=preload; as=style, </static/b.css>; rel=preload; as=style"],
        ["</static/b.css>; rel=preload; as=style"],
        ["</static/c.js>; rel=preload; as=script"],
        [],
    ]


# -- hostile input: memory stays bounded -------------------------------------------


def test_a_flood_of_cookie_headers_keeps_the_digest_memo_bounded() -> None:
    """A client sending a new ``Cookie`` header on every request (a
    counter, junk digests) costs a parse each time, never memory."""
    app = new_app(TESTING=True)
    _page_pushing(app)
    state = state_of(app)
    assert state is not None
    tracker: Any = state.tracker
    client = app.test_client(use_cookies=False)
    for n in range(1500):
        junk = "Z" * (n % 40 + 1)
        response = client.get("/", headers={**NAV, "Cookie": f"n={n}; fh-pushed={junk}"})
        assert response.status_code == 200
    assert len(tracker._by_header) <= tracker._by_header.size == 256
    response = client.get("/", headers={**NAV, "Cookie": "n=last"})
    assert [(link.target, link.has("nopush")) for link in links_of(response)] == EXPECTED["n"]


def test_every_membership_pattern_keeps_the_shared_outcomes_bounded() -> None:
    """A page of ten pushed files and clients whose sets hold every one of
    the 1,024 subsets of them: each gets the flags of its own set; the
    shared outcomes stay within the memo's size."""
    files = [f"/static/f{i}.css" for i in range(10)]
    sets = {str(mask): {files[i] for i in range(10) if mask >> i & 1} for mask in range(1024)}
    connector = PerClientConnector(sets)
    app = new_app(connector=connector, TESTING=True, FIREHOSE_MAX_LINKS=20, FIREHOSE_MAX_PUSHES=20)

    @app.get("/")
    def page() -> str:
        for target in files:
            push(target)
        return "<p>page</p>"

    client = app.test_client()
    for mask in (*range(1024), 1023, 0, 517):
        response = client.get("/", headers={**NAV, "X-Client": str(mask)})
        flags = {link.target: link.has("nopush") for link in links_of(response)}
        assert flags == {target: target in sets[str(mask)] for target in files}, mask
    state = state_of(app)
    assert state is not None
    assert len(state.final_header.shared) <= 256


def test_a_flood_of_attribute_combinations_stays_bounded_and_right() -> None:
    """Attribute values made per request (a counter) fill the memo: it is
    emptied when full, and every call still gets its own link."""
    app = new_app(TESTING=True)
    with app.test_request_context("/"):
        for n in range(5000):
            push(f"/static/{n % 7}.css", **{"data-n": str(n), "as": "style"})
    assert len(getattr(_links, "ATTRIBUTE_LINKS", {})) <= 2048
    for n in (3, 4999, 3):
        with app.test_request_context("/"):
            push(f"/static/{n % 7}.css", **{"data-n": str(n), "as": "style"})
            (link,) = current_links().pushed.as_tuple()  # type: ignore[union-attr]
        assert link.text == f"</static/{n % 7}.css>; rel=preload; as=style; data-n={n}"


# -- push(url, *args, **attrs): what must not share an entry ------------------------


@pytest.fixture
def hostile_memo_entries() -> Iterator[None]:
    """Leave no hostile value in the process-wide link memos for later tests."""
    yield
    getattr(_links, "ATTRIBUTE_LINKS", {}).clear()
    _links._cached_build.cache_clear()


class AlwaysEqual(str):
    """A ``str`` equal to every ``str`` of its own type, with one hash."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AlwaysEqual) or str.__eq__(self, other)

    def __hash__(self) -> int:
        return 7


class RaisingEqual(str):
    """A ``str`` whose comparison raises (one hash, so two of them meet)."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing me")

    def __hash__(self) -> int:
        return 11


@pytest.mark.parametrize(
    ("first", "then"),
    [
        # (url, args, attrs): the first call is remembered, the second must still be its own
        (("/static/a.css", (), {"x_v": True}), ("/static/a.css", (), {"x_v": "x_v"})),
        (("/static/a.css", (), {"x_v": 1}), ("/static/a.css", (), {"x_v": "1"})),
        (("/static/a.css", (), {"x_v": False}), ("/static/a.css", (), {"x_v": 0})),
        (("/static/a.css", ("crossorigin",), {}), ("/static/a.css", (), {"crossorigin": True})),
        (("/static/a.css", ("crossorigin=use-credentials",), {}), ("/static/a.css", ("crossorigin",), {})),
        (("/static/a.css", (), {"x_v": Markup("a&amp;b")}), ("/static/a.css", (), {"x_v": "a&b"})),
        ((Markup("/static/a.css"), (), {"as": "style"}), ("/static/a.css", (), {"as": "style"})),
        (
            ("/static/a.css", (), {"as": "style", "rel": "preload"}),
            ("/static/a.css", (), {"rel": "preload", "as": "style"}),
        ),
    ],
)
def test_attribute_calls_that_differ_get_their_own_link(
    first: tuple[object, tuple[object, ...], dict[str, object]],
    then: tuple[object, tuple[object, ...], dict[str, object]],
) -> None:
    """Whatever the first call left in the memo, the second gets the link a
    fresh build gives it (equal calls, equal links: ``Markup`` and ``str``
    agree where their text does)."""
    app = new_app(TESTING=True)
    for url, args, attrs in (first, then, first, then):
        with app.test_request_context("/"):
            push(url, *args, **attrs)  # type: ignore[call-overload]
            (link,) = current_links().pushed.as_tuple()  # type: ignore[union-attr]
        assert link.text == _build(url, args, attrs).text
        assert all(type(value) is str or value is None for _, value in link.params)


@pytest.mark.usefixtures("hostile_memo_entries")
def test_hostile_attribute_values_never_break_the_page() -> None:
    """Values whose comparison raises meet in the memo (one hash): the page
    still answers 200, the push left out and logged (lenient), or the typed
    error (strict)."""
    lenient = new_app()

    @lenient.get("/<value>")
    def page(value: str) -> str:
        push("/static/a.css", x_v=RaisingEqual(value))
        push("/static/b.css")
        return "<p>page</p>"

    client = lenient.test_client()
    for value in ("one", "two", "one"):
        response = client.get(f"/{value}", headers=NAV)
        assert response.status_code == 200
        assert [link.target for link in links_of(response)] in (["/static/b.css"], ["/static/a.css", "/static/b.css"])
    strict = new_app(TESTING=True)
    with strict.test_request_context("/"):
        for value in ("one", "two"):
            with suppress(InvalidLinkError):  # the typed error, nothing else
                push("/static/a.css", x_v=RaisingEqual(value))


@pytest.mark.usefixtures("hostile_memo_entries")
def test_values_equal_by_their_own_eq_share_one_link_as_before() -> None:
    """A ``str`` subclass equal to all of its kind makes two calls one key;
    the build cache before this memo did the same (documented, not new)."""
    app = new_app(TESTING=True)
    texts = []
    for value in ("one", "two"):
        with app.test_request_context("/"):
            push("/static/eq.css", x_v=AlwaysEqual(value))
            (link,) = current_links().pushed.as_tuple()  # type: ignore[union-attr]
            texts.append(link.text)
    assert texts[0] == texts[1] == "</static/eq.css>; rel=preload; as=style; x_v=one"


# -- odd connector answers still go through the failure policy -------------------------


class Hashless(str):
    def __hash__(self) -> int:
        raise RuntimeError("no hashing me")


@pytest.mark.parametrize(
    "answer",
    [
        frozenset({"/static/a.css"}),
        ("/static/a.css", "/static/a.css"),
        ["/static/a.css"],
        [Markup("/static/a.css")],
        [Hashless("/static/a.css")],
        [b"/static/a.css"],
        ["/static/a.css", 1, True, None],
        iter(["/static/a.css"]),
        {"/static/a.css": 1},
    ],
    ids=repr,
)
def test_odd_connector_answers_never_500_and_mean_what_they_say(answer: object) -> None:
    """A lenient app: each answer of ``get_pushed()`` that names
    ``/static/a.css`` gives it ``nopush`` (odd items left out, logged), the
    page answers 200 and ``set_pushed()`` gets plain ``str`` only."""
    saved: list[set[str]] = []

    class Connector:
        def get_pushed(self) -> object:
            return iter(answer) if isinstance(answer, type(iter([]))) else answer

        def set_pushed(self, inset: set[str]) -> None:
            saved.append(inset)

    app = new_app(connector=Connector())

    @app.get("/")
    def page() -> str:
        push("/static/a.css")
        push("/static/b.css")
        return "<p>page</p>"

    response = app.test_client().get("/", headers=NAV)
    assert response.status_code == 200
    assert [(link.target, link.has("nopush")) for link in links_of(response)] == [
        ("/static/a.css", True),
        ("/static/b.css", False),
    ]
    assert saved == [{"/static/a.css", "/static/b.css"}]
    assert all(type(item) is str for item in saved[0])


# -- a finished request is not kept alive ---------------------------------------------


def test_a_finished_navigation_is_not_kept_alive_by_the_learner() -> None:
    """LOW (memory, no answer changes): the learner keeps the last request's
    context and request object (for its site and key) until another
    navigation asks; with them the request's environ, cached body and opened
    session stay in memory after the response went out."""
    app = _learning_app()
    alive: list[weakref.ref[Any]] = []

    @app.get("/page")
    def page() -> str:
        alive.append(weakref.ref(request._get_current_object()))  # type: ignore[attr-defined]
        push("/static/a.css")
        return "<p>page</p>"

    client = app.test_client()
    with record_early_hints(client):
        assert client.get("/page", headers={"X-Big": "x" * 60_000}).status_code == 200
    gc.collect()
    assert alive and alive[0]() is None


# -- odd store answers still go through the failure policy ------------------------------


class Grudging(list[object]):
    """A list subclass whose iteration fails."""

    def __iter__(self) -> Iterator[object]:
        raise RuntimeError("store broke mid-read")


GOOD = Link("/static/a.css", as_="style")


@pytest.mark.parametrize(
    "answer",
    [
        [GOOD],
        (GOOD,),
        [GOOD, "not a link", None, 3],
        [GOOD, Link("https://elsewhere.example/x.css", as_="style")],
        Grudging([GOOD]),
        "/static/a.css",
        iter([GOOD]),
        None,
    ],
    ids=repr,
)
def test_odd_store_answers_never_500(answer: object) -> None:
    """A lenient app whose store answers oddly: the page answers 200 and its
    103 holds the valid, public links of the answer only (none when the
    answer is no list), the same on the second visit."""

    class Store:
        def learned(self, key: str) -> object:
            return iter([GOOD]) if isinstance(answer, type(iter([]))) else answer

        def observe(self, key: str, links: Sequence[Link]) -> None:
            pass

    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False)
    Firehose(app, hint_store=Store())  # type: ignore[arg-type]  # answers oddly on purpose

    @app.get("/page")
    def page() -> str:
        return "<p>page</p>"

    expected = [] if isinstance(answer, (str, Grudging)) or answer is None else ["/static/a.css"]
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(2):
            assert client.get("/page").status_code == 200
    assert [[link.target for link in sent] for sent in hints.links] == ([expected] * 2 if expected else [])
