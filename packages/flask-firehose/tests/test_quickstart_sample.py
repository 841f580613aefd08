"""docs/quickstart.rst's ``curl -sI`` sample is what a HEAD request to the
README's complete app really gets from Flask's development server (Werkzeug,
on a free 127.0.0.1 port): the same header fields in the same order, the same
``Link`` and body length; and a GET gets the ``Set-Cookie`` line the page shows
on top of them, which the HEAD does not. The page's commands make the two
files the app hints, which it then serves."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from .live_server import serving

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "docs" / "quickstart.rst"
README = ROOT / "README.rst"
_PYTHON = re.compile(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", re.MULTILINE)
_BASH = re.compile(r"^\.\. code-block:: bash\n\n((?:    .*\n|\n)+)", re.MULTILINE)
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


def _readme_app() -> Flask:
    blocks = [re.sub(r"^    ", "", block, flags=re.MULTILINE) for block in _PYTHON.findall(_here(README))]
    (source,) = [block for block in blocks if block.startswith("from flask import Flask")]
    namespace: dict[str, object] = {"__name__": "app"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(source, str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Flask)
    return app


@pytest.fixture
def served() -> Iterator[int]:
    """The README's complete app under Werkzeug's development server."""
    with serving(_readme_app()) as port:
        yield port


def _ask(port: int, method: str, path: str = "/") -> tuple[int, list[tuple[str, str]]]:
    status, headers, _ = _fetch(port, method, path)
    return status, headers


def _fetch(port: int, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers={"User-Agent": "curl/8", "Accept": "*/*"})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
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


def test_the_run_block_makes_the_files_the_page_hints(tmp_path: Path) -> None:
    """The page links /static/main.css and /static/app.js: the page's commands
    before ``flask --app app run`` make both, and the app then serves them."""
    (block,) = [block for block in _BASH.findall(_here(QUICKSTART)) if "flask --app app run" in block]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    setup = lines[: lines.index("flask --app app run")]
    subprocess.run(["bash", "-ec", "\n".join(setup)], cwd=tmp_path, check=True, timeout=10)
    app = _readme_app()
    app.static_folder = str(tmp_path / "static")  # where the commands made them, beside app.py
    with serving(app) as port:
        _, headers = _ask(port, "GET")
        (link,) = [value for name, value in headers if name == "Link"]
        hinted = re.findall(r"<([^>]+)>", link)
        assert hinted == ["/static/main.css", "/static/app.js"]
        for path in hinted:
            status, _, body = _fetch(port, "GET", path)
            assert (status, body) == (200, (tmp_path / path.lstrip("/")).read_bytes())
