from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

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
