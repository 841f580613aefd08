"""What every test of the package shares: the Hypothesis profile (no
per-example deadline), the app factory and the Redis server fixtures.

The subfolders (``probe/``, ``speculation/``, ``redis/``) get these fixtures
from here as pytest applies a ``conftest.py`` to the folders below it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from flask_firehose import Firehose
from flask_firehose._learning_scope import _built
from flask_firehose.testing import links_of

from .redis_server import RedisServer, require_redis_server

AppFactory = Callable[..., tuple[Flask, Firehose]]

# A property test's examples run as long as they need: a per-example deadline
# fails them on a busy machine for nothing the code did. Every other setting
# keeps Hypothesis's default; a test's own ``@settings`` inherits this profile.
settings.register_profile("firehose", deadline=None)
settings.load_profile("firehose")


@pytest.fixture(autouse=True)
def _fresh_namespaces() -> None:
    """Each test counts the apps it builds as a fresh process would: its
    first app of a name learns under that name (``name#2`` for a second)."""
    _built.clear()


@pytest.fixture
def make_app() -> AppFactory:
    """Return a factory building ``(app, firehose)`` with optional config."""

    def factory(connector: object = None, **config: Any) -> tuple[Flask, Firehose]:
        app = Flask(__name__)
        app.config.update(SECRET_KEY="test-secret", TESTING=True, **config)
        firehose = Firehose(connector=connector)
        firehose.init_app(app)
        return app, firehose

    return factory


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own on a free port (required under ``CI``)."""
    running = RedisServer(require_redis_server(), tmp_path / "redis.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def closing() -> Iterator[Callable[[Any], Any]]:
    """Close every backend (a Redis store or connector) a test builds, so no
    socket is left open."""
    built: list[Any] = []

    def track(backend: Any) -> Any:
        built.append(backend)
        return backend

    yield track
    for backend in built:
        backend.close()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()[0]


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def targets(response: Any, *, pushable: bool | None = None) -> list[str]:
    """Targets of *response*'s links; ``pushable`` filters on ``nopush``."""
    return [link.target for link in links_of(response) if pushable is None or pushable != link.has("nopush")]
