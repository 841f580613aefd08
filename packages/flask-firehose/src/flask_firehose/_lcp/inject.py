"""The LCP script tag, put into an HTML response.

One ``<script src async data-firehose-lcp nonce>`` goes before ``</head>``
(or the ``<body>`` that ends the head), or else before ``</body>``, or
nowhere; tags are found as the HTML tokenizer finds them (not inside a
script, a comment or an attribute value). Only a
response the server has whole is touched: a ``200`` that is not streamed nor
``direct_passthrough``, ``text/html`` in an ASCII-compatible charset the body
decodes in, with no ``Content-Encoding`` (a compressed body) and no ``ETag``
(a validator the new body would no longer match). ``Content-Length`` follows
the new body.

The page's Content Security Policy decides as the browser would: for each
enforced policy, the directive that governs a ``<script>`` element
(``script-src-elem``, else ``script-src``, else ``default-src``) must allow it,
by ``'self'`` (or ``*``) without ``'strict-dynamic'``, or by a nonce the tag
then carries. When no one nonce satisfies every policy that needs one, the
tag is not added (:func:`script_allowed` says why).
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterable
from typing import Final

from flask import Response

from .._page_scan_html import END, START, Tokens

__all__ = ["csp_nonce", "inject", "insert", "report_allowed", "script_allowed", "script_tag"]

# CSP3 §2.3.1: nonce-source = "'nonce-" base64-value "'"
_NONCE: Final = re.compile(r"'nonce-([A-Za-z0-9+/\-_]+={0,2})'")
_DIRECTIVES: Final = ("script-src-elem", "script-src", "default-src")
_CONNECT: Final = ("connect-src", "default-src")


def script_tag(src: str, token: str, nonce: str | None) -> str:
    """The tag, every attribute value escaped."""
    nonce_attr = f' nonce="{html.escape(nonce, quote=True)}"' if nonce is not None else ""
    return (
        f'<script src="{html.escape(src, quote=True)}" async'
        f' data-firehose-lcp="{html.escape(token, quote=True)}"{nonce_attr}></script>'
    )


def _sources(policy: str, names: tuple[str, ...] = _DIRECTIVES) -> list[str] | None:
    """The source list governing a script element under one policy, or
    ``None`` when the policy says nothing about scripts."""
    directives: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        tokens = directive.split()
        if tokens:
            # CSP3 §2.2: a repeated directive is ignored; names are ASCII case-insensitive.
            directives.setdefault(tokens[0].lower(), tokens[1:])
    for name in names:
        if name in directives:
            return directives[name]
    return None


def report_allowed(policies: Iterable[str]) -> bool:
    """Whether the enforced *policies* let the page send its report to its
    own origin (``connect-src``, else ``default-src``: ``'self'``, ``*`` or a
    scheme). Without it the browser drops the beacon and reports a
    violation on every sampled visit, so the script is better left out."""
    for field in policies:
        for policy in field.split(","):
            sources = _sources(policy, _CONNECT)
            if sources is None:
                continue
            lowered = {source.lower() for source in sources}
            if not lowered & {"'self'", "*", "https:", "http:"}:
                return False
    return True


def script_allowed(policies: Iterable[str]) -> tuple[bool, str | None]:
    """``(allowed, nonce)`` for a same-origin external script under the
    enforced *policies* (the ``Content-Security-Policy`` field values)."""
    needed: set[str] | None = None
    offered: str | None = None
    for field in policies:
        for policy in field.split(","):
            sources = _sources(policy)
            if sources is None:
                continue
            lowered = [source.lower() for source in sources]
            nonces = [match.group(1) for source in sources if (match := _NONCE.fullmatch(source))]
            by_origin = "'strict-dynamic'" not in lowered and ("'self'" in lowered or "*" in lowered)
            if nonces and offered is None:
                offered = nonces[0]
            if by_origin:
                continue
            needed = set(nonces) if needed is None else needed & set(nonces)
            if not needed:
                return False, None
    if needed is not None:
        return True, offered if offered in needed else sorted(needed)[0]
    return True, offered


def csp_nonce(response: Response) -> tuple[bool, str | None]:
    """:func:`script_allowed` under *response*'s enforced policies, and
    ``(False, None)`` when they do not let the report go (:func:`report_allowed`)."""
    policies = response.headers.getlist("Content-Security-Policy")
    if not report_allowed(policies):
        return False, None
    return script_allowed(policies)


def _ascii_compatible(charset: str) -> bool:
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        return False
    try:
        return "</head></body>".encode(codec.name) == b"</head></body>"
    except UnicodeError:
        return False


def insert(body: bytes, tag: bytes) -> bytes | None:
    """*body* with *tag* before its ``</head>`` (or the ``<body>`` that ends
    the head), else before its last ``</body>``; ``None`` when it has
    neither. Tags are found as the HTML tokenizer finds them: a ``</head>``
    inside a script's text, a comment or an attribute value is not one.
    *body* is in an ASCII-compatible charset, read as Latin-1 so that
    offsets in the text are offsets in the bytes."""
    tokens = Tokens(body.decode("latin-1"))
    last_body_end = None
    for kind, name, _, _ in tokens:
        if (kind == END and name == "head") or (kind == START and name == "body"):
            return body[: tokens.start] + tag + body[tokens.start :]
        if kind == END and name == "body":
            last_body_end = tokens.start
    if last_body_end is None:
        return None
    return body[:last_body_end] + tag + body[last_body_end:]


def injectable(response: Response) -> str | None:
    """Why *response* may not be touched, or ``None`` when it may."""
    if response.status_code != 200:
        return "not a 200"
    if response.is_streamed or response.direct_passthrough:
        return "streamed"
    if response.mimetype != "text/html":
        return "not text/html"
    if "Content-Encoding" in response.headers:
        return "encoded"
    if "ETag" in response.headers:
        return "has an ETag"
    return None


def inject(response: Response, src: str, token: str) -> str | None:
    """Put the script tag into *response*; ``None`` when done, else the
    reason it was not (one short phrase)."""
    reason = injectable(response)
    if reason is not None:
        return reason
    allowed, nonce = csp_nonce(response)
    if not allowed:
        return "the Content-Security-Policy allows no same-origin script (nor a nonce) or no report to the origin"
    charset = response.mimetype_params.get("charset", "utf-8")
    if not _ascii_compatible(charset):
        return f"charset {charset!r} is not ASCII-compatible"
    body = response.get_data()
    try:
        body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return f"the body is not {charset}"
    changed = insert(body, script_tag(src, token, nonce).encode(charset, "xmlcharrefreplace"))
    if changed is None:
        return "no </head> or </body>"
    response.set_data(changed)
    response.content_length = len(changed)
    return None
