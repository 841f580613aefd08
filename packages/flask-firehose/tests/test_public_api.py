"""The public face: what ``flask_firehose`` exports, and moved names that keep working."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

import flask_firehose
from flask_firehose import testing

PUBLIC = {
    "ConfigurationError",
    "Firehose",
    "FirehoseError",
    "FirehoseWarning",
    "HintStore",
    "InvalidAsError",
    "InvalidAttributeError",
    "InvalidLinkError",
    "InvalidURLError",
    "Link",
    "MemoryHintStore",
    "PushConnector",
    "RedisConnector",
    "RedisHintStore",
    "SessionConnector",
    "early_hints",
    "is_speculative",
    "no_speculation",
    "push",
    "speculation",
}


def test_all_is_what_users_call() -> None:
    assert set(flask_firehose.__all__) == PUBLIC
    for name in flask_firehose.__all__:
        assert getattr(flask_firehose, name) is not None


def test_testing_exports_the_strict_parser_and_its_error() -> None:
    assert {"MalformedLinkHeader", "ParsedLink", "parse_link_header", "parse_link_headers"} <= set(testing.__all__)
    with pytest.raises(testing.MalformedLinkHeader) as caught:
        testing.parse_link_header("</a.css>; rel=preload,,<")
    assert isinstance(caught.value, ValueError)


def test_every_error_derives_from_the_base() -> None:
    for name in (
        "ConfigurationError",
        "InvalidAsError",
        "InvalidAttributeError",
        "InvalidLinkError",
        "InvalidURLError",
    ):
        assert issubclass(getattr(flask_firehose, name), flask_firehose.FirehoseError)
    assert issubclass(flask_firehose.ConfigurationError, TypeError)
    assert issubclass(flask_firehose.InvalidLinkError, ValueError)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Connector", flask_firehose.SessionConnector),
        ("ParsedLink", testing.ParsedLink),
        ("parse_link_header", testing.parse_link_header),
    ],
)
def test_moved_top_level_names_warn_and_work(old: str, new: object) -> None:
    with pytest.deprecated_call(match=old):
        assert getattr(flask_firehose, old) is new


@pytest.mark.parametrize(
    ("module", "name", "new"),
    [
        ("flask_firehose.links", "Link", flask_firehose.Link),
        ("flask_firehose.parsing", "parse_link_header", testing.parse_link_header),
        ("flask_firehose.tracking", "SessionConnector", flask_firehose.SessionConnector),
        ("flask_firehose.learning", "MemoryHintStore", flask_firehose.MemoryHintStore),
        ("flask_firehose.redis_backend", "RedisHintStore", flask_firehose.RedisHintStore),
    ],
)
def test_old_module_paths_warn_and_forward(module: str, name: str, new: object) -> None:
    old = importlib.import_module(module)
    with pytest.deprecated_call(match=module.replace(".", r"\.")):
        assert getattr(old, name) is new


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        flask_firehose.no_such_name  # noqa: B018
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(AttributeError):
            importlib.import_module("flask_firehose.links").no_such_name  # noqa: B018


def test_importing_the_package_needs_no_redis_and_warns_nothing() -> None:
    code = (
        "import sys, warnings; warnings.simplefilter('error'); sys.modules['redis'] = None; "
        "import flask_firehose; from flask_firehose import Firehose, push; "
        "assert 'flask_firehose._redis' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
