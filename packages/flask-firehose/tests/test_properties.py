"""Open-ended inputs: whatever push() is given, the response stays well formed."""

from __future__ import annotations

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_firehose import Firehose, InvalidLinkError, Link, ParsedLink, push
from flask_firehose.links import link_from_push
from flask_firehose.testing import links_of

# Printable ASCII and beyond, with the characters that break headers weighted in.
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from(list('<>",;=\\ \t\r\n%/:?#')),
    ),
    max_size=40,
)
_NAMES = st.one_of(st.sampled_from(["as", "as_", "rel", "crossorigin", "nopush", "type", "media", "title"]), _TEXT)
_VALUES = st.one_of(_TEXT, st.booleans(), st.none(), st.sampled_from(["style", "font", "script", "image"]))
_URLS = st.one_of(_TEXT, st.builds(lambda s: "/static/" + s, _TEXT))


def _expected(link: Link) -> ParsedLink:
    params: list[tuple[str, str | None]] = [("rel", link.rel)]
    if link.as_ is not None:
        params.append(("as", link.as_))
    if link.crossorigin is not None:
        params.append(("crossorigin", link.crossorigin or None))
    params.extend(link.params)
    if link.nopush:
        params.append(("nopush", None))
    return ParsedLink(link.target, tuple(params))


def _app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING=False)
    Firehose(app)
    return app


_APP = _app()


@_APP.get("/")
def _index() -> str:
    from flask import g

    try:
        push(g.url, *g.args, **g.attrs)
    except InvalidLinkError:
        return "invalid"
    return "ok"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(url=_URLS, args=st.lists(_TEXT, max_size=2), attrs=st.dictionaries(_NAMES, _VALUES, max_size=4))
def test_any_input_gives_an_error_or_the_same_link(url: str, args: list[str], attrs: dict[str, object]) -> None:
    try:
        link = link_from_push(url, tuple(args), attrs)
    except InvalidLinkError:
        link = None

    def setup() -> None:
        from flask import g

        g.url, g.args, g.attrs = url, tuple(args), attrs

    _APP.before_request_funcs.setdefault(None, [])[:] = [setup]
    response = _APP.test_client().get("/")
    assert response.status_code == 200
    assert set(response.headers.keys()) <= {"Content-Type", "Content-Length", "Link"}
    if link is None:
        assert response.data == b"invalid" and "Link" not in response.headers
        return
    assert response.data == b"ok"
    assert links_of(response) == [_expected(link)]
    raw = response.headers["Link"]
    assert raw.isascii() and "\r" not in raw and "\n" not in raw
