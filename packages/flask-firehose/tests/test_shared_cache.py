"""Whether a shared cache may hand a response to other clients, read from
every ``Cache-Control``, ``Expires`` and ``Vary`` field (RFC 9111 §3, §5.2.2)."""

from __future__ import annotations

import pytest
from werkzeug.wrappers import Response

from flask_firehose._shared_cache import marked_public, served_to_others, storable_by_others

EXPIRES = ("Expires", "Thu, 01 Dec 2099 16:00:00 GMT")
Fields = list[tuple[str, str]]


def _response(fields: Fields) -> Response:
    response = Response("x")
    for name, value in fields:
        response.headers.add(name, value)
    return response


def _cc(value: str) -> tuple[str, str]:
    return ("Cache-Control", value)


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
    ],
)
def test_served_to_others(fields: Fields, served: bool) -> None:
    assert served_to_others(_response(fields)) is served
