"""The report view: what a visitor's LCP report must be to count.

A report is accepted (``204``) only when every check passes, in this order:

1. ``Sec-Fetch-Site: same-origin``, ``Sec-Fetch-Dest: empty`` and an
   ``Origin`` equal to the request's own ``scheme://host`` (``403``);
2. ``Content-Type: application/json`` (``415``), a body of at most 8 kB
   (``413``), a JSON object with ``t`` (a string), ``w`` (an int, 1 to
   100000), ``u`` (a string) and ``v`` (a bool) (``400``);
3. the client (a keyed hash of ``REMOTE_ADDR``) had no report accepted in the
   last ``interval`` seconds (``429``);
4. the token verifies for this app and site, unexpired (``403``);
5. the key had fewer than ``per_minute`` reports accepted this minute
   (``429``);
6. the viewport class is not agreed already (``409``);
7. ``u`` is ``""``, or an absolute URL of the request's own origin whose path
   and query are among the images the token names (``403``);
8. the store had not seen the token's id (``409``).

An image outside the initial viewport (``v`` false) counts as no image for
its class (``""``). Every refusal is one line of text. A store that fails
goes through the failure policy and the answer is ``503``; the view never
raises otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from flask import Request, Response, current_app

from . import tokens
from .agreement import TEXT
from .limits import ClientLimiter, KeyLimiter, client_id

__all__ = ["MAX_BODY", "Rejected", "Report", "Reports", "check_headers", "parse_body", "report_url", "token_context"]

#: The largest report body read, in bytes.
MAX_BODY: Final = 8192
_MAX_WIDTH: Final = 100_000
_MAX_URL: Final = 4096


class Rejected(Exception):
    """A refused report: the HTTP *status* and a one-line *reason*."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Report:
    """A report's members, checked for shape."""

    token: str
    width: int
    url: str
    in_viewport: bool


def own_origin(req: Request) -> str:
    """The request's own ``scheme://host``, lower case."""
    return f"{req.scheme}://{req.host}".lower()


def token_context(req: Request) -> str:
    """What a token is bound to besides the secret: the app's name and the
    site's root URL (``scheme://host/script-root/``)."""
    return f"{current_app.name} {req.scheme}://{req.host}{req.script_root}/"


def check_headers(req: Request) -> None:
    """The Fetch Metadata and ``Origin`` a same-origin beacon carries."""
    if req.headers.get("Sec-Fetch-Site") != "same-origin":
        raise Rejected(403, "Sec-Fetch-Site must be same-origin")
    if req.headers.get("Sec-Fetch-Dest") != "empty":
        raise Rejected(403, "Sec-Fetch-Dest must be empty")
    origin = req.headers.get("Origin")
    if origin is None or origin.lower() != own_origin(req):
        raise Rejected(403, "Origin must be this site's own")


def read_body(req: Request) -> bytes:
    """At most :data:`MAX_BODY` bytes of JSON, or the refusal."""
    if req.mimetype != "application/json":
        raise Rejected(415, "Content-Type must be application/json")
    length = req.content_length
    if length is not None and length > MAX_BODY:
        raise Rejected(413, f"body over {MAX_BODY} bytes")
    body = req.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise Rejected(413, f"body over {MAX_BODY} bytes")
    return body


def parse_body(body: bytes) -> Report:
    """The report in *body*, checked for shape (``400`` otherwise)."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        raise Rejected(400, "body is not JSON") from None
    if not isinstance(data, dict):
        raise Rejected(400, "body is not a JSON object")
    token, width, url, seen = data.get("t"), data.get("w"), data.get("u"), data.get("v")
    if not isinstance(token, str) or not token:
        raise Rejected(400, "t must be the page's token")
    if type(width) is not int or not 1 <= width <= _MAX_WIDTH:
        raise Rejected(400, f"w must be an int from 1 to {_MAX_WIDTH}")
    if not isinstance(url, str) or len(url) > _MAX_URL:
        raise Rejected(400, "u must be a URL string")
    if type(seen) is not bool:
        raise Rejected(400, "v must be true or false")
    return Report(token, width, url, seen)


def report_url(url: str, origin: str, images: Sequence[str]) -> str:
    """The sample a reported LCP *url* makes: ``""`` for text, else its path
    and query, which must be one of *images*, at *origin* (``403`` otherwise)."""
    if url == TEXT:
        return TEXT
    if not url.isascii() or not url.isprintable() or " " in url:
        raise Rejected(403, "u is not a URL the page referenced")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        raise Rejected(403, "u is not a URL the page referenced") from None
    del port
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}".lower() != origin:
        raise Rejected(403, "u is not same-origin")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if target not in images:
        raise Rejected(403, "u is not an image the page referenced")
    return target


class Reports:
    """The report view of one app.

    :param secret: the app's secret key, read when a report arrives.
    :param fallbacks: its older keys (``SECRET_KEY_FALLBACKS``).
    :param breakpoints: the viewport breakpoints.
    :param done: the classes of a key already agreed.
    :param record: keeps a sample; ``True`` kept, ``False`` a replayed id,
        ``None`` the store failed (already reported through the failure policy).
    """

    def __init__(
        self,
        *,
        secret: Callable[[], str | bytes | None],
        breakpoints: tuple[int, ...],
        done: Callable[[str], frozenset[int]],
        record: Callable[[str, str, str, int, str], bool | None],
        clients: ClientLimiter | None = None,
        keys: KeyLimiter | None = None,
    ) -> None:
        self._secret = secret
        self.breakpoints = breakpoints
        self._done = done
        self._record = record
        self.clients = clients if clients is not None else ClientLimiter()
        self.keys = keys if keys is not None else KeyLimiter()

    def respond(self, req: Request) -> Response:
        """The answer to one report."""
        try:
            self._accept(req)
        except Rejected as refused:
            return Response(refused.reason + "\n", refused.status, mimetype="text/plain")
        return Response(status=204)

    def _accept(self, req: Request) -> None:
        check_headers(req)
        report = parse_body(read_body(req))
        secret = self._secret()
        if not secret:
            raise Rejected(403, "this app issues no tokens (no secret key)")
        client = client_id(secret, str(req.remote_addr or ""))
        if not self.clients.allows(client):
            raise Rejected(429, "one report per client at a time")
        fallbacks = current_app.config.get("SECRET_KEY_FALLBACKS") or []
        try:
            payload = tokens.verify([*fallbacks, secret], token_context(req), report.token)
        except tokens.TokenError as exc:
            raise Rejected(403, exc.reason) from None
        viewport = tokens.viewport_class(report.width, self.breakpoints)
        if viewport in self._done(payload.key):
            raise Rejected(409, "this viewport class is settled")
        url = report_url(report.url, own_origin(req), payload.images)
        if not report.in_viewport:
            url = TEXT
        if not self.keys.allows(payload.key):
            raise Rejected(429, "too many reports for this page")
        # Only what the store keeps is counted: replays spend nothing.
        kept = self._record(payload.key, payload.id, client, viewport, url)
        if kept is None:
            raise Rejected(503, "the store is unavailable")
        if not kept:
            raise Rejected(409, "token already used")
        self.keys.spend(payload.key)
        self.clients.spend(client)
