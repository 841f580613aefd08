from __future__ import annotations

import logging
import re

import pytest
from flask import Blueprint, Flask, jsonify, render_template_string, url_for
from werkzeug.wrappers import Response

from flask_firehose import InvalidURLError, Link, early_hints, push
from flask_firehose._browsers import browser_takes
from flask_firehose._budget import header_value
from flask_firehose._early_hints import assemble, policy_headers, send
from flask_firehose._failure import FailurePolicy
from flask_firehose._links import LATE_SCRIPT_PRIORITY, LCP_IMAGE_PRIORITY
from flask_firehose.testing import links_of, parse_link_header, record_early_hints

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

    firehose.declare_hints("https://fonts.example/serif.woff2", blueprint="shop")
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
    assert [_targets(links) for links in hints.links] == [["https://fonts.example/serif.woff2"]]


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
    # One Link field, then the page's policies only (never a second Link).
    assert all(
        headers[0][0] == "Link" and {name for name, _ in headers[1:]} <= {"Referrer-Policy", "Content-Security-Policy"}
        for headers in hints.sent
    )


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
        Link("/static/d.png", as_="image", params=(("fetchpriority", "high"), ("type", "image/png"))),
        Link("/static/e.png", as_="image", params=(("imagesrcset", "/static/e2.png 2x"),)),
    )
    def index() -> str:
        return "ok"

    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/")
    (links,) = hints.links
    assert [(link.target, link.params) for link in links] == [
        ("/static/a.css", (("rel", "preload"), ("as", "style"))),
        ("/static/d.png", (("rel", "preload"), ("as", "image"), ("fetchpriority", "high"), ("type", "image/png"))),
    ]
    # Every one stays in the final header, as it was declared.
    final = {link.target: link for link in links_of(response)}
    assert set(final) == {"/static/a.css", "/static/b.css", "/static/c.css", "/static/d.png", "/static/e.png"}
    assert final["/static/b.css"].get("integrity") == "sha384-abc"
    assert final["/static/e.png"].get("imagesrcset") == "/static/e2.png 2x"
    assert final["/static/a.css"].has("nopush")


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


# What browsers take from a 103 (Chromium's link_header_parser.cc and
# navigation_early_hints_manager.cc; e2e/test_hint_fidelity.py checks it live).
TAKEN = [
    Link("/s/a.css", as_="style"),
    Link("/s/a.css", as_="style", params=(("type", "text/css"),)),
    Link("/s/a.js", as_="script", params=(("fetchpriority", "low"),)),
    Link("/s/f.woff2", as_="font", crossorigin="", params=(("type", "font/woff2"),)),
    Link("/s/f.woff2", as_="font", crossorigin="use-credentials"),
    Link("/s/h.png", as_="image", params=(("fetchpriority", "high"),)),
    Link("/s/h.png", as_="image", params=(("fetchpriority", None),)),  # any value: unknown ones mean auto
    Link("/s/d.json", as_="fetch", crossorigin="anonymous"),
    Link("/s/m.mjs", rel="modulepreload"),
    Link("/s/m.mjs", rel="modulepreload", as_="script"),
    Link("https://cdn.example", rel="preconnect"),
    Link("https://cdn.example", rel="preconnect", crossorigin=""),
    Link("//cdn.example/x.js", as_="script"),
    Link("/s/a.js", as_="script", params=(("type", "X-Custom/Thing"),)),
]

IGNORED = [
    (Link("/s/a.css", as_="style", nopush=True), "nopush"),
    (Link("/s/h.png", as_="image", params=(("imagesrcset", "/s/h2.png 2x"),)), "imagesrcset is not taken in a 103"),
    (Link("/s/h.png", as_="image", params=(("imagesizes", "50vw"),)), "imagesizes is not taken"),
    (Link("/s/a.css", as_="style", params=(("media", "print"),)), "media is not taken"),
    (Link("/s/a.js", as_="script", params=(("integrity", "sha384-x"),)), "integrity is not taken"),
    (Link("/s/a.js", as_="script", params=(("referrerpolicy", "no-referrer"),)), "referrerpolicy"),
    (Link("/s/a.js", as_="script", params=(("nonce", "abc"),)), "nonce"),
    (Link("/s/a.js", as_="script", params=(("blocking", "render"),)), "blocking"),
    (Link("/s/a.css", as_="style", params=(("title", "x"),)), "title"),
    (Link("/s/v.mp4", as_="video"), "as=video is not fetched from a 103"),
    (Link("/s/t.vtt", as_="track"), "as=track"),
    (Link("/s/a.mp3", as_="audio"), "as=audio"),
    (Link("/s/w.js", as_="worker"), "as=worker"),
    (Link("/s/x"), "preload without as"),
    (Link("/next.html", rel="prefetch"), "rel=prefetch is not acted on in a 103"),
    (Link("https://cdn.example", rel="dns-prefetch"), "rel=dns-prefetch"),
    (Link("/s/a.css", rel="stylesheet"), "rel=stylesheet"),
    (Link("/s/a.css", rel="preload prefetch", as_="style"), "several relations"),
    (Link("/s/a.css", rel="preload preload", as_="style"), "several relations"),
    (Link("/s/m.mjs", rel="modulepreload", as_="style"), "modulepreload with as=style"),
    (Link("https://cdn.example", rel="preconnect", as_="video"), "as=video"),
    (Link("/s/a.css", as_="style", params=(("type", "stylesheet"),)), "type=stylesheet is not a MIME type"),
    (Link("/s/a.css", as_="style", params=(("type", "text/css; charset=utf-8"),)), "not a MIME type"),
    (Link("/s/a.css", as_="style", params=(("type", "bogus/css"),)), "not a MIME type"),
    (Link("/s/a.css", as_="style", params=(("type", None),)), "type=None"),
]


@pytest.mark.parametrize("link", TAKEN, ids=lambda link: link.text)
def test_browser_takes(link: Link) -> None:
    assert browser_takes(link) is None


@pytest.mark.parametrize(("link", "reason"), IGNORED, ids=lambda v: v.text if isinstance(v, Link) else "")
def test_browser_ignores_with_a_reason(link: Link, reason: str) -> None:
    said = browser_takes(link)
    assert said is not None and reason in said
    assert "\n" not in said and len(said) < 120


def test_assemble_keeps_exactly_what_browsers_take() -> None:
    candidates = [link for link, _ in IGNORED] + TAKEN
    kept = assemble(candidates, pushing_front=False, already_pushed=None, max_links=64, max_bytes=8192)
    # nopush dropped: the stylesheet goes in as a plain preload; every other ignored link stays out.
    # A 103 that carries an LCP image leaves out the scripts at fetchpriority=low.
    assert any(link.priority == LCP_IMAGE_PRIORITY for link in TAKEN)
    late = {link.key for link in TAKEN if link.priority == LATE_SCRIPT_PRIORITY}
    assert late
    expected = ({link.key for link in TAKEN} - late) | {("/s/a.css", "preload")}
    assert {link.key for link in kept} == expected
    without_image = [link for link in candidates if link.priority != LCP_IMAGE_PRIORITY]
    kept = assemble(without_image, pushing_front=False, already_pushed=None, max_links=64, max_bytes=8192)
    assert late <= {link.key for link in kept}
    assert all(browser_takes(link) is None for link in kept)
    # What goes out parses back strictly, and each link is still what browsers take.
    assert len(parse_link_header(header_value(kept))) == len(kept)


@pytest.mark.parametrize(
    ("referrer_policy", "csp", "fields"),
    [
        (None, None, ()),
        ("strict-origin-when-cross-origin", None, (("Referrer-Policy", "strict-origin-when-cross-origin"),)),
        (
            "no-referrer",
            "img-src 'self'",
            (("Referrer-Policy", "no-referrer"), ("Content-Security-Policy", "img-src 'self'")),
        ),
        (None, "default-src 'self'", (("Content-Security-Policy", "default-src 'self'"),)),
    ],
)
def test_policy_headers(referrer_policy: str | None, csp: str | None, fields: tuple[tuple[str, str], ...]) -> None:
    assert policy_headers(referrer_policy, csp) == fields


@pytest.mark.parametrize(
    ("referrer_policy", "csp"),
    [("no-referrer\r\nSet-Cookie: a=1", None), (None, "img-src 'self'\nX: y"), ("", None), (None, " x"), (None, "é")],
)
def test_policy_headers_refuse_what_is_no_field_value(referrer_policy: str | None, csp: str | None) -> None:
    bad = referrer_policy if referrer_policy is not None else csp
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        policy_headers(referrer_policy, csp)


def test_send_puts_the_policies_in_the_one_103() -> None:
    sent: list[list[tuple[str, str]]] = []
    environ = {"wsgi.early_hints": sent.append}
    policy = policy_headers("no-referrer", "img-src 'none'")
    links = [Link("/s/a.css", as_="style"), Link("/s/h.png", as_="image")]
    assert send(environ, links, FailurePolicy(strict=True), policy) is True
    assert sent == [
        [
            ("Link", "</s/a.css>; rel=preload; as=style, </s/h.png>; rel=preload; as=image"),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Security-Policy", "img-src 'none'"),
        ]
    ]
    # No links: no 103 at all, policies or not.
    assert send(environ, [], FailurePolicy(strict=True), policy) is False
    assert len(sent) == 1


def test_the_103_carries_the_configured_policies(make_app: AppFactory) -> None:
    # Needs the hook to pass settings' policies to send(): FIREHOSE_EARLY_HINTS_REFERRER_POLICY and _CSP.
    app, _ = make_app(FIREHOSE_EARLY_HINTS_REFERRER_POLICY="no-referrer", FIREHOSE_EARLY_HINTS_CSP="img-src 'self'")

    @app.get("/")
    @early_hints("/static/a.css", Link("/static/v.mp4", as_="video"))
    def index() -> str:
        return "<p>x</p>"

    @app.get("/bare")
    @early_hints(Link("/static/v.mp4", as_="video"))
    def bare() -> str:
        return "<p>x</p>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/")
        response = client.get("/bare")
    assert [[name for name, _ in headers] for headers in hints.sent] == [
        ["Link", "Referrer-Policy", "Content-Security-Policy"]
    ]
    assert dict(hints.sent[0])["Referrer-Policy"] == "no-referrer"
    assert dict(hints.sent[0])["Content-Security-Policy"] == "img-src 'self'"
    assert [link.target for link in links_of(response)] == ["/static/v.mp4"]


def test_the_default_103_carries_strict_origin_when_cross_origin(app: Flask) -> None:
    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/report")
    (headers,) = hints.sent
    assert headers[1:] == [("Referrer-Policy", "strict-origin-when-cross-origin")]
