"""Plain same-origin paths: what a learned hint or a learning prefix may be."""

from __future__ import annotations

import pytest

from flask_firehose._paths import is_plain_path


@pytest.mark.parametrize(
    "path",
    [
        "/a",
        "/static/app.css",
        "/static/css/main.v2.css",
        "/static/a-b_c~d!$&'()*+,=:@.css",
        "/static/%20space.css",  # an encoded space is no trick
        "/static/%C3%A9.css",
        "/static/.well",
        "/static/...",
        "/static/..a",
    ],
)
def test_plain_files(path: str) -> None:
    assert is_plain_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "static/app.css",  # relative
        "//cdn.example/app.css",  # network-path reference
        "/",
        "/static/",  # a folder
        "/static/../secret",
        "/static/..",
        "/static/./app.css",
        "/./static/app.css",
        "/static//app.css",
        "/static/app.css?v=1",
        "/static/app.css#top",
        "/static/app.css;v=1",
        "/static;v=1/app.css",
        "/static\\app.css",
        "/static/%2e%2e/secret",
        "/static/%2E%2E/secret",
        "/static/.%2e/secret",
        "/static/%2e/app.css",
        "/static%2fsecret",
        "/static%2Fsecret",
        "/static/%5capp.css",
        "/static/%5Capp.css",
        "/static/%00.css",
        "/static/%0a.css",
        "/static/%0D.css",
        "/static/%1f.css",
        "/static/%7F.css",
    ],
)
def test_not_plain_files(path: str) -> None:
    assert not is_plain_path(path)


@pytest.mark.parametrize("path", ["/static/", "/a/b/", "/static/%20x/"])
def test_plain_folders(path: str) -> None:
    assert is_plain_path(path, folder=True)


@pytest.mark.parametrize(
    "path",
    ["/static", "/", "//static/", "/static//", "/static/../", "/./", "/static/%2e/", "/a%2fb/", "/static/?x/", "/a;b/"],
)
def test_not_plain_folders(path: str) -> None:
    assert not is_plain_path(path, folder=True)
