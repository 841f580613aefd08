"""``FIREHOSE_*`` from the environment, as docs/deploying.rst's Caddy recipe
sets them: the recipe's ``export`` line and its ``create_app()`` (Flask's
``app.config.from_prefixed_env()`` before ``Firehose(app)``), run as written.
The spelling is ``FLASK_FIREHOSE_<KEY>``, values in JSON; a value that is not
JSON stays a string and is refused, naming the key."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from flask import Flask

from flask_firehose import Firehose, early_hints
from flask_firehose._state import state_of
from flask_firehose.errors import ConfigurationError
from flask_firehose.testing import record_early_hints

DEPLOYING = Path(__file__).resolve().parents[3] / "docs" / "deploying.rst"


def _recipe() -> tuple[dict[str, str], str]:
    """The recipe's exported variables and its ``create_app()`` source."""
    if not DEPLOYING.exists():  # an sdist of the package alone has no docs
        if os.environ.get("CI"):
            pytest.fail(f"missing in CI: {DEPLOYING}")
        pytest.skip(f"{DEPLOYING} is not here")
    text = DEPLOYING.read_text()
    (export,) = re.findall(r"^    export (FLASK_FIREHOSE_.*)$", text, re.MULTILINE)
    variables = dict(item.split("=", 1) for item in shlex.split(export))
    (source,) = re.findall(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text, re.MULTILINE)
    return variables, re.sub(r"^    ", "", source, flags=re.MULTILINE)


def _app_from_recipe(source: str) -> Flask:
    namespace: dict[str, object] = {"Flask": Flask, "Firehose": Firehose, "__name__": "recipe"}
    exec(compile(source, str(DEPLOYING), "exec"), namespace)
    app = namespace["create_app"]()  # type: ignore[operator]
    assert isinstance(app, Flask)

    @app.get("/")
    @early_hints("/static/site.css")
    def index() -> str:
        return "<!doctype html><title>x</title>"

    return app


def _hinted_over_http1(app: Flask) -> list[list[str]]:
    client = app.test_client()
    with record_early_hints(client, http2=False) as hints:  # HTTP/1.1, as Caddy speaks to the app
        assert client.get("/", environ_base={"SERVER_PROTOCOL": "HTTP/1.1"}).status_code == 200
    return [[link.target for link in sent] for sent in hints.links]


def test_the_recipes_variables_reach_firehose(monkeypatch: pytest.MonkeyPatch) -> None:
    variables, source = _recipe()
    assert variables == {"FLASK_FIREHOSE_EARLY_HINTS_HTTP1": "true", "FLASK_FIREHOSE_FRONT_PUSHES": "false"}
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    app = _app_from_recipe(source)
    state = state_of(app)
    assert state is not None
    assert state.settings.early_hints_http1 is True and state.settings.front_pushes is False
    assert _hinted_over_http1(app) == [["/static/site.css"]]


def test_without_them_no_103_goes_over_http1(monkeypatch: pytest.MonkeyPatch) -> None:
    variables, source = _recipe()
    for name in variables:
        monkeypatch.delenv(name, raising=False)
    assert _hinted_over_http1(_app_from_recipe(source)) == []


def test_json_values_other_than_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    _, source = _recipe()
    monkeypatch.setenv("FLASK_FIREHOSE_LEARN_PREFIXES", '["/assets/"]')
    monkeypatch.setenv("FLASK_FIREHOSE_LEARN_MIN_SEEN", "3")
    state = state_of(_app_from_recipe(source))
    assert state is not None
    assert state.settings.learn_prefixes == ("/assets/",) and state.settings.learn_min_seen == 3


def test_a_value_that_is_not_json_is_refused_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _, source = _recipe()
    monkeypatch.setenv("FLASK_FIREHOSE_EARLY_HINTS_HTTP1", "True")
    with pytest.raises(ConfigurationError) as caught:
        _app_from_recipe(source)
    assert str(caught.value) == "FIREHOSE_EARLY_HINTS_HTTP1 must be True or False, not 'True'"
