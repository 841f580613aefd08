from __future__ import annotations

import pytest
from flask import Flask

from flask_firehose import Firehose
from flask_firehose._config_keys import DEFAULTS
from flask_firehose.errors import ConfigurationError, FirehoseWarning


def test_defaults_are_written_into_config() -> None:
    app = Flask(__name__)
    app.secret_key = "k"
    Firehose(app)
    for key, value in DEFAULTS.items():
        assert app.config[key] == value


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("FIREHOSE_ENABLED", "yes", TypeError),
        ("FIREHOSE_TRACKING", 1, TypeError),
        ("FIREHOSE_MAX_LINKS", -1, ValueError),
        ("FIREHOSE_MAX_HEADER_BYTES", "4k", ValueError),
        ("FIREHOSE_MAX_PUSHES", True, ValueError),
    ],
)
def test_bad_values_fail_at_init(key: str, value: object, error: type[Exception]) -> None:
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(error, match=key) as info:
        Firehose(app)
    assert isinstance(info.value, ConfigurationError) and info.value.key == key and info.value.value == value


@pytest.mark.parametrize(
    "value",
    [
        5,
        "/static/",
        b"/static/",
        ["static/"],
        [None],
        ["//cdn.example/"],
        ["/"],
        [""],
        ["/static/../media/"],
        ["/a?x=1"],
    ],
)
def test_bad_learn_prefixes_name_the_key(value: object) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN_PREFIXES=value)
    with pytest.raises(ConfigurationError, match="FIREHOSE_LEARN_PREFIXES"):
        Firehose(app)


def test_learn_prefixes_are_read_once() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN_PREFIXES=(p for p in ["/assets", "/static/"]))
    firehose = Firehose(app)
    assert app.config["FIREHOSE_LEARN_PREFIXES"] == ("/assets", "/static/")
    assert firehose is app.extensions["firehose"]


def test_prefixes_are_written_as_links_are() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN_PREFIXES=["/st\u00e4tic"])
    Firehose(app)
    assert app.extensions["firehose"] is not None


def test_a_key_in_the_wrong_case_is_caught() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_learn=False)
    with pytest.warns(FirehoseWarning, match="did you mean FIREHOSE_LEARN"):
        Firehose(app)


def test_unknown_key_warns_with_the_closest_one() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_EARLY_HINT=False, FIREHOSE_WHATEVER=1)
    with pytest.warns(FirehoseWarning) as record:
        Firehose(app)
    messages = sorted(str(w.message) for w in record)
    assert messages == [
        "unknown config key FIREHOSE_EARLY_HINT is ignored; did you mean FIREHOSE_EARLY_HINTS?",
        "unknown config key FIREHOSE_WHATEVER is ignored",
    ]
