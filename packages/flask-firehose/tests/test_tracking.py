"""Which tracker an app gets for its ``connector`` argument (``tracker_for``)."""

from __future__ import annotations

from typing import Any

import pytest

from flask_firehose import SessionConnector
from flask_firehose._config import Settings
from flask_firehose._connectors import ConnectorTracker
from flask_firehose._digest_tracker import DigestTracker
from flask_firehose._failure import FailurePolicy
from flask_firehose._tracking import Tracker, tracker_for
from flask_firehose.errors import ConfigurationError

FAILURES = FailurePolicy(strict=False)


def _settings(**config: object) -> Settings:
    return Settings.from_config({"SECRET_KEY": "k", **config})


class _Connector:
    def get_pushed(self) -> set[str]:
        return set()

    def set_pushed(self, inset: set[str]) -> None:
        pass


class _StaticConnector:
    @staticmethod
    def get_pushed() -> set[str]:
        return set()

    @staticmethod
    def set_pushed(inset: set[str]) -> None:
        pass


def test_no_connector_gives_the_default_the_digest_cookie() -> None:
    settings = _settings(FIREHOSE_COOKIE_NAME="pushed", FIREHOSE_DIGEST_MAX_BYTES=500)
    tracker = tracker_for(None, settings, FAILURES)
    assert isinstance(tracker, DigestTracker)
    assert tracker.cookie == settings.cookie and tracker.cookie.name == "pushed"
    assert tracker.format == settings.digest and tracker.format.max_chars == 500


def test_the_session_connector_class_is_bounded_by_the_config() -> None:
    tracker = tracker_for(SessionConnector, _settings(FIREHOSE_TRACKING_MAX_BYTES=300), FAILURES)
    assert type(tracker) is SessionConnector
    assert tracker.max_bytes == 300 and tracker.key == "h2-pushed"


def test_a_session_connector_instance_is_used_as_it_is() -> None:
    connector = SessionConnector(max_bytes=99, key="mine")
    assert tracker_for(connector, _settings(FIREHOSE_TRACKING_MAX_BYTES=300), FAILURES) is connector
    assert connector.max_bytes == 99 and connector.key == "mine"


@pytest.mark.parametrize(
    ("connector", "name"),
    [(_Connector(), "connector _Connector"), (_StaticConnector, "connector _StaticConnector")],
)
def test_any_other_connector_is_adapted(connector: object, name: str) -> None:
    tracker = tracker_for(connector, _settings(), FAILURES)
    assert isinstance(tracker, ConnectorTracker)
    assert tracker.connector is connector and tracker.name == name


@pytest.mark.parametrize("connector", [object(), _Connector, "session"])
def test_a_connector_breaking_the_contract_is_refused(connector: object) -> None:
    with pytest.raises(ConfigurationError, match="connector") as info:
        tracker_for(connector, _settings(), FAILURES)
    assert info.value.key == "connector" and info.value.value is connector


def test_every_tracker_has_a_name_for_the_log() -> None:
    trackers: list[Tracker[Any]] = [
        tracker_for(connector, _settings(), FAILURES) for connector in (None, SessionConnector, _Connector())
    ]
    assert [tracker.name for tracker in trackers] == ["digest tracking", "session tracking", "connector _Connector"]
