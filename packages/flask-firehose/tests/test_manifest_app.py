"""A manifest in an app: declared with ``declare_hints``/``@early_hints``,
written with ``tags()`` in the template; read once, again when the file
changes; a missing manifest or entry goes through the failure policy."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from flask import Flask, Response, render_template_string

from flask_firehose import AssetManifest, Firehose, ManifestError, early_hints
from flask_firehose.testing import links_of, record_early_hints

from .conftest import AppFactory

HERE = Path(__file__).parent / "manifests"
APP = HERE / "vite-app" / ".vite" / "manifest.json"
BASE = "/static/dist/assets/"
MAIN = [
    (f"{BASE}shared-Nun8YsAd.css", "preload"),
    (f"{BASE}main-8iCS4mZ6.css", "preload"),
    (f"{BASE}main-ZAoqBymK.js", "modulepreload"),
    (f"{BASE}shared-Dc-AGWwQ.js", "modulepreload"),
]
NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html"}
PAGE = "<!doctype html><head>{{ assets.tags(*names) }}</head><body>page</body>"


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(HERE / "vite-app", tmp_path / "dist")
    return tmp_path / "dist" / ".vite" / "manifest.json"


def _pairs(links: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(link.target, " ".join(sorted(link.rels))) for link in links]


def test_declared_and_tagged_each_file_once_in_order(make_app: AppFactory) -> None:
    app, firehose = make_app()
    assets = AssetManifest.vite(APP)
    firehose.declare_hints(assets.entry("src/main.js"), app=app)

    @app.get("/")
    def page() -> str:
        return render_template_string(PAGE, assets=assets, names=["src/main.js", "src/admin.js"])

    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/", headers=NAVIGATE)
    assert response.status_code == 200
    # The 103: the declared entry.
    assert [_pairs(links) for links in hints.links] == [MAIN]
    # The final header: the declared entry, then what tags() added, each once.
    assert _pairs(links_of(response)) == [
        *MAIN[:2],
        (f"{BASE}admin-Bq4vD59t.css", "preload"),
        *MAIN[2:],
        (f"{BASE}admin-BWpuq2eb.js", "modulepreload"),
    ]
    final = links_of(response)
    assert all(link.has("crossorigin") and link.get("crossorigin") is None for link in final)
    assert [link.get("as") for link in final if "preload" in link.rels] == ["style"] * 3
    # The HTML holds the same files, the tags' URLs are the header's.
    html = response.get_data(as_text=True)
    written = [line.split('="')[-1].split('"')[0] for line in html.split("<head>")[1].split("</head>")[0].split("\n")]
    assert sorted(written) == sorted(target for target, _ in _pairs(final))


def test_early_hints_decorator_takes_an_entry(make_app: AppFactory) -> None:
    app, _ = make_app()
    assets = AssetManifest.vite(APP)

    @app.get("/")
    @early_hints(assets.entry("src/main.js"))
    def page() -> str:
        return "<p>page</p>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/", headers=NAVIGATE)
    assert [_pairs(links) for links in hints.links] == [MAIN]
    assert _pairs(links_of(response)) == MAIN


def test_tags_alone_fill_the_final_header_and_outside_a_request_only_write(make_app: AppFactory) -> None:
    app, _ = make_app()
    assets = AssetManifest.vite(APP)

    @app.get("/")
    def page() -> str:
        return render_template_string(PAGE, assets=assets, names=["src/main.js"])

    assert _pairs(links_of(app.test_client().get("/", headers=NAVIGATE))) == MAIN
    with app.app_context():
        assert "main-ZAoqBymK.js" in str(assets.tags("src/main.js"))
    assert "main-ZAoqBymK.js" in str(assets.tags("src/main.js"))  # no app at all
    bare = Flask(__name__)  # no Firehose: the tags, and no header

    @bare.get("/")
    def bare_page() -> str:
        return render_template_string(PAGE, assets=assets, names=["src/main.js"])

    response = bare.test_client().get("/", headers=NAVIGATE)
    assert "Link" not in response.headers and "main-ZAoqBymK.js" in response.get_data(as_text=True)


def test_an_unknown_entry_fails_at_declaration_when_the_manifest_is_there() -> None:
    with pytest.raises(ManifestError, match=r"no entry 'src/mian.js' \(it has 'src/admin.js', 'src/main.js'") as caught:
        AssetManifest.vite(APP).entry("src/mian.js")
    assert caught.value.value == "src/mian.js"


def test_before_the_build_the_error_waits_for_the_request(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "dist" / ".vite" / "manifest.json"
    assets = AssetManifest.vite(path)
    entry = assets.entry("src/main.js")  # nothing built yet: no error
    app, firehose = make_app(FIREHOSE_STRICT=False)
    firehose.declare_hints(entry, app=app)
    app.get("/")(lambda: "<p>page</p>")
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        response = app.test_client().get("/", headers=NAVIGATE)
    assert response.status_code == 200 and "Link" not in response.headers
    assert "is missing" in caplog.text and str(path) in caplog.text
    # The build arrives: picked up at the next look.
    shutil.copytree(HERE / "vite-app", tmp_path / "dist")
    assets._file.checked_at = float("-inf")
    assert _pairs(links_of(app.test_client().get("/", headers=NAVIGATE))) == MAIN


def test_a_strict_app_raises_the_manifest_error(make_app: AppFactory, tmp_path: Path) -> None:
    assets = AssetManifest.vite(tmp_path / "nowhere" / "manifest.json")
    app, firehose = make_app()  # TESTING: strict
    firehose.declare_hints(assets.entry("src/main.js"), app=app)
    app.get("/")(lambda: "<p>page</p>")
    with pytest.raises(ManifestError, match="is missing"):
        app.test_client().get("/", headers=NAVIGATE)


def test_an_entry_gone_after_a_rebuild_is_logged_and_the_page_served(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _copy(tmp_path)
    assets = AssetManifest.vite(path)
    app, firehose = make_app(FIREHOSE_STRICT=False)
    firehose.declare_hints(assets.entry("src/admin.js"), app=app)
    app.get("/")(lambda: "<p>page</p>")
    document = json.loads(path.read_text())
    del document["src/admin.js"]
    path.write_text(json.dumps(document))
    os.utime(path, ns=(1, 1))
    assets._file.checked_at = float("-inf")
    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        response = app.test_client().get("/", headers=NAVIGATE)
    assert response.status_code == 200 and "Link" not in response.headers
    assert "no entry 'src/admin.js'" in caplog.text


def test_a_streamed_template_after_the_headers_warns(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    from flask import stream_template_string

    app, _ = make_app(FIREHOSE_STRICT=False)
    assets = AssetManifest.vite(APP)

    @app.get("/")
    def page() -> Response:
        return Response(stream_template_string(PAGE, assets=assets, names=["src/main.js"]))

    with caplog.at_level(logging.WARNING, logger="flask_firehose"):
        response = app.test_client().get("/", headers=NAVIGATE)
        body = response.get_data(as_text=True)
    assert "main-ZAoqBymK.js" in body and "Link" not in response.headers
    assert "came after the response headers" in caplog.text


def test_an_app_built_twice_from_one_manifest(tmp_path: Path) -> None:
    assets = AssetManifest.vite(APP)
    for _ in range(2):
        app = Flask(__name__)
        app.config.update(TESTING=True, SECRET_KEY="x")
        firehose = Firehose(app)
        firehose.declare_hints(assets.entry("src/main.js"), app=app)
        app.get("/")(lambda: "<p>page</p>")
        assert _pairs(links_of(app.test_client().get("/", headers=NAVIGATE))) == MAIN
