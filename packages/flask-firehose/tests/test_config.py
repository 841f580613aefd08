from __future__ import annotations

import pytest
from flask import Flask

from flask_firehose import Firehose
from flask_firehose.config import DEFAULTS


def test_defaults_are_written_into_config() -> None:
    app = Flask(__name__)
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
    with pytest.raises(error, match=key):
        Firehose(app)
