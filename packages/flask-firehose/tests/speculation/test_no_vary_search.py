"""No-Vary-Search: the header each declaration gives, read back as an RFC 9651
dictionary; hostile parameter names; which declaration wins; who gets the
header; and the ``expects_no_vary_search`` of list rules, compared with the
header the listed page really sends."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Blueprint, Flask, Response, render_template_string
from flask.views import MethodView, View
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_firehose import TRACKING_PARAMETERS, ConfigurationError, Firehose, no_vary_search
from flask_firehose._speculation.no_vary_search import MAX_NAME, MAX_PARAMETERS, make_no_vary_search

from ..conftest import AppFactory
from .structured_fields import FieldError, NoVarySearchValue, no_vary_search_of, run_with_hash_seed, served

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


def header_of(response: Any) -> NoVarySearchValue | None:
    """The response's one No-Vary-Search field, parsed strictly (or ``None``)."""
    values = response.headers.getlist("No-Vary-Search")
    if not values:
        return None
    (value,) = values
    return no_vary_search_of(value)


# -- the value ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "value", "meaning"),
    [
        (
            {"ignore": ["utm_source", "gclid"]},
            'params=("gclid" "utm_source")',  # sorted: every process writes the same
            NoVarySearchValue(("gclid", "utm_source")),
        ),
        ({"keep": ["id"]}, 'params, except=("id")', NoVarySearchValue(keep=("id",))),
        ({"keep": ["id", "page"]}, 'params, except=("id" "page")', NoVarySearchValue(keep=("id", "page"))),
        ({"keep": []}, "params", NoVarySearchValue(keep=())),
        ({"key_order": True}, "key-order", NoVarySearchValue(key_order=True)),
        ({"ignore": ["ref"], "key_order": True}, 'key-order, params=("ref")', NoVarySearchValue(("ref",), None, True)),
        ({"keep": [], "key_order": True}, "key-order, params", NoVarySearchValue(keep=(), key_order=True)),
        ({"ignore": ("a", "b", "a")}, 'params=("a" "b")', NoVarySearchValue(("a", "b"))),
        ({"ignore": iter(["x"])}, 'params=("x")', NoVarySearchValue(("x",))),
    ],
)
def test_value_is_the_dictionary_chromium_reads(
    make_app: AppFactory, arguments: dict[str, Any], value: str, meaning: NoVarySearchValue
) -> None:
    app, _ = make_app()

    @app.get("/a")
    @no_vary_search(**arguments)
    def a() -> str:
        return "<p>a"

    response = app.test_client().get("/a")
    assert response.headers.getlist("No-Vary-Search") == [value]
    assert no_vary_search_of(value) == meaning


def test_tracking_parameters_round_trip(make_app: AppFactory) -> None:
    app, firehose = make_app()
    firehose.no_vary_search(TRACKING_PARAMETERS)

    @app.get("/")
    def index() -> str:
        return "<p>home"

    parsed = header_of(app.test_client().get("/"))
    assert parsed == NoVarySearchValue(tuple(sorted(TRACKING_PARAMETERS)))
    assert all(name.isascii() and name.islower() for name in TRACKING_PARAMETERS)


_NAMES = st.lists(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="*"), min_size=1, max_size=MAX_NAME),
    min_size=1,
    max_size=MAX_PARAMETERS,
)


@given(_NAMES, st.booleans(), st.booleans())
def test_any_names_round_trip(names: list[str], keep: bool, key_order: bool) -> None:
    declared = make_no_vary_search(keep=names, key_order=key_order) if keep else make_no_vary_search(names)
    value = declared.value
    assert value.isascii() and value.isprintable()
    parsed = no_vary_search_of(value)
    unique = tuple(sorted(dict.fromkeys(names)))
    assert parsed == (NoVarySearchValue(keep=unique, key_order=key_order) if keep else NoVarySearchValue(unique))


def test_the_strict_parser_refuses_what_chromium_ignores() -> None:
    """The oracle can fail: the malformed values of the research table raise."""
    for bad in ("params=(utm_source)", 'params=("utm_source"', 'params="utm_source"', 'except=("id")', "params,"):
        with pytest.raises(FieldError):
            no_vary_search_of(bad)


# -- hostile names ----------------------------------------------------------------

# Each name is sent in a clean header that decodes back to it.
ACCEPTED = [
    'a"b',
    "a\\b",
    "a,b",
    "a(b)",
    "a b",
    "a;b=c",
    "a\r\nX-Injected: 1",
    "\x00",
    "\x7f\t",
    "né",
    "日本語",
    "😀",
    "a+b",
    "%41",
    "100%",
    "%",
    "=",
    "?&#",
    "x" * MAX_NAME,
    "😀" * MAX_NAME,
    "UTM_SOURCE",
]
# Each is refused by a ConfigurationError naming it.
REFUSED: list[Any] = ["", "x" * (MAX_NAME + 1), "\ud800", "a\udfffb", 1, None, b"utm_source", ("a",), 1.5]


@pytest.mark.parametrize("name", ACCEPTED)
@pytest.mark.parametrize("kind", ["ignore", "keep"])
def test_hostile_names_give_a_clean_header_that_decodes_back(make_app: AppFactory, name: str, kind: str) -> None:
    app, _ = make_app()

    arguments: dict[str, Any] = {kind: [name, "plain"]}

    @app.get("/a")
    @no_vary_search(**arguments)
    def a() -> str:
        return "<p>a"

    response = app.test_client().get("/a")
    (value,) = response.headers.getlist("No-Vary-Search")
    assert value.isascii() and value.isprintable()
    assert not any(char in value for char in "\\\r\n\x00")
    assert "X-Injected" not in response.headers
    parsed = no_vary_search_of(value)
    assert (parsed.ignore if kind == "ignore" else parsed.keep) == tuple(sorted((name, "plain")))


@pytest.mark.parametrize("name", REFUSED, ids=repr)
@pytest.mark.parametrize("kind", ["ignore", "keep"])
def test_bad_names_are_refused_naming_them(name: Any, kind: str) -> None:
    arguments: dict[str, Any] = {kind: ["ok", name]}
    with pytest.raises(ConfigurationError) as raised:
        no_vary_search(**arguments)
    assert raised.value.key == kind
    assert raised.value.value == name
    assert repr(name)[:40] in str(raised.value)


@pytest.mark.parametrize("value", ["utm_source", b"utm_source", 5, None, 5.0])
def test_a_bare_string_or_non_list_is_refused(value: Any) -> None:
    if value is None:  # ignore=None, keep=None: nothing declared
        with pytest.raises(ConfigurationError, match="declares nothing"):
            no_vary_search()
        return
    with pytest.raises(ConfigurationError) as raised:
        no_vary_search(ignore=value)
    assert raised.value.key == "ignore"
    assert raised.value.value is value


_SET_DECLARATION = """
import json
from flask import Flask
from flask_firehose import Firehose, no_vary_search
app = Flask("seeded")
app.config.update(TESTING=True)
firehose = Firehose(app)
app.add_url_rule("/", "index", lambda: "<p>")
app.add_url_rule("/a", "a", no_vary_search({"utm_source", "gclid", "fbclid", "ref", "page", "q"})(lambda: "<p>"))
firehose.speculate("prefetch", urls=["/a"])
client = app.test_client()
value = client.get("/a").headers["No-Vary-Search"]
page = client.get("/", headers={"Sec-Fetch-Mode": "navigate", "Accept": "text/html"})
print(json.dumps([value, page.headers["Speculation-Rules"]]))
"""


def test_a_set_of_names_gives_every_process_the_same_header() -> None:
    """Two workers (hash seeds 1 and 2 order this set differently) write the
    same header and name the same rules resource."""
    first, second = (json.loads(run_with_hash_seed(_SET_DECLARATION, seed)) for seed in (1, 2))
    assert first == second
    assert no_vary_search_of(first[0]) == NoVarySearchValue(("fbclid", "gclid", "page", "q", "ref", "utm_source"))


def test_limits_on_the_number_of_names() -> None:
    names = [f"p{i}" for i in range(MAX_PARAMETERS)]
    assert no_vary_search_of(make_no_vary_search(names).value).ignore == tuple(sorted(names))
    with pytest.raises(ConfigurationError, match=f"{MAX_PARAMETERS + 1} parameters") as raised:
        no_vary_search(keep=[*names, "one_more"])
    assert raised.value.key == "keep"


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ({"ignore": ["a"], "keep": ["b"]}, "keep"),
        ({"ignore": []}, "ignore"),
        ({}, "ignore"),
        ({"key_order": 1}, "key_order"),
        ({"key_order": "yes", "ignore": ["a"]}, "key_order"),
    ],
)
def test_declarations_that_cannot_be_sent(arguments: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        no_vary_search(**arguments)
    assert raised.value.key == key


def test_firehose_no_vary_search_checks_too(make_app: AppFactory) -> None:
    _, firehose = make_app()
    with pytest.raises(ConfigurationError):
        firehose.no_vary_search(["\ud800"])
    with pytest.raises(ConfigurationError) as raised:
        firehose.no_vary_search(["a"], blueprint=5)  # type: ignore[arg-type]
    assert raised.value.key == "blueprint"


def test_hostile_names_on_the_wire(make_app: AppFactory) -> None:
    """What a real server writes: one field, the bytes the test client saw."""
    names = ["a\r\nSet-Cookie: x=1", 'q"', "é", "a+b"]
    app, _ = make_app()

    @app.route("/a", methods=["GET", "POST"])
    @no_vary_search(ignore=names)
    def a() -> str:
        return "<p>a"

    with served(app) as server:
        answers = {method: server.request(method, "/a") for method in ("GET", "HEAD", "POST")}
    for method in ("GET", "HEAD"):
        status, headers, _ = answers[method]
        assert status == 200
        assert headers.get_all("Set-Cookie") is None
        (value,) = headers.get_all("No-Vary-Search") or []
        assert no_vary_search_of(value).ignore == tuple(sorted(names))
    status, headers, _ = answers["POST"]
    assert status == 200
    assert headers.get_all("No-Vary-Search") is None


# -- which declaration wins ---------------------------------------------------------------


def layered_app(make_app: AppFactory) -> Flask:
    """App, a blueprint, a nested blueprint, views, class-based views: each
    declaring or not."""
    app, firehose = make_app()
    outer = Blueprint("outer", __name__, url_prefix="/o")
    inner = Blueprint("inner", __name__, url_prefix="/i")
    plain = Blueprint("plain", __name__, url_prefix="/p")

    @app.get("/")
    def index() -> str:
        return "<p>"

    @app.get("/own")
    @no_vary_search(ignore=["view"])
    def own() -> str:
        return "<p>"

    @outer.get("/")
    def outer_page() -> str:
        return "<p>"

    @outer.get("/own")
    @no_vary_search(ignore=["outer_view"])
    def outer_own() -> str:
        return "<p>"

    @inner.get("/")
    def inner_page() -> str:
        return "<p>"

    @inner.route("/own")
    @no_vary_search(keep=["inner_view"])
    def inner_own() -> str:
        return "<p>"

    @plain.get("/")
    def plain_page() -> str:
        return "<p>"

    class Plain(View):
        def dispatch_request(self) -> str:
            return "<p>"

    @no_vary_search(ignore=["class"])
    class Marked(View):
        def dispatch_request(self) -> str:
            return "<p>"

    class Decorated(View):
        decorators: ClassVar[list[Callable[..., Any]]] = [no_vary_search(ignore=["decorators"])]

        def dispatch_request(self) -> str:
            return "<p>"

    class Methods(MethodView):
        @no_vary_search(ignore=["get"])
        def get(self) -> str:
            return "<p>"

    app.add_url_rule("/cbv", view_func=Plain.as_view("cbv"))
    app.add_url_rule("/cbv-marked", view_func=Marked.as_view("cbv_marked"))
    outer.add_url_rule("/cbv-decorated", view_func=Decorated.as_view("cbv_decorated"))
    inner.add_url_rule("/methods", view_func=Methods.as_view("methods"))
    outer.register_blueprint(inner)
    app.register_blueprint(outer)
    app.register_blueprint(plain)
    firehose.no_vary_search(["app"], app=app)
    firehose.no_vary_search(["outer"], blueprint="outer", app=app)
    firehose.no_vary_search(["inner"], blueprint="outer.inner", app=app)
    return app


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", NoVarySearchValue(("app",))),
        ("/own", NoVarySearchValue(("view",))),
        ("/o/", NoVarySearchValue(("outer",))),
        ("/o/own", NoVarySearchValue(("outer_view",))),
        ("/o/i/", NoVarySearchValue(("inner",))),
        ("/o/i/own", NoVarySearchValue(keep=("inner_view",))),
        ("/o/i/methods", NoVarySearchValue(("get",))),
        ("/p/", NoVarySearchValue(("app",))),
        ("/cbv", NoVarySearchValue(("app",))),
        ("/cbv-marked", NoVarySearchValue(("class",))),
        ("/o/cbv-decorated", NoVarySearchValue(("decorators",))),
    ],
)
def test_the_most_specific_declaration_wins(make_app: AppFactory, path: str, expected: NoVarySearchValue) -> None:
    app = layered_app(make_app)
    client = app.test_client()
    assert header_of(client.get(path)) == expected
    assert header_of(client.get(path)) == expected  # the memo answers the same


def test_get_and_head_get_it_post_does_not(make_app: AppFactory) -> None:
    app, _ = make_app()

    @app.route("/form", methods=["GET", "POST"])
    @no_vary_search(ignore=["ref"])
    def form() -> str:
        return "<form>"

    client = app.test_client()
    assert header_of(client.get("/form")) == NoVarySearchValue(("ref",))
    assert header_of(client.head("/form")) == NoVarySearchValue(("ref",))
    assert "No-Vary-Search" not in client.post("/form").headers
    assert "No-Vary-Search" not in client.options("/form").headers
    assert "No-Vary-Search" not in client.get("/nowhere").headers


def test_any_status_but_a_redirect_gets_it(make_app: AppFactory) -> None:
    app, firehose = make_app()
    firehose.no_vary_search(["ref"])

    @app.get("/gone")
    def gone() -> tuple[str, int]:
        return "gone", 404

    @app.get("/moved")
    def moved() -> Response:
        return Response(status=301, headers={"Location": "/gone"})

    client = app.test_client()
    assert header_of(client.get("/gone")) == NoVarySearchValue(("ref",))
    # A redirect's Location usually carries the query: a cache must not
    # reuse it for another query.
    assert "No-Vary-Search" not in client.get("/moved").headers


def test_a_view_that_sets_its_own_keeps_it(make_app: AppFactory) -> None:
    app, firehose = make_app()
    firehose.no_vary_search(["app"])

    @app.get("/own")
    @no_vary_search(ignore=["declared"])
    def own() -> Response:
        return Response("<p>", headers={"No-Vary-Search": "key-order"})

    response = app.test_client().get("/own")
    assert response.headers.getlist("No-Vary-Search") == ["key-order"]


def test_static_files_keep_their_cache_buster(make_app: AppFactory, tmp_path: Path) -> None:
    """An app-wide keep=[...] must not tell caches that /static/app.css?v=2 is ?v=1."""
    (tmp_path / "app.css").write_text("p{}")
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    app.config.update(TESTING=True, SECRET_KEY="k")
    firehose = Firehose(app)
    firehose.no_vary_search(keep=["page"])
    shop = Blueprint("shop", __name__, static_folder=str(tmp_path), static_url_path="/shop-static")
    app.register_blueprint(shop)
    firehose.no_vary_search(key_order=True, blueprint="shop")
    app.add_url_rule("/", "index", lambda: "<p>")
    client = app.test_client()
    for path in ("/static/app.css?v=2", "/shop-static/app.css?v=2"):
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert "No-Vary-Search" not in response.headers, path
    assert header_of(client.get("/")) == NoVarySearchValue(keep=("page",))


def test_a_blueprint_name_the_app_does_not_have_is_logged(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, firehose = make_app()
    app.add_url_rule("/", "index", lambda: "<p>")
    firehose.no_vary_search(["ref"], blueprint="shpo")
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        response = app.test_client().get("/")
        app.test_client().get("/")
    assert "No-Vary-Search" not in response.headers
    (record,) = [r for r in caplog.records if "no_vary_search(blueprint=...)" in r.getMessage()]
    assert "'shpo'" in record.getMessage()


# -- apps ------------------------------------------------------------------------------


def site(firehose: Firehose, app: Flask | None = None, **config: Any) -> Flask:
    app = app or Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="k", **config)

    @app.get("/")
    def index() -> str:
        return "<p>"

    return app


def test_declared_for_an_app_before_init_app() -> None:
    firehose = Firehose()
    app = site(firehose)
    firehose.no_vary_search(["early"], app=app)
    firehose.init_app(app)
    other = site(firehose)
    firehose.init_app(other)
    assert header_of(app.test_client().get("/")) == NoVarySearchValue(("early",))
    assert "No-Vary-Search" not in other.test_client().get("/").headers


def test_declared_at_a_module_top_level_reaches_every_app() -> None:
    firehose = Firehose()
    before = site(firehose)
    firehose.init_app(before)
    namespace = {"firehose": firehose}
    exec(compile("firehose.no_vary_search(['module'])", "<blueprint module>", "exec"), namespace)
    after = site(firehose)
    firehose.init_app(after)
    for app in (before, after):
        assert header_of(app.test_client().get("/")) == NoVarySearchValue(("module",))


def test_two_apps_keep_their_own_declarations() -> None:
    firehose = Firehose()
    first = site(firehose)
    firehose.init_app(first)
    firehose.no_vary_search(["first"], app=first)
    second = site(firehose)
    firehose.init_app(second)
    firehose.no_vary_search(keep=["second"], app=second)
    assert header_of(first.test_client().get("/")) == NoVarySearchValue(("first",))
    assert header_of(second.test_client().get("/")) == NoVarySearchValue(keep=("second",))


def test_sent_without_speculation_and_not_when_disabled() -> None:
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"FIREHOSE_SPECULATION": False}, True),
        ({"FIREHOSE_ENABLED": False}, False),
    ]
    for config, sent in cases:
        firehose = Firehose()
        app = site(firehose, **config)
        firehose.init_app(app)
        firehose.no_vary_search(["ref"], app=app)
        assert ("No-Vary-Search" in app.test_client().get("/").headers) is sent, config


def test_declared_after_the_first_request_is_refused(make_app: AppFactory) -> None:
    app, firehose = make_app()
    app.add_url_rule("/", "index", lambda: "<p>")
    app.test_client().get("/")
    with pytest.raises(RuntimeError, match="first request"):
        firehose.no_vary_search(["late"], app=app)


# -- expects_no_vary_search ---------------------------------------------------------


def rules_site(make_app: AppFactory, *extra_urls: str, **config: Any) -> Flask:
    """Pages with three different declarations and one with none; the home
    page lists them (URLs and endpoints) and has a document rule."""
    app, firehose = make_app(**config)
    firehose.no_vary_search(["utm_source", "gclid"], app=app)
    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @app.get("/")
    def index() -> str:
        return "<p>home"

    @app.get("/articles/<int:number>")
    def article(number: int) -> str:
        return f"<p>{number}"

    @app.get("/search")
    @no_vary_search(keep=["q"], key_order=True)
    def search() -> str:
        return "<p>search"

    @shop.get("/item/<slug>")
    def item(slug: str) -> str:
        return f"<p>{slug}"

    @app.get("/raw")
    def raw() -> Response:
        return Response("<p>raw", headers={"No-Vary-Search": "params"})

    app.register_blueprint(shop)
    firehose.no_vary_search(["ref"], blueprint="shop", app=app)
    firehose.speculate(
        "prefetch",
        urls=["/articles/1", "/search?q=a", "/shop/item/x", "/articles/2?utm_source=n", "/elsewhere", *extra_urls],
        endpoints=[("article", {"number": 3}), ("shop.item", {"slug": "y"}), "search"],
        app=app,
    )
    firehose.speculate("prerender", href_matches="/articles/*", app=app)
    return app


def list_rules(rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for action in ("prefetch", "prerender") for rule in rules.get(action, []) if rule["source"] == "list"]


def check_expectations(fetch: Any, rules: dict[str, Any], root: str = "") -> set[str]:
    """Each list URL's rule expects exactly the header its page sends; the
    document rules expect nothing. Returns the URLs checked."""
    checked: set[str] = set()
    seen_values: list[str | None] = []
    for rule in list_rules(rules):
        expected = rule.get("expects_no_vary_search")
        assert expected is None or isinstance(expected, str)
        if expected is not None:
            no_vary_search_of(expected)  # parses, as the browser must
        seen_values.append(expected)
        for url in rule["urls"]:
            sent = fetch(url)
            assert sent == expected, (url, sent, expected)
            checked.add(url)
    assert len(seen_values) == len(set(seen_values)), "one list rule per value"
    for action in rules:
        for rule in rules[action] if action != "tag" else ():
            if rule["source"] == "document":
                assert "expects_no_vary_search" not in rule
    return checked


def test_list_rules_expect_what_the_listed_page_sends(make_app: AppFactory) -> None:
    app = rules_site(make_app)
    client = app.test_client()
    page = client.get("/", headers=NAV)
    (resource,) = [value.strip('"') for value in page.headers.getlist("Speculation-Rules")]
    rules = json.loads(client.get(resource).data)

    def fetch(url: str) -> str | None:
        values = client.get(url).headers.getlist("No-Vary-Search")
        return values[0] if values else None

    checked = check_expectations(fetch, rules)
    assert checked == {
        "/articles/1",
        "/search?q=a",
        "/shop/item/x",
        "/articles/2?utm_source=n",
        "/elsewhere",
        "/articles/3",
        "/shop/item/y",
        "/search",
    }
    by_value = {rule.get("expects_no_vary_search"): rule["urls"] for rule in list_rules(rules)}
    assert by_value == {
        'params=("gclid" "utm_source")': ["/articles/1", "/articles/2?utm_source=n", "/articles/3"],
        'key-order, params, except=("q")': ["/search?q=a", "/search"],
        'params=("ref")': ["/shop/item/x", "/shop/item/y"],
        None: ["/elsewhere"],
    }


def test_inline_rules_carry_the_same_expectations(make_app: AppFactory) -> None:
    app = rules_site(make_app)

    @app.get("/inline")
    def inline() -> str:
        return render_template_string("<p>{{ speculation_rules() }}")

    client = app.test_client()
    html = client.get("/inline", headers=NAV).get_data(as_text=True)
    start = html.index(">", html.index("<script")) + 1
    rules = json.loads(html[start : html.index("</script>")])

    def fetch(url: str) -> str | None:
        values = client.get(url).headers.getlist("No-Vary-Search")
        return values[0] if values else None

    assert check_expectations(fetch, rules)


def test_a_view_declaring_nothing_that_sets_the_header_gets_no_expectation(make_app: AppFactory) -> None:
    """Only declarations count: /raw sets its own header, the rule cannot know it."""
    app, firehose = make_app()

    @app.get("/")
    def index() -> str:
        return "<p>"

    @app.get("/raw")
    def raw() -> Response:
        return Response("<p>", headers={"No-Vary-Search": "params"})

    firehose.speculate("prefetch", urls=["/raw"], app=app)
    client = app.test_client()
    (resource,) = [v.strip('"') for v in client.get("/", headers=NAV).headers.getlist("Speculation-Rules")]
    (rule,) = json.loads(client.get(resource).data)["prefetch"]
    assert "expects_no_vary_search" not in rule


def test_under_a_script_root_urls_map_to_their_endpoints(make_app: AppFactory) -> None:
    """Mounted at /blog (DispatcherMiddleware) behind a real server: list URLs
    carry the mount point and the expectation of the endpoint under it."""
    app = rules_site(make_app, "/blog/articles/7", "/blog/search?q=b", "/blog/shop/item/z")
    root = Flask("root")

    @root.get("/articles/<int:number>")
    def imposter(number: int) -> str:  # the same path outside the mount: no declaration
        return "<p>not the blog"

    mounted = DispatcherMiddleware(root, {"/blog": app})
    with served(mounted) as server:
        status, headers, _ = server.request("GET", "/blog/", NAV)
        assert status == 200
        (resource,) = [value.strip('"') for value in headers.get_all("Speculation-Rules") or []]
        assert resource.startswith("/blog/_firehose/speculation/")
        status, _, body = server.request("GET", resource)
        assert status == 200
        rules = json.loads(body)

        def fetch(url: str) -> str | None:
            status, headers, _ = server.request("GET", url)
            assert status in (200, 404)
            values = headers.get_all("No-Vary-Search") or []
            return values[0] if values else None

        urls = {url for rule in list_rules(rules) for url in rule["urls"]}
        # Endpoints resolve under the mount; urls= are origin paths and stay as written.
        assert {"/blog/articles/3", "/blog/shop/item/y", "/blog/search", "/blog/articles/7", "/blog/search?q=b"} <= urls
        assert "/blog/shop/item/z" in urls
        for rule in list_rules(rules):
            for url in rule["urls"]:
                if url.startswith("/blog/"):
                    assert fetch(url) == rule.get("expects_no_vary_search"), url
                else:  # outside the mount: not this app's page, no expectation
                    assert "expects_no_vary_search" not in rule, url
                    assert fetch(url) is None, url


def test_nothing_declared_means_no_expectation_anywhere(make_app: AppFactory) -> None:
    app, firehose = make_app()
    for path in ("/", "/a", "/b"):
        app.add_url_rule(path, path.strip("/") or "index", lambda: "<p>")
    firehose.speculate("prefetch", urls=["/a", "/b"], app=app)
    client = app.test_client()
    (resource,) = [v.strip('"') for v in client.get("/", headers=NAV).headers.getlist("Speculation-Rules")]
    rules = json.loads(client.get(resource).data)
    assert rules["prefetch"] == [{"source": "list", "urls": ["/a", "/b"], "eagerness": "moderate"}]
    assert all("No-Vary-Search" not in client.get(p).headers for p in ("/", "/a", "/b"))


def test_a_header_too_long_for_a_front_is_refused_when_declared() -> None:
    from flask_firehose._speculation.no_vary_search import MAX_VALUE

    names = [f"p{n:03d}_" + "x" * 100 for n in range(30)]
    with pytest.raises(ConfigurationError, match="characters") as caught:
        no_vary_search(ignore=names)
    assert caught.value.key == "ignore"
    # Just under the bound is fine, and the header is that long.
    fits = [f"q{n:02d}_" + "y" * 24 for n in range(MAX_PARAMETERS)]
    assert MAX_VALUE - 200 < len(make_no_vary_search(fits).value) <= MAX_VALUE


@pytest.mark.parametrize("name", ["utm_*", "*", "a*b"])
def test_a_wildcard_is_refused_naming_it(name: str) -> None:
    with pytest.raises(ConfigurationError, match="no wildcard") as raised:
        no_vary_search(ignore=["ref", name])
    assert raised.value.value == name
