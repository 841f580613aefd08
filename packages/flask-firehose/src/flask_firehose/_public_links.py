"""What may stand in every visitor's 103: public links, checked whole.

A learned hint, or one read back from a hint store, goes to every client
that asks for its page, so it must say nothing about any one request: a
same-origin file under a public prefix, and parameters whose values cannot
carry a URL or a request's data. :func:`is_public_link` is that rule, used
for learning (:mod:`flask_firehose._learning`), for every link a store hands
back, and for the final header of an app behind a CDN, which replays that
header to every later visitor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, TypeGuard

from flask import Flask

from ._links import CROSSORIGIN_VALUES, DESTINATIONS, Link, encode_target
from ._paths import is_plain_path
from ._requests import is_static_endpoint

__all__ = ["MAX_TARGET", "is_public_asset_target", "is_public_link", "static_prefixes"]

# One cache-busting version and nothing else: "v=3f9a1c", "version=1.2.3".
_VERSION_QUERY: Final = re.compile(r"(?:v|ver|version|h|hash|rev|build)=[A-Za-z0-9._\-]{1,64}")

#: Longest target a learned or stored link may have.
MAX_TARGET: Final = 2048

# RFC 6838 §4.2 Naming Requirements (a media type with no parameter)
#   type-name = restricted-name ; subtype-name = restricted-name
#   restricted-name = restricted-name-first *126restricted-name-chars
#   restricted-name-first = ALPHA / DIGIT
#   restricted-name-chars = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "-" / "^" / "_" / "." / "+"
_MEDIA_TYPE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}")
_FETCH_PRIORITIES: Final = frozenset({"high", "low", "auto"})
_PUBLIC_RELS: Final = frozenset({"preload", "modulepreload"})


def is_public_asset_target(target: str, prefixes: Sequence[str]) -> bool:
    """Whether *target* is a plain same-origin file path under one of
    *prefixes* (each ending in ``/``), with no query but a version."""
    path, _, query = target.partition("?")
    if query and not _VERSION_QUERY.fullmatch(query):
        return False
    return is_plain_path(path) and any(path.startswith(prefix) for prefix in prefixes)


def static_prefixes(app: Flask) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The URL prefixes of *app*'s static routes (the app's and the
    blueprints'), each ending in ``/``; and the endpoints of those left out
    because they sit at the site root."""
    kept: list[str] = []
    refused: list[str] = []
    for rule in app.url_map.iter_rules():
        if is_static_endpoint(rule.endpoint):
            prefix = rule.rule.split("<", 1)[0]
            if prefix in ("", "/"):
                refused.append(rule.endpoint)
                continue
            try:  # written as the links it must match are: percent-encoded
                prefix = encode_target(prefix if prefix.endswith("/") else prefix + "/")
            except Exception:
                continue
            if prefix not in kept:
                kept.append(prefix)
    return tuple(kept), tuple(refused)


def _public_param(name: str, value: object) -> bool:
    if type(value) is not str:
        return False
    if name == "type":
        return _MEDIA_TYPE.fullmatch(value) is not None
    if name == "fetchpriority":
        return value.lower() in _FETCH_PRIORITIES
    return False


def is_public_link(link: object, prefixes: Sequence[str]) -> TypeGuard[Link]:
    """Whether *link*, whole, may be learned and stand in every visitor's 103.

    Its target passes :func:`is_public_asset_target` (and is at most
    :data:`MAX_TARGET` characters); its ``rel`` is exactly ``preload`` or
    ``modulepreload``; ``as`` is absent or a known destination, ``crossorigin``
    absent, empty, ``anonymous`` or ``use-credentials``, and ``nopush`` a flag;
    its other parameters are at most one ``type`` (a MIME type,
    ``font/woff2``) and one ``fetchpriority`` (``high``, ``low``, ``auto``).
    Any other parameter makes it not public: its value could carry a URL or
    one request's data. Only a :class:`~flask_firehose.Link` itself (no
    subclass, whose fields may say one thing and serialize another) can be
    public.

    :param prefixes: where public files lie, each ending in ``/``.
    """
    if type(link) is not Link:
        return False
    rel, as_, crossorigin, params, target = link.rel, link.as_, link.crossorigin, link.params, link.target
    if type(rel) is not str or rel not in _PUBLIC_RELS:
        return False
    if as_ is not None and (type(as_) is not str or as_ not in DESTINATIONS):
        return False
    if crossorigin is not None and (type(crossorigin) is not str or crossorigin not in CROSSORIGIN_VALUES):
        return False
    if type(link.nopush) is not bool or type(params) is not tuple or len(params) > 2:
        return False
    seen = set()
    for item in params:
        if type(item) is not tuple or len(item) != 2:
            return False
        name, value = item
        if type(name) is not str or name in seen or not _public_param(name, value):
            return False
        seen.add(name)
    return type(target) is str and len(target) <= MAX_TARGET and is_public_asset_target(target, prefixes)
