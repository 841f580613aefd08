"""Whose learned hints these are: the key a hint store counts a page under.

A learned hint belongs to an app, a site and an endpoint, never to the
endpoint alone. Two apps sharing one store (one Redis for several services),
one app answering for several hosts (tenants on domains of their own) and one
app mounted at two script roots each learn alone: what ``tenant-a.example``
pushes never reaches a visitor of ``tenant-b.example``.

The key is ``"<app> <site> <endpoint>"``:

* *app*: the app's namespace (:func:`namespace_for`), percent-encoded, so it
  holds no space: ``FIREHOSE_LEARN_NAMESPACE``, else ``app.name`` (the import
  name), with ``#2``, ``#3``... for the second, third app of that name built
  in one process. So the workers of one app (one app per process) share what
  they learn, and two apps of one factory alive in one process do not;
* *site*: the request's host, lower case, without the scheme's default port,
  then the script root, percent-encoded (``shop.example/app``,
  ``127.0.0.1:8443``). A ``Host`` that is not an RFC 3986 ``host[:port]``
  gives no site, so nothing is learned or served for that request;
* *endpoint*: last, as Flask names it (it may hold spaces).

Stores treat keys as opaque strings; :func:`split_key` reads one back.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import threading
from collections import Counter
from typing import Final
from urllib.parse import quote, unquote

from ._paths import is_plain_path
from ._targets import encode_target

__all__ = ["namespace_for", "scoped_key", "site_of", "split_key", "written_root"]

# How many apps of each name this process built; a count, not the apps.
_built: Counter[str] = Counter()
_built_lock = threading.Lock()


def namespace_for(app_name: str, configured: str | None) -> str:
    """The namespace of an app's learned hints: *configured*
    (``FIREHOSE_LEARN_NAMESPACE``) when given; else *app_name*, and for the
    second, third... app of that name built in this process ``name#2``,
    ``name#3``: a worker builds its app once, so the workers of one app agree,
    while two apps of one factory alive at once (tests, two configurations)
    never share. Called once per ``init_app``."""
    if configured is not None:
        return configured
    with _built_lock:
        _built[app_name] += 1
        count = _built[app_name]
    return app_name if count == 1 else f"{app_name}#{count}"


# RFC 3986 §3.2.2 Host and §3.2.3 Port (IPvFuture and zone identifiers left out)
#   host        = IP-literal / IPv4address / reg-name
#   IP-literal  = "[" ( IPv6address / IPvFuture ) "]"
#   reg-name    = *( unreserved / pct-encoded / sub-delims )
#   unreserved  = ALPHA / DIGIT / "-" / "." / "_" / "~"
#   sub-delims  = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
#   port        = *DIGIT
# An IPv4address is also a reg-name. The reg-name must not be empty here.
_HOST_PORT: Final = re.compile(
    r"(?P<host>\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\]"
    r"|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)"
    r"(?::(?P<port>[0-9]{0,5}))?"
)
#: Longest host[:port] accepted (a DNS name is at most 253 characters).
MAX_HOST: Final = 260
#: Longest script root accepted, decoded.
MAX_ROOT: Final = 1024
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# What a script root keeps unencoded in a site: RFC 3986 pchar and "/", but
# "%" (so the encoding is unambiguous) and never a space.
_ROOT_SAFE: Final = "/!$&'()*+,;=:@"


def site_of(host: str, scheme: str, script_root: str) -> str | None:
    """The site a request is on, or ``None`` when *host* is not a valid
    ``host[:port]`` (RFC 3986: a reg-name, an IPv4 address or a bracketed
    IPv6 address, then a port of at most 65535).

    The host is lower-cased, the default port of *scheme* (80 for ``http``,
    443 for ``https``) and an empty port are removed, and *script_root*
    follows, percent-encoded: ``site_of("Shop.Example:443", "https", "/app")``
    is ``"shop.example/app"``.
    """
    if not isinstance(host, str) or not isinstance(script_root, str) or len(host) > MAX_HOST:
        return None
    found = _HOST_PORT.fullmatch(host)
    if found is None:
        return None
    name = found.group("host").lower()
    ipv6 = found.group("ipv6")
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
    port = found.group("port")
    if port:
        number = int(port)
        if not 0 < number <= 65535:
            return None
        if number != _DEFAULT_PORTS.get(scheme):
            name = f"{name}:{number}"
    if len(script_root) > MAX_ROOT:
        return None
    try:
        root = quote(script_root.rstrip("/"), safe=_ROOT_SAFE)
    except UnicodeError:  # a lone surrogate: no URL holds one
        return None
    return name + root


@functools.lru_cache(maxsize=64)
def _quoted_name(app_name: str) -> str:
    return quote(app_name, safe="")


def scoped_key(app_name: str, site: str, endpoint: str) -> str:
    """The key a hint store counts *endpoint* of app *app_name* on *site* under.

    :raises ValueError: a *site* that is empty or holds a space (make one
        with :func:`site_of`).
    """
    if not site or " " in site:
        raise ValueError(f"site must be a non-empty value of site_of(), without spaces: {site!r}")
    return f"{_quoted_name(app_name)} {site} {endpoint}"


def split_key(key: str) -> tuple[str, str, str] | None:
    """``(app_name, site, endpoint)`` of a key :func:`scoped_key` made, or
    ``None`` for any other string (a key written before keys were scoped)."""
    if not isinstance(key, str):
        return None
    parts = key.split(" ", 2)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    return unquote(parts[0]), parts[1], parts[2]


def written_root(script_root: str) -> str | None:
    """*script_root* as link targets write it (``/caf%C3%A9``); ``None``
    when no plain path starts with it."""
    if not script_root:
        return ""
    try:
        written = encode_target(script_root)
    except Exception:
        return None
    return written if is_plain_path(written + "/", folder=True) else None
