"""``FIREHOSE_*`` from the environment, as docs/deploying.rst's Caddy recipe
sets them: the variables on its gunicorn line and its ``myapp.py``
(``docs/caddy-recipe/``: Flask's ``app.config.from_prefixed_env()`` before
``Firehose(app)``), run as written. The spelling is ``FLASK_FIREHOSE_<KEY>``,
values in JSON; a value that is not JSON stays a string and is refused, naming
the key."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from flask_firehose._state import state_of
from flask_firehose.errors import ConfigurationError
from flask_firehose.testing import record_early_hints

DOCS = Path(__file__).resolve().parents[3] / "docs"
DEPLOYING = DOCS / "deploying.rst"
MYAPP = DOCS / "caddy-recipe" / "myapp.py"
Factory = Callable[[], object]


def _recipe() -> dict[str, str]:
    """The variables the recipe's gunicorn line sets."""
    if not DEPLOYING.exists():  # an sdist of the package alone has no docs
        if os.environ.get("CI"):
            pytest.fail(f"missing in CI: {DEPLOYING}")
        pytest.skip(f"{DEPLOYING} is not here")
    (line,) = re.findall(r"^    (FLASK_FIREHOSE_.*) \\$", DEPLOYING.read_text(), re.MULTILINE)
    return dict(item.split("=", 1) for item in shlex.split(line))


@pytest.fixture
def create_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Factory:
    """The recipe's ``create_app``, from a copy of ``myapp.py`` beside the
    stylesheet the recipe makes."""
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "main.css").write_text("h1 { color: darkred }\n")
    (tmp_path / "myapp.py").write_text(MYAPP.read_text())
    spec = importlib.util.spec_from_file_location("myapp", tmp_path / "myapp.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "myapp", module)
    spec.loader.exec_module(module)
    factory: Factory = module.create_app
    return factory


def _app_from_recipe(create_app: Factory) -> Flask:
    app = create_app()
    assert isinstance(app, Flask)
    return app


def _hinted_over_http1(app: Flask) -> list[list[str]]:
    client = app.test_client()
    with record_early_hints(client, http2=False) as hints:  # HTTP/1.1, as Caddy speaks to the app
        assert client.get("/", environ_base={"SERVER_PROTOCOL": "HTTP/1.1"}).status_code == 200
    return [[re.sub(r"\?v=\w+$", "", link.target) for link in sent] for sent in hints.links]


def test_the_recipes_variables_reach_firehose(monkeypatch: pytest.MonkeyPatch, create_app: Factory) -> None:
    variables = _recipe()
    assert variables == {"FLASK_FIREHOSE_EARLY_HINTS_HTTP1": "true", "FLASK_FIREHOSE_FRONT_PUSHES": "false"}
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    app = _app_from_recipe(create_app)
    state = state_of(app)
    assert state is not None
    assert state.settings.early_hints_http1 is True and state.settings.front_pushes is False
    assert _hinted_over_http1(app) == [["/static/main.css"]]


def test_without_them_no_103_goes_over_http1(monkeypatch: pytest.MonkeyPatch, create_app: Factory) -> None:
    for name in _recipe():
        monkeypatch.delenv(name, raising=False)
    assert _hinted_over_http1(_app_from_recipe(create_app)) == []


def test_json_values_other_than_flags(monkeypatch: pytest.MonkeyPatch, create_app: Factory) -> None:
    monkeypatch.setenv("FLASK_FIREHOSE_LEARN_PREFIXES", '["/assets/"]')
    monkeypatch.setenv("FLASK_FIREHOSE_LEARN_MIN_SEEN", "3")
    state = state_of(_app_from_recipe(create_app))
    assert state is not None
    assert state.settings.learn_prefixes == ("/assets/",) and state.settings.learn_min_seen == 3


def test_a_value_that_is_not_json_is_refused_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, create_app: Factory
) -> None:
    monkeypatch.setenv("FLASK_FIREHOSE_EARLY_HINTS_HTTP1", "True")
    with pytest.raises(ConfigurationError) as caught:
        _app_from_recipe(create_app)
    assert str(caught.value) == "FIREHOSE_EARLY_HINTS_HTTP1 must be True or False, not 'True'"
