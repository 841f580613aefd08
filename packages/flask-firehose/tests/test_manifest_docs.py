"""The examples of docs/manifests.rst run as written, against the checked-in
manifests, and give what the page says they give."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from flask_firehose import Firehose
from flask_firehose.testing import links_of, record_early_hints

DOCS = Path(__file__).resolve().parents[3] / "docs" / "manifests.rst"
HERE = Path(__file__).parent / "manifests"
_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", re.MULTILINE)
NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html"}


def _blocks() -> list[str]:
    if not DOCS.exists():  # an sdist of the package alone has no docs
        pytest.skip(f"{DOCS} is not here")
    return [re.sub(r"^    ", "", block, flags=re.MULTILINE) for block in _BLOCK.findall(DOCS.read_text())]


@pytest.fixture
def in_project(tmp_path: Path) -> Iterator[Path]:
    """A project folder holding a Vite build and a webpack manifest where the docs put them."""
    shutil.copytree(HERE / "vite-app", tmp_path / "static" / "dist")
    (tmp_path / "static" / "build").mkdir()
    shutil.copyfile(HERE / "webpack-assets.json", tmp_path / "static" / "build" / "assets-manifest.json")
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


def test_the_vite_example_hints_and_tags_the_entry(in_project: Path) -> None:
    namespace: dict[str, object] = {"__name__": "docs_example"}
    exec(compile(_blocks()[0], str(DOCS), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Flask)
    app.testing = True
    client = app.test_client()
    with record_early_hints(client) as hints:
        response = client.get("/", headers=NAVIGATE)
    expected = [
        "/static/dist/assets/shared-Nun8YsAd.css",
        "/static/dist/assets/main-8iCS4mZ6.css",
        "/static/dist/assets/main-ZAoqBymK.js",
        "/static/dist/assets/shared-Dc-AGWwQ.js",
    ]
    assert [[link.target for link in sent] for sent in hints.links] == [expected]
    assert [link.target for link in links_of(response)] == expected
    html = response.get_data(as_text=True)
    assert re.findall(r'(?:href|src)="([^"]+)"', html) == [*expected[:2], expected[2], expected[3]]


def test_the_webpack_example_declares_the_entry_point(in_project: Path) -> None:
    app = Flask("docs_example")
    app.testing = True
    namespace: dict[str, object] = {"firehose": Firehose(app)}
    webpack = [block for block in _blocks() if "AssetManifest.webpack" in block]
    assert len(webpack) == 1
    exec(compile("from flask_firehose import AssetManifest\n" + webpack[0], str(DOCS), "exec"), namespace)
    app.get("/")(lambda: "<p>page</p>")
    response = app.test_client().get("/", headers=NAVIGATE)
    assert [link.target.rsplit("/", 1)[1] for link in links_of(response)] == [
        "vendors.e1f2.css",
        "main.1a2b.css",
        "runtime.9c0d.js",
        "vendors.a3b4.js",
        "main.3c4d.js",
    ]
