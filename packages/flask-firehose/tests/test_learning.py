from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from flask import Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.http import parse_cookie

from flask_firehose import Firehose, Link, MemoryHintStore, push
from flask_firehose._hint_store import _Endpoint, asset_identity, keyed_links
from flask_firehose._learning import Learner
from flask_firehose._learning_scope import scoped_key
from flask_firehose._links import safe_repr
from flask_firehose._public_links import is_public_asset_target, is_public_link
from flask_firehose._requests import carries_credentials
from flask_firehose._state import state_of
from flask_firehose.testing import links_of, record_early_hints

from .conftest import AppFactory


@pytest.mark.parametrize(
    ("target", "identity"),
    [
        ("/static/app.css?v=123", "/static/app.css"),
        ("/static/app.3f9a1c22.css", "/static/app.css"),
        ("/static/chunk-5feceb66.js", "/static/chunk.js"),
        ("/static/chunk-00.5feceb66.js", "/static/chunk-00.js"),
        ("/static/deadbeef/app.css", "/static/deadbeef/app.css"),
        ("/static/logo.svg#icon", "/static/logo.svg"),
        ("/static/face.woff2", "/static/face.woff2"),
        # Names that merely look like builds are names.
        ("/static/photo.decade.png", "/static/photo.decade.png"),
        ("/static/img/facade.png", "/static/img/facade.png"),
        ("/static/report-20240101.pdf", "/static/report-20240101.pdf"),
        ("/static/Roboto-Regular400.woff2", "/static/Roboto-Regular400.woff2"),
        ("/static/Roboto-SemiBold600.woff2", "/static/Roboto-SemiBold600.woff2"),
        ("/static/bg-ffffff00.png", "/static/bg-ffffff00.png"),
        ("/static/bg-000000ff.png", "/static/bg-000000ff.png"),
        ("/static/hero.jpg?w=400", "/static/hero.jpg"),
        # Real hashes: hex with digits and letters, long hex, Vite's mixed case.
        ("/static/app.3F9A1C22.css", "/static/app.css"),
        ("/static/app.deadbeefcafe.css", "/static/app.css"),
        ("/assets/index-BXdo2h8c.js", "/assets/index.js"),
    ],
)
def test_asset_identity(target: str, identity: str) -> None:
    assert asset_identity(target) == identity


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/static/a.css", True),
        ("/static/css/a.3f9a1c2b.css", True),
        ("/static/a.css?v=3f9a1c", True),
        ("/static/a.css?version=1.2.3", True),
        ("/media/a.png", False),
        ("/staticky/a.png", False),
        ("//cdn.example/static/a.css", False),
        ("https://x.example/static/a.css", False),
        ("/static/../media/private/alice.png", False),
        ("/static/./a.css", False),
        ("/static//a.css", False),
        ("/static/", False),
        ("/static/%2e%2e/media/x.png", False),
        ("/static/..%2Fmedia/x.png", False),
        ("/static/a%5c..%5cb.png", False),
        ("/static/a%00.png", False),
        ("/static/a.css;jsessionid=abc", False),
        ("/static/avatar.png?token=abc", False),
        ("/static/hero.jpg?w=400", False),
        ("/static/a.css?v=1&user=alice", False),
        ("/static/a.css#user=alice", False),
        ("/static/caf%C3%A9.css", True),
        # Only what RFC 3986 allows in a path, as a link writes it.
        ("/static/café.css", False),
        ("/static/a.css\r\nSet-Cookie: x=1", False),
        ("/static/a b.css", False),
        ("/static/a[1].css", False),
        ("/static/a%zz.css", False),
        ("/static/a\x00.css", False),
    ],
)
def test_public_asset_targets(target: str, expected: bool) -> None:
    assert is_public_asset_target(target, ("/static/",)) is expected


def _link(n: int) -> Link:
    return Link(f"/static/{n}.css", as_="style", nopush=True)


def test_min_seen_counts_responses_not_repeats() -> None:
    store = MemoryHintStore(min_seen=2)
    store.observe("page", [_link(1), _link(1)])
    assert store.learned("page") == []
    store.observe("page", [_link(1)])
    assert store.learned("page") == [_link(1)]


def test_forgets_what_it_no_longer_sees() -> None:
    store = MemoryHintStore(min_seen=1, window=3)
    store.observe("page", [_link(1)])
    for _ in range(3):
        store.observe("page", [_link(2)])
    assert store.learned("page") == [_link(2)]


def test_bounded_endpoints_and_links() -> None:
    store = MemoryHintStore(min_seen=1, max_endpoints=4, max_links=5)
    for endpoint in range(10):
        store.observe(f"e{endpoint}", [_link(n) for n in range(20)])
    assert list(store.endpoints()) == ["e6", "e7", "e8", "e9"]
    assert len(store.learned("e9")) == 5


def test_concurrent_observers() -> None:
    store = MemoryHintStore(min_seen=1, max_links=8)

    def work(offset: int) -> None:
        for i in range(200):
            store.observe("page", [_link((i + offset) % 12)])
            store.learned("page")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0 < len(store.learned("page")) <= 8


def test_files_named_alike_on_one_page_are_distinct() -> None:
    store = MemoryHintStore(min_seen=2)
    chunks = [Link("/assets/index-A1b2C3d4.js", as_="script"), Link("/assets/index-E5f6G7h8.js", as_="script")]
    for _ in range(2):
        store.observe("page", chunks)
    assert store.learned("page") == chunks


def test_a_new_build_replaces_the_old_one() -> None:
    store = MemoryHintStore(min_seen=1)
    store.observe("page", [Link("/static/app.3f9a1c2b.css", as_="style")])
    store.observe("page", [Link("/static/app.77e0aa11.css", as_="style")])
    assert [link.target for link in store.learned("page")] == ["/static/app.77e0aa11.css"]


def test_observe_bounds_a_huge_page_and_works_outside_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    import flask_firehose._hint_store as hint_store

    store = MemoryHintStore(min_seen=1, max_links=8)
    held: list[bool] = []
    original = hint_store.asset_identity

    def spy(target: str) -> str:
        held.append(store._lock.locked())
        return original(target)

    monkeypatch.setattr(hint_store, "asset_identity", spy)
    store.observe("page", [Link(f"/static/{n}.png", as_="image") for n in range(10_000)])
    assert len(store.learned("page")) == 8
    assert held and not any(held)
    assert len(held) == 8  # only the kept links are even looked at


def test_a_steady_page_is_not_counted_again() -> None:
    store = MemoryHintStore(min_seen=1)
    page = [_link(1), _link(2)]
    store.observe("page", page)
    responses = store._endpoints["page"].responses
    for _ in range(5):
        store.observe("page", page)
    assert store._endpoints["page"].responses == responses  # the shortcut was taken
    store.observe("page", [_link(1)])  # a change is counted at once
    assert store._endpoints["page"].responses == responses + 1


def test_a_page_past_the_cap_still_teaches_its_common_links() -> None:
    """A page's links are capped at MAX_LINKS_PER_PAGE (32) after the links
    only one URL pushes are dropped: 40 album photos, then the shared logo
    at the same priority, still teach the logo."""
    store = MemoryHintStore(min_seen=2)
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="s")
    Firehose(app, hint_store=store)

    @app.get("/gallery/<album>")
    def gallery(album: str) -> str:
        for i in range(40):
            push(f"/static/albums/{album}/{i}.jpg")
        push("/static/logo.svg")
        return "<p>gallery</p>"

    client = app.test_client()
    with record_early_hints(client):
        for album in ("a", "b", "c", "d"):
            assert client.get(f"/gallery/{album}").status_code == 200
    namespace = str(state_of(app).learner.namespace)  # type: ignore[union-attr]
    learned = store.learned(scoped_key(namespace, "localhost", "gallery"))
    assert [link.target for link in learned] == ["/static/logo.svg"]


class _CountsEveryResponse(MemoryHintStore):
    """``observe`` written out without the steady-state shortcut: every
    response counted."""

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        keyed = keyed_links(links, self.max_links)
        with self._lock:
            state = self._endpoints.pop(endpoint, None) or _Endpoint()
            self._endpoints[endpoint] = state
            while len(self._endpoints) > self.max_endpoints:
                self._endpoints.popitem(last=False)
            state.responses += 1
            state.learned = None  # what learned() answered may change
            now = state.responses
            candidates = state.candidates
            for key, link in keyed:
                self._count(candidates, key, link, now)
            for key in [key for key, c in candidates.items() if now - c.last >= self.window]:
                del candidates[key]


# Mixed priorities, two builds of one asset, same-named chunks (distinct keys),
# one target as preload and modulepreload (one key twice in a response).
_POOL = [
    Link("/static/main.3f9a1c2b.css", as_="style"),
    Link("/static/main.77e0aa11.css", as_="style"),
    Link("/static/app.js", as_="script"),
    Link("/static/app.js", rel="modulepreload"),
    Link("/static/index-A1b2C3d4.js", as_="script"),
    Link("/static/index-E5f6G7h8.js", as_="script"),
    Link("/static/font.woff2", as_="font", crossorigin=""),
    Link("/static/logo.svg", as_="image", nopush=True),
    Link("/static/hero.png", as_="image"),
]


@settings(max_examples=400, deadline=None)
@given(
    min_seen=st.integers(1, 3),
    window=st.integers(1, 4),
    max_links=st.integers(1, 5),
    max_endpoints=st.integers(1, 3),
    visits=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.lists(st.integers(0, len(_POOL) - 1), max_size=6),
            st.booleans(),
        ),
        max_size=50,
    ),
)
def test_the_steady_shortcut_answers_as_counting_every_response(
    min_seen: int, window: int, max_links: int, max_endpoints: int, visits: list[tuple[str, list[int], bool]]
) -> None:
    """Against a store that counts every response, written out on its own
    (not this store with its flag cleared): priorities, builds, one key
    twice, repeated pages, the endpoint LRU."""
    sizes = {"min_seen": min_seen, "window": window, "max_links": max_links, "max_endpoints": max_endpoints}
    fast, counting = MemoryHintStore(**sizes), _CountsEveryResponse(**sizes)
    previous: dict[str, tuple[Link, ...]] = {}
    for endpoint, picks, repeat in visits:
        links = previous.get(endpoint, ()) if repeat else tuple(_POOL[i] for i in picks)
        previous[endpoint] = links
        fast.observe(endpoint, links)
        counting.observe(endpoint, list(links))
        assert list(fast.endpoints()) == list(counting.endpoints())
        for name in ("a", "b", "c"):
            assert fast.learned(name) == counting.learned(name)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["fh-pushed", "session", "=", ";", " ", "\t", '"', ",", "\\", "a", "\x0b", "\r", "fh-pushed="]),
        max_size=10,
    )
)
def test_the_cookie_scan_is_never_laxer_than_werkzeug(parts: list[str]) -> None:
    """Whenever Werkzeug (which reads Flask's session) finds a cookie other
    than the digest's, the scan calls the request credentialed."""
    header = "".join(parts)
    if any(name != "fh-pushed" for name in parse_cookie(header)):
        assert carries_credentials({"HTTP_COOKIE": header}, "fh-pushed")


def test_a_cookie_werkzeug_cannot_decode_counts_as_credentials() -> None:
    """A Cookie header that is not UTF-8 makes ``parse_cookie`` raise; the
    scan calls it credentialed instead of breaking the page."""
    assert carries_credentials({"HTTP_COOKIE": "fh-pushed=x; s\xa0=1"}, "fh-pushed")


def _targets_103(recorder: Any) -> list[list[str]]:
    return [[link.target for link in links] for links in recorder.links]


def test_threads_get_their_own_pages_links(make_app: AppFactory) -> None:
    """Eight threads, eight endpoints, learning on: every Link field and
    every 103 holds that endpoint's files only."""
    app, _ = make_app(FIREHOSE_TRACKING=False, FIREHOSE_LEARN_MIN_SEEN=1)
    for n in range(8):

        def view(n: int = n) -> str:
            for i in range(3):
                push(f"/static/p{n}/{i}.css")
            return "<p>page</p>"

        app.add_url_rule(f"/p{n}", f"p{n}", view)
    errors: list[str] = []

    def run(n: int) -> None:
        client = app.test_client()
        expected = {f"/static/p{n}/{i}.css" for i in range(3)}
        with record_early_hints(client) as hints:
            for _ in range(150):
                got = {link.target for link in links_of(client.get(f"/p{n}"))}
                if got != expected:
                    errors.append(f"p{n}: {sorted(got)}")
        errors.extend(f"p{n} 103: {links}" for links in _targets_103(hints) if not set(links) <= expected)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


class _Forged(Link):
    """A Link whose target changes on every read (never built: no checks ran)."""

    targets: Iterator[str]

    @property
    def target(self) -> str:
        return next(self.targets)


def _forged(targets: list[str]) -> _Forged:
    item = object.__new__(_Forged)
    object.__setattr__(item, "targets", iter(targets * 100))
    for name, value in (("rel", "preload"), ("as_", "style"), ("crossorigin", None), ("nopush", False), ("params", ())):
        Link.__dict__[name].__set__(item, value)
    return item


class _FixedStore:
    """A hint store answering the same items every time, as a list or a generator."""

    def __init__(self, items: list[Any], generator: bool) -> None:
        self.items, self.generator = items, generator

    def learned(self, endpoint: str) -> Any:
        return (item for item in self.items) if self.generator else self.items

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        return None


def test_forged_and_changing_store_items_only_ever_give_checked_links() -> None:
    """A store's item whose fields change between reads, or one it mutates
    in place, may give a stale hint (the read is remembered by identity)
    but never one that was not checked; generators work."""
    evil = ["/static/a.css", "javascript:alert(1)", "/static/a.css\r\nSet-Cookie: x=1", "/media/private.css"]
    real = Link("/static/b.css", as_="style")
    for generator in (False, True):
        app = Flask(__name__)
        app.config.update(TESTING=True, FIREHOSE_STRICT=False)
        store = _FixedStore([_forged(evil), real], generator)
        Firehose(app, hint_store=store)

        @app.get("/")
        def page() -> str:
            return "<p>page</p>"

        learner = state_of(app).learner  # type: ignore[union-attr]
        assert isinstance(learner, Learner)
        for i in range(8):
            if i == 4:
                object.__setattr__(real, "target", "/static/c.css")  # mutated in place by the store
            with app.test_request_context("/"):
                hints = learner.hints(app, request)
            assert all(type(hint) is Link for hint in hints)
            assert {hint.target for hint in hints} <= {"/static/a.css", "/static/b.css", "/static/c.css"}
        object.__setattr__(real, "target", "/static/b.css")


# -- whole links: what may be learned, and what a store may hand back -------------

_PUBLIC = ("/static/",)


@pytest.mark.parametrize(
    "link",
    [
        Link("/static/a.css", as_="style"),
        Link("/static/a.css", as_="style", nopush=True),
        Link("/static/app.js", rel="modulepreload"),
        Link("/static/app.js", rel="modulepreload", as_="script", crossorigin="use-credentials"),
        Link("/static/f.woff2", as_="font", crossorigin="", params=(("type", "font/woff2"),)),
        Link("/static/f.woff2", as_="font", crossorigin="anonymous"),
        Link("/static/h.avif", as_="image", params=(("fetchpriority", "high"), ("type", "image/avif"))),
        Link("/static/h.svg", as_="image", params=(("type", "image/svg+xml"), ("fetchpriority", "LOW"))),
        Link("/static/a.css?v=3f9a1c", as_="style"),
        Link("/static/x"),
    ],
    ids=lambda link: link.text,
)
def test_public_links(link: Link) -> None:
    assert is_public_link(link, _PUBLIC)


def _forge(link: Link, **fields: object) -> Link:
    """*link* with fields no constructor would accept (as a store may hand out)."""
    for name, value in fields.items():
        object.__setattr__(link, name, value)
    return link


class _LinkSubclass(Link):
    pass


_CAPABILITY = "https://files.example/alice/photo.jpg?token=s3cr3t 1x"


@pytest.mark.parametrize(
    "link",
    [
        # Parameters whose values can carry a URL or one request's data.
        Link("/static/h.jpg", as_="image", params=(("imagesrcset", _CAPABILITY),)),
        Link("/static/h.jpg", as_="image", params=(("imagesizes", "50vw"),)),
        Link("/static/a.css", as_="style", params=(("media", "(min-width: 600px)"),)),
        Link("/static/a.css", as_="style", params=(("integrity", "sha384-abc"),)),
        Link("/static/a.css", as_="style", params=(("referrerpolicy", "unsafe-url"),)),
        Link("/static/a.css", as_="style", params=(("nonce", "r4nd0m"),)),
        Link("/static/a.css", as_="style", params=(("title", "alice"),)),
        Link("/static/a.css", as_="style", params=(("anchor", "https://evil.example/"),)),
        Link("/static/a.css", as_="style", params=(("x-user", "alice"),)),
        Link("/static/a.css", as_="style", params=(("type", None),)),
        Link("/static/a.css", as_="style", params=(("type", "text/css; url=https://evil.example/"),)),
        Link("/static/a.css", as_="style", params=(("type", "https://evil.example/x"),)),
        Link("/static/a.css", as_="style", params=(("type", "text/" + "c" * 200),)),
        Link("/static/a.css", as_="style", params=(("type", "text/css"), ("type", "text/css"))),
        Link("/static/a.css", as_="style", params=(("fetchpriority", "urgent"),)),
        Link("/static/a.css", as_="style", params=(("fetchpriority", None),)),
        # Relations other than exactly preload or modulepreload.
        Link("/static/a.css", rel="stylesheet"),
        Link("/static/a.css", rel="preload prefetch", as_="style"),
        Link("/static/a.css", rel="https://evil.example/rel", as_="style"),
        Link("/static/a.css", rel="prefetch", as_="style"),
        Link("/static/a.css", rel="preconnect"),
        # Targets.
        Link("https://evil.example/x.css", as_="style"),
        Link("//evil.example/x.css", as_="style"),
        Link("/static/a.css?token=alice", as_="style"),
        Link("/static/../media/alice.png", as_="image"),
        Link("/media/alice.png", as_="image"),
        Link("/static/" + "a" * 3000 + ".css", as_="style"),
        # Fields a store forged past the constructor.
        _forge(Link("/static/a.css", as_="style"), as_="stylesheet"),
        _forge(Link("/static/a.css", as_="style"), crossorigin="https://evil.example/"),
        _forge(Link("/static/a.css", as_="style"), nopush=1),
        _forge(Link("/static/a.css", as_="style"), params=[("type", "text/css")]),
        _forge(Link("/static/a.css", as_="style"), params=(("type", "text/css", "x"),)),
        _forge(Link("/static/a.css", as_="style"), target="/static/a.css\r\nSet-Cookie: a=1"),
        _LinkSubclass("/static/a.css", as_="style"),
        "/static/a.css",
        None,
        {"target": "/static/a.css"},
    ],
    ids=safe_repr,
)
def test_links_that_are_not_public(link: object) -> None:
    assert not is_public_link(link, _PUBLIC)


class _Str(str):
    """A str subclass that could say anything when formatted."""

    def __str__(self) -> str:
        return "https://evil.example/x.css"

    __format__ = lambda self, spec: "https://evil.example/x.css"  # noqa: E731


class _EvilRepr:
    def __repr__(self) -> str:
        return "x\r\nCRITICAL forged log line"


def _hostile_items() -> list[object]:
    forged = Link("/static/ok.css", as_="style")
    object.__setattr__(forged, "text", "<https://evil.example/x.js>; rel=preload; as=script")
    return [
        _EvilRepr(),
        Link("https://evil.example/x.css", as_="style"),
        Link("//evil.example/x.css", as_="style"),
        Link("/static/h.jpg", as_="image", params=(("imagesrcset", _CAPABILITY),)),
        Link("/static/a.css", as_="style", params=(("anchor", "https://evil.example/"),)),
        Link("/static/a.css?token=alice", as_="style"),
        Link("/media/private/alice.png", as_="image"),
        Link("/static/u/alice/avatar.png", as_="image"),  # under the prefix, but answered by a view
        _forge(Link("/static/b.css", as_="style"), as_="https://evil.example/"),
        _forge(
            Link("/static/x.css", as_="style"), target="/static/" + "a" * 100_000 + ".css"
        ),  # no constructor takes it
        Link("/static/a.css", as_="style", params=(("type", "text/" + "x" * 100_000),)),
        Link(_Str("/static/str.css"), as_="style"),  # kept, as the plain str it holds
        _Str("/static/a.css"),
        "</static/a.css>; rel=preload",
        b"/static/a.css",
        {"target": "/static/a.css"},
        None,
        42,
        forged,  # goes out as its fields say, never as its forged text
        Link("/static/fast.css", as_="style", params=(("fetchpriority", "high"),)),
    ]


class _HostileStore:
    """A hint store (the HintStore interface) returning whatever it is given."""

    def __init__(self, items: list[object]) -> None:
        self.items = items
        self.keys: list[str] = []

    def learned(self, key: str) -> list[object]:
        self.keys.append(key)
        return self.items

    def observe(self, key: str, links: Sequence[Link]) -> None:
        pass


def _hints_for(app: Flask, path: str = "/", host: str = "localhost") -> list[Link]:
    """What the learner gives a request (before the 103's own filter: the
    policy under test must hold without it)."""
    learner = state_of(app).learner  # type: ignore[union-attr]
    assert isinstance(learner, Learner)
    with app.test_request_context(path, headers={"Host": host}):
        return learner.hints(app, request)


def _hostile_app(store: object, strict: bool) -> Flask:
    app = Flask("hostile")
    app.config.update(SECRET_KEY="s", FIREHOSE_TRACKING=False, FIREHOSE_STRICT=strict)
    Firehose(app, hint_store=store)  # type: ignore[arg-type]

    @app.get("/")
    def index() -> str:
        push("/static/own.css")
        return "<p>index</p>"

    @app.get("/static/u/<name>/avatar.png")
    def avatar(name: str) -> str:
        return name

    return app


@pytest.mark.parametrize("strict", [False, True])
def test_a_poisoned_store_sends_only_public_files_of_this_app(strict: bool, caplog: pytest.LogCaptureFixture) -> None:
    """Whatever a store hands back, the 103 holds only links that pass whole,
    the page is served (strict mode included: a refusal is no failure), the
    final header is the page's own, and the refusals are logged, once."""
    store = _HostileStore(_hostile_items())
    app = _hostile_app(store, strict)
    assert [link.text for link in _hints_for(app)] == [
        "</static/str.css>; rel=preload; as=style",
        "</static/ok.css>; rel=preload; as=style",
        "</static/fast.css>; rel=preload; as=style; fetchpriority=high",
    ]
    store.keys.clear()
    client = app.test_client(use_cookies=False)
    with caplog.at_level(logging.WARNING, logger="flask_firehose"), record_early_hints(client) as hints:
        for _ in range(3):
            response = client.get("/")
            assert response.status_code == 200
            assert [link.target for link in links_of(response)] == ["/static/own.css"]
    assert store.keys == [scoped_key("hostile", "localhost", "index")] * 3
    good = [("/static/str.css", (("rel", "preload"), ("as", "style"))),
            ("/static/ok.css", (("rel", "preload"), ("as", "style"))),
            ("/static/fast.css", (("rel", "preload"), ("as", "style"), ("fetchpriority", "high")))]  # fmt: skip
    assert [[(link.target, link.params) for link in links] for links in hints.links] == [good] * 3
    refusals = [record for record in caplog.records if "hint store returned" in record.getMessage()]
    assert len(refusals) == 1  # once in a while, not once per request or per link
    (message,) = [record.getMessage() for record in refusals]
    assert "CRITICAL forged log line" in message and "\r" not in message and "\n" not in message


def test_refused_links_are_left_out_for_every_key_and_site() -> None:
    """Two hosts, one poisoned store answering the same for every key: each
    site's 103 holds the same public links only."""
    store = _HostileStore(_hostile_items())
    client = _hostile_app(store, False).test_client(use_cookies=False)
    for host in ("a.example", "b.example:8443"):
        with record_early_hints(client) as hints:
            client.get("/", headers={"Host": host})
        assert {link.target for links in hints.links for link in links} == {
            "/static/str.css",
            "/static/ok.css",
            "/static/fast.css",
        }
    assert store.keys == [scoped_key("hostile", "a.example", "index"), scoped_key("hostile", "b.example:8443", "index")]


def test_a_capability_url_in_imagesrcset_is_never_learned(make_app: AppFactory) -> None:
    """One visitor's page pushes a preload whose imagesrcset names its own
    capability URL; every later visitor's 103 must not carry it."""
    app, _ = make_app(FIREHOSE_TRACKING=False, FIREHOSE_LEARN_MIN_SEEN=1)

    @app.get("/gallery")
    def gallery() -> str:
        push("/static/hero.jpg", as_="image", imagesrcset=f"{request.args.get('share', '')} 1x")
        push("/static/gallery.css")
        return "<p>gallery</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for n in range(3):
            client.get(f"/gallery?share=/files/t-{n}/photo.jpg")
            client.get("/gallery?share=/files/t-same/photo.jpg")
        client.get("/gallery")
    sent = [link for links in hints.links for link in links]
    assert {link.target for link in sent} == {"/static/gallery.css"}
    assert all(link.get("imagesrcset") is None for link in sent)
    store = state_of(app).learner.store  # type: ignore[union-attr]
    assert isinstance(store, MemoryHintStore)
    (key,) = store.endpoints()
    assert [link.target for link in store.learned(key)] == ["/static/gallery.css"]  # never counted at all


_TARGETS = st.one_of(
    st.sampled_from(["/static/a.css", "/static/b.js", "/media/x.png", "//evil.example/a.css", "/static/a.css?v=1a"]),
    st.from_regex(r"/static/[a-z0-9./%?=&#;:\[\]@!$'()*+,~-]{0,30}", fullmatch=True),
    st.from_regex(r"https?://[a-z.]{1,12}/[a-z./]{0,12}", fullmatch=True),
)
_PARAM_VALUES = st.one_of(st.none(), st.from_regex(r"[ -~]{0,40}", fullmatch=True), st.sampled_from(
    ["text/css", "font/woff2", "high", "low", "auto", _CAPABILITY, "https://evil.example/"]))  # fmt: skip
_PARAMS = st.lists(
    st.tuples(
        st.sampled_from(["type", "fetchpriority", "imagesrcset", "media", "anchor", "title", "x-a", "integrity"]),
        _PARAM_VALUES,
    ),
    max_size=3,
).map(tuple)


@st.composite
def _stored_links(draw: st.DrawFn) -> object:
    try:
        return Link(
            draw(_TARGETS),
            draw(st.sampled_from(["preload", "modulepreload", "prefetch", "preload prefetch", "stylesheet"])),
            draw(st.sampled_from([None, "style", "script", "image", "font", "fetch"])),
            draw(st.sampled_from([None, "", "anonymous", "use-credentials"])),
            draw(st.booleans()),
            draw(_PARAMS),
        )
    except Exception:  # not a valid Link: the store hands out something else
        return draw(st.sampled_from(["/static/a.css", None, 3, b"x"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(_stored_links(), max_size=12))
def test_whatever_a_store_returns_every_learned_hint_is_public(items: list[object]) -> None:
    app = _hostile_app(_HostileStore(items), False)
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        response = client.get("/")
    assert response.status_code == 200
    assert [link.target for link in links_of(response)] == ["/static/own.css"]
    public = {
        (item.target, item.rel)
        for item in items
        if is_public_link(item, _PUBLIC) and not item.target.startswith("/static/u/")
    }
    sent = [_as_link(link) for links in hints.links for link in links]
    # The 103's assembly may drop what browsers ignore there; never add.
    assert all(is_public_link(link, _PUBLIC) and link.key in public for link in sent)
    # And the learner itself, before that filter, hands out public links only.
    assert all(is_public_link(link, _PUBLIC) and link.key in public for link in _hints_for(app))


def _as_link(parsed: Any) -> Link:
    """A parsed 103 link as a Link, to judge it by the same rule."""
    params = dict(parsed.params)
    rest = tuple((name, value) for name, value in parsed.params if name not in ("rel", "as", "crossorigin", "nopush"))
    return Link(parsed.target, params["rel"], params.get("as"), params.get("crossorigin"), "nopush" in params, rest)
