"""Speculation Rules: declarations, exclusions, the header and its resource, the
inline script, and what a speculative request (``Sec-Purpose: prefetch``) changes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from flask import Blueprint, Flask, g, render_template_string
from flask.views import View
from werkzeug.routing import BuildError

from flask_firehose import (
    ConfigurationError,
    Firehose,
    InvalidURLError,
    MemoryHintStore,
    is_speculative,
    no_speculation,
    push,
    speculation,
)
from flask_firehose._config_keys import KEYS
from flask_firehose._failure import FailurePolicy
from flask_firehose._requests import is_prefetch_purpose
from flask_firehose._speculation.delivery import Speculation
from flask_firehose._speculation.rules import parse_exclusion, parse_pattern, route_pattern
from flask_firehose.testing import record_early_hints

from ..conftest import AppFactory

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
PRERENDER = {**NAV, "Sec-Purpose": "prefetch;prerender"}
# RFC 8941 §3.3.3: sf-string = DQUOTE *( unescaped / "%" / escaped ) DQUOTE, in a list.
_SF_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"'
_SF_STRING_LIST = re.compile(rf"{_SF_STRING}(?:[ \t]*,[ \t]*{_SF_STRING})*")


def rules_urls(response: Any) -> list[str]:
    """The URLs a ``Speculation-Rules`` field names, parsed strictly."""
    found: list[str] = []
    for value in response.headers.getlist("Speculation-Rules"):
        assert _SF_STRING_LIST.fullmatch(value), value
        found.extend(re.sub(r'\\(["\\])', r"\1", item[1:-1]) for item in re.findall(_SF_STRING, value))
    return found


def fetch_rules(client: Any, response: Any) -> dict[str, Any]:
    (url,) = rules_urls(response)
    resource = client.get(url)
    assert resource.status_code == 200
    assert resource.mimetype == "application/speculationrules+json"
    assert resource.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    rules: dict[str, Any] = json.loads(resource.data)
    assert rules.pop("tag") == "flask-firehose"  # every rule set is tagged; the tests read its actions
    return rules


def inline_rules(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="speculationrules"[^>]*>(.*?)</script>', html, re.S)
    assert match, html
    rules: dict[str, Any] = json.loads(match[1])
    assert rules.pop("tag") == "flask-firehose"
    return rules


def excluded_paths(rule: dict[str, Any]) -> list[str]:
    """The ``pathname`` of each ``not`` href pattern of a document rule."""
    clauses = rule["where"]["and"]
    return [p["pathname"] for c in clauses if "not" in c for p in c["not"].get("href_matches", [])]


def list_urls(rules: dict[str, Any], action: str) -> list[str]:
    return [url for rule in rules.get(action, []) if rule["source"] == "list" for url in rule["urls"]]


@pytest.fixture
def site(make_app: AppFactory) -> Callable[..., tuple[Flask, Firehose]]:
    """An app with articles, a logout, a POST-only route, a marked view, a
    blueprint and a page that inlines its rules."""

    def factory(**config: Any) -> tuple[Flask, Firehose]:
        app, firehose = make_app(**config)

        @app.get("/")
        def index() -> str:
            return "<p>home"

        @app.get("/articles/<slug>")
        def article(slug: str) -> str:
            return f"<p>{slug}"

        @app.get("/account/sign-out")
        def bye() -> str:
            return "bye"

        @app.get("/session/end")
        def logout() -> str:
            return "bye"

        @app.post("/cart/add")
        def add_to_cart() -> str:
            return "added"

        @app.get("/items")
        def items() -> str:
            return "<p>items"

        @app.post("/items")
        def new_item() -> str:
            return "created"

        @app.get("/unsubscribe/<token>")
        @no_speculation
        def unsubscribe(token: str) -> str:
            return "done"

        @app.get("/api")
        def api() -> dict[str, int]:
            return {"a": 1}

        @app.get("/inline")
        def inline() -> str:
            return render_template_string("<head>{{ speculation_rules(nonce=nonce) }}</head>", nonce=g.get("nonce"))

        return app, firehose

    return factory


# -- declarations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "key"),
    [
        ({"action": "prefetch-all"}, ConfigurationError, "action"),
        ({"action": None}, ConfigurationError, "action"),
        ({"eagerness": "hover"}, ConfigurationError, "eagerness"),
        ({"eagerness": "Moderate"}, ConfigurationError, "eagerness"),
        ({"urls": "/a"}, ConfigurationError, "urls"),
        ({"endpoints": [3]}, ConfigurationError, "endpoints"),
        ({"endpoints": [".article"]}, ConfigurationError, "endpoints"),
        ({"endpoints": [("article", {"not an identifier": 1})]}, ConfigurationError, "endpoints"),
        ({"endpoints": [("article", "slug=a")]}, ConfigurationError, "endpoints"),
        ({"selector_matches": ""}, ConfigurationError, "selector_matches"),
        ({"selector_matches": "a\x00b"}, ConfigurationError, "selector_matches"),
        ({"selector_matches": "a" * 2000}, ConfigurationError, "selector_matches"),
        ({"selector_matches": ["a"]}, ConfigurationError, "selector_matches"),
        ({"exclude": ["not a pattern"]}, ConfigurationError, "exclude"),
        ({"exclude": "/cart/*"}, ConfigurationError, "exclude"),
        ({"exclude": ["/a b"]}, ConfigurationError, "exclude"),
        ({"blueprint": 3}, ConfigurationError, "blueprint"),
    ],
)
def test_bad_declarations_raise_a_typed_error_naming_the_value(
    make_app: AppFactory, kwargs: dict[str, Any], error: type[Exception], key: str
) -> None:
    _, firehose = make_app()
    with pytest.raises(error) as caught:
        firehose.speculate(**kwargs)
    assert isinstance(caught.value, ConfigurationError) and caught.value.key == key
    if key != "blueprint":
        with pytest.raises(error):
            speculation(**kwargs)


@pytest.mark.parametrize(
    "url",
    [
        "https://other.example/next",
        "//other.example/next",
        "javascript:alert(1)",
        "next",
        '/a"b',
        "/a<b>",
        "/a\nb",
        "/100%",
        "",
    ],
)
def test_urls_must_be_paths_on_this_site(make_app: AppFactory, url: str) -> None:
    _, firehose = make_app()
    with pytest.raises(InvalidURLError) as caught:
        firehose.speculate(urls=[url])
    assert caught.value.value == url
    assert repr(url) in str(caught.value) or not url


@pytest.mark.parametrize(
    "pattern",
    ["articles/*", "https://other.example/*", "//other.example/*", "/a b", '/"*', "/a#b", "/:x/:x", "/%zz", "/\\*"],
)
def test_href_patterns_must_be_paths_on_this_site(make_app: AppFactory, pattern: str) -> None:
    _, firehose = make_app()
    with pytest.raises(InvalidURLError) as caught:
        firehose.speculate(href_matches=pattern)
    assert caught.value.value == pattern


def test_declaring_after_the_first_request_raises(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()
    app.test_client().get("/")
    with pytest.raises(RuntimeError, match="first request"):
        firehose.speculate("prefetch")


# -- patterns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "json_form", "matching", "not_matching"),
    [
        ("/articles/*", {"pathname": "/articles/*"}, ["/articles/a", "/articles/a/b?x=1"], ["/articles", "/other"]),
        ("/u/:name/feed", {"pathname": "/u/:name/feed"}, ["/u/bob/feed", "/u/bob/feed?p=2"], ["/u/a/b/feed"]),
        ("/a+b(c){d}:", {"pathname": "/a\\+b\\(c\\)%7Bd%7D\\:"}, ["/a+b(c)%7Bd%7D:"], ["/aab(c)%7Bd%7D:"]),
        ("/search?*q=*", {"pathname": "/search", "search": "*q=*"}, ["/search?q=1", "/search?a=1&q=2"], ["/search"]),
        ("?*token=*", {"pathname": "/*", "search": "*token=*"}, ["/x?token=1", "/?a&token="], ["/x?tok=1", "/x"]),
        ("/café/*", {"pathname": "/caf%C3%A9/*"}, ["/caf%C3%A9/x"], ["/cafe/x"]),
        ("/a?b+c", {"pathname": "/a", "search": "b\\+c"}, ["/a?b+c"], ["/a?bbc", "/a"]),
    ],
)
def test_patterns_as_the_browser_reads_them(
    pattern: str, json_form: dict[str, str], matching: list[str], not_matching: list[str]
) -> None:
    parsed = parse_pattern(pattern)
    assert parsed.as_json() == json_form
    for url in matching:
        assert parsed.matches(url), url
    for url in not_matching:
        assert not parsed.matches(url), url


def test_a_route_becomes_a_pattern_with_wildcards() -> None:
    pattern = route_pattern("/u/<int:id>/posts/<path:rest>")
    assert pattern.as_json() == {"pathname": "/u/*/posts/*"}
    assert pattern.matches("/u/3/posts/a/b?x")
    assert pattern.under("/blog").as_json() == {"pathname": "/blog/u/*/posts/*"}


@pytest.mark.parametrize(("value", "expected"), [("account.logout", "account.logout"), ("admin.*", "admin.*")])
def test_exclusions_may_name_endpoints(value: str, expected: str) -> None:
    assert parse_exclusion(value, "exclude") == expected


# -- the header and the resource ---------------------------------------------------------


def test_an_html_navigation_names_a_cached_rules_resource(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()
    firehose.speculate("prerender", endpoints=[("article", {"slug": "a"})], href_matches="/articles/*")
    client = app.test_client()
    response = client.get("/", headers=NAV)
    (url,) = rules_urls(response)
    assert re.fullmatch(r"/_firehose/speculation/[0-9a-f]{16}\.json", url)
    rules = fetch_rules(client, response)
    assert list_urls(rules, "prerender") == ["/articles/a"]
    document = next(rule for rule in rules["prerender"] if rule["source"] == "document")
    assert document["eagerness"] == "moderate"
    assert document["where"]["and"][0] == {"href_matches": [{"pathname": "/articles/*"}]}
    # The same rules, the same address: the name is the content's hash.
    assert rules_urls(client.get("/articles/b", headers=NAV)) == [url]
    assert "Vary" not in client.get(url).headers


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", {"Sec-Fetch-Mode": "cors"}),  # fetch()
        ("/", {**NAV, "HX-Request": "true"}),  # htmx
        ("/api", NAV),  # JSON
        ("/nowhere", NAV),  # 404
        ("/static/x.css", NAV),  # a static file (404 here, and static)
    ],
)
def test_only_html_navigations_answered_by_a_view_get_the_header(
    site: Callable[..., tuple[Flask, Firehose]], path: str, headers: dict[str, str]
) -> None:
    app, firehose = site()
    firehose.speculate("prefetch")
    assert rules_urls(app.test_client().get(path, headers=headers)) == []


def test_a_view_header_is_kept_and_ours_added(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()
    firehose.speculate("prefetch")

    @app.get("/own")
    def own() -> tuple[str, dict[str, str]]:
        return "<p>own", {"Speculation-Rules": '"/mine.json"'}

    urls = rules_urls(app.test_client().get("/own", headers=NAV))
    assert urls[0] == "/mine.json" and len(urls) == 2


def test_turned_off_there_is_no_header_no_route_and_no_inline(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site(FIREHOSE_SPECULATION=False)
    firehose.speculate("prefetch")
    client = app.test_client()
    assert rules_urls(client.get("/", headers=NAV)) == []
    assert "speculationrules" not in client.get("/inline", headers=NAV).text
    assert not any(rule.endpoint == "_firehose_speculation" for rule in app.url_map.iter_rules())


def test_the_prefix_is_configurable(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site(FIREHOSE_SPECULATION_PREFIX="/assets/rules/")
    firehose.speculate("prefetch")
    client = app.test_client()
    response = client.get("/", headers=NAV)
    assert rules_urls(response)[0].startswith("/assets/rules/")
    assert fetch_rules(client, response)["prefetch"]


@pytest.mark.parametrize("key", ["0123456789abcdef", "nothex", "0123456789ABCDEF", "0123456789abcdef0", "%2e%2e"])
def test_an_unknown_resource_is_a_404_never_cached(site: Callable[..., tuple[Flask, Firehose]], key: str) -> None:
    app, firehose = site()
    firehose.speculate("prefetch")
    response = app.test_client().get(f"/_firehose/speculation/{key}.json")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_another_worker_serves_a_resource_it_never_built(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    def build() -> Flask:
        app, firehose = site()
        firehose.speculate("prerender", endpoints=["index", ("article", {"slug": "x y"})])
        return app

    first, second = build(), build()
    page = first.test_client().get("/articles/q", headers=NAV)
    (url,) = rules_urls(page)
    resource = second.test_client().get(url)  # its first request
    assert resource.status_code == 200
    assert json.loads(resource.data) == json.loads(first.test_client().get(url).data)
    assert list_urls(json.loads(resource.data), "prerender") == ["/", "/articles/x%20y"]


def test_the_resource_memo_is_bounded() -> None:
    delivery = Speculation(FailurePolicy(strict=True), {}, active=True, prefix="/p", exclude=())
    for n in range(2000):
        delivery.resource_key({"prefetch": [{"source": "list", "urls": [f"/{n}"]}]})
    assert len(delivery._bodies) <= 512 and len(delivery._keys) <= 512


# -- what is never speculated --------------------------------------------------------------


def test_document_rules_leave_out_what_must_never_be_speculated(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site(FIREHOSE_SPECULATION_EXCLUDE=["/admin/*", "?*token=*", "api"])
    firehose.speculate("prefetch", exclude=["/drafts/*", "article"])
    client = app.test_client()
    rules = fetch_rules(client, client.get("/", headers=NAV))
    (rule,) = rules["prefetch"]
    assert rule["where"]["and"][0] == {"href_matches": "/*"}
    paths = excluded_paths(rule)
    # Every pathname absolute: URLPattern resolves "*logout*" against the rules resource's URL.
    assert all(path.startswith("/") for path in paths)
    for expected in ["/*logout*", "/*sign-out*", "/*signout*", "/account/sign-out", "/session/end", "/cart/add"]:
        assert expected in paths
    for expected in ["/unsubscribe/*", "/admin/*", "/drafts/*", "/api", "/articles/*"]:
        assert expected in paths
    assert {"pathname": "/*", "search": "*token=*"} in [
        p for c in rule["where"]["and"] if "not" in c for p in c["not"].get("href_matches", [])
    ]
    # GET /items is fine: only its POST twin has no GET.
    assert "/items" not in paths
    assert {"not": {"selector_matches": "[data-no-speculation]"}} in rule["where"]["and"]


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("/articles/a", True),
        ("/items", True),
        ("/account/sign-out", False),  # its path
        ("/session/end", False),  # its endpoint's name
        ("/my-logout-page", False),  # the built-in words, whatever the route
        ("/cart/add", False),  # POST only
        ("/unsubscribe/abc", False),  # @no_speculation
        ("/admin/users", False),  # configured pattern
        ("/articles/a?token=1", False),  # configured query pattern
        ("/api", False),  # configured endpoint
        ("/nowhere", True),  # no route here: maybe the front's
    ],
)
def test_list_urls_are_filtered_the_same_way(site: Callable[..., tuple[Flask, Firehose]], url: str, kept: bool) -> None:
    app, firehose = site(FIREHOSE_SPECULATION_EXCLUDE=["/admin/*", "?*token=*", "api"])
    firehose.speculate("prerender", urls=[url])
    client = app.test_client()
    response = client.get("/", headers=NAV)
    urls = list_urls(fetch_rules(client, response), "prerender") if rules_urls(response) else []
    assert (url in urls) is kept


def test_endpoints_to_excluded_routes_are_dropped(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()
    firehose.speculate("prerender", endpoints=["logout", "bye", "items", ("unsubscribe", {"token": "t"})])
    client = app.test_client()
    assert list_urls(fetch_rules(client, client.get("/", headers=NAV)), "prerender") == ["/items"]


def test_a_class_based_view_can_be_marked(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()

    class Marked(View):
        decorators: ClassVar[list[Callable[..., Any]]] = [no_speculation]

        def dispatch_request(self) -> str:
            return "ok"

    app.add_url_rule("/marked", view_func=Marked.as_view("marked"))
    firehose.speculate("prefetch", urls=["/marked"], href_matches="/*")
    client = app.test_client()
    rules = fetch_rules(client, client.get("/", headers=NAV))
    assert "/marked" in excluded_paths(rules["prefetch"][-1])
    assert list_urls(rules, "prefetch") == []


# -- scopes ---------------------------------------------------------------------


def test_rules_apply_to_the_app_a_blueprint_or_one_view(make_app: AppFactory) -> None:
    app, firehose = make_app()
    shop = Blueprint("shop", __name__)

    @shop.get("/shop/")
    def shop_index() -> str:
        return "<p>shop"

    @app.get("/")
    @speculation("prerender", urls=["/shop/"])
    def index() -> str:
        return "<p>home"

    @app.get("/about")
    def about() -> str:
        return "<p>about"

    app.register_blueprint(shop)
    firehose.speculate("prefetch", urls=["/about"])
    firehose.speculate("prefetch", urls=["/"], blueprint="shop")
    client = app.test_client()

    def lists(path: str) -> dict[str, list[str]]:
        rules = fetch_rules(client, client.get(path, headers=NAV))
        return {action: list_urls(rules, action) for action in rules}

    assert lists("/") == {"prefetch": ["/about"], "prerender": ["/shop/"]}
    assert lists("/about") == {"prefetch": ["/about"]}
    assert lists("/shop/") == {"prefetch": ["/about", "/"]}


def test_an_unknown_blueprint_is_logged(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    app, firehose = make_app()
    firehose.speculate("prefetch", blueprint="nope")

    @app.get("/")
    def index() -> str:
        return "<p>x"

    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        app.test_client().get("/", headers=NAV)
    assert "'nope'" in caplog.text


# -- inline, hostile input, per-user rules -------------------------------------------------------


HOSTILE_SELECTOR = "a[title=\"</script><script>alert(1)</script>\"], a[data-x='<!--'] \u2028 > b"


def test_inline_rules_cannot_break_out_of_the_script(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()
    firehose.speculate("prefetch", selector_matches=HOSTILE_SELECTOR, href_matches="/é/*\u2028")
    client = app.test_client()
    html = client.get("/inline", headers=NAV).text
    assert html.count("</script") == 1 and "<!--" not in html and "\u2028" not in html
    (rule,) = inline_rules(html)["prefetch"]
    assert {"selector_matches": HOSTILE_SELECTOR} in rule["where"]["and"]
    assert rule["where"]["and"][0] == {"href_matches": [{"pathname": "/%C3%A9/*%E2%80%A8"}]}


def test_inline_rules_replace_the_header(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()
    firehose.speculate("prefetch")
    response = app.test_client().get("/inline", headers=NAV)
    assert rules_urls(response) == []
    assert inline_rules(response.text)["prefetch"]


@pytest.mark.parametrize(
    ("nonce", "expected"),
    [("r4nd0m", ' nonce="r4nd0m"'), ('"><script>', ' nonce="&#34;&gt;&lt;script&gt;"'), (None, "")],
)
def test_inline_nonce_is_escaped(site: Callable[..., tuple[Flask, Firehose]], nonce: str | None, expected: str) -> None:
    app, firehose = site()
    firehose.speculate("prefetch")

    @app.before_request
    def set_nonce() -> None:
        g.nonce = nonce

    html = app.test_client().get("/inline", headers=NAV).text
    assert f'<script type="speculationrules"{expected}>' in html


def test_inline_without_rules_or_outside_a_request_is_empty(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, _ = site()
    assert "<script" not in app.test_client().get("/inline", headers=NAV).text
    with app.app_context():
        assert render_template_string("{{ speculation_rules() }}") == ""


def test_two_users_at_once_never_share_per_user_rules(site: Callable[..., tuple[Flask, Firehose]]) -> None:
    app, firehose = site()

    @app.before_request
    def who() -> None:
        from flask import request

        g.user = request.headers.get("X-User", "anonymous")

    # Each user's own next page: read per request, so inline only.
    firehose.speculate("prerender", endpoints=[("article", {"slug": lambda: f"for-{g.user}"})])
    firehose.speculate("prefetch", endpoints=["items"])
    alice, bob = app.test_client(), app.test_client()
    pages = {
        name: client.get("/", headers={**NAV, "X-User": name}) for name, client in [("alice", alice), ("bob", bob)]
    }
    assert rules_urls(pages["alice"]) == rules_urls(pages["bob"])  # one shared resource
    shared = alice.get(rules_urls(pages["alice"])[0]).text
    assert "for-" not in shared and "/items" in shared
    inline = {
        name: inline_rules(client.get("/inline", headers={**NAV, "X-User": name}).text)
        for name, client in [("alice", alice), ("bob", bob)]
    }
    assert list_urls(inline["alice"], "prerender") == ["/articles/for-alice"]
    assert list_urls(inline["bob"], "prerender") == ["/articles/for-bob"]


def test_a_failing_url_for_never_breaks_the_page(
    site: Callable[..., tuple[Flask, Firehose]], caplog: pytest.LogCaptureFixture
) -> None:
    strict_app, strict = site()
    strict.speculate("prefetch", endpoints=["no_such_endpoint"])
    with pytest.raises(BuildError):
        strict_app.test_client().get("/", headers=NAV)

    app, firehose = site(FIREHOSE_STRICT=False)
    firehose.speculate("prefetch", endpoints=["no_such_endpoint", "items"])
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="flask_firehose"):
        response = client.get("/", headers=NAV)
    assert response.status_code == 200
    assert list_urls(fetch_rules(client, response), "prefetch") == ["/items"]
    assert "url_for('no_such_endpoint')" in caplog.text


# -- speculative requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "speculative"),
    [
        ("prefetch", True),
        ("prefetch;prerender", True),
        ("prefetch; prerender", True),
        (" prefetch ", True),
        ("prefetch;anonymous-client-ip", True),
        ("foo, prefetch", True),
        (None, False),
        ("", False),
        ("Prefetch", False),
        ("prefetcher", False),
        ("prerender", False),
        ('"prefetch"', False),
        ("pre fetch", False),
        ("prefetch" + " " * 300, False),
        ("\x00prefetch", False),
    ],
)
def test_sec_purpose_values(make_app: AppFactory, value: str | None, speculative: bool) -> None:
    assert is_prefetch_purpose(value) is speculative
    app, _ = make_app()
    seen = []

    @app.get("/")
    def index() -> str:
        seen.append(is_speculative())
        return "<p>x"

    headers = dict(NAV)
    if value is not None and "\x00" not in value:
        headers["Sec-Purpose"] = value
        app.test_client().get("/", headers=headers)
        assert seen == [speculative]
    assert is_speculative() is False  # outside a request


def test_a_speculation_is_not_learned_from(make_app: AppFactory) -> None:
    store = MemoryHintStore(min_seen=1)
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="s")
    Firehose(app, hint_store=store)

    @app.get("/")
    def index() -> str:
        push("/static/a.css")
        return "<p>x"

    # Served where a 103 can go out (learning is for the 103 only).
    client = app.test_client()
    with record_early_hints(client):
        client.get("/", headers=PRERENDER)
        assert list(store.endpoints()) == []
        client.get("/", headers=NAV)
        # The store's key ends with the endpoint (it may be scoped by app and site before it).
        assert [key.rsplit(" ", 1)[-1] for key in store.endpoints()] == ["index"]


def test_a_speculation_marks_nothing_as_pushed(make_app: AppFactory) -> None:
    app, _ = make_app()

    @app.get("/")
    def index() -> str:
        push("/static/a.css")
        return "<p>x"

    client = app.test_client()
    speculative = client.get("/", headers=PRERENDER)
    assert "fh-pushed" not in speculative.headers.get("Set-Cookie", "")
    assert "</static/a.css>" in speculative.headers["Link"]  # still hinted, for the prerendered page
    shown = client.get("/", headers=NAV)
    assert "fh-pushed" in shown.headers.get("Set-Cookie", "")


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FIREHOSE_SPECULATION", "yes"),
        ("FIREHOSE_SPECULATION_PREFIX", "/"),
        ("FIREHOSE_SPECULATION_PREFIX", "rules"),
        ("FIREHOSE_SPECULATION_PREFIX", "/a b"),
        ("FIREHOSE_SPECULATION_PREFIX", '/a"b'),
        ("FIREHOSE_SPECULATION_PREFIX", "/a/../b"),
        ("FIREHOSE_SPECULATION_PREFIX", "/<key>"),
        ("FIREHOSE_SPECULATION_PREFIX", None),
        ("FIREHOSE_SPECULATION_EXCLUDE", "/cart/*"),
        ("FIREHOSE_SPECULATION_EXCLUDE", [3]),
        ("FIREHOSE_SPECULATION_EXCLUDE", ["cart page"]),
        ("FIREHOSE_SPECULATION_EXCLUDE", ["https://x/*"]),
    ],
)
def test_bad_config_names_its_key(make_app: AppFactory, key: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_app(**{key: value})
    assert caught.value.key == key
    assert key in str(caught.value)


def test_the_keys_are_in_the_config_table() -> None:
    assert KEYS["FIREHOSE_SPECULATION"].default is True
    assert KEYS["FIREHOSE_SPECULATION_PREFIX"].default == "/_firehose/speculation"
    assert KEYS["FIREHOSE_SPECULATION_EXCLUDE"].default == ()


def _guarded_app(make_app: AppFactory) -> tuple[Flask, list[str]]:
    app, firehose = make_app()
    ran: list[str] = []

    @app.get("/logout")
    def logout() -> str:
        ran.append("logout")
        return "bye"

    @app.get("/unsubscribe/<token>")
    @no_speculation
    def unsubscribe(token: str) -> str:
        ran.append(f"unsubscribe {token}")
        return "unsubscribed"

    @app.get("/article")
    def article() -> str:
        ran.append("article")
        return "<p>article</p>"

    firehose.speculate("prefetch", href_matches="/*")
    return app, ran


@pytest.mark.parametrize("path", ["/logout", "/log%6Fut", "/%6cogout", "/unsubscribe/x", "/un%73ubscribe/x"])
@pytest.mark.parametrize("purpose", ["prefetch", "prefetch;prerender"])
def test_a_speculation_of_a_never_speculated_route_is_refused_before_its_view(
    make_app: AppFactory, path: str, purpose: str
) -> None:
    app, ran = _guarded_app(make_app)
    response = app.test_client().get(path, headers={"Sec-Purpose": purpose, "Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert ran == []


@pytest.mark.parametrize("path", ["/logout", "/log%6Fut", "/unsubscribe/x"])
def test_the_users_own_click_still_runs_the_view(make_app: AppFactory, path: str) -> None:
    app, ran = _guarded_app(make_app)
    response = app.test_client().get(path, headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 200
    assert len(ran) == 1


def test_a_speculation_of_an_ordinary_page_is_served(make_app: AppFactory) -> None:
    app, ran = _guarded_app(make_app)
    response = app.test_client().get("/article", headers={"Sec-Purpose": "prefetch", "Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 200
    assert ran == ["article"]


@pytest.mark.parametrize(
    "url", ["/a/../logout", "/log%6Fut", "/un%73ubscribe/x", "/./article", "/%2e%2e/unsubscribe/x", "/a/%2E/b"]
)
def test_list_urls_not_in_plain_form_are_never_speculated(make_app: AppFactory, url: str) -> None:
    app, firehose = make_app()

    @app.get("/")
    def index() -> str:
        return render_template_string("{{ speculation_rules() }}")

    firehose.speculate("prefetch", urls=[url, "/plain"])
    page = app.test_client().get("/", headers={"Sec-Fetch-Mode": "navigate"}).get_data(as_text=True)
    assert "/plain" in page
    assert url not in page


def test_made_up_resource_keys_rebuild_the_rules_at_most_once(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, firehose = make_app()

    @app.get("/")
    def index() -> str:
        return "<a href='/next'>next</a>"

    firehose.speculate("prefetch", urls=["/next"])
    client = app.test_client()
    client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
    rebuilt: list[int] = []
    original = Speculation._rebuild

    def counting(self: Speculation, root: str) -> None:
        rebuilt.append(1)
        original(self, root)

    monkeypatch.setattr(Speculation, "_rebuild", counting)
    for key in ("0123456789abcdef", "fedcba9876543210", "00000000000000aa"):
        response = client.get(f"/_firehose/speculation/{key}.json")
        assert response.status_code == 404
        assert response.headers["Cache-Control"] == "no-store"
    assert rebuilt == [1]


@pytest.mark.parametrize("prefix", ["/static", "/static/rules", "/_firehose"])
def test_a_prefix_overlapping_the_static_path_is_refused(prefix: str) -> None:
    app = Flask(__name__, static_url_path="/static" if prefix != "/_firehose" else "/_firehose/speculation/files")
    app.config["FIREHOSE_SPECULATION_PREFIX"] = prefix
    with pytest.raises(ConfigurationError) as caught:
        Firehose(app)
    assert caught.value.key == "FIREHOSE_SPECULATION_PREFIX"


def test_a_failing_guard_never_breaks_a_page_in_production(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app, firehose = make_app(FIREHOSE_STRICT=False)
    ran: list[str] = []

    @app.get("/article")
    def article() -> str:
        ran.append("article")
        return "<p>article</p>"

    firehose.speculate("prefetch", href_matches="/*")

    def broken(self: Speculation, req: object) -> None:
        raise RuntimeError("the URL map could not be read")

    monkeypatch.setattr(Speculation, "refuse", broken)
    with caplog.at_level(logging.ERROR, logger="flask_firehose"):
        response = app.test_client().get("/article", headers={"Sec-Purpose": "prefetch", "Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 200
    assert ran == ["article"]
    assert any("speculation guard" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("where", ["speculate", "decorator", "make_spec"])
def test_one_parameter_list_refuses_an_unknown_keyword_everywhere(where: str) -> None:
    from flask_firehose._speculation.rules import RULE_OPTIONS, make_spec

    assert {
        "eagerness",
        "urls",
        "endpoints",
        "href_matches",
        "selector_matches",
        "exclude",
        "target_hint",
        "tag",
    } == RULE_OPTIONS
    calls: dict[str, Callable[[], object]] = {
        "speculate": lambda: Firehose(Flask(__name__)).speculate("prefetch", href_match="/a/*"),  # type: ignore[call-arg]
        "decorator": lambda: speculation("prefetch", href_match="/a/*"),  # type: ignore[call-arg]
        "make_spec": lambda: make_spec("prefetch", href_match="/a/*"),  # type: ignore[call-arg]
    }
    with pytest.raises(TypeError, match="'href_match'"):
        calls[where]()


def test_the_three_entry_points_make_the_same_rule() -> None:
    from flask_firehose._speculation.rules import make_spec

    options: dict[str, Any] = {"eagerness": "eager", "href_matches": "/articles/*", "exclude": ["/articles/private*"]}
    app = Flask(__name__)
    firehose = Firehose(app)
    firehose.speculate("prefetch", **options)

    @speculation("prefetch", **options)
    def view() -> str:
        return "x"

    from flask_firehose._scopes import on_view
    from flask_firehose._speculation.views import RULES
    from flask_firehose._state import state_of

    state = state_of(app)
    assert state is not None
    made = [repr(spec) for spec in (state.rules[None][0], make_spec("prefetch", **options), *on_view(view, RULES))]
    assert len(made) == 3 and len(set(made)) == 1
