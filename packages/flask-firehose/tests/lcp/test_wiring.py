"""The LCP routes inside a full ``Firehose(app)``: the request hooks leave the
report and the script alone (no 103, no ``Link``, nothing learned)."""

from __future__ import annotations

import json

from flask_firehose import push
from flask_firehose.testing import record_early_hints

from ..conftest import AppFactory


def test_report_and_script_get_no_hints(make_app: AppFactory) -> None:
    app, firehose = make_app(FIREHOSE_EARLY_HINTS=True, FIREHOSE_LEARN=True)
    firehose.declare_hints("/static/app.css")

    @app.get("/")
    def index() -> str:
        push("/static/app.js", as_="script")
        return "<html><head></head><body><img src='/static/hero.jpg'></body></html>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        assert client.get("/").headers.get_all("Link")  # a page gets its hints
        assert len(hints.sent) == 1
        posted = client.post(
            "/_firehose/lcp",
            data=json.dumps({"t": "x", "w": 1, "u": "", "v": False}),
            headers={"Content-Type": "application/json", "Sec-Fetch-Mode": "navigate"},
        )
        script = client.get("/_firehose/lcp.js", headers={"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"})
        assert len(hints.sent) == 1  # no 103 for the report or the script
    assert posted.status_code == 403
    assert "Link" not in posted.headers
    assert script.status_code == 200
    assert "Link" not in script.headers
    assert "Set-Cookie" not in posted.headers and "Set-Cookie" not in script.headers
