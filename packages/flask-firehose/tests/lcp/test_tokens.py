"""The token: its documented format, what it binds, and what fails to verify."""

from __future__ import annotations

import base64
import json
import time

import pytest
from itsdangerous import TimestampSigner

from flask_firehose._lcp import tokens

SITE = "http://localhost/"


def _payload(token: str) -> dict[str, object]:
    """Read the payload as the browser script does (the module docstring)."""
    part = token.split(".")[0]
    assert "=" not in part
    decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    assert decoded.isascii()
    value = json.loads(decoded)
    assert isinstance(value, dict)
    return value


def test_format_is_the_documented_one() -> None:
    token = tokens.issue("s", SITE, "k", ["/a.jpg", "/b.png?x=1"], (480, 600, 782), {1, 3})
    assert token.count(".") == 2
    payload = _payload(token)
    assert set(payload) == {"v", "k", "i", "m", "b", "d"}
    assert payload["v"] == 1
    assert payload["k"] == "k"
    assert payload["m"] == ["/a.jpg", "/b.png?x=1"]
    assert payload["b"] == [480, 600, 782]
    assert payload["d"] == [1, 3]
    assert isinstance(payload["i"], str) and len(payload["i"]) == 16


def test_round_trip() -> None:
    token = tokens.issue("s", SITE, "app|site|index", ["/a.jpg"], (480, 600, 782), {0})
    found = tokens.verify("s", SITE, token)
    assert found.key == "app|site|index"
    assert found.images == ("/a.jpg",)
    assert found.breakpoints == (480, 600, 782)
    assert found.done == frozenset({0})
    assert abs(found.issued - time.time()) < 5


def test_non_ascii_is_escaped() -> None:
    token = tokens.issue("s", SITE, "clé", ["/caf%C3%A9.jpg", "/café.jpg"], (480,))
    assert _payload(token)["k"] == "clé"
    assert tokens.verify("s", SITE, token).key == "clé"


def test_ids_differ() -> None:
    ids = {tokens.verify("s", SITE, tokens.issue("s", SITE, "k", [], (480,))).id for _ in range(50)}
    assert len(ids) == 50


def test_images_kept_first_sixteen_short_same_origin_paths() -> None:
    images = ["//evil.example/x.jpg", "https://evil.example/x.jpg", "x.jpg", "/" + "a" * 2048, "/a.jpg", "/a.jpg"]
    images += [f"/{n}.jpg" for n in range(30)]
    found = tokens.verify("s", SITE, tokens.issue("s", SITE, "k", images, (480,))).images
    assert found == ("/a.jpg", *(f"/{n}.jpg" for n in range(15)))


def test_typical_size_is_small() -> None:
    token = tokens.issue(
        "s", SITE, "app|https://shop.example/|catalog.product", ["/static/hero.jpg"] * 1, (480, 600, 782)
    )
    assert len(token) < 300


@pytest.mark.parametrize(
    ("secret", "context"),
    [("other", SITE), ("s", "http://other.example/"), ("s", "http://localhost/app/")],
)
def test_another_secret_or_site_fails(secret: str, context: str) -> None:
    token = tokens.issue(secret, context, "k", [], (480,))
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify("s", SITE, token)


def test_fallback_secrets_verify() -> None:
    token = tokens.issue("old", SITE, "k", [], (480,))
    assert tokens.verify(["old", "new"], SITE, token).key == "k"
    with pytest.raises(tokens.TokenError):
        tokens.verify(["new"], SITE, token)


def test_other_salt_fails() -> None:
    value = base64.urlsafe_b64encode(b'{"v":1,"k":"k","i":"x","m":[],"b":[480],"d":[]}').rstrip(b"=")
    forged = TimestampSigner("s", salt="itsdangerous.Signer").sign(value).decode()
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify("s", SITE, forged)


def test_expired() -> None:
    token = tokens.issue("s", SITE, "k", [], (480,))
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.verify("s", SITE, token, max_age=-1)


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'{"v":2,"k":"k","i":"x","m":[],"b":[480],"d":[]}',
        b'{"v":1,"k":1,"i":"x","m":[],"b":[480],"d":[]}',
        b'{"v":1,"k":"k","i":"x","m":[1],"b":[480],"d":[]}',
        b'{"v":1,"k":"k","i":"x","m":[],"b":["480"],"d":[]}',
        b'{"v":1,"k":"k","i":"x","m":[],"b":[480],"d":[true]}',
        b'{"v":1,"k":"k","i":"x","m":' + json.dumps(["/a"] * 17).encode() + b',"b":[480],"d":[]}',
        b"\xff\xfe",
        b"not json",
    ],
)
def test_signed_but_malformed_payloads_fail(payload: bytes) -> None:
    value = base64.urlsafe_b64encode(payload).rstrip(b"=")
    token = TimestampSigner([b"s"], salt=f"{tokens.SALT} {SITE}").sign(value).decode()
    with pytest.raises(tokens.TokenError):
        tokens.verify("s", SITE, token)


@pytest.mark.parametrize("token", [None, 5, "", "a.b.c", "x" * (tokens.MAX_TOKEN_LENGTH + 1), "é.é.é"])
def test_garbage_fails(token: object) -> None:
    with pytest.raises(tokens.TokenError):
        tokens.verify("s", SITE, token)


def test_no_secret() -> None:
    with pytest.raises(tokens.TokenError, match="no secret"):
        tokens.issue("", SITE, "k", [], (480,))
    with pytest.raises(tokens.TokenError, match="no secret"):
        tokens.verify(None, SITE, "a.b.c")


@pytest.mark.parametrize(
    ("width", "expected"), [(1, 0), (480, 0), (481, 1), (600, 1), (601, 2), (782, 2), (783, 3), (5000, 3)]
)
def test_viewport_class(width: int, expected: int) -> None:
    assert tokens.viewport_class(width, (480, 600, 782)) == expected


def test_a_token_of_many_long_images_fits_a_report() -> None:
    """Whatever the page references, the token stays small enough for the
    report that carries it back to pass the report view's body limit."""
    import json

    from flask_firehose._lcp.reports import MAX_BODY

    images = [f"/static/{n:02}/" + "a" * 1900 + ".jpg" for n in range(16)]
    token = tokens.issue("s", SITE, "k " * 100, images, (480, 600, 782), frozenset())
    body = json.dumps({"t": token, "w": 1280, "u": "https://shop.example" + images[0], "v": True})
    assert len(body.encode()) <= MAX_BODY
