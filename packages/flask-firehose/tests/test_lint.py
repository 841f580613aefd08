from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask, Response, request

from flask_firehose import Firehose, push


def _app(tmp_path: Path, **config: object) -> Flask:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.css").write_text("body{}")
    app = Flask(__name__, static_folder=str(tmp_path / "static"))
    app.config.update({"SECRET_KEY": "k", "FIREHOSE_LINT": True, **config})
    Firehose(app)

    @app.get("/")
    def index() -> tuple[str, dict[str, str]]:
        push("/static/app.css")
        push("/static/blob.bin")
        return "ok", {"Link": "</static/face.woff2>; rel=preload; as=font, </x.png>; rel=preload; as=img"}

    return app


def test_lint_reports_each_problem_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = _app(tmp_path).test_client()
    with caplog.at_level(logging.WARNING, logger="flask_firehose.lint"):
        for _ in range(2):
            client.get("/")
            client.get("/static/app.css").close()
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 4, messages
    assert any("'/static/blob.bin' has no 'as'" in m for m in messages)
    assert any("'/static/face.woff2' lacks crossorigin" in m for m in messages)
    assert any("as='img'" in m for m in messages)
    assert any("hinted file '/static/app.css'" in m and "no-cache" in m for m in messages)


def test_cacheable_statics_pass(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = _app(tmp_path, SEND_FILE_MAX_AGE_DEFAULT=3600).test_client()
    with caplog.at_level(logging.WARNING, logger="flask_firehose.lint"):
        client.get("/")
        client.get("/static/app.css").close()
    assert not any("hinted file" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("debug", [False, True])
def test_lint_follows_debug_by_default(tmp_path: Path, caplog: pytest.LogCaptureFixture, debug: bool) -> None:
    app = _app(tmp_path, FIREHOSE_LINT=None)
    app.debug = debug  # as app.run(debug=True) does, after init_app
    with caplog.at_level(logging.WARNING, logger="flask_firehose.lint"):
        app.test_client().get("/")
    assert bool(caplog.records) is debug


@pytest.mark.parametrize(
    ("cache_control", "warned"),
    [
        # RFC 9111 §5.2.2.4: a qualified no-cache concerns the named fields
        # only; the probe reads this value the same way (tests/probe/test_probe.py).
        (['no-cache="Set-Cookie", max-age=600'], False),
        (["no-cache", "max-age=600"], True),  # every Cache-Control field counts
        (["max-age=600", "no-store"], True),
        (["public", "max-age=600"], False),
        (["x-no-cache-ext, max-age=600"], False),  # an extension that holds "no-cache" is not no-cache
    ],
)
def test_a_hinted_file_is_judged_by_every_cache_control_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, cache_control: list[str], warned: bool
) -> None:
    app = _app(tmp_path)

    @app.after_request  # runs before Firehose's hook, which was installed first
    def cache(response: Response) -> Response:
        if request.path.startswith("/static/"):
            del response.headers["Cache-Control"]
            for value in cache_control:
                response.headers.add("Cache-Control", value)
        return response

    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_firehose.lint"):
        client.get("/")
        served = client.get("/static/app.css")
        assert served.headers.getlist("Cache-Control") == cache_control
        served.close()
    said = [record.getMessage() for record in caplog.records if "hinted file '/static/app.css'" in record.getMessage()]
    assert bool(said) is warned, said
    if warned:
        assert repr(", ".join(cache_control)) in said[0]


def test_an_empty_as_is_an_as_browsers_ignore(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Read as the probe reads it (preload-invalid-as): one decision, in _browsers.
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_LINT=True)
    Firehose(app)

    @app.get("/")
    def index() -> tuple[str, dict[str, str]]:
        return "ok", {"Link": '</x.js>; rel=preload; as=""'}

    with caplog.at_level(logging.WARNING, logger="flask_firehose.lint"):
        app.test_client().get("/")
    assert [record.getMessage() for record in caplog.records] == ["preload of '/x.js' has as='', which browsers ignore"]
