"""The digest tracker, the default: a Golomb-coded digest of the pushed URLs
in a cookie of its own.

It reads the request's ``Cookie`` header itself (:mod:`flask_firehose._cookies`),
decodes and merges what it finds (:mod:`flask_firehose._digest`), and writes the
cookie back with the files a response pushed. Which tracker an app uses is
decided in :mod:`flask_firehose._tracking`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Request, Response, request

from ._config import CookieSettings
from ._cookies import MAX_COOKIE_VALUES, cookie_values
from ._digest import DigestFormat, PushDigest
from ._headers import append_checked, checked_value
from ._memo import Memo

__all__ = ["DigestTracker"]

#: The current request, read on every request: the proxy's object, once.
_current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]


#: The longest ``Cookie`` header whose digest is remembered by its text.
_MAX_REMEMBERED_HEADER = 4096


class DigestTracker:
    """The default tracker (since 1.0): a Golomb-coded digest of the pushed
    URLs in a cookie of its own (:mod:`flask_firehose._digest`).

    It needs neither the session nor a secret: the cookie only steers what is
    sent to the client that holds it, as h2o's CASPer does, so a forged or
    stale value costs that client a push or a hint, nothing else. A value that
    does not decode exactly counts as empty. About 10 bits per URL (1 % false
    positives): 100 URLs in ~200 characters, 1,000 in ~1,800; past
    ``FIREHOSE_DIGEST_MAX_BYTES`` the oldest generation is dropped.

    :param cookie: the cookie's name and attributes.
    :param fmt: the digest's false-positive rate and size budget.
    """

    name = "digest tracking"
    #: :meth:`admit` admits every new target (see ``Tracker.name``).
    shares_outcomes = True

    def __init__(self, cookie: CookieSettings, fmt: DigestFormat) -> None:
        self.cookie = cookie
        self.format = fmt
        self._empty = PushDigest(fmt)
        # The attributes after the value, written once (RFC 6265 §4.1.1);
        # Max-Age alone, which every current browser honours, needs no clock.
        attributes = [f"Path={cookie.path}"]
        if cookie.domain is not None:
            attributes.append(f"Domain={cookie.domain}")
        if cookie.max_age is not None:
            attributes.append(f"Max-Age={cookie.max_age}")
        if cookie.httponly:
            attributes.append("HttpOnly")
        if cookie.samesite is not None:
            attributes.append(f"SameSite={cookie.samesite}")
        plain = "; " + "; ".join(attributes)
        self._attributes = {False: plain, True: plain + "; Secure"}
        self._added: Memo[tuple[str, tuple[str, ...], bool], str] = Memo(256)
        self._loaded: Memo[str, PushDigest] = Memo(256)
        self._merged: Memo[tuple[str, ...], PushDigest] = Memo(32)
        # By the whole Cookie header: a returning client sends the same one
        # page after page (headers past a few kB are read every time).
        self._by_header: Memo[str, PushDigest] = Memo(256)

    def load(self) -> PushDigest:
        """The digest the request's cookie holds; empty when it holds none,
        or anything that is not exactly a digest.

        A browser may send the cookie more than once (one for another path,
        one a sibling subdomain set for the parent domain): the last few
        values are read (:func:`~flask_firehose._cookies.cookie_values`, at
        most :data:`~flask_firehose._cookies.MAX_COOKIE_VALUES`, each no
        longer than a digest), the ones that are not digests are left out and
        the others are merged (:meth:`~flask_firehose._digest.PushDigest.merge`),
        so a stray value, junk or a valid digest, cannot hide this app's own:
        it can only claim that a few more files were pushed (they then go out
        as hints). The cookie then written holds the merged digest with the
        new files.
        """
        header = _current_request().environ.get("HTTP_COOKIE")
        if not header:  # a new visitor: nothing to parse
            return self._empty
        if type(header) is not str or len(header) > _MAX_REMEMBERED_HEADER:
            return self._read(header)
        digest = self._by_header.get(header)
        if digest is None:
            digest = self._read(header)
            self._by_header.put(header, digest)
        return digest

    def _read(self, header: str) -> PushDigest:
        """The digest a ``Cookie`` *header* holds (see :meth:`load`)."""
        limit = self.format.max_chars  # a longer value is no digest: never kept, not even as a key
        texts = [t for t in cookie_values(header, self.cookie.name, MAX_COOKIE_VALUES) if 0 < len(t) <= limit]
        if len(texts) <= 1:
            return self._decoded(texts[0]) if texts else self._empty
        key = tuple(dict.fromkeys(texts))  # distinct, in order
        if len(key) == 1:
            return self._decoded(key[0])
        merged = self._merged.get(key)
        if merged is None:
            found = [digest for text in key if (digest := self._decoded(text)) is not self._empty]
            merged = PushDigest.merge(found, self.format) if found else self._empty
            self._merged.put(key, merged)
        return merged

    def _decoded(self, text: str) -> PushDigest:
        """The digest *text* encodes, or the empty one."""
        if not text or len(text) > self.format.max_chars:  # longer than any digest: not kept
            return self._empty
        # A client sends the same cookie page after page: its digest is kept
        # for the last few values (a value that does not decode, as empty).
        digest = self._loaded.get(text)
        if digest is None:
            try:
                digest = PushDigest.decode(text, self.format, remember=False)  # kept here
            except ValueError:
                digest = self._empty
            if not digest:
                digest = self._empty
            self._loaded.put(text, digest)
        return digest

    def admit(self, state: PushDigest, seen: Sequence[str], new: Sequence[str]) -> Sequence[str]:
        """Every new target: the digest makes room by itself."""
        return new

    def state_key(self, state: PushDigest) -> str:
        """The digest's own text: two equal cookies answer alike."""
        return state.encode()

    def save(self, state: PushDigest, seen: Sequence[str], added: Sequence[str], response: Response) -> None:
        """Set the cookie to the digest with *added*."""
        if not added:
            return
        secure = self.cookie.secure
        if secure is None:
            secure = _current_request().environ.get("wsgi.url_scheme") == "https"
        append_checked(response.headers, "Set-Cookie", self._set_cookie(state, tuple(added), secure))

    def _set_cookie(self, state: PushDigest, added: tuple[str, ...], secure: bool) -> str:
        """The ``Set-Cookie`` value for *state* with *added*. New visitors of
        a page all start empty and are pushed the same files: the result is
        remembered for the last few (state, files, secure) triples."""
        key = (state.encode(), added, secure)
        header = self._added.get(key)
        if header is None:
            value = state.add(added).encode()
            header = checked_value(f"{self.cookie.name}={value}{self._attributes[secure]}")
            self._added.put(key, header)
        return header
