from __future__ import annotations

import logging

import pytest
from flask import Blueprint, Flask, jsonify, render_template_string, url_for
from werkzeug.wrappers import Response

from flask_firehose import InvalidURLError, Link, early_hints, push
from flask_firehose.testing import links_of, record_early_hints

from .conftest import AppFactory

PAGE = '{{ push("/static/app.css") }}{{ push("/static/app.js") }}'


def _targets(links: list) -> list[str]:  # type: ignore[type-arg]
    return [link.target for link in links]


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    app, firehose = make_app()
    order: list[str] = []
    app.config["order"] = order

    @app.get("/report")
    @early_hints("/static/report.css", lambda: url_for("static", filename="chart.js"))
    def report() -> str:
        order.append("view")
        return render_template_string(PAGE)

    @app.get("/page/<name>")
    def page(name: str) -> str:
        return render_template_string(PAGE)

    @app.get("/api")
    def api() -> Response:
        push("/static/app.css")
        return jsonify(ok=True)

    firehose.declare_hints("https://fonts.example", blueprint="shop")
    shop = Blueprint("shop", __name__)

    @shop.get("/")
    def shop_index() -> str:
        return "shop"

    app.register_blueprint(shop, url_prefix="/shop")
    return app


def test_declared_hints_go_out_before_the_view(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client) as hints:
        original = hints.__call__

        def spy(headers: list[tuple[str, str]]) -> None:
            app.config["order"].append("103")
            original(headers)

        client.environ_base["wsgi.early_hints"] = spy  # type: ignore[assignment]
        response = client.get("/report")
    assert app.config["order"] == ["103", "view"]
    assert len(hints.sent) == 1
    (links,) = hints.links
    assert _targets(links) == ["/static/report.css", "/static/chart.js"]
    # Chromium ignores a 103 link carrying nopush (or any parameter it does not know).
    assert not any(link.has("nopush") for link in links)
    # The final header carries them too, pushable, with what the page pushed.
    final = {link.target: link for link in links_of(response)}
    assert set(final) == {"/static/report.css", "/static/chart.js", "/static/app.css", "/static/app.js"}
    assert not final["/static/report.css"].has("nopush")


def test_blueprint_declarations(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/shop/")
        client.get("/page/x")
    assert [_targets(links) for links in hints.links] == [["https://fonts.example"]]


def test_learned_after_repeats_per_endpoint(app: Flask) -> None:
    # Learning counts anonymous visits: a client without a cookie jar is one.
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        client.get("/page/a")  # seen under one URL: might belong to that URL only
        client.get("/page/a")
        client.get("/page/b")  # now common to the endpoint: counted once
        client.get("/page/c")  # counted twice: learned
        assert hints.sent == []
        client.get("/page/d")
    (links,) = hints.links
    assert _targets(links) == ["/static/app.css", "/static/app.js"]
    assert not any(link.has("nopush") for link in links)


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Mode": "cors"},
        {"Sec-Fetch-Mode": "no-cors"},
        {"HX-Request": "true"},
        {"Turbo-Frame": "main"},
        {"X-Requested-With": "XMLHttpRequest"},
    ],
)
def test_no_103_for_fragment_requests(app: Flask, headers: dict[str, str]) -> None:
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/report", headers=headers)
    assert response.status_code == 200 and hints.sent == []


def test_no_103_for_post(app: Flask) -> None:
    @app.post("/form")
    @early_hints("/static/form.css")
    def form() -> str:
        return "ok"

    client = app.test_client()
    with record_early_hints(client) as hints:
        client.post("/form")
    assert hints.sent == []


def test_accept_html_counts_without_fetch_metadata(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client, navigate=False) as hints:
        client.get("/report", headers={"Accept": "application/json"})
        client.get("/report", headers={"Accept": "text/html,application/xhtml+xml"})
    assert len(hints.sent) == 1


@pytest.mark.parametrize(
    ("config", "http2", "sent"),
    [
        ({}, True, 1),
        ({"FIREHOSE_EARLY_HINTS_HTTP1": False}, False, 0),
        ({"FIREHOSE_EARLY_HINTS_HTTP1": True}, False, 1),
        ({"FIREHOSE_EARLY_HINTS": False}, True, 0),
        ({"FIREHOSE_ENABLED": False}, True, 0),
    ],
)
def test_settings_decide_when_a_103_goes_out(
    make_app: AppFactory, config: dict[str, bool], http2: bool, sent: int
) -> None:
    app, _ = make_app(**config)

    @app.get("/")
    @early_hints("/static/a.css")
    def index() -> str:
        return "ok"

    client = app.test_client()
    with record_early_hints(client, http2=http2) as hints:
        client.get("/")
    assert len(hints.sent) == sent


def test_no_server_support_is_no_error(app: Flask) -> None:
    response = app.test_client().get("/report", headers={"Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 200
    assert "/static/report.css" in [link.target for link in links_of(response)]


def _broken(headers: list[tuple[str, str]]) -> None:
    raise OSError("connection reset")


def test_a_failing_server_callback_is_logged(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    app.config["TESTING"] = False
    client = app.test_client()
    with record_early_hints(client):
        client.environ_base["wsgi.early_hints"] = _broken  # type: ignore[assignment]
        with caplog.at_level(logging.WARNING, logger="flask_firehose"):
            response = client.get("/report")
    assert response.status_code == 200
    assert "/static/report.css" in [link.target for link in links_of(response)]
    assert "wsgi.early_hints (the 103) failed" in caplog.text
    assert "connection reset" in caplog.text


def test_a_failing_server_callback_raises_in_testing(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client):
        client.environ_base["wsgi.early_hints"] = _broken  # type: ignore[assignment]
        with pytest.raises(OSError, match="connection reset"):
            client.get("/report")


def test_103_obeys_the_budget(make_app: AppFactory) -> None:
    app, _ = make_app(FIREHOSE_MAX_LINKS=3, FIREHOSE_MAX_HEADER_BYTES=4096)

    @app.get("/")
    @early_hints(*(f"/static/{i}.png" for i in range(10)), "/static/main.css")
    def index() -> str:
        return "ok"

    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/")
    (links,) = hints.links
    assert _targets(links) == ["/static/main.css", "/static/0.png", "/static/1.png"]


def test_invalid_declaration_raises_when_declared(make_app: AppFactory) -> None:
    _, firehose = make_app()
    with pytest.raises(InvalidURLError, match=r"a b\.css"):
        early_hints("/static/a b.css")
    with pytest.raises(InvalidURLError, match="javascript"):
        firehose.declare_hints("javascript:alert(1)")
    with pytest.raises(TypeError, match="42"):
        firehose.declare_hints(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "pushed", "learned"),
    [
        # Default prefixes: the static URL path. Private and foreign URLs never.
        ({}, ["/media/avatars/ada.png", "https://cdn.example/lib.js", "/static/app.css"], ["/static/app.css"]),
        ({"FIREHOSE_LEARN_PREFIXES": ["/assets/"]}, ["/assets/app.css", "/static/app.js"], ["/assets/app.css"]),
    ],
)
def test_what_may_be_learned(
    make_app: AppFactory, config: dict[str, object], pushed: list[str], learned: list[str]
) -> None:
    app, _ = make_app(**config)

    @app.get("/")
    def index() -> str:
        for url in pushed:
            push(url)
        return "<p>home</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for _ in range(3):
            client.get("/")
    assert [_targets(links) for links in hints.links] == [learned]


def test_learning_skips_json_and_fragments(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(3):
            client.get("/api")
            client.get("/page/x", headers={"HX-Request": "true"})
    assert hints.sent == []


def test_new_build_replaces_the_old_url(make_app: AppFactory) -> None:
    app, _ = make_app()
    build = {"v": "1"}

    @app.get("/")
    def index() -> str:
        push(f"/static/app.css?v={build['v']}")
        return "<p>home</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        client.get("/")
        client.get("/")
        build["v"] = "2"
        client.get("/")  # 103 still has v=1: the view has not run yet
        client.get("/")  # v=1 is gone, v=2 seen once only
        client.get("/")
    assert [_targets(links) for links in hints.links] == [["/static/app.css?v=1"], ["/static/app.css?v=2"]]


def test_exactly_one_103_per_request(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client) as hints:
        for _ in range(4):
            client.get("/report")
    assert len(hints.sent) == 4
    assert all(len(headers) == 1 and headers[0][0] == "Link" for headers in hints.sent)


def test_recorder_restores_the_client(app: Flask) -> None:
    client = app.test_client()
    before = dict(client.environ_base)
    with record_early_hints(client):
        pass
    assert client.environ_base == before


def test_103_leaves_out_links_with_parameters_browsers_reject(make_app: AppFactory) -> None:
    app, _ = make_app()

    @app.get("/")
    @early_hints(
        Link("/static/a.css", as_="style", nopush=True),
        Link("/static/b.css", as_="style", params=(("integrity", "sha384-abc"),)),
        Link("/static/c.css", as_="style", params=(("x-team", "web"),)),
    )
    def index() -> str:
        return "ok"

    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/")
    (links,) = hints.links
    assert [(link.target, link.params) for link in links] == [
        ("/static/a.css", (("rel", "preload"), ("as", "style"))),
        ("/static/b.css", (("rel", "preload"), ("as", "style"), ("integrity", "sha384-abc"))),
    ]
    assert "/static/c.css" in [link.target for link in links_of(response)]


def test_a_crowded_page_gets_the_same_103_every_time(make_app: AppFactory) -> None:
    app, _ = make_app(FIREHOSE_MAX_HEADER_BYTES=8192)

    @app.get("/")
    def index() -> str:
        for n in range(40):
            push(f"/static/photo-{n}.png")
        push("/static/main.css")
        return "<p>gallery</p>"

    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for _ in range(12):
            client.get("/")
    sent = [tuple(_targets(links)) for links in hints.links]
    assert len(sent) == 10 and len(set(sent)) == 1  # from the third visit on (min_seen=2)
    assert sent[0][0] == "/static/main.css" and len(sent[0]) == 20


def _front_app(make_app: AppFactory, connector: object = None) -> Flask:
    app, _ = make_app(connector, FIREHOSE_EARLY_HINTS_HTTP1=True, FIREHOSE_LEARN=False)

    @app.get("/")
    @early_hints(
        "/static/a.css",
        Link("/static/logo.svg", as_="image", nopush=True),
        "https://cdn.example/lib.js",
    )
    def index() -> str:
        return "<p>x</p>"

    return app


def test_a_103_toward_a_pushing_front_leaves_out_nopush_and_pushed_links(make_app: AppFactory) -> None:
    client = _front_app(make_app).test_client()
    with record_early_hints(client, http2=False) as hints:  # a front speaks HTTP/1.1 to the app
        client.get("/")
        client.get("/")  # the digest cookie now says /static/a.css was pushed
    first, second = ([link.target for link in links] for links in hints.links)
    assert first == ["/static/a.css", "https://cdn.example/lib.js"]
    assert second == ["https://cdn.example/lib.js"]


def test_a_103_straight_to_a_browser_keeps_every_hint(make_app: AppFactory) -> None:
    client = _front_app(make_app).test_client()
    with record_early_hints(client) as hints:  # HTTP/2: a browser, no front in between
        client.get("/")
        client.get("/")
    assert [sorted(link.target for link in links) for links in hints.links] == [
        ["/static/a.css", "/static/logo.svg", "https://cdn.example/lib.js"]
    ] * 2
    assert not any(link.has("nopush") for links in hints.links for link in links)


def test_get_pushed_is_called_once_even_when_the_103_needs_it(make_app: AppFactory) -> None:
    calls: list[str] = []

    class Counting:
        def get_pushed(self) -> set[str]:
            calls.append("get")
            return {"/static/a.css"}

        def set_pushed(self, inset: set[str]) -> None:
            calls.append("set")

    client = _front_app(make_app, Counting()).test_client()
    with record_early_hints(client, http2=False) as hints:
        response = client.get("/")
    assert calls == ["get"]  # nothing new was pushed: no set_pushed()
    assert [link.target for link in hints.links[0]] == ["https://cdn.example/lib.js"]
    assert {link.target: link.has("nopush") for link in links_of(response)}["/static/a.css"] is True


def test_a_front_that_only_forwards_gets_every_hint(make_app: AppFactory) -> None:
    app, _ = make_app(FIREHOSE_EARLY_HINTS_HTTP1=True, FIREHOSE_FRONT_PUSHES=False, FIREHOSE_LEARN=False)

    @app.get("/")
    @early_hints("/static/a.css", Link("/static/logo.svg", as_="image", nopush=True))
    def index() -> str:
        return "<p>x</p>"

    client = app.test_client()
    with record_early_hints(client, http2=False) as hints:  # Caddy speaks HTTP/1.1 to the app
        client.get("/")
        client.get("/")
    assert [[link.target for link in links] for links in hints.links] == [["/static/a.css", "/static/logo.svg"]] * 2


def test_configured_origins_are_preconnected_in_every_103(make_app: AppFactory) -> None:
    app, _ = make_app(
        FIREHOSE_PRECONNECT=[
            "https://fonts.example",
            Link("https://cdn.example:8443", rel="preconnect", crossorigin=""),
        ]
    )

    @app.get("/")
    def index() -> str:
        return "<p>x</p>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/")
    (links,) = hints.links
    assert [(link.target, link.rels, link.has("crossorigin")) for link in links] == [
        ("https://fonts.example", frozenset({"preconnect"}), False),
        ("https://cdn.example:8443", frozenset({"preconnect"}), True),
    ]
    assert "Link" not in response.headers  # the page itself has arrived: nothing left to win


@pytest.mark.parametrize(
    "value",
    ["https://fonts.example", ["fonts.example"], ["https://fonts.example/css"], ["javascript:x"], [Link("/a.css")], 5],
)
def test_bad_preconnect_entries_name_the_key(value: object) -> None:
    from flask_firehose import ConfigurationError, Firehose

    app = Flask(__name__)
    app.config["FIREHOSE_PRECONNECT"] = value
    with pytest.raises(ConfigurationError, match="FIREHOSE_PRECONNECT"):
        Firehose(app)
