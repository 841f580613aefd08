"""The public face: what ``flask_firehose`` exports, and moved names that keep working."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import flask_firehose
from flask_firehose import testing

PUBLIC = {
    "AssetManifest",
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
    "ManifestError",
    "MemoryHintStore",
    "PushConnector",
    "RedisConnector",
    "RedisHintStore",
    "SessionConnector",
    "TRACKING_PARAMETERS",
    "early_hints",
    "is_speculative",
    "no_speculation",
    "no_vary_search",
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


def test_the_0_2_3_connector_name_warns_and_works() -> None:
    with pytest.deprecated_call(match="Connector"):
        assert flask_firehose.Connector is flask_firehose.SessionConnector


@pytest.mark.parametrize("name", ["ParsedLink", "parse_link_header", "links", "redis_backend", "learning"])
def test_names_of_unreleased_previews_are_gone(name: str) -> None:
    with pytest.raises(AttributeError, match=name):
        getattr(flask_firehose, name)


@pytest.mark.parametrize("module", ["flask_firehose.links", "flask_firehose.redis_backend", "flask_firehose.tracking"])
def test_module_paths_of_unreleased_previews_are_gone(module: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(module)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        flask_firehose.no_such_name  # noqa: B018


def test_importing_the_package_needs_no_redis_and_warns_nothing() -> None:
    code = (
        "import sys, warnings; warnings.simplefilter('error'); sys.modules['redis'] = None; "
        "import flask_firehose; from flask_firehose import Firehose, push; "
        "assert 'flask_firehose._redis' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
