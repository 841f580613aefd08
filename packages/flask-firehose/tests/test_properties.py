"""Open-ended inputs: valid ones round-trip exactly, hostile ones never break
a response.

The valid-input strategies are generated from the grammar (RFC 3986 for
targets, RFC 8288 for relation types, RFC 9110 for parameter tokens and quoted
strings), so almost every example exercises serialisation with attributes.
Each example builds a fresh app: nothing of Firehose's own is removed.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_firehose import Firehose, InvalidLinkError, Link, push
from flask_firehose._links import DESTINATIONS, link_from_push
from flask_firehose._parsing import parse_link_header
from flask_firehose.testing import ParsedLink, links_of

# RFC 3986 §2.3 unreserved, §2.2 sub-delims, and ":" / "@" (pchar).
_PCHAR = st.one_of(
    st.sampled_from(list("ABCXYZabcxyz0189-._~!$&'()*+,;=:@")),
    st.builds(lambda b: f"%{b:02X}", st.integers(0, 255)),
)
_SEGMENT = st.lists(_PCHAR, min_size=1, max_size=8).map("".join)
_PATH = st.lists(_SEGMENT, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
_QUERY = st.lists(st.one_of(_PCHAR, st.sampled_from(["/", "?"])), max_size=8).map("".join)
_TARGET = st.one_of(
    _PATH,
    st.builds(lambda p, q: f"{p}?{q}", _PATH, _QUERY),
    st.builds(lambda h, p: f"https://{h}.example{p}", st.from_regex(r"[a-z][a-z0-9\-]{0,10}", fullmatch=True), _PATH),
)
# RFC 8288 §3.3: reg-rel-type = LOALPHA *( LOALPHA / DIGIT / "." / "-" )
_REL_TYPE = st.one_of(
    st.sampled_from(["preload", "modulepreload", "preconnect", "prefetch", "dns-prefetch"]),
    st.from_regex(r"[a-z][a-z0-9.\-]{0,8}", fullmatch=True),
)
_RELS = st.lists(_REL_TYPE, min_size=1, max_size=3, unique=True).map(" ".join)
# RFC 9110 §5.6.2 token, lower-cased (Link stores parameter names so).
_PARAM_NAME = st.from_regex(r"[!#$%&'*+\-.^`|~0-9a-z]{1,10}", fullmatch=True).filter(
    lambda name: name not in {"rel", "as", "crossorigin", "nopush"} and not name.endswith("_")
)
# What a quoted-string may hold: HTAB, SP, VCHAR.
_PARAM_VALUE = st.one_of(
    st.none(), st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
)
_PARAMS = st.dictionaries(_PARAM_NAME, _PARAM_VALUE, max_size=3).map(lambda d: tuple(d.items()))

_LINKS = st.builds(
    Link,
    target=_TARGET,
    rel=_RELS,
    as_=st.one_of(st.none(), st.sampled_from(sorted(DESTINATIONS))),
    crossorigin=st.sampled_from([None, "", "anonymous", "use-credentials"]),
    nopush=st.booleans(),
    params=_PARAMS,
)


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


def _push_arguments(link: Link) -> tuple[tuple[object, ...], dict[str, object]]:
    """The push() call that asks for *link*."""
    attrs: dict[str, object] = {"rel": link.rel}
    if link.as_ is not None:
        attrs["as"] = link.as_
    if link.crossorigin is not None:
        attrs["crossorigin"] = link.crossorigin or True
    for name, value in link.params:
        attrs[name] = True if value is None else value
    return (("nopush",) if link.nopush else ()), attrs


def _app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING=False, FIREHOSE_MAX_HEADER_BYTES=65536, **config)
    Firehose(app)

    @app.get("/")
    def index() -> str:
        from flask import g

        push(g.url, *g.args, **g.attrs)
        return "ok"

    return app


def _get(app: Flask, url: object, args: tuple[object, ...], attrs: dict[str, object]) -> Any:
    def setup() -> None:
        from flask import g

        g.url, g.args, g.attrs = url, args, attrs

    app.before_request(setup)  # after Firehose's own hook, which stays
    return app.test_client().get("/")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(link=_LINKS)
def test_valid_links_round_trip_exactly(link: Link) -> None:
    assert parse_link_header(link.text) == [_expected(link)]
    args, attrs = _push_arguments(link)
    built = link_from_push(link.target, args, attrs)  # valid input never raises
    response = _get(_app(TESTING=True), link.target, args, attrs)
    assert response.status_code == 200
    assert links_of(response) == [_expected(built)]
    # What push() adds on its own: nopush off-origin, crossorigin on CORS preloads.
    assert (built.target, built.rel, built.as_, built.params) == (link.target, link.rel, link.as_, link.params)
    assert built.nopush == (link.nopush or not link.target.startswith("/"))


# Printable ASCII and beyond, with the characters that break headers weighted in.
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.characters(categories=["Cs"]),
        st.sampled_from(list('<>",;=\\ \t\r\n%/:?#')),
    ),
    max_size=40,
)
_NAMES = st.one_of(st.sampled_from(["as", "as_", "rel", "crossorigin", "nopush", "type", "media", "title"]), _TEXT)
_VALUES = st.one_of(
    _TEXT,
    st.booleans(),
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=8),
    st.sampled_from(["style", "font", "script", "image", "stylesheet", "img"]),
)
_URLS = st.one_of(_TEXT, st.builds(lambda s: "/static/" + s, _TEXT), st.integers(), st.none(), st.binary(max_size=8))
_ARGS = st.lists(st.one_of(_TEXT, st.integers(), st.none()), max_size=2)


@pytest.mark.parametrize("strict", [True, False])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=_URLS, args=_ARGS, attrs=st.dictionaries(_NAMES, _VALUES, max_size=4))
def test_any_input_gives_an_error_or_the_same_link(
    strict: bool, url: object, args: list[object], attrs: dict[str, object]
) -> None:
    try:
        link = link_from_push(url, tuple(args), attrs)
    except InvalidLinkError:
        link = None  # the only error bad input may raise
    app = _app(FIREHOSE_STRICT=strict, PROPAGATE_EXCEPTIONS=True)
    if strict and link is None:
        with pytest.raises(InvalidLinkError):
            _get(app, url, tuple(args), attrs)
        return
    response = _get(app, url, tuple(args), attrs)
    assert response.status_code == 200 and response.data == b"ok"
    assert set(response.headers.keys()) <= {"Content-Type", "Content-Length", "Link"}
    if link is None:
        assert "Link" not in response.headers
        return
    assert links_of(response) == [_expected(link)]
    raw = response.headers["Link"]
    assert raw.isascii() and "\r" not in raw and "\n" not in raw


# Text shaped like URLs, with what RFC 3986 allows only in places (brackets,
# "#", ":", "%", "@") and what it allows nowhere weighted in.
_URLISH = st.lists(
    st.one_of(
        st.sampled_from(list("/?#[]:@%!$&'()*+,;=-._~aZ09")),
        st.sampled_from(["%41", "%5B", "%2F", "é", "\u2603", "{", "|", "^", "`", " "]),
        st.characters(codec="utf-8"),
    ),
    max_size=30,
).map("".join)
_PUSHED_URLS = st.one_of(
    _URLISH,
    st.builds(lambda s: "/static/" + s, _URLISH),
    st.builds(lambda s: "https://cdn.example/" + s, _URLISH),
    st.builds(
        lambda h, s: f"//{h}/{s}", st.sampled_from(["[::1]", "[v1.x]", "h:8443", "u@h", "h[1]", "[::1"]), _URLISH
    ),
)


def _decoded(target: str) -> bytes:
    """The resource's bytes: escapes decoded, the rest as UTF-8 (surrogates
    kept), so a lone ``%aa`` (no UTF-8 text) compares too."""
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(target.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("strict", [True, False])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=_PUSHED_URLS)
def test_whatever_push_accepts_is_a_uri_reference_for_the_same_resource(strict: bool, url: str) -> None:
    from flask_firehose import _grammar as grammar

    try:
        link = link_from_push(url)
    except InvalidLinkError:
        link = None
    app = _app(FIREHOSE_STRICT=strict, PROPAGATE_EXCEPTIONS=True)
    if link is None:
        if strict:
            with pytest.raises(InvalidLinkError):
                _get(app, url, (), {})
        else:
            assert "Link" not in _get(app, url, (), {}).headers
        return
    response = _get(app, url, (), {})
    (parsed,) = links_of(response)  # the strict RFC 8288 parser reads it back
    target = parsed.target
    assert target == link.target
    assert grammar.URI_REFERENCE.fullmatch(target)
    # The same resource: percent-decoding gives back what was pushed, but for
    # the "./" that keeps a first segment with a colon from reading as a scheme.
    if target.startswith("./") and not url.startswith("./"):
        assert ":" in url.partition("/")[0] and not grammar.SCHEME.match(url)
        target = target[2:]
    assert _decoded(target) == _decoded(url)
    # Already a URI-reference: written exactly as given.
    if grammar.URI_REFERENCE.fullmatch(url):
        assert parsed.target == url
