"""The README's complete app runs as written, and hints what it says."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from flask import Flask

from flask_firehose.testing import links_of, record_early_hints

README = Path(__file__).resolve().parents[3] / "README.rst"
_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", re.MULTILINE)


def _complete_app() -> str:
    if not README.exists():  # an sdist of the package alone has no repository README
        pytest.skip(f"{README} is not here")
    blocks = [re.sub(r"^    ", "", block, flags=re.MULTILINE) for block in _BLOCK.findall(README.read_text())]
    (app,) = [block for block in blocks if block.startswith("from flask import Flask")]
    return app


def test_the_complete_app_hints_without_a_warning() -> None:
    namespace: dict[str, object] = {"__name__": "app"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(_complete_app(), str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Flask)
    client = app.test_client()
    with record_early_hints(client) as hints:
        first = client.get("/")
    assert first.status_code == 200
    assert [[link.target for link in sent] for sent in hints.links] == [["/static/main.css"]]
    assert [(link.target, link.has("nopush")) for link in links_of(first)] == [
        ("/static/main.css", False),
        ("/static/app.js", False),
    ]
    again = links_of(client.get("/", headers={"Sec-Fetch-Mode": "navigate"}))
    assert [(link.target, link.has("nopush")) for link in again] == [
        ("/static/main.css", True),
        ("/static/app.js", True),
    ]


@pytest.mark.parametrize("page", ["README.rst", "docs/quickstart.rst"])
def test_pip_installs_into_a_virtualenv_made_first(page: str) -> None:
    """Debian 12's Python refuses ``pip install`` outside a virtualenv
    (externally-managed-environment): each install block makes one first."""
    path = README.parent / page
    if not path.exists():
        pytest.skip(f"{path} is not here")
    blocks = re.findall(r"^\.\. code-block:: bash\n\n((?:    .*\n|\n)+)", path.read_text(), re.MULTILINE)
    installing = [block for block in blocks if "pip install" in block]
    assert installing
    for block in installing:
        before = block[: block.index("pip install")]
        assert "python3 -m venv .venv && . .venv/bin/activate" in " ".join(before.split()), block
