"""The LCP report token: what the page is told, signed, and how it is read back.

A token is issued with every page that carries the LCP script and comes back,
unchanged, in that page's one report. It binds the report to the page the
server served: the store key, when it was issued, a random id (each id counts
once), the images the page referenced, and which viewport classes were already
settled when it was issued.

Format (fixed; the browser script reads it)
-------------------------------------------

The token is three fields joined by ``.``: ``P.T.S``.

``P``
    The payload: base64url (RFC 4648 section 5, alphabet ``A-Z a-z 0-9 - _``)
    *without* ``=`` padding, of a UTF-8 JSON object that is pure ASCII (any
    non-ASCII character is escaped as ``\\uXXXX``), so in the browser::

        const p = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
        const payload = JSON.parse(atob(p + "===".slice((p.length + 3) % 4)));

    Its members (no others; readers ignore any they do not know):

    ``"v"``: int, the format version, ``1``.
    ``"k"``: string, the store key the report is for (opaque).
    ``"i"``: string, a random id (base64url, 16 characters).
    ``"m"``: array of strings, the same-origin image paths (path and query,
    each starting with ``/``) the page referenced, at most 16, each at most
    2048 characters and 2048 in all.
    ``"b"``: array of ints, the viewport breakpoints, ascending (default
    ``[480, 600, 782]``).
    ``"d"``: array of ints, the indices of the viewport classes already agreed
    (done), ascending, each in ``0 .. b.length``.

``T`` and ``S``
    The issue time and the signature (itsdangerous ``TimestampSigner``, HMAC
    keyed by the app's ``SECRET_KEY``, ``SECRET_KEY_FALLBACKS`` accepted, with
    the salt ``"flask-firehose.lcp"`` followed by the app's name and the
    site's root URL, so a token verifies only for the app and site that
    issued it). The script does not read them; only the server checks them.

Viewport class of a width ``w`` (``innerWidth``): the smallest index ``i``
with ``w <= b[i]``, or ``b.length`` when ``w`` is above every breakpoint. With
``[480, 600, 782]``: ``w <= 480`` is 0, ``481..600`` is 1, ``601..782`` is 2,
``783`` and up is 3.

The script does nothing (no observer, no report) when its class is in ``"d"``
or when the token does not parse; otherwise it posts the token back verbatim
as ``"t"`` in its report. A token is accepted for 10 minutes after issue.

The script finds its token in its own element's ``data-firehose-lcp``
(``document.currentScript``, read when the script starts), and the report URL
is that element's ``src`` with the final ``.js`` removed (the ``src`` carries
the app's script root, so an app mounted under a prefix works unchanged).
The server injects no script when every class is done.

Typical size: under 300 bytes for a page with a few images.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

__all__ = [
    "MAX_AGE",
    "MAX_IMAGES",
    "MAX_IMAGE_LENGTH",
    "SALT",
    "TokenError",
    "TokenPayload",
    "issue",
    "verify",
    "viewport_class",
]

#: Seconds a token is accepted after it was issued.
MAX_AGE = 600
#: The images a token carries at most (the first ones the page referenced).
MAX_IMAGES = 16
#: The longest image path a token carries; longer ones are left out.
MAX_IMAGE_LENGTH = 2048
#: The characters of all the image paths of one token, at most: the report
#: that carries the token back must fit the report view's body limit.
MAX_IMAGES_LENGTH = 2048
#: The itsdangerous salt: a token for anything else never verifies here.
SALT = "flask-firehose.lcp"
#: The longest token :func:`verify` reads at all.
MAX_TOKEN_LENGTH = 1 << 16

_VERSION = 1
_ID_BYTES = 12


class TokenError(ValueError):
    """A token that does not verify: its ``reason`` is one short line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenPayload:
    """What a verified token says (see the module docstring for the format)."""

    key: str
    id: str
    images: tuple[str, ...]
    breakpoints: tuple[int, ...]
    done: frozenset[int]
    issued: int


def viewport_class(width: int, breakpoints: Sequence[int]) -> int:
    """The index of the viewport class ``width`` falls in (see the format)."""
    for index, limit in enumerate(breakpoints):
        if width <= limit:
            return index
    return len(breakpoints)


def _images(images: Sequence[str]) -> list[str]:
    kept: list[str] = []
    room = MAX_IMAGES_LENGTH
    for image in images:
        if len(kept) == MAX_IMAGES:
            break
        if (
            isinstance(image, str)
            and image.startswith("/")
            and not image.startswith("//")
            and len(image) <= min(MAX_IMAGE_LENGTH, room)
            and image not in kept
        ):
            kept.append(image)
            room -= len(image)
    return kept


def _signer(secret: str | bytes | Sequence[str | bytes], context: str) -> TimestampSigner:
    given = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    # itsdangerous signs with the last key and accepts any (the fallbacks first).
    return _signer_for(tuple(key.encode("utf-8") if isinstance(key, str) else key for key in given if key), context)


@lru_cache(maxsize=64)
def _signer_for(keys: tuple[bytes, ...], context: str) -> TimestampSigner:
    """A signer, kept: itsdangerous derives its keys anew for each call, which
    costs more than the signature (bounded: a ``Host`` may vary the context)."""
    return TimestampSigner(list(keys), salt=f"{SALT} {context}")


def issue(
    secret: str | bytes,
    context: str,
    key: str,
    images: Sequence[str],
    breakpoints: Sequence[int],
    done: frozenset[int] | set[int] = frozenset(),
) -> str:
    """A signed token for one page (the images not paths, over 2048 or past 16
    are left out); *context* names the app and site (it salts the signature)."""
    if not secret:
        raise TokenError("no secret key")
    payload = {
        "v": _VERSION,
        "k": key,
        "i": secrets.token_urlsafe(_ID_BYTES),
        "m": _images(images),
        "b": [int(limit) for limit in breakpoints],
        "d": sorted(index for index in done if 0 <= index <= len(breakpoints)),
    }
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    encoded = base64.urlsafe_b64encode(text.encode("ascii")).rstrip(b"=")
    return _signer(secret, context).sign(encoded).decode("ascii")


def _decode(encoded: bytes) -> object:
    padded = encoded + b"=" * (-len(encoded) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded).decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise TokenError("unreadable token payload") from exc


def _int_list(value: object) -> list[int] | None:
    if not isinstance(value, list):
        return None
    if not all(type(item) is int for item in value):
        return None
    return value


def _str_list(value: object) -> list[str] | None:
    if not isinstance(value, list) or len(value) > MAX_IMAGES:
        return None
    if not all(isinstance(item, str) for item in value):
        return None
    return value


def verify(
    secret: str | bytes | Sequence[str | bytes] | None, context: str, token: object, *, max_age: int = MAX_AGE
) -> TokenPayload:
    """The payload of a token one of these secrets (the newest last) signed
    for *context* less than ``max_age`` seconds ago.

    Raises :class:`TokenError` naming why otherwise (no secret, not a string,
    too long, bad signature, expired, malformed payload).
    """
    if not secret:
        raise TokenError("no secret key")
    if not isinstance(token, str):
        raise TokenError("token is not a string")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TokenError("token is malformed")
    try:
        value, issued = _signer(secret, context).unsign(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired as exc:
        raise TokenError("token expired") from exc
    except BadSignature as exc:
        raise TokenError("token signature is not valid") from exc
    data = _decode(value)
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise TokenError("token payload is not version 1")
    key, ident = data.get("k"), data.get("i")
    images = _str_list(data.get("m"))
    breakpoints = _int_list(data.get("b"))
    done = _int_list(data.get("d"))
    if not isinstance(key, str) or not isinstance(ident, str) or images is None:
        raise TokenError("token payload is malformed")
    if breakpoints is None or done is None:
        raise TokenError("token payload is malformed")
    return TokenPayload(
        key=key,
        id=ident,
        images=tuple(images),
        breakpoints=tuple(breakpoints),
        done=frozenset(done),
        issued=int(issued.timestamp()),
    )
