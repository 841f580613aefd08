from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from cachelib import FileSystemCache
from flask import Flask
from flask.testing import FlaskClient
from flask_session import Session
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.http import parse_cookie

from flask_firehose import Firehose, SessionConnector, push
from flask_firehose._failure import FailurePolicy
from flask_firehose._tracking import ConnectorTracker, _trim, cookie_value, cookie_values
from flask_firehose.testing import links_of

from .conftest import AppFactory, targets

PAGE = ["/static/app.css", "/static/app.js", "/static/a,b.png"]


def _serve_page(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        for url in PAGE:
            push(url)
        return "ok"


def _server_side_app(tmp_path: Path) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="k",
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=FileSystemCache(str(tmp_path)),
        SESSION_PERMANENT=False,
    )
    Session(app)
    Firehose(app, connector=SessionConnector())
    _serve_page(app)
    return app


def _cookie_app(make_app: AppFactory) -> Flask:
    app, _ = make_app(SessionConnector())
    _serve_page(app)
    return app


@pytest.mark.parametrize("kind", ["signed-cookie", "server-side"])
def test_second_visit_pushes_nothing(kind: str, make_app: AppFactory, tmp_path: Path) -> None:
    app = _cookie_app(make_app) if kind == "signed-cookie" else _server_side_app(tmp_path)
    client = app.test_client()
    assert targets(client.get("/"), pushable=True) == PAGE
    assert targets(client.get("/"), pushable=True) == []
    assert targets(app.test_client().get("/"), pushable=True) == PAGE


def _with_stored(client: FlaskClient, value: object) -> None:
    with client.session_transaction() as state:
        state["h2-pushed"] = value


def test_reads_the_023_value(make_app: AppFactory) -> None:
    client = _cookie_app(make_app).test_client()
    _with_stored(client, "/static/app.css,/static/app.js")
    assert targets(client.get("/"), pushable=True) == ["/static/a,b.png"]
    with client.session_transaction() as state:
        assert state["h2-pushed"] == "/static/app.css,/static/app.js,/static/a|b.png"


@pytest.mark.parametrize("value", [42, ["/static/app.css"], {"a": 1}, None, "", ",,,", "\x00garbage"])
def test_malformed_value_is_empty(make_app: AppFactory, value: object) -> None:
    client = _cookie_app(make_app).test_client()
    _with_stored(client, value)
    response = client.get("/")
    assert response.status_code == 200
    assert targets(response, pushable=True) == PAGE


def test_oversized_server_side_state_is_empty(tmp_path: Path) -> None:
    client = _server_side_app(tmp_path).test_client()
    client.get("/")
    with client.session_transaction() as state:
        state["h2-pushed"] = "/static/app.css," * 100_000
    assert targets(client.get("/"), pushable=True) == PAGE
    with client.session_transaction() as state:
        assert len(state["h2-pushed"]) <= 1024


def test_tampered_cookie_is_empty(make_app: AppFactory) -> None:
    client = _cookie_app(make_app).test_client()
    client.get("/")
    client.set_cookie("session", "eyJoMi1wdXNoZWQiOiIvc3RhdGljL2FwcC5jc3MifQ.forged.signature")
    assert targets(client.get("/"), pushable=True) == PAGE


def test_state_stays_bounded(make_app: AppFactory) -> None:
    app, _ = make_app(SessionConnector, FIREHOSE_TRACKING_MAX_BYTES=300)

    @app.get("/<int:n>")
    def page(n: int) -> str:
        return push(f"/static/asset-{n:04}.0123456789abcdef.js")

    client = app.test_client()
    for n in range(200):
        client.get(f"/{n}")
    with client.session_transaction() as state:
        stored = state["h2-pushed"]
    assert len(stored) <= 300
    assert stored.endswith("/static/asset-0199.0123456789abcdef.js")
    assert targets(client.get("/199"), pushable=True) == []
    assert targets(client.get("/0"), pushable=True) == ["/static/asset-0000.0123456789abcdef.js"]


@given(st.lists(st.text(alphabet="abc/.%", min_size=1, max_size=30), max_size=60), st.integers(0, 200))
def test_trim_keeps_newest_within_budget(keys: list[str], budget: int) -> None:
    kept = _trim(keys, budget)
    assert len(",".join(kept)) <= budget
    assert kept == keys[len(keys) - len(kept) :]
    if len(kept) < len(keys):
        assert len(",".join(keys[len(keys) - len(kept) - 1 :])) > budget


def test_session_connector_keeps_the_023_calls(app: Flask) -> None:
    connector = SessionConnector()
    with app.test_request_context():
        assert connector.get_pushed() == set()
        connector.set_pushed({"/b.js", "/a.css"})
        assert connector.get_pushed() == {"/a.css", "/b.js"}
        connector.set_pushed({"/a.css", "/c.png"})
        assert connector.get_pushed() == {"/a.css", "/c.png"}


def test_a_comma_and_its_escape_are_two_urls(app: Flask) -> None:
    @app.get("/<int:n>")
    def page(n: int) -> str:
        return push(["/static/a,b.css", "/static/a%2Cb.css"][n])

    client = app.test_client()
    assert targets(client.get("/0"), pushable=True) == ["/static/a,b.css"]
    assert targets(client.get("/1"), pushable=True) == ["/static/a%2Cb.css"]
    assert targets(client.get("/0"), pushable=True) == []
    assert targets(client.get("/1"), pushable=True) == []


@pytest.mark.parametrize("returned", [None, "/a.css", 42])
def test_connector_returning_garbage_is_empty(returned: object) -> None:
    class Odd:
        def get_pushed(self) -> object:
            return returned

        def set_pushed(self, inset: set[str]) -> None:
            pass

    assert ConnectorTracker(Odd(), FailurePolicy(strict=False)).load() == set()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fh-pushed=abc", "abc"),
        ("a=1; fh-pushed=abc; b=2", "abc"),
        ("a=1;fh-pushed=abc", "abc"),
        ('fh-pushed="abc"', "abc"),
        ("fh-pushed=", ""),
        ("fh-pushed=first; fh-pushed=second", "first"),
        ("xfh-pushed=no; fh-pushed=yes", "yes"),
        ("xfh-pushed=no", None),
        ("a=fh-pushed=no", None),
        ("session=abc", None),
        ("fh-pushed", None),
        ("", None),
    ],
)
def test_cookie_value_reads_only_its_own_pair(header: str, expected: str | None) -> None:
    assert cookie_value(header, "fh-pushed") == expected


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=200))
def test_cookie_value_agrees_with_werkzeug_on_digest_values(value: str) -> None:
    header = f"other=1; fh-pushed={value}; last=2"
    assert cookie_value(header, "fh-pushed") == parse_cookie(header).get("fh-pushed")


# --- The digest cookie sent more than once -------------------------------------------------
#
# A browser sends every cookie that matches the request, longest path first,
# then oldest first (RFC 6265 §5.4): a cookie of the same name set for a
# deeper path, or for the parent domain by a sibling subdomain, comes with
# this app's own, often before it. Setting ours replaces ours only: the other
# stays for good.

_HOST = "shop.example.com"


class _Browser:
    """The ``fh-pushed`` cookies a browser keeps for one site, as a browser
    orders them; Set-Cookie from the app replaces the host-only one at its path."""

    def __init__(self) -> None:
        self.cookies: dict[tuple[str, str], tuple[int, str]] = {}
        self.clock = 0

    def plant(self, value: str, *, domain: str = "example.com", path: str = "/") -> None:
        self.clock += 1
        created = self.cookies.get((domain, path), (self.clock, ""))[0]
        self.cookies[(domain, path)] = (created, value)

    def header(self) -> str:
        ordered = sorted(self.cookies.items(), key=lambda item: (-len(item[0][1]), item[1][0]))
        return "; ".join(["session=abc", *(f"fh-pushed={value}" for _, (_, value) in ordered)])

    def receive(self, response: Any) -> None:
        for value in response.headers.getlist("Set-Cookie"):
            name_value, *attributes = [part.strip() for part in value.split(";")]
            name, _, cookie = name_value.partition("=")
            if name == "fh-pushed":
                path = next(a[5:] for a in attributes if a.startswith("Path="))
                self.plant(cookie, domain=_HOST, path=path)


def _account_app() -> Flask:
    app = Flask(__name__)
    Firehose(app)

    @app.get("/account/<int:n>")
    def page(n: int) -> str:
        for url in (f"/static/page-{n}.css", "/static/app.css", "/static/app.js"):
            push(url)
        return "<p>account</p>"

    return app


def _visit(app: Flask, browser: _Browser, n: int) -> list[str]:
    response = app.test_client(use_cookies=False).get(f"/account/{n}", headers={"Cookie": browser.header()})
    assert response.status_code == 200
    browser.receive(response)
    return targets(response, pushable=True)


def _other_digest(*urls: str) -> str:
    from flask_firehose._digest import DigestFormat, PushDigest

    return PushDigest(DigestFormat()).add(urls).encode()


_PLANTED = {
    "junk": ["junk"],
    "empty": [""],
    "quoted-junk": ['"%%%"'],
    "valid-empty-digest": [_other_digest()],
    "valid-other-digest": [_other_digest("/static/elsewhere.css")],
    "foreign-rate-digest": ["EAAAAAAA"],
    "huge": ["A" * 100_000],
}


@pytest.mark.parametrize("where", ["parent-domain-first", "parent-domain-after", "deeper-path"])
@pytest.mark.parametrize("kind", sorted(_PLANTED))
def test_a_planted_cookie_never_makes_a_visit_push_again(kind: str, where: str) -> None:
    app = _account_app()
    browser = _Browser()
    if where != "parent-domain-after":
        for value in _PLANTED[kind]:
            browser.plant(value, path="/account" if where == "deeper-path" else "/")
    assert len(_visit(app, browser, 1)) == 3
    if where == "parent-domain-after":  # created after ours: sent after it
        for value in _PLANTED[kind]:
            browser.plant(value)
    for _ in range(3):
        assert _visit(app, browser, 1) == []
    assert _visit(app, browser, 2) == ["/static/page-2.css"]
    for n in (1, 2, 1, 2):
        assert _visit(app, browser, n) == []


def test_a_planted_digest_claiming_a_file_makes_it_a_hint_only() -> None:
    """What a planted valid digest can do: say a file was pushed (it then
    goes out nopush, still hinted), nothing more."""
    app = _account_app()
    browser = _Browser()
    browser.plant(_other_digest("/static/app.js"), path="/account")
    response = app.test_client(use_cookies=False).get("/account/1", headers={"Cookie": browser.header()})
    assert targets(response, pushable=True) == ["/static/page-1.css", "/static/app.css"]
    assert targets(response) == ["/static/page-1.css", "/static/app.css", "/static/app.js"]


@pytest.mark.parametrize("valid", [False, True], ids=["junk", "valid-digests"])
def test_fifty_cookies_of_the_same_name_before_ours(valid: bool) -> None:
    app = _account_app()
    client = app.test_client(use_cookies=False)
    planted = [_other_digest(f"/static/x{i}.css") if valid else f"junk{i}" for i in range(50)]
    first = client.get("/account/1", headers={"Cookie": "; ".join(f"fh-pushed={value}" for value in planted)})
    assert len(targets(first, pushable=True)) == 3
    ours = first.headers["Set-Cookie"].split(";", 1)[0]
    header = "; ".join([*(f"fh-pushed={value}" for value in planted), ours])
    second = client.get("/account/1", headers={"Cookie": header})
    assert second.status_code == 200 and targets(second, pushable=True) == []
    assert {link.target for link in links_of(second) if link.has("nopush")} == {
        "/static/page-1.css",
        "/static/app.css",
        "/static/app.js",
    }
    assert "Set-Cookie" not in second.headers  # nothing new: the cookie stays as it is


def test_the_cookie_written_after_a_merge_keeps_both_histories() -> None:
    app = _account_app()
    client = app.test_client(use_cookies=False)
    ours = client.get("/account/1").headers["Set-Cookie"].split(";", 1)[0]
    planted = f"fh-pushed={_other_digest('/static/page-2.css')}"
    third = client.get("/account/3", headers={"Cookie": f"{planted}; {ours}"})
    assert targets(third, pushable=True) == ["/static/page-3.css"]
    written = third.headers["Set-Cookie"].split(";", 1)[0]
    # With our new cookie alone (the planted one gone), pages 1 and 3 push nothing.
    for n in (1, 3):
        again = client.get(f"/account/{n}", headers={"Cookie": written})
        assert targets(again, pushable=True) == []


def test_reading_many_copies_costs_a_few() -> None:
    import time

    header = "; ".join(["fh-pushed=" + "A" * 50] * 100_000 + ["fh-pushed=ours"])
    started = time.perf_counter()
    values = cookie_values(header, "fh-pushed", 8)
    assert time.perf_counter() - started < 0.05
    assert len(values) == 8 and values[-1] == "ours"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fh-pushed=a; fh-pushed=b", ["a", "b"]),
        ("fh-pushed=a;fh-pushed=b; x=1", ["a", "b"]),
        ('fh-pushed="a"; other=fh-pushed=c; xfh-pushed=d', ["a"]),
        ("fh-pushed=1; fh-pushed=2; fh-pushed=3", ["2", "3"]),
        ("fh-pushed=fh-pushed=x", ["fh-pushed=x"]),
        ("", []),
        ("fh-pushed", []),
    ],
)
def test_cookie_values_reads_the_last_ones_in_order(header: str, expected: list[str]) -> None:
    assert cookie_values(header, "fh-pushed", 2) == expected


@given(st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=40), max_size=12))
def test_cookie_values_agree_with_werkzeug(values: list[str]) -> None:
    header = "; ".join(["a=1", *(f"fh-pushed={value}" for value in values), "z=2"])
    assert cookie_values(header, "fh-pushed", 8) == parse_cookie(header).getlist("fh-pushed")[-8:]
