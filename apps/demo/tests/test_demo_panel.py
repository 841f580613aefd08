"""The demo tests itself as a user's app would, with ``flask_firehose.testing``:
the "What Firehose did" panel (what the 103 held and where each link was known
from, the final header and what was not pushed again), the /compare page and
the no-hints twin. The panel's browser half is held to Chromium's Resource
Timing in e2e/test_demo_panel_truth.py."""

from __future__ import annotations

import html as html_module
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from demo import create_app
from demo.provenance import link_sources, source_of
from demo.views import TRUST_URL
from demo.witness import Witness
from flask_firehose import AssetManifest, Firehose, early_hints
from flask_firehose.testing import ParsedLink, links_of, parse_link_header, record_early_hints

NAVIGATION = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "DEMO_REDIS_URL": None, "DEMO_DATA_DIR": str(tmp_path), "DEMO_SLOW_SECONDS": 0})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def _panel(html: str) -> str:
    match = re.search(r'<section class="fh-panel".*?</section>', html, re.S)
    assert match, "no panel in the page"
    return match[0]


def _paths(targets: list[str]) -> set[str]:
    return {target.split("?")[0] for target in targets}


def test_report_sends_its_declared_hint_in_the_103(client: FlaskClient) -> None:
    with record_early_hints(client) as hints:
        response = client.get("/report")
    assert response.status_code == 200
    assert len(hints.links) == 1
    early = [link.target for link in hints.links[0]]
    assert "/static/css/report.css" in _paths(early)
    final = [link.target for link in links_of(response)]
    assert {"/static/css/report.css", "/static/img/heatmap.png", "/static/css/main.css"} <= _paths(final)
    # The panel lists what was handed to the server, and the final header as sent.
    panel = _panel(response.text)
    for target in early:
        assert f"<code>{target.replace('&', '&amp;')}</code>" in panel
    for value in response.headers.getlist("Link"):
        assert "Link: " + value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in panel
    assert 'class="fh-nopush">nopush: a hint only' in panel  # the logo is a hint only
    assert 'class="fh-push">push' in panel
    assert "not pushed again" not in panel  # a first visit: nothing was pushed before


def test_panel_is_shown_open_in_the_footer_of_every_page(client: FlaskClient) -> None:
    # Seen without opening anything: a section, not a closed <details>; only
    # the raw header fields fold away.
    for url in ["/", "/gallery", "/articles/early-hints", "/compare", "/account/login"]:
        html = client.get(url).text
        footer = html[html.index("<footer>") :]
        assert '<section class="fh-panel" id="fh-panel" data-twin="false"' in footer, url
        panel = _panel(footer)
        assert '<h2 id="fh-panel-title">What Firehose did for this page</h2>' in panel
        assert re.findall(r"<details[^>]*>", panel) in ([], ['<details class="fh-raw-fields">']), url
        assert "<!--firehose-panel-->" not in html
        assert "/static/js/panel.js?v=" in html
        # The measured difference: a link to run /compare until panel.js shows a run.
        assert '<div id="fh-measured" aria-live="polite"><p><a href="/compare">Run the comparison</a>' in panel


def _early_items(panel: str) -> dict[str, str]:
    """Each link of the panel's 103 list, by target, with the source it names."""
    items = re.findall(
        r'<li data-target="([^"]*)"><code>[^<]*</code> <span>[^<]*</span>\s*'
        r'<em class="fh-source fh-source-(\w+)">([^<]*)</em>',
        panel,
    )
    return {html_module.unescape(target).split("?")[0]: f"{key}: {text}" for target, key, text in items}


def test_panel_says_where_each_link_of_the_103_was_known_from(app: Flask, client: FlaskClient) -> None:
    with record_early_hints(client) as hints:
        first = client.get("/articles/budgets", headers=NAVIGATION)
    # Declared with @early_hints on the view: in the 103 from the very first visit.
    sent = {link.target.split("?")[0] for link in hints.links[0]}
    assert _early_items(_panel(first.text)) == dict.fromkeys(sent, "declared: declared by the view")
    assert sent == {"/static/css/main.css", "/static/css/article.css", "/static/js/app.js"}
    assert "with 3 links (3 declared):" in _panel(first.text)

    # /report declares its stylesheet; the rest of its final header is learned
    # from FIREHOSE_LEARN_MIN_SEEN (2) visitors' responses and joins its 103.
    for _ in range(3):
        with app.test_client() as visitor, record_early_hints(visitor) as hints:
            response = visitor.get("/report", headers=NAVIGATION)
    last = {link.target.split("?")[0] for link in hints.links[-1]}
    items = _early_items(_panel(response.text))
    assert set(items) == last
    assert items.pop("/static/css/report.css") == "declared: declared by the view"
    assert {"/static/img/heatmap.png", "/static/css/main.css"} <= set(items)
    assert set(items.values()) == {"learned: learned from earlier responses"}
    assert f"({len(items) + 1} links" not in response.text  # counted by source, not in one lump
    assert f"with {len(last)} links (1 declared, {len(items)} learned):" in _panel(response.text)


def test_panel_says_what_was_not_pushed_again(client: FlaskClient) -> None:
    first = _panel(client.get("/report", headers=NAVIGATION).text)
    again = client.get("/report", headers=NAVIGATION)
    panel = _panel(again.text)
    assert "not pushed again" not in first
    final = links_of(again)
    # Every pushable link of the first visit now goes out with nopush: the
    # panel names each one, and says why.
    tracked = [link for link in final if link.has("nopush") and "img/logo.svg" not in link.target]
    assert len(tracked) == len(final) - 1 >= 4
    assert f"{len(tracked)} not pushed again (<code>nopush</code>: this visitor was pushed\n      them before)" in panel
    assert panel.count("not pushed again: already pushed to you") == len(tracked)
    assert panel.count("nopush: a hint only") == 1  # the logo: the page asked for a hint only


def test_panel_names_what_the_103_left_out_for_a_returning_visitor(tmp_path: Path) -> None:
    # Behind a front (the 103 over HTTP/1.1, which a pushing front may push):
    # what this visitor was already pushed stays out of the 103.
    app = create_app(
        {
            "TESTING": True,
            "DEMO_REDIS_URL": None,
            "DEMO_DATA_DIR": str(tmp_path),
            "DEMO_SLOW_SECONDS": 0,
            "FIREHOSE_EARLY_HINTS_HTTP1": True,
        }
    )
    with app.test_client() as client, record_early_hints(client, http2=False) as hints:
        first = _panel(client.get("/articles/budgets").text)
        again = _panel(client.get("/articles/budgets").text)
    assert "fh-left-out" not in first
    # The first visit was pushed all three declared files: the second gets no 103.
    assert len(hints.sent) == 1
    assert "None: every hint known for this page was already pushed to this visitor." in again
    left_out = re.search(r'<ul class="fh-links" id="fh-left-out">(.*?)</ul>', again, re.S)
    assert left_out is not None
    targets = {t.split("?")[0] for t in re.findall(r"<code>([^<]*)</code>", left_out[1])}
    assert targets == {"/static/css/main.css", "/static/css/article.css", "/static/js/app.js"}
    assert left_out[1].count("declared by the view") == 3
    assert "Left out of the 103, not pushed again: this visitor was already pushed\n      them" in again


def test_the_raw_final_header_is_still_shown_as_sent(client: FlaskClient) -> None:
    response = client.get("/gallery", headers=NAVIGATION)
    panel = _panel(response.text)
    (value,) = response.headers.getlist("Link")
    assert f'<pre class="fh-raw">Link: {html_module.escape(value, quote=False)}</pre>' in panel


def test_sources_of_links_the_routes_report_does_not_name() -> None:
    def parsed(text: str) -> ParsedLink:
        (link,) = parse_link_header(text)
        return link

    known = {"/a.css": "declared", "/b.js": "learned"}
    assert source_of(parsed("</a.css>; rel=preload; as=style"), known) == "declared"
    assert source_of(parsed("</b.js>; rel=preload; as=script"), known) == "learned"
    assert source_of(parsed("</hero.avif>; rel=preload; as=image; fetchpriority=high"), known) == "visitors"
    assert source_of(parsed("</hero.avif>; rel=preload; as=image"), known) == "unknown"
    assert source_of(parsed("<https://cdn.example>; rel=preconnect"), known) == "preconnect"


def test_manifest_entries_are_told_from_other_declarations(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps({"src/main.js": {"file": "assets/main-1.js", "isEntry": True, "css": ["assets/main-2.css"]}})
    )
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    Firehose(app)
    assets = AssetManifest.vite(manifest)

    @app.get("/")
    @early_hints(assets.entry("src/main.js"), "/static/extra.css")
    def index() -> str:
        return render_template_string("<footer><!--firehose-panel--></footer>")

    with app.app_context():
        sources = link_sources(app, "index")
    assert sources == {
        "/static/dist/assets/main-2.css": "manifest",
        "/static/dist/assets/main-1.js": "manifest",
        "/static/extra.css": "declared",
    }
    assert link_sources(app, "nowhere") == {}
    assert link_sources(Flask("bare"), "index") == {}


def test_witness_renders_provenance_in_any_app(tmp_path: Path) -> None:
    # The Witness and its template on an app of its own: what the panel shows
    # does not depend on the demo's views.
    app = Flask(__name__, template_folder=str(Path(__file__).parent.parent / "demo" / "templates"))
    app.config["SECRET_KEY"] = "test"
    Firehose(app)

    @app.get("/")
    @early_hints("/static/site.css")
    def index() -> str:
        return render_template_string("<footer><!--firehose-panel--></footer>")

    app.wsgi_app = Witness(app)  # type: ignore[method-assign]
    with app.test_client() as client, record_early_hints(client):
        panel = _panel(client.get("/", headers=NAVIGATION).text)
    assert _early_items(panel) == {"/static/site.css": "declared: declared by the view"}


def test_panel_without_a_103_server_says_so(client: FlaskClient) -> None:
    panel = _panel(client.get("/report").text)
    assert "offers no <code>wsgi.early_hints</code>" in panel


def test_page_is_streamed_with_its_panel_after_the_content(app: Flask) -> None:
    # The page up to the panel is one chunk, sent before the panel is rendered:
    # no Content-Length (the view's would be wrong once the panel is in).
    environ = EnvironBuilder(path="/", headers=list(NAVIGATION.items())).get_environ()
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
        started.append((status, headers))
        return lambda data: None

    chunks = list(app.wsgi_app(environ, start_response))
    ((status, headers),) = started
    assert status.startswith("200")
    assert "content-length" not in {name.lower() for name, _ in headers}
    head, rest = chunks
    assert head.rstrip().endswith(b"Served with Flask-Firehose.") and b'<section class="fh-panel"' not in head
    assert rest.startswith(b'<section class="fh-panel"') and rest.rstrip().endswith(b"</html>")


@pytest.mark.parametrize("url", ["/", "/report", "/report?hints=off", "/api/stats", "/static/css/main.css"])
def test_head_is_answered_with_the_headers_of_a_get(app: Flask, url: str) -> None:
    # The panel is added after the app ran: a HEAD must not keep the app's
    # Content-Length of the page without it where the GET sends none. Two
    # first visitors (a visitor's second request gets its pushes as nopush).
    got = app.test_client().get(url, headers=NAVIGATION)
    body = got.get_data()
    got.close()  # a static file's body is a file
    head = app.test_client().head(url, headers=NAVIGATION)
    assert head.status_code == got.status_code == 200
    assert head.data == b""
    volatile = {"date", "set-cookie"}
    assert [(k, v) for k, v in head.headers.items() if k.lower() not in volatile] == [
        (k, v) for k, v in got.headers.items() if k.lower() not in volatile
    ]
    if got.mimetype == "text/html":
        assert "Content-Length" not in head.headers and b'class="fh-panel"' in body
    else:
        assert head.headers["Content-Length"] == str(len(body))


def test_no_hints_twin_sends_no_103_and_no_link(client: FlaskClient) -> None:
    with record_early_hints(client) as hints:
        client.get("/report")  # learns, so the twin would have more to hint
        response = client.get("/report?hints=off")
    assert response.status_code == 200
    assert len(hints.sent) == 1  # the first request's only
    assert response.headers.getlist("Link") == []
    assert links_of(response) == []
    panel = _panel(response.text)
    assert 'data-twin="true"' in panel
    assert "No-hints twin" in panel
    assert "<pre" not in panel


def test_compare_renders(client: FlaskClient) -> None:
    response = client.get("/compare")
    assert response.status_code == 200
    html = response.text
    assert 'id="fh-compare-run"' in html
    assert "/report?hints=off" in html
    assert "certificate" in html and "HTTP/2" in html
    assert "noisy" in html
    # The caveat links to the README's section on trusting the certificate.
    assert f'<a href="{TRUST_URL}">README, "Trusting the demo\'s certificate"</a>' in html
    assert TRUST_URL.endswith("#trusting-the-demo-s-certificate")
    # Cross-origin isolated, so each measured load (which is not) gets a new
    # renderer process and with it an empty memory cache.
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert "rounds" in html and "medians" in html and "new renderer process" in html
    # The measured page itself is not.
    report = client.get("/report", headers=NAVIGATION)
    assert "Cross-Origin-Opener-Policy" not in report.headers
    assert "Cross-Origin-Embedder-Policy" not in report.headers


def test_compare_reset_clears_the_cache(client: FlaskClient) -> None:
    response = client.post("/compare/reset")
    assert response.status_code == 204
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert "Link" not in response.headers


def test_compare_reset_forgets_what_the_visitor_was_pushed(client: FlaskClient) -> None:
    first = client.get("/report", headers=NAVIGATION).headers.getlist("Link")
    again = client.get("/report", headers=NAVIGATION).headers.getlist("Link")
    assert again != first  # what was pushed is now nopush: the visitor is a returning one
    assert client.post("/compare/reset").status_code == 204
    assert client.get("/report", headers=NAVIGATION).headers.getlist("Link") == first


def test_panel_escapes_what_it_shows(app: Flask, client: FlaskClient) -> None:
    # A view that sets a Link of its own with markup in it (percent-encoded by
    # nobody): the panel must show it as text, never as markup.
    @app.get("/hostile")
    def hostile() -> tuple[str, dict[str, str]]:
        from flask import render_template_string

        page = render_template_string('{% extends "base.html" %}{% block body %}{{ q }}{% endblock %}', q="<b>x</b>")
        return page, {"Link": '</x?<script>alert(1)</script>>; rel=preload; as=script; title="<i>"'}

    html = client.get("/hostile?q=<!--firehose-panel-->").text
    assert "<script>alert(1)" not in html
    assert "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _panel(html)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert html.count('<section class="fh-panel"') == 1


def test_user_input_never_becomes_the_marker(client: FlaskClient) -> None:
    # The login form echoes nothing, but a query string with the marker must not
    # place a panel (autoescaping turns "<" into "&lt;").
    html = client.get("/account/login?next=<!--firehose-panel-->").text
    assert html.count('<section class="fh-panel"') == 1
