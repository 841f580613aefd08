"""Speculation for signed-in users: who counts as signed in, what their pages
get under each ``FIREHOSE_SPECULATION_SIGNED_IN`` choice, the rules resource
served by a worker that never built it, and the guard that refuses this app's
own speculations beyond the choice."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, render_template_string, request

from flask_firehose import ConfigurationError, Firehose, speculation

from ..conftest import AppFactory
from .structured_fields import served

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
BASIC = "Basic " + base64.b64encode(b"user:secret").decode()
PRERENDERS = ("prerender", "prerender_until_script")
TAGGED = '"flask-firehose"'


class Site:
    """An app whose home page prerenders (with and without a target hint),
    prerenders until script and prefetches; it counts its views' runs."""

    def __init__(self, **config: Any) -> None:
        self.runs: dict[str, int] = {}
        self.app = Flask(__name__)
        self.app.config.update({"SECRET_KEY": "k", "TESTING": True, **config})
        self.firehose = Firehose(self.app)
        app, firehose = self.app, self.firehose

        def counted(name: str, body: str) -> Callable[..., str]:
            def view(**_: Any) -> str:
                self.runs[name] = self.runs.get(name, 0) + 1
                return body

            return view

        app.add_url_rule("/", "index", counted("index", "<p>home"))
        app.add_url_rule("/inline", "inline", lambda: render_template_string("<p>{{ speculation_rules() }}"))
        for name in ("next", "blank", "until", "other"):
            app.add_url_rule(f"/{name}", name, counted(name, f"<p>{name}"))
        app.add_url_rule("/articles/<int:n>", "article", counted("article", "<p>article"))
        firehose.speculate("prerender", urls=["/next"], app=app)
        firehose.speculate("prerender", urls=["/blank"], target_hint="_blank", eagerness="eager", app=app)
        firehose.speculate("prerender_until_script", urls=["/until"], target_hint="_self", app=app)
        firehose.speculate("prerender", href_matches="/articles/*", app=app)
        firehose.speculate("prefetch", urls=["/other"], app=app)

    def client(self) -> Any:
        """A test client that sends the Cookie header a test gives (its own jar would replace it)."""
        return self.app.test_client(use_cookies=False)


def resource_of(response: Any) -> str | None:
    values = response.headers.getlist("Speculation-Rules")
    if not values:
        return None
    (value,) = values
    return str(value).strip('"')


def page_rules(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The rules of the home page for a request with *headers*."""
    resource = resource_of(client.get("/", headers={**NAV, **(headers or {})}))
    if resource is None:
        return None
    fetched = client.get(resource)
    assert fetched.status_code == 200
    rules: dict[str, Any] = json.loads(fetched.data)
    return rules


def inline_of(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
    html = client.get("/inline", headers={**NAV, **(headers or {})}).get_data(as_text=True)
    match = re.search(r'<script type="speculationrules">(.*?)</script>', html, re.S)
    return json.loads(match[1]) if match else None


def urls_by_action(rules: dict[str, Any]) -> dict[str, set[str]]:
    """Each action's URLs (list rules) and ``where`` patterns (document rules)."""
    found: dict[str, set[str]] = {}
    for action, items in rules.items():
        if action == "tag":
            continue
        for rule in items:
            if rule["source"] == "list":
                found.setdefault(action, set()).update(rule["urls"])
            else:
                found.setdefault(action, set()).add(rule["where"]["and"][0]["href_matches"][0]["pathname"])
    return found


def assert_declared(rules: dict[str, Any] | None) -> None:
    assert rules is not None
    assert urls_by_action(rules) == {
        "prerender": {"/next", "/blank", "/articles/*"},
        "prerender_until_script": {"/until"},
        "prefetch": {"/until", "/other"},
    }
    assert {rule.get("target_hint") for rule in rules["prerender"]} == {None, "_blank"}


def assert_prefetch_only(rules: dict[str, Any] | None) -> None:
    assert rules is not None
    assert set(rules) == {"tag", "prefetch"}
    assert urls_by_action(rules) == {"prefetch": {"/next", "/blank", "/until", "/other", "/articles/*"}}
    assert not any("target_hint" in rule for rule in rules["prefetch"])
    assert len(rules["prefetch"]) == 5  # one rule each: no twin beside a converted prerender_until_script
    # What else the rules said is kept (eagerness).
    (blank,) = [rule for rule in rules["prefetch"] if rule.get("urls") == ["/blank"]]
    assert blank["eagerness"] == "eager"


# -- who is signed in ----------------------------------------------------------------------


def test_anonymous_gets_the_rules_as_declared() -> None:
    assert_declared(page_rules(Site().client()))


@pytest.mark.parametrize("cookie", ["session=abc", "remember_token=1", "fh-pushed=x; session=abc", "=lonely"])
def test_a_cookie_means_signed_in(cookie: str) -> None:
    client = Site().client()
    assert_prefetch_only(page_rules(client, {"Cookie": cookie}))


def test_the_digest_cookie_alone_says_nothing_of_the_user() -> None:
    client = Site().client()
    assert_declared(page_rules(client, {"Cookie": "fh-pushed=abc"}))
    renamed = Site(FIREHOSE_COOKIE_NAME="pushed").client()
    assert_declared(page_rules(renamed, {"Cookie": "pushed=abc"}))
    assert_prefetch_only(page_rules(Site(FIREHOSE_COOKIE_NAME="pushed").client(), {"Cookie": "fh-pushed=abc"}))


def test_http_authentication_means_signed_in() -> None:
    assert_prefetch_only(page_rules(Site().client(), {"Authorization": BASIC}))
    assert_prefetch_only(page_rules(Site().client(), {"Authorization": "Bearer x"}))


@pytest.mark.parametrize("environ", [{"REMOTE_USER": "ann"}, {"SSL_CLIENT_CERT": "-----BEGIN CERTIFICATE-----"}])
def test_a_front_that_authenticated_the_user_means_signed_in(environ: dict[str, str]) -> None:
    client = Site().client()
    page = client.get("/", headers=NAV, environ_overrides=environ)
    resource = resource_of(page)
    assert resource is not None
    assert_prefetch_only(json.loads(client.get(resource).data))


def test_an_empty_authorization_or_cookie_says_nothing() -> None:
    assert_declared(page_rules(Site().client(), {"Authorization": ""}))
    for cookie in ("", "   ", ";", " ; fh-pushed=x;"):
        assert_declared(page_rules(Site().client(), {"Cookie": cookie}))


@pytest.mark.parametrize(
    ("answer", "cookie", "declared"),
    [(True, None, False), (False, "session=abc", True)],
)
def test_an_apps_own_check(answer: object, cookie: str | None, declared: bool) -> None:
    calls: list[int] = []

    def check() -> object:
        calls.append(1)
        return answer

    site = Site(FIREHOSE_SIGNED_IN=check)
    rules = page_rules(site.client(), {"Cookie": cookie} if cookie else None)
    (assert_declared if declared else assert_prefetch_only)(rules)
    assert len(calls) == 1  # once per request (the resource fetch does not ask)


def test_the_check_is_asked_only_where_it_matters(make_app: AppFactory) -> None:
    calls: list[str] = []

    def check() -> bool:
        calls.append(request.path)
        return True

    for choice, asked in (("prefetch", ["/ruled", "/bare", "/ruled"]), ("declared", [])):
        calls.clear()
        app, _ = make_app(FIREHOSE_SIGNED_IN=check, FIREHOSE_SPECULATION_SIGNED_IN=choice)
        app.add_url_rule("/bare", "bare", lambda: "<p>no rules here")
        app.add_url_rule("/ruled", "ruled", speculation("prerender", urls=["/bare"])(lambda: "<p>rules"))
        client = app.test_client()
        assert client.get("/bare", headers=NAV).status_code == 200  # no rules: not asked
        client.get("/ruled", headers=NAV)  # asked by the rules
        client.get("/bare", headers=speculative("prefetch", TAGGED))  # a prefetch is allowed: not asked
        client.get("/bare", headers=speculative("prefetch;prerender", TAGGED))  # asked by the guard (refused)
        client.get("/ruled", headers=speculative("prefetch;prerender", "null"))  # not ours: asked by the rules
        assert calls == asked, choice


@pytest.mark.parametrize("config", [{}, {"TESTING": False, "DEBUG": True}, {"TESTING": False, "FIREHOSE_STRICT": True}])
def test_a_check_that_raises_is_raised_in_testing_and_debug(config: dict[str, Any]) -> None:
    def check() -> bool:
        raise LookupError("no user table")

    site = Site(FIREHOSE_SIGNED_IN=check, **config)
    client = site.client()
    if site.app.testing or site.app.debug:  # Flask propagates the error to the test client
        with pytest.raises(LookupError, match="no user table"):
            client.get("/", headers=NAV)
        with pytest.raises(LookupError, match="no user table"):
            client.get("/next", headers=speculative("prefetch;prerender", TAGGED))
    else:  # raised all the same: Flask answers 500, as for any error in a view
        assert client.get("/", headers=NAV).status_code == 500
        assert client.get("/next", headers=speculative("prefetch;prerender", TAGGED)).status_code == 500
    assert "next" not in site.runs


@pytest.mark.parametrize("config", [{"TESTING": False}, {"FIREHOSE_STRICT": False}])
def test_a_check_that_raises_counts_as_signed_in_and_is_logged(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    def check() -> bool:
        raise LookupError("no user table")

    site = Site(FIREHOSE_SIGNED_IN=check, **config)
    with caplog.at_level(logging.ERROR, logger="flask_firehose"):
        rules = page_rules(site.client())
    assert_prefetch_only(rules)
    assert site.runs["index"] == 1
    (record,) = [r for r in caplog.records if "FIREHOSE_SIGNED_IN" in r.getMessage()]
    assert record.exc_info is not None and isinstance(record.exc_info[1], LookupError)
    # The guard, too, takes the user for signed in: this app's tagged prerender is refused.
    assert_refused(site.client().get("/next", headers=speculative("prefetch;prerender", TAGGED)))
    assert "next" not in site.runs


# -- the choices -------------------------------------------------------------------------


def test_off_gives_signed_in_users_no_rules() -> None:
    site = Site(FIREHOSE_SPECULATION_SIGNED_IN="off")
    client = site.client()
    assert page_rules(client, {"Cookie": "session=abc"}) is None
    assert inline_of(client, {"Cookie": "session=abc"}) is None
    assert "speculationrules" not in client.get("/inline", headers={**NAV, "Cookie": "session=abc"}).get_data(True)
    anonymous = site.client()
    assert_declared(page_rules(anonymous))
    assert_declared(inline_of(anonymous))


def test_declared_gives_signed_in_users_the_declared_rules() -> None:
    client = Site(FIREHOSE_SPECULATION_SIGNED_IN="declared").client()
    assert_declared(page_rules(client, {"Cookie": "session=abc"}))
    assert_declared(inline_of(client, {"Authorization": BASIC}))


def test_prefetch_inline_too() -> None:
    client = Site().client()
    assert_prefetch_only(inline_of(client, {"Cookie": "session=abc"}))
    assert_declared(inline_of(client))


def test_the_same_page_twice_names_the_same_resources() -> None:
    client = Site().client()
    signed_in = {"Cookie": "session=abc"}
    first = resource_of(client.get("/", headers={**NAV, **signed_in}))
    assert first == resource_of(client.get("/", headers={**NAV, **signed_in}))
    assert first != resource_of(client.get("/", headers=NAV))


@pytest.mark.parametrize("choice", ["prefetch", "declared"])
def test_another_worker_serves_a_signed_in_pages_resource(choice: str) -> None:
    """A worker that never rendered the page is asked for its resource: it
    rebuilds the rules as anyone and as a signed-in user gets them."""
    first = Site(FIREHOSE_SPECULATION_SIGNED_IN=choice)
    client = first.client()
    signed_in = resource_of(client.get("/", headers={**NAV, "Cookie": "session=abc"}))
    anonymous = resource_of(client.get("/", headers=NAV))
    assert signed_in and anonymous
    bodies = {key: client.get(key).data for key in (signed_in, anonymous)}
    for key in (signed_in, anonymous):
        other = Site(FIREHOSE_SPECULATION_SIGNED_IN=choice).client()
        fetched = other.get(key)
        assert fetched.status_code == 200, key
        assert fetched.data == bodies[key]
        assert fetched.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Site().client().get("/_firehose/speculation/0123456789abcdef.json").status_code == 404


def test_another_worker_over_the_wire() -> None:
    first, second = Site(), Site()
    with served(first.app) as one, served(second.app) as two:
        status, headers, _ = one.request("GET", "/", {**NAV, "Cookie": "session=abc"})
        assert status == 200
        (value,) = headers.get_all("Speculation-Rules") or []
        status, headers, body = two.request("GET", value.strip('"'))
    assert status == 200
    assert headers["Content-Type"] == "application/speculationrules+json"
    assert_prefetch_only(json.loads(body))


# -- the guard -------------------------------------------------------------------------------


def speculative(purpose: str, tags: str | None, **extra: str) -> dict[str, str]:
    headers = {**NAV, "Sec-Purpose": purpose, **extra}
    if tags is not None:
        headers["Sec-Speculation-Tags"] = tags
    return headers


def assert_refused(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert "Sec-Purpose" in response.headers.get("Vary", "")
    assert "Speculation-Rules" not in response.headers


@pytest.mark.parametrize("tags", [TAGGED, 'null, "flask-firehose"', '"flask-firehose", "other"'])
def test_a_signed_in_users_tagged_prerender_is_refused_before_the_view(tags: str) -> None:
    site = Site()
    response = site.client().get("/next", headers=speculative("prefetch;prerender", tags, Cookie="session=abc"))
    assert_refused(response)
    assert "next" not in site.runs


@pytest.mark.parametrize(
    ("purpose", "tags", "signed_in"),
    [
        ("prefetch;prerender", None, True),  # a browser without tags
        ("prefetch;prerender", "null", True),  # the browser's own, or another library's untagged rules
        ("prefetch;prerender", '"cdn-speculation"', True),  # a CDN's
        ("prefetch;prerender", '"flask-firehose', True),  # malformed: no tags
        ("prefetch;prerender", TAGGED, False),  # anonymous
        ("prefetch", TAGGED, True),  # a prefetch is what the choice allows
    ],
)
def test_what_the_guard_lets_through(purpose: str, tags: str | None, signed_in: bool) -> None:
    site = Site()
    extra = {"Cookie": "session=abc"} if signed_in else {}
    response = site.client().get("/next", headers=speculative(purpose, tags, **extra))
    assert response.status_code == 200
    assert site.runs["next"] == 1


def test_off_refuses_a_tagged_plain_prefetch_too() -> None:
    site = Site(FIREHOSE_SPECULATION_SIGNED_IN="off")
    client = site.client()
    assert_refused(client.get("/other", headers=speculative("prefetch", TAGGED, Authorization=BASIC)))
    assert_refused(client.get("/next", headers=speculative("prefetch;prerender", TAGGED, Authorization=BASIC)))
    assert "other" not in site.runs and "next" not in site.runs
    assert client.get("/other", headers=speculative("prefetch", "null", Authorization=BASIC)).status_code == 200
    assert site.client().get("/other", headers=speculative("prefetch", TAGGED)).status_code == 200


def test_declared_never_refuses() -> None:
    site = Site(FIREHOSE_SPECULATION_SIGNED_IN="declared")
    for purpose in ("prefetch", "prefetch;prerender"):
        response = site.client().get("/next", headers=speculative(purpose, TAGGED, Cookie="session=abc"))
        assert response.status_code == 200
    assert site.runs["next"] == 2


def test_the_guard_follows_the_configured_tag() -> None:
    site = Site(FIREHOSE_SPECULATION_TAG="mine")
    signed_in = {"Cookie": "session=abc"}
    assert_refused(site.client().get("/next", headers=speculative("prefetch;prerender", '"mine"', **signed_in)))
    ok = site.client().get("/next", headers=speculative("prefetch;prerender", TAGGED, **signed_in))
    assert ok.status_code == 200
    untagged = Site(FIREHOSE_SPECULATION_TAG=None)
    ok = untagged.client().get("/next", headers=speculative("prefetch;prerender", TAGGED, **signed_in))
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("tag", "refused", "let_through"),
    [
        ("null", '"null"', "null"),  # a tag spelled null is a string; the token is an untagged rule
        ('we "quote", too\\', '"we \\"quote\\", too\\\\"', '"we \\"quote\\", too"'),
        ("a, b", 'null, "a, b"', '"a", "b"'),
    ],
)
def test_the_guard_reads_tags_as_a_list_not_as_text(tag: str, refused: str, let_through: str) -> None:
    site = Site(FIREHOSE_SPECULATION_TAG=tag)
    signed_in = {"Cookie": "session=abc"}
    assert header_tag(site) == tag
    assert_refused(site.client().get("/next", headers=speculative("prefetch;prerender", refused, **signed_in)))
    ok = site.client().get("/next", headers=speculative("prefetch;prerender", let_through, **signed_in))
    assert ok.status_code == 200
    assert site.runs["next"] == 1


def header_tag(site: Site) -> str:
    rules = page_rules(site.client())
    assert rules is not None
    return str(rules["tag"])


def test_the_guard_asks_the_apps_check() -> None:
    answers = iter([True, False])
    site = Site(FIREHOSE_SIGNED_IN=lambda: next(answers))
    assert_refused(site.client().get("/next", headers=speculative("prefetch;prerender", TAGGED)))
    assert site.client().get("/next", headers=speculative("prefetch;prerender", TAGGED)).status_code == 200
    assert site.runs["next"] == 1


def test_the_guard_over_the_wire() -> None:
    site = Site()
    with served(site.app) as server:
        status, headers, body = server.request(
            "GET", "/next", speculative("prefetch;prerender", TAGGED, Cookie="session=abc")
        )
        assert (status, headers["Cache-Control"], body) == (503, "no-store", b"not speculated\n")
        status, _, body = server.request(
            "GET", "/next", speculative("prefetch;prerender", "null", Cookie="session=abc")
        )
        assert (status, body) == (200, b"<p>next")
    assert site.runs["next"] == 1


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Prefetch", "prerender", "", "none", None, True, 0, ["off"], b"off"])
def test_bad_signed_in_choices_are_refused(make_app: AppFactory, value: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_app(FIREHOSE_SPECULATION_SIGNED_IN=value)
    assert raised.value.key == "FIREHOSE_SPECULATION_SIGNED_IN"
    assert raised.value.value == value
    assert "FIREHOSE_SPECULATION_SIGNED_IN" in str(raised.value) and repr(value) in str(raised.value)


@pytest.mark.parametrize("value", [True, False, "current_user.is_authenticated", 1, ["x"]])
def test_bad_signed_in_checks_are_refused(make_app: AppFactory, value: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_app(FIREHOSE_SIGNED_IN=value)
    assert raised.value.key == "FIREHOSE_SIGNED_IN"
    assert raised.value.value == value
    assert repr(value) in str(raised.value)


# -- what the app's own hooks set, and what Firehose's question costs -----------------------


def user_app(where: str) -> tuple[Flask, list[str]]:
    """An app that knows its user from ``g.user``, set by a before-request
    function of the app or of the blueprint the page belongs to (Flask runs
    the app's, then the blueprint's, then Firehose's guard)."""
    from flask import Blueprint, g

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", TESTING=True, FIREHOSE_SIGNED_IN=lambda: g.user is not None)
    Firehose(app)
    inbox = Blueprint("inbox", __name__)
    ran: list[str] = []

    def load_user() -> None:
        g.user = request.headers.get("X-User")

    if where == "app":
        app.before_request(load_user)
    else:
        inbox.before_request(load_user)

    @inbox.get("/")
    @speculation("prerender", urls=["/inbox/message"])
    def home() -> str:
        return "<p>inbox"

    @inbox.get("/message")
    def message() -> str:
        ran.append("message")
        return "<p>message"

    app.register_blueprint(inbox, url_prefix="/inbox")
    return app, ran


@pytest.mark.parametrize("where", ["app", "blueprint"])
def test_the_check_sees_what_the_apps_and_the_blueprints_hooks_set(where: str) -> None:
    app, ran = user_app(where)
    client = app.test_client(use_cookies=False)
    alice = {"X-User": "alice"}
    # The signed-in user's prerender of a blueprint page, from rules a shared
    # cache kept for a visitor: refused before the view runs.
    assert_refused(client.get("/inbox/message", headers=speculative("prefetch;prerender", TAGGED, **alice)))
    assert ran == []
    # Her own page asks only for a prefetch; a visitor's asks for the prerender.
    assert_prefetch_only_of(page_rules_at(client, "/inbox/", alice))
    assert "prerender" in (page_rules_at(client, "/inbox/", {}) or {})
    assert client.get("/inbox/message", headers=speculative("prefetch;prerender", TAGGED)).status_code == 200
    assert ran == ["message"]


def page_rules_at(client: Any, path: str, headers: dict[str, str]) -> dict[str, Any] | None:
    page = client.get(path, headers={**NAV, **headers})
    resource = resource_of(page)
    return None if resource is None else dict(json.loads(client.get(resource).data))


def assert_prefetch_only_of(rules: dict[str, Any] | None) -> None:
    assert rules is not None
    assert not set(rules) & set(PRERENDERS)
    assert [url for rule in rules["prefetch"] for url in rule.get("urls", [])] == ["/inbox/message"]


def test_asking_who_is_signed_in_adds_no_vary_cookie() -> None:
    """Firehose's own question reads the session; the page is the same for
    everyone, so the session stays as unread as the view left it: no
    ``Vary: Cookie`` for a shared cache to split the page on."""
    from flask import session

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", TESTING=True, FIREHOSE_SIGNED_IN=lambda: "user" in session)
    Firehose(app)

    @app.get("/")
    @speculation("prerender", urls=["/next"])
    def home() -> Any:
        return "<p>home", {"Cache-Control": "public, max-age=600"}

    @app.get("/mine")
    @speculation("prerender", urls=["/next"])
    def mine() -> str:
        return f"<p>{session.get('user')}"  # the view reads it: Flask says Vary: Cookie

    client = app.test_client()
    page = client.get("/", headers=NAV)
    assert resource_of(page) is not None
    assert "Cookie" not in page.headers.get("Vary", "")
    assert "Cookie" in client.get("/mine", headers=NAV).headers.get("Vary", "")


def test_a_tags_field_too_long_to_read_that_names_ours_is_still_ours() -> None:
    site = Site()
    many = ", ".join(f'"{"t" * 60}{n:02d}"' for n in range(16)) + ', "flask-firehose"'
    assert len(many) > 1024
    response = site.client().get("/next", headers=speculative("prefetch;prerender", many, Cookie="session=abc"))
    assert_refused(response)
    assert "next" not in site.runs


@pytest.mark.parametrize("answer", [object(), 1, "yes", None])
def test_a_check_must_answer_true_or_false(answer: object, caplog: pytest.LogCaptureFixture) -> None:
    """``lambda: current_user`` is truthy for anonymous users too: an answer
    that is not a bool is a failure, never taken for "signed in" silently."""
    site = Site(TESTING=False, FIREHOSE_SIGNED_IN=lambda: answer)
    with caplog.at_level(logging.ERROR, logger="flask_firehose"):
        assert_prefetch_only(page_rules(site.client()))
    assert "FIREHOSE_SIGNED_IN" in caplog.text and "counts as signed in" in caplog.text
    assert "not True or False" in caplog.text
    strict = Site(FIREHOSE_SIGNED_IN=lambda: answer)
    with pytest.raises(TypeError, match=r"current_user\.is_authenticated"):
        strict.client().get("/", headers=NAV)


def test_the_off_switch_turns_the_rules_off_inline_too() -> None:
    site = Site(FIREHOSE_ENABLED=False)
    client = site.client()
    assert "speculationrules" not in client.get("/inline", headers=NAV).text
    assert resource_of(client.get("/", headers=NAV)) is None
    # Nothing of Firehose's answers: not even its guard.
    assert client.get("/next", headers=speculative("prefetch;prerender", TAGGED, Cookie="s=1")).status_code == 200


def test_thirty_first_requests_at_once_all_meet_the_guard_placed_once() -> None:
    """The guard is placed by whichever request comes first; requests that
    arrive together on a threaded server each meet it, and it is placed once."""
    import http.client
    import threading

    from flask import g
    from werkzeug.serving import make_server

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_SIGNED_IN=lambda: g.get("user") is not None)
    firehose = Firehose(app)
    ran: list[int] = []

    @app.before_request
    def load_user() -> None:
        if "session=" in request.headers.get("Cookie", ""):
            g.user = "alice"

    @app.get("/inbox")
    def inbox() -> str:
        ran.append(1)
        return "<p>inbox"

    firehose.speculate("prerender", urls=["/inbox"], app=app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.socket.getsockname()[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    statuses: list[int] = []
    start = threading.Barrier(30)

    def visit() -> None:
        start.wait(timeout=10)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/inbox", headers=speculative("prefetch;prerender", TAGGED, Cookie="session=1"))
        statuses.append(connection.getresponse().status)
        connection.close()

    try:
        visitors = [threading.Thread(target=visit) for _ in range(30)]
        for visitor in visitors:
            visitor.start()
        for visitor in visitors:
            visitor.join(timeout=20)
    finally:
        server.shutdown()
        server.server_close()
    assert statuses == [503] * 30
    assert ran == []
    guards = [f for f in app.before_request_funcs[None] if f.__name__ == "signed_in_guard"]
    assert len(guards) == 1
