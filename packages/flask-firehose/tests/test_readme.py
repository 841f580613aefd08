"""The README's quickstart runs as written."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from flask import Flask

from flask_firehose import push
from flask_firehose.testing import links_of

README = Path(__file__).resolve().parents[3] / "README.rst"
_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", re.MULTILINE)


def _quickstarts() -> list[str]:
    if not README.exists():  # an sdist of the package alone has no repository README
        pytest.skip(f"{README} is not here")
    blocks = [re.sub(r"^    ", "", block, flags=re.MULTILINE) for block in _BLOCK.findall(README.read_text())]
    return [block for block in blocks if block.startswith("from flask import Flask\n")]


def test_the_quickstart_serves_pushes_without_a_warning() -> None:
    (code, *_) = _quickstarts()
    namespace: dict[str, object] = {"__name__": "quickstart"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Flask)
    app.add_url_rule("/", "index", lambda: push("/static/main.css"))
    client = app.test_client()
    first = client.get("/")
    assert first.status_code == 200
    assert [(link.target, link.has("nopush")) for link in links_of(first)] == [("/static/main.css", False)]
    assert [(link.target, link.has("nopush")) for link in links_of(client.get("/"))] == [("/static/main.css", True)]
