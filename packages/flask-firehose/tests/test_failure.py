"""The failure policy: whatever fails around a hint, the page is served as it
would be without Flask-Firehose's failed part, and the failure is logged once
in a while; in debug and testing it is raised instead."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from flask import Flask, render_template_string

from flask_firehose import Firehose, InvalidAsError, InvalidLinkError, Link, early_hints, push
from flask_firehose._failure import FailurePolicy
from flask_firehose._lint import Linter
from flask_firehose.testing import links_of, record_early_hints

PAGE = '<link rel=stylesheet href="{{ push("/static/app.css") }}">'


class Boom(Exception):
    """What every broken dependency raises here."""


def _raise(*args: object) -> Any:
    raise Boom("backend down")


class BrokenConnector:
    def __init__(self, fail_get: bool = True, fail_set: bool = True) -> None:
        self.fail_get, self.fail_set = fail_get, fail_set
        self.saved: list[set[str]] = []

    def get_pushed(self) -> set[str]:
        if self.fail_get:
            raise Boom("get_pushed down")
        return set()

    def set_pushed(self, inset: set[str]) -> None:
        if self.fail_set:
            raise Boom("set_pushed down")
        self.saved.append(inset)


class BrokenStore:
    def __init__(self, fail_learned: bool = True, fail_observe: bool = True) -> None:
        self.fail_learned, self.fail_observe = fail_learned, fail_observe

    def learned(self, endpoint: str) -> list[Link]:
        if self.fail_learned:
            raise Boom("learned down")
        return [Link("/static/learned.css", as_="style")]

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        if self.fail_observe:
            raise Boom("observe down")


def _app(strict: bool | None, connector: object = None, store: object = None, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN_MIN_SEEN=1, **config)
    if strict is not None:
        app.config["FIREHOSE_STRICT"] = strict
    Firehose(app, connector=connector, hint_store=store)  # type: ignore[arg-type]

    @app.get("/")
    def index() -> str:
        return render_template_string(PAGE)

    return app


def _fetch(app: Flask) -> Any:
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/")
    response.hints = hints  # type: ignore[attr-defined]
    return response


FAULTS: dict[str, Callable[[], dict[str, object]]] = {
    "connector get_pushed": lambda: {"connector": BrokenConnector(fail_get=True)},
    "connector set_pushed": lambda: {"connector": BrokenConnector(fail_get=False, fail_set=True)},
    "hint store learned": lambda: {"store": BrokenStore(fail_learned=True, fail_observe=False)},
    "hint store observe": lambda: {"store": BrokenStore(fail_learned=False, fail_observe=True)},
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_lenient_serves_the_page_and_logs_once(fault: str, caplog: pytest.LogCaptureFixture) -> None:
    app = _app(False, **FAULTS[fault]())
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        responses = [_fetch(app) for _ in range(3)]
    for response in responses:
        assert response.status_code == 200
        assert response.data == b'<link rel=stylesheet href="/static/app.css">'
        assert "/static/app.css" in [link.target for link in links_of(response)]
    records = [r for r in caplog.records if r.name == "flask_firehose" and r.levelno == logging.ERROR]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is not None and isinstance(records[0].exc_info[1], Boom)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("mode", ["FIREHOSE_STRICT", "TESTING", "DEBUG"])
def test_strict_raises(fault: str, mode: str) -> None:
    app = _app(None if mode != "FIREHOSE_STRICT" else True, **FAULTS[fault]())
    app.config["PROPAGATE_EXCEPTIONS"] = True
    if mode == "TESTING":
        app.testing = True
    elif mode == "DEBUG":
        app.debug = True
    with pytest.raises(Boom):
        _fetch(app)


def test_failed_get_pushed_sends_links_as_without_tracking() -> None:
    untracked = _fetch(_app(False, FIREHOSE_TRACKING=False))
    failed = _fetch(_app(False, connector=BrokenConnector(fail_get=True)))
    assert links_of(failed) == links_of(untracked)
    assert failed.headers.get("Set-Cookie") is None and "Vary" not in failed.headers


def test_failed_learned_gives_the_103_of_declarations_only() -> None:
    app = _app(False, store=BrokenStore(fail_learned=True, fail_observe=False))

    @app.get("/declared")
    @early_hints("/static/declared.css")
    def declared() -> str:
        return "<p>x</p>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        assert client.get("/declared").status_code == 200
    assert [[link.target for link in links] for links in hints.links] == [["/static/declared.css"]]


@pytest.mark.parametrize(
    "declaration",
    [_raise, lambda: None, lambda: 42, lambda: b"/static/a.css", lambda: "/static/a b.css", lambda: ["/ok.css", None]],
    ids=["raises", "None", "int", "bytes", "invalid-url", "bad-item"],
)
def test_a_broken_declared_callable_loses_its_links_only(
    declaration: Callable[[], object], caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_STRICT=False)
    firehose = Firehose(app)
    firehose.declare_hints(declaration, "/static/app-wide.css")  # type: ignore[arg-type]

    @app.get("/")
    @early_hints(lambda: "/static/view.css")
    def index() -> str:
        return "<p>page</p>"

    @app.post("/form")
    def form() -> str:
        return "<p>posted</p>"

    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_firehose"), record_early_hints(client) as hints:
        page = client.get("/")
        static = client.get("/static/missing.css")
        posted = client.post("/form")
    assert page.status_code == 200 and page.data == b"<p>page</p>"
    assert [link.target for link in links_of(page)] == ["/static/app-wide.css", "/static/view.css"]
    assert [[link.target for link in links] for links in hints.links] == [["/static/app-wide.css", "/static/view.css"]]
    # The app-wide callable ran for the page only: not for a static file or a POST.
    assert static.status_code == 404 and posted.status_code == 200
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_a_broken_declared_callable_raises_when_strict() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", TESTING=True)
    firehose = Firehose(app)
    firehose.declare_hints(lambda: None)  # type: ignore[arg-type,return-value]

    @app.get("/")
    def index() -> str:
        return "<p>page</p>"

    client = app.test_client()
    with record_early_hints(client), pytest.raises(TypeError, match="returned None"):
        client.get("/")


def test_a_broken_lint_never_breaks_the_page(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    app = _app(False, FIREHOSE_LINT=True)
    monkeypatch.setattr(Linter, "hinted", _raise)
    monkeypatch.setattr(Linter, "view_links", _raise)
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        response = _fetch(app)
    assert response.status_code == 200
    assert "/static/app.css" in [link.target for link in links_of(response)]
    assert "lint failed" in caplog.text


@pytest.mark.parametrize(
    ("args", "attrs"),
    [
        ((), {"as": "stylesheet"}),  # passed through 0.2.3; browsers ignore it
        ((), {"as_": "img"}),
        ((42,), {}),
        ((), {"rel": "pre load!"}),
        ((), {"title": "caf\u00e9"}),
    ],
)
def test_invalid_push_arguments(
    args: tuple[object, ...], attrs: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    for strict in (True, False):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="k", FIREHOSE_STRICT=strict, PROPAGATE_EXCEPTIONS=True)
        Firehose(app)

        @app.get("/")
        def index() -> str:
            return push("/static/a.css", *args, **attrs) + push("/static/b.css")

        if strict:
            with pytest.raises(InvalidLinkError):
                app.test_client().get("/")
            continue
        with caplog.at_level(logging.WARNING, logger="flask_firehose"):
            response = app.test_client().get("/")
        assert response.status_code == 200 and response.data == b"/static/a.css/static/b.css"
        assert [link.target for link in links_of(response)] == ["/static/b.css"]
        assert "push('/static/a.css'" in caplog.text and "dropped" in caplog.text


def test_invalid_as_is_the_typed_error() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", TESTING=True)
    Firehose(app)
    with app.test_request_context(), pytest.raises(InvalidAsError, match="stylesheet"):
        push("/static/a.css", **{"as": "stylesheet"})


@pytest.mark.parametrize("url", ["/static/\ud800.css", "\udfff", "/a.css\udc80"])
def test_lone_surrogates_are_invalid_links(url: str) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", TESTING=True)
    Firehose(app)
    with app.test_request_context(), pytest.raises(InvalidLinkError):
        push(url)


def test_repeats_are_counted_then_reported() -> None:
    now = [0.0]
    policy = FailurePolicy(strict=False, interval=60, clock=lambda: now[0])
    assert policy._admit("k") == 0
    assert policy._admit("k") is None and policy._admit("k") is None
    now[0] = 61
    assert policy._admit("k") == 2
    assert policy._admit("other") == 0


def test_failure_memory_is_bounded() -> None:
    policy = FailurePolicy(strict=False)
    for n in range(10_000):
        policy._admit(("place", n))
    assert len(policy._last) <= 256


def test_push_in_a_streamed_response_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    from flask import stream_with_context

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k")
    Firehose(app)

    @app.get("/stream")
    def stream() -> Any:
        def body() -> Any:
            yield "<p>"
            yield push("/static/late.css")
            yield "</p>"

        return app.response_class(stream_with_context(body()), mimetype="text/html")

    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        response = app.test_client().get("/stream")
        assert response.data == b"<p>/static/late.css</p>"
    assert "Link" not in response.headers
    assert "came after the response headers were written" in caplog.text


class _LazyStore:
    def learned(self, endpoint: str) -> Any:
        yield Link("/static/app.css", as_="style")
        raise Boom("went away mid-scan")

    def observe(self, endpoint: str, links: Sequence[Link]) -> None:
        pass


class _BadIterStore(_LazyStore):
    def learned(self, endpoint: str) -> Any:
        class Cursor:
            def __iter__(self) -> Any:
                raise Boom("cursor closed")

        return Cursor()


class _OddLink(Link):
    def __hash__(self) -> int:
        raise Boom("lazy field not loaded")


class _SubclassStore(_LazyStore):
    def learned(self, endpoint: str) -> Any:
        return [_OddLink("/static/odd.css", as_="style")]


@pytest.mark.parametrize("store", [_LazyStore(), _BadIterStore(), _SubclassStore()], ids=type)
def test_a_store_failing_while_read_never_breaks_the_page(store: object) -> None:
    app = _app(False, store=store)
    response = _fetch(app)
    assert response.status_code == 200
    strict = _app(True, store=store)
    strict.config["PROPAGATE_EXCEPTIONS"] = True
    if not isinstance(store, _SubclassStore):  # its links are rebuilt, so they work
        with pytest.raises(Boom):
            _fetch(strict)


def test_a_store_cannot_forge_what_goes_out() -> None:
    import pickle

    forged = Link("/static/app.css", as_="style")
    object.__setattr__(forged, "text", "<https://evil.example/x.js>; rel=preload; as=script")

    class PicklingStore(_LazyStore):
        def learned(self, endpoint: str) -> Any:
            return [forged, pickle.loads(pickle.dumps(forged))]

    client = _app(False, store=PicklingStore()).test_client()
    with record_early_hints(client) as hints:
        client.get("/")
    assert hints.sent == [[("Link", "</static/app.css>; rel=preload; as=style"), _POLICY]]


def test_remembered_rebuilt_links_never_let_a_forgery_through() -> None:
    """The learner remembers the links it rebuilt from a store's answers;
    later answers, forged or not, still go out only as their fields say."""
    clean = Link("/static/app.css", as_="style")
    forged = Link("/static/app.css", as_="style")
    object.__setattr__(forged, "text", "<https://evil.example/x.js>; rel=preload; as=script")
    odd = Link("/static/app.css", as_="style")
    object.__setattr__(odd, "nopush", 1)  # not a bool: such a link is refused, remembered or not
    answers = [[clean], [clean], [forged], [forged], [odd], [clean]]

    class ChangingStore(_LazyStore):
        def learned(self, endpoint: str) -> Any:
            return answers.pop(0)

    client = _app(False, store=ChangingStore()).test_client()
    sent = []
    for _ in range(6):
        with record_early_hints(client) as hints:
            client.get("/")
        sent.append(hints.sent)
    good = [("Link", "</static/app.css>; rel=preload; as=style"), _POLICY]
    assert sent == [[good], [good], [good], [good], [], [good]]


#: The Referrer-Policy every 103 carries by default.
_POLICY = ("Referrer-Policy", "strict-origin-when-cross-origin")


class _NoName:
    def __repr__(self) -> str:
        raise Boom("no repr")

    def __call__(self) -> str:
        return "/static/named.css"


def test_a_declared_callable_without_a_name_works() -> None:
    import functools

    app = _app(False)
    app.extensions["firehose"].declare_hints(functools.partial(_NoName()))
    response = _fetch(app)
    assert response.status_code == 200
    assert "/static/named.css" in [link.target for link in links_of(response)]
