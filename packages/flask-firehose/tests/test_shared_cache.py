"""Whether a shared cache may hand a response to other clients, read from
every ``Cache-Control``, ``Expires`` and ``Vary`` field (RFC 9111 §3, §5.2.2)
and the fields addressed to CDNs (``CDN-Cache-Control``, RFC 9213; the
vendors' own; ``Surrogate-Control``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.wrappers import Response

from flask_firehose._caching import CACHING_FIELDS, kept_by, marked_public, served_to_others, storable_by_others

EXPIRES = ("Expires", "Thu, 01 Dec 2099 16:00:00 GMT")
Fields = list[tuple[str, str]]


def _response(fields: Fields) -> Response:
    response = Response("x")
    for name, value in fields:
        response.headers.add(name, value)
    return response


def _cc(value: str) -> tuple[str, str]:
    return ("Cache-Control", value)


def _cdn(value: str) -> tuple[str, str]:
    return ("CDN-Cache-Control", value)


@pytest.mark.parametrize(
    ("fields", "storable"),
    [
        ([], False),  # no freshness lifetime, nothing said
        ([_cc("max-age=600")], True),
        ([_cc("max-age=0")], True),
        ([_cc("s-maxage=600")], True),
        ([_cc("public")], True),
        ([EXPIRES], True),
        ([_cc("no-cache"), EXPIRES], True),
        ([_cc("no-cache")], False),
        ([_cc("must-revalidate")], False),
        ([_cc("private, max-age=600")], False),
        ([_cc("no-store, max-age=600")], False),
        ([_cc("public, no-store")], False),
        ([_cc("private"), EXPIRES], False),
        ([_cc("max-age=600"), _cc("private")], False),  # every field counts
        ([_cc("max-age=600"), ("Vary", "Cookie")], False),
        ([_cc("public"), ("Vary", "Authorization")], False),
        ([EXPIRES, ("Vary", "*")], False),
        ([_cc("max-age=600"), ("Vary", "Accept-Encoding")], True),
        ([_cc("max-age=600"), ("Vary", "Accept-Encoding"), ("Vary", "Cookie")], False),
        ([_cc("max-age=600"), ("Vary", "accept-encoding, COOKIE")], False),
        ([("cache-control", "max-age=600"), ("vary", "cookie")], False),  # field names in any case
        ([("cache-control", "public")], True),
        # Directive names in any case, with any value: a max-age is a lifetime.
        ([_cc("MAX-AGE=600")], True),
        ([_cc("Public")], True),
        ([_cc("max-age=abc")], True),
        ([_cc("max-age")], True),
        ([_cc("max-age=600, PRIVATE")], False),
        ([_cc("max-age=600, No-Store")], False),
        # A qualified private only keeps the named fields out of the stored copy.
        ([_cc('private="Set-Cookie", max-age=600')], True),
        ([_cc('private="Set-Cookie, Authorization", max-age=600')], True),
        ([_cc('private="", max-age=600')], False),
        ([_cc('no-cache="a,private", max-age=600')], True),  # a comma inside a quoted value
        # Fields addressed to CDNs, read instead of Cache-Control by their CDN.
        ([_cdn("max-age=60")], True),
        ([_cdn("s-maxage=60")], True),
        ([_cdn("public")], True),
        ([_cdn("no-store")], False),
        ([_cdn("max-age=60, no-store")], False),
        ([_cdn("max-age=60, private")], False),
        ([_cdn("max-age=60, no-store=?0")], True),  # RFC 8941 false
        ([_cdn("max-age=60"), _cdn("no-store")], False),  # both fields of one CDN count
        ([_cc("private"), _cdn("max-age=60")], True),
        ([_cc("no-store"), _cdn("max-age=60")], True),
        ([_cc("public, max-age=60"), _cdn("no-store")], True),  # other shared caches still read Cache-Control
        ([_cdn("max-age=60"), ("Vary", "Cookie")], True),  # not every CDN keys by Cookie
        ([("cdn-cache-control", "max-age=60")], True),
        ([("Cloudflare-CDN-Cache-Control", "max-age=60")], True),
        ([("Akamai-Cache-Control", "s-maxage=60")], True),
        ([("Cloudflare-CDN-Cache-Control", "no-store")], False),
        ([("Surrogate-Control", "max-age=60")], True),
        ([("Surrogate-Control", "max-age=60+30")], True),
        ([("Surrogate-Control", 'content="ESI/1.0", max-age=60')], True),
        ([("Surrogate-Control", "max-age=60;edge")], True),
        ([("Surrogate-Control", "max-age=60, no-store;shield")], True),  # no-store for another target
        ([("Surrogate-Control", "max-age=60, no-store")], False),
        ([("Surrogate-Control", "no-store")], False),
        ([("Surrogate-Control", 'content="ESI/1.0"')], False),
        ([("X-CDN-Cache-Control", "max-age=60")], False),  # not a field any CDN reads
    ],
)
def test_storable_by_others(fields: Fields, storable: bool) -> None:
    assert storable_by_others(_response(fields)) is storable


@pytest.mark.parametrize(
    ("fields", "public"),
    [
        ([], False),
        ([_cc("public")], True),
        ([_cc("s-maxage=60")], True),
        ([_cc("public, max-age=60"), ("Vary", "Cookie")], True),  # Vary is not its question
        ([_cc("max-age=60")], False),
        ([EXPIRES], False),
        ([_cc("public, private")], False),
        ([_cc("public"), _cc("private")], False),
        ([_cc("s-maxage=60, no-store")], False),
        ([_cdn("max-age=60")], True),
        ([("Surrogate-Control", "max-age=60")], True),
        ([_cdn("no-store")], False),
    ],
)
def test_marked_public(fields: Fields, public: bool) -> None:
    assert marked_public(_response(fields)) is public


@pytest.mark.parametrize(
    ("fields", "served"),
    [
        ([], False),
        ([_cc("public")], True),
        ([_cc("s-maxage=60")], True),
        ([_cc("public"), ("Vary", "Accept-Encoding")], True),
        ([_cc("public"), ("Vary", "Cookie")], False),
        ([_cc("public"), ("Vary", "Accept-Encoding"), ("Vary", "Authorization")], False),
        ([_cc("public"), ("Vary", "*")], False),
        ([_cc("max-age=60")], False),  # not marked public
        ([EXPIRES], False),
        ([_cc("public, private")], False),
        ([_cdn("max-age=60")], True),
        ([_cdn("max-age=60"), ("Vary", "Cookie")], True),
        ([_cc("public"), ("Vary", "Cookie"), _cdn("no-store")], False),
    ],
)
def test_served_to_others(fields: Fields, served: bool) -> None:
    assert served_to_others(_response(fields)) is served


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ([], None),
        ([_cc("private")], None),
        ([_cc("max-age=60")], "Cache-Control"),
        ([EXPIRES], "Expires"),
        ([_cc("no-cache"), EXPIRES], "Expires"),
        ([_cc("public"), _cdn("max-age=60")], "CDN-Cache-Control"),
        ([("cloudflare-cdn-cache-control", "max-age=60")], "Cloudflare-CDN-Cache-Control"),
        ([("surrogate-control", "max-age=60")], "Surrogate-Control"),
    ],
)
def test_kept_by_names_the_field_that_says_so(fields: Fields, field: str | None) -> None:
    assert kept_by(_response(fields)) == field


def test_every_field_read_is_a_caching_field() -> None:
    for name, value in [_cc("max-age=60"), _cdn("max-age=60"), ("Surrogate-Control", "max-age=60"), EXPIRES]:
        assert name.lower() in CACHING_FIELDS
        assert storable_by_others(_response([(name, value)]))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Cache-Control", "CDN-Cache-Control", "Surrogate-Control", "Vary", "Expires"]),
            st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
        ),
        max_size=4,
    )
)
def test_any_field_values_give_an_answer(fields: Fields) -> None:
    response = _response(fields)
    assert storable_by_others(response) is (kept_by(response) is not None)
    assert isinstance(marked_public(response), bool) and isinstance(served_to_others(response), bool)
    # A field that says no-store and nothing else never makes a response kept.
    if all("max-age" not in v.lower() and "public" not in v.lower() and "s-maxage" not in v.lower() for _, v in fields):
        assert kept_by(response) in (None, "Expires")
