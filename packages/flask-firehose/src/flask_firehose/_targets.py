"""Turning what ``push()`` is given into an RFC 3986 URI-reference.

Characters the grammar (:data:`~flask_firehose._grammar.URI_REFERENCE`) does not
allow where they stand are percent-encoded when that keeps the URL naming the
same file; what no encoding can mend is refused with :class:`InvalidURLError`.
"""

from __future__ import annotations

import re
from typing import Final

from . import _grammar as grammar
from .errors import InvalidURLError

__all__ = ["MAX_URL", "encode_target"]

#: The longest URL ``push()`` and declarations take, in characters: no
#: ``Link`` field a front passes on could carry a longer one (nginx's default
#: buffer for all response headers is 4 KB), and checking one costs time in
#: proportion to its length.
MAX_URL: Final = 4096


def encode_target(url: object) -> str:
    """Return *url* as an RFC 3986 URI-reference fit for ``<...>``.

    Characters the grammar does not allow where they stand are
    percent-encoded as UTF-8: non-ASCII and ``{ } | ^ `` ` anywhere, ``[`` and
    ``]`` in the path, query or fragment, a second ``#`` in the fragment. A
    relative path whose first segment holds a ``:`` (``1a:b.css``, which no
    scheme can start) gets ``./`` in front, so no reader takes it for a
    scheme. Control characters, spaces, ``< > " \\``, a ``%`` not starting an
    escape, an authority that is not ``[userinfo@]host[:port]`` (brackets
    only around an IP literal), and schemes other than ``http``/``https``
    raise :class:`InvalidURLError`, and so does a URL over :data:`MAX_URL`
    characters. Whatever it returns matches
    :data:`~flask_firehose._grammar.URI_REFERENCE`.
    """
    if not isinstance(url, str):
        raise InvalidURLError(f"URL must be a str, not {type(url).__name__}: {url!r}", url)
    if not url:
        raise InvalidURLError("URL is empty: ''", url)
    if len(url) > MAX_URL:
        raise InvalidURLError(
            f"URL is {len(url):,} characters long, more than the {MAX_URL:,} a Link header can carry: {url[:60]!r}...",
            url,
        )
    if type(url) is not str:
        url = str.__str__(url)
    bad = grammar.URI_FORBIDDEN.search(url)
    if bad:
        raise InvalidURLError(f"URL holds {bad.group()!r}, which no URL may hold: {url!r}", url)
    if not url.isascii():
        try:
            url.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidURLError(f"URL holds a character that is not valid Unicode: {url!r}", url) from None
    if grammar.BAD_PERCENT.search(url):
        raise InvalidURLError(f"URL holds a '%' that starts no %XX escape: {url!r}", url)
    scheme_prefix = grammar.SCHEME.match(url)
    if scheme_prefix and scheme_prefix.group(1).lower() not in ("http", "https"):
        raise InvalidURLError(f"URL scheme {scheme_prefix.group(1)!r} cannot be preloaded: {url!r}", url)
    if grammar.URI_REFERENCE.fullmatch(url):  # the common case: nothing to do
        return url
    parts = grammar.URI_PARTS.fullmatch(url)
    assert parts is not None  # every string splits (RFC 3986 Appendix B)
    scheme, authority, path, query, fragment = parts.group("scheme", "authority", "path", "query", "fragment")
    if scheme is not None and not grammar.SCHEME.fullmatch(scheme + ":"):
        # Not a scheme ("1a:", ":"): a relative path whose first segment has a colon.
        path = f"{scheme}:{'' if authority is None else '//' + authority}{path}"
        scheme = authority = None
    out = [] if scheme is None else [scheme, ":"]
    if authority is not None:
        encoded = _encode(grammar.URI_ENCODABLE, authority)
        if not grammar.AUTHORITY.fullmatch(encoded):
            raise InvalidURLError(
                f"URL authority {authority!r} is not [userinfo@]host[:port] (brackets only around an IPv6 "
                f"address): {url!r}",
                url,
            )
        out += ["//", encoded]
    path = _encode(grammar.PATH_ENCODABLE, path)
    if scheme is None and authority is None and ":" in path.partition("/")[0]:
        path = "./" + path  # RFC 3986 §4.2: a first segment with a colon reads as a scheme
    out.append(path)
    if query is not None:
        out += ["?", _encode(grammar.PATH_ENCODABLE, query)]
    if fragment is not None:
        out += ["#", _encode(grammar.FRAGMENT_ENCODABLE, fragment)]
    target = "".join(out)
    if not grammar.URI_REFERENCE.fullmatch(target):  # a bug here, never the caller's
        raise InvalidURLError(f"URL cannot be written as a URI-reference: {url!r}", url)
    return target


def _encode(pattern: re.Pattern[str], text: str) -> str:
    """Percent-encode, as UTF-8, what *pattern* matches in *text*."""
    return pattern.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)
