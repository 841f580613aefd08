"""docs/quickstart.rst's ``curl -sI`` sample is what a HEAD request to the
README's complete app really gets from Flask's development server (Werkzeug,
on a free 127.0.0.1 port): the same header fields in the same order, the same
``Link`` and body length; and a GET gets the ``Set-Cookie`` line the page shows
on top of them, which the HEAD does not."""

from __future__ import annotations

import http.client
import os
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "docs" / "quickstart.rst"
README = ROOT / "README.rst"
_PYTHON = re.compile(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", re.MULTILINE)
_TEXT = re.compile(r"^\.\. code-block:: text\n\n((?:    .*\n|\n)+)", re.MULTILINE)


def _here(path: Path) -> str:
    if not path.exists():  # an sdist of the package alone has neither
        if os.environ.get("CI"):
            pytest.fail(f"missing in CI: {path}")
        pytest.skip(f"{path} is not here")
    return path.read_text()


def _samples() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The HEAD sample's fields and the GET's extra fields, as the page shows them."""
    head, get = [
        [line.strip() for line in block.splitlines() if line.strip()] for block in _TEXT.findall(_here(QUICKSTART))[:2]
    ]
    assert head[0] == "HTTP/1.1 200 OK"
    fields = [(name, value) for name, _, value in (line.partition(": ") for line in head[1:])]
    extra = [(name, value) for name, _, value in (line.partition(": ") for line in get)]
    return fields, extra


@pytest.fixture
def served() -> Iterator[int]:
    """The README's complete app under Werkzeug's development server."""
    blocks = [re.sub(r"^    ", "", block, flags=re.MULTILINE) for block in _PYTHON.findall(_here(README))]
    (source,) = [block for block in blocks if block.startswith("from flask import Flask")]
    namespace: dict[str, object] = {"__name__": "app"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(source, str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Flask)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        thread.join(5)


def _ask(port: int, method: str) -> tuple[int, list[tuple[str, str]]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, "/", headers={"User-Agent": "curl/8", "Accept": "*/*"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheaders()
    finally:
        connection.close()


def test_the_head_sample_is_what_a_head_gets(served: int) -> None:
    fields, _ = _samples()
    status, got = _ask(served, "HEAD")
    assert status == 200
    assert [name for name, _ in got] == [name for name, _ in fields]
    varying = {"Server", "Date"}  # the server's version and the time of day
    assert [(n, v) for n, v in got if n not in varying] == [(n, v) for n, v in fields if n not in varying]


def test_a_get_adds_the_cookie_line_the_page_shows(served: int) -> None:
    _, extra = _samples()
    _, head = _ask(served, "HEAD")
    status, got = _ask(served, "GET")
    assert status == 200
    assert not [value for name, value in head if name == "Set-Cookie"]
    added = [(name, value) for name, value in got if name not in {name for name, _ in head}]
    assert added == extra
