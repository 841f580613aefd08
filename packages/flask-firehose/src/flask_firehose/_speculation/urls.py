"""The URLs Speculation Rules are sent under: the request's script root as a
URL path, and the ``Speculation-Rules`` field.

The script root comes from ``SCRIPT_NAME``: a mount point
(``DispatcherMiddleware``), the server's configuration, or ``X-Forwarded-Prefix``
through Werkzeug's ``ProxyFix``, which a client or a misconfigured front may set
to anything. Rules are sent only under a script root that is a plain path; the
field is then one RFC 9651 sf-string naming a path on the page's origin.
"""

from __future__ import annotations

import re
from typing import Final

from flask import Request

from .._failure import FailurePolicy
from .._paths import is_plain_path
from .patterns import canonical_path

__all__ = ["MAX_ROOT", "header_value", "request_root", "url_root"]

#: The longest script root (as a URL path) rules are sent under.
MAX_ROOT: Final = 1024
# What a script root may hold: RFC 3986 pchar and "/" without "%" (a script
# root is decoded: a "%" in it is a literal one, or a client's trick) and ";"
# (a parameter), and any character outside ASCII (percent-encoded as UTF-8).
# Nothing the URL parser strips, folds or reads as another origin: no control
# character, space, "\" (a "/" to a browser), "?" or "#".
_ROOT_CHARS: Final = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,=:@/\u0080-\U0010ffff]*")
# RFC 9651 §3.3.3: sf-string = DQUOTE *( unescaped / "%" / escaped ) DQUOTE,
# unescaped = %x20-21 / %x23-5B / %x5D-7E; a path here holds none of '"', "\".
_SF_PATH: Final = re.compile(r"/[\x21\x23-\x5b\x5d-\x7e]*")


def url_root(script_root: str) -> str | None:
    """The request's script root as the URL path the browser would send for
    it (``""`` at the site's root), or ``None`` when it is not a plain path:
    a dot or empty segment (``//evil.example`` would make every URL
    protocol-relative), a character outside ``_ROOT_CHARS``, a lone
    surrogate or U+FFFD (bytes that were not UTF-8), or over ``MAX_ROOT``."""
    if not script_root:
        return ""
    if not _ROOT_CHARS.fullmatch(script_root) or "\ufffd" in script_root:
        return None
    try:
        script_root.encode()
    except UnicodeEncodeError:
        return None
    path = canonical_path(script_root)
    if len(path) > MAX_ROOT or not is_plain_path(path):
        return None
    return path


def header_value(path: str) -> str | None:
    """The ``Speculation-Rules`` field naming *path*: an RFC 9651 list of one
    sf-string, or ``None`` when *path* is not a plain same-origin path."""
    if not _SF_PATH.fullmatch(path) or not is_plain_path(path):
        return None
    return f'"{path}"'


def request_root(req: Request, failures: FailurePolicy) -> str | None:
    """The request's script root as a URL path, or ``None`` (logged, at most
    once in a while) when it is not one to send rules under."""
    root = url_root(req.script_root)
    if root is None:
        failures.warn_once_in_a_while(
            "speculation-script-root",
            "no Speculation Rules for a request whose script root is not a plain path (a mount point or "
            "X-Forwarded-Prefix): %s",
            _shown(req.script_root),
        )
    return root


def _shown(value: str) -> str:
    """*value* for a log line: escaped, and cut short."""
    text = ascii(value)
    return text if len(text) <= 120 else text[:117] + "..."
