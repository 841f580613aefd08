"""The images a page's own stylesheets name: read from the app's static
files only, resolved against the stylesheet, and offered to the LCP report
as images the page references."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask, request

from flask_firehose import Firehose, MemoryHintStore
from flask_firehose._lcp import tokens
from flask_firehose._lcp.reports import token_context
from flask_firehose._page_styles import StylesheetImages
from flask_firehose.testing import record_early_hints

CSS = """
@font-face { font-family: X; src: url(fonts/x.woff2) format("woff2"); }
@import url("other.css");
.hero { background: #000 url( 'img/hero.jpg?v=3' ) center / cover; }
.icon { background-image: url(data:image/png;base64,AAAA); }
.far { background: url(https://evil.example/x.png); }
.up { background: url(../../../etc/passwd.png); }
.abs { background: url(/static/img/logo.svg); }
"""


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "site.css").write_text(CSS)
    shop_static = tmp_path / "shop"
    shop_static.mkdir()
    (shop_static / "shop.css").write_text(".banner { background: url(banner.webp) }")
    app = Flask(__name__, static_folder=str(static))
    app.config.update(SECRET_KEY="s", TESTING=True)
    shop = Blueprint("shop", __name__, static_folder=str(shop_static), static_url_path="/shop-static")
    app.register_blueprint(shop)

    @app.get("/css/made-by-a-view.css")
    def made() -> str:
        return ".x { background: url(/static/img/secret.png) }"

    return app


@pytest.mark.parametrize(
    ("sheets", "expected"),
    [
        (["/static/css/site.css"], ["/static/css/img/hero.jpg?v=3", "/static/img/logo.svg"]),
        (["/shop-static/shop.css"], ["/shop-static/banner.webp"]),
        # a view's output is never read, nor a file outside the static folder
        (["/css/made-by-a-view.css", "/static/../secret.css", "/static/nowhere.css"], []),
        (["https://cdn.example/site.css", "//cdn.example/site.css"], []),
    ],
)
def test_images_of_the_apps_own_stylesheets(app: Flask, sheets: list[str], expected: list[str]) -> None:
    with app.test_request_context("/"):
        found = StylesheetImages().images(app, request, sheets)
    # ../../../etc/passwd.png resolves to /etc/passwd.png: a path of the site,
    # which the learner's public-file check refuses later.
    assert [image for image in found if image != "/etc/passwd.png"] == expected


def test_a_changed_stylesheet_is_read_again(app: Flask, tmp_path: Path) -> None:
    reader = StylesheetImages()
    sheet = tmp_path / "static" / "css" / "site.css"
    with app.test_request_context("/"):
        assert "/static/css/img/hero.jpg?v=3" in reader.images(app, request, ["/static/css/site.css"])
        sheet.write_text(".hero { background: url(img/new-hero-image.jpg) }")
        assert reader.images(app, request, ["/static/css/site.css"]) == ("/static/css/img/new-hero-image.jpg",)


def test_a_background_hero_is_an_image_the_page_references(app: Flask) -> None:
    """The token a sampled page carries names the stylesheet's background
    image (a public file), so a visitor's report of it can count."""
    Firehose(app, hint_store=MemoryHintStore(min_seen=2))

    @app.get("/")
    def home() -> str:
        return '<html><head><link rel="stylesheet" href="/static/css/site.css"></head><body><h1>Hi</h1></body></html>'

    client = app.test_client()
    with record_early_hints(client):
        html = client.get("/").get_data(as_text=True)
    token = html.split('data-firehose-lcp="')[1].split('"')[0]
    with app.test_request_context("/"):
        payload = tokens.verify("s", token_context(request), token)
    assert payload.images == ("/static/css/img/hero.jpg?v=3", "/static/img/logo.svg")
