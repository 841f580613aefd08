"""What browsers do with a link: the one place that says whether Chromium and
Firefox use a preload as it is written.

Two questions, each decided once and asked by the 103 channel, ``firehose
probe`` and the lint alike:

* :func:`browser_takes`: do browsers act on this link *in a 103*? The 103
  channel keeps only those links; the probe names each link of a 103 they
  ignore, and why, through :func:`browser_takes_parsed`, which reads a link
  as it came off the wire and hands it to the same decision.
* :func:`preload_problem`: is a preload in any ``Link`` field fetched and
  then used (an ``as`` browsers know; ``crossorigin`` on a font)? The lint
  asks it of the links that went out, the probe of every link it saw.

A :class:`~flask_firehose.Link` is what Firehose sends; a
:class:`~flask_firehose._parsing.ParsedLink` is what the probe and the lint
read back. The decisions read links only: no request, no app.
"""

from __future__ import annotations

import re
from typing import Final, Literal, NamedTuple

from . import _grammar as grammar
from ._links import CROSSORIGIN_VALUES, DESTINATIONS, LINK_FIELDS, Link
from ._parsing import ParsedLink
from .errors import InvalidLinkError, InvalidURLError

__all__ = [
    "HINT_AS",
    "HINT_PARAMS",
    "HINT_RELS",
    "PreloadProblem",
    "browser_takes",
    "browser_takes_parsed",
    "preload_problem",
]

# What Chromium acts on in a 103, from its source:
# services/network/public/cpp/link_header_parser.cc drops a link with any
# parameter but rel, as, crossorigin, type and fetchpriority; with an `as`
# other than font/image/script/style/fetch (compared lower-cased); with a
# `crossorigin` other than bare, anonymous or use-credentials; with a `type`
# that is not a MIME type; or whose whole `rel` value (lower-cased, so
# "preload prefetch" fails) is not one it knows. Then
# content/browser/loader/navigation_early_hints_manager.cc preconnects for
# `preconnect` and fetches `preload` (only with an `as`) and `modulepreload`
# (dns-prefetch is parsed, not acted on). Firefox ESR 153 fetched every kind
# in e2e/test_hint_fidelity.py through the 103 too.

#: Relations browsers act on in a 103; a link must hold exactly one.
HINT_RELS: Final = frozenset({"preload", "modulepreload", "preconnect"})

#: ``as`` values Chromium's 103 parser knows; any other drops the link.
HINT_AS: Final = frozenset({"font", "image", "script", "style", "fetch"})

#: Parameters a 103 link may carry besides the ``rel``, ``as`` and
#: ``crossorigin`` a :class:`Link` has fields for.
HINT_PARAMS: Final = frozenset({"fetchpriority", "type"})

# net::IsValidTopLevelMimeType and a token subtype, no parameters
# (net::ParseMimeTypeWithoutParameter): what Chromium takes as `type`.
_MIME_TYPE: Final = re.compile(
    r"(?:application|audio|example|font|image|message|model|multipart|text|video|x-"
    + grammar.TOKEN.pattern
    + r")/"
    + grammar.TOKEN.pattern,
    re.IGNORECASE,
)


def browser_takes(link: Link) -> str | None:
    """``None`` when Chromium and Firefox act on *link* in a 103, else why
    they ignore it there (a short phrase, for logs and warnings).

    Pure: it reads the link only. A link a browser ignores in a 103 does
    nothing there but take the 103's budget; it still does its work in the
    final ``Link`` header.
    """
    if link.nopush:
        return "nopush makes browsers ignore a 103 link"
    if " " in link.rel:  # Chromium compares the whole value: "preload preload" is no "preload"
        return f"rel={link.rel!r} names several relations, which Chromium ignores in a 103"
    if link.rel not in HINT_RELS:
        return f"rel={link.rel} is not acted on in a 103"
    for name, value in link.params:
        if name == "type":
            if value is None or not _MIME_TYPE.fullmatch(value):
                return f"type={value} is not a MIME type Chromium takes in a 103"
        elif name not in HINT_PARAMS:
            return f"{name} is not taken in a 103"
    as_ = link.as_
    if link.rel == "preload" and as_ is None:
        return "preload without as"
    if as_ is not None and as_ not in HINT_AS:
        return f"as={as_} is not fetched from a 103"
    if link.rel == "modulepreload" and as_ not in (None, "script"):
        return f"modulepreload with as={as_} is not a module script"
    return None


def browser_takes_parsed(link: ParsedLink, *, nopush: bool | None = None) -> str | None:
    """:func:`browser_takes` for a link read from the wire: ``None`` when
    browsers act on it in a 103, else why not.

    :param nopush: ``False`` judges the link as a 103 would carry it
        (Firehose leaves ``nopush`` out there); ``None`` as it came.
    """
    made = _link_of(link, link.has("nopush") if nopush is None else nopush)
    return made if isinstance(made, str) else browser_takes(made)


def _link_of(link: ParsedLink, nopush: bool) -> Link | str:
    """*link* as a :class:`~flask_firehose.Link` (the form
    :func:`browser_takes` judges), or why a browser ignores it before it gets
    that far. A target or a parameter value a Link refuses is replaced by a
    stand-in: whether a browser takes a 103 link depends on its relation and
    parameters only."""
    rel = (link.get("rel") or "").lower()
    if not rel.strip():
        return "it has no rel"
    as_ = link.get("as")
    as_ = as_.lower() if as_ is not None else None
    if as_ is not None and as_ not in DESTINATIONS:
        return f"as={as_} is not fetched from a 103"
    crossorigin = (link.get("crossorigin") or "").lower() if link.has("crossorigin") else None
    if crossorigin is not None and crossorigin not in CROSSORIGIN_VALUES:
        return f"crossorigin={crossorigin} is not taken in a 103"
    params: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for name, value in link.params:
        if name in LINK_FIELDS and name not in seen:
            seen.add(name)
        elif name != "type" and value is not None and not grammar.TEXT.fullmatch(value):
            params.append((name, "?"))
        else:
            params.append((name, value))
    for target in (link.target, "/"):
        try:
            return Link(target, rel, as_, crossorigin, nopush, tuple(params))
        except InvalidURLError:
            continue
        except InvalidLinkError as exc:
            return f"it is no link a browser reads ({exc})"
    return "it is no link a browser reads"  # pragma: no cover - "/" is a valid target


class PreloadProblem(NamedTuple):
    """Why browsers will not use a preload as meant, in any ``Link`` field."""

    kind: Literal["no-as", "unknown-as", "font-without-crossorigin"]
    """``no-as``: no ``as``, the preload is ignored; ``unknown-as``: an
    ``as`` that is no destination (``stylesheet``, ``img``), ignored too;
    ``font-without-crossorigin``: fetched without CORS, so the page's own
    (CORS) request cannot use it and the font downloads twice."""
    as_: str | None
    """The ``as`` as written (``None`` when absent or bare)."""


def preload_problem(link: Link | ParsedLink) -> PreloadProblem | None:
    """Why browsers will not use the preload *link* as meant, or ``None``
    (also for any link that is no ``preload``). ``as`` is compared
    lower-cased, against the destinations a ``<link>`` preload may have
    (:data:`~flask_firehose._links.DESTINATIONS`)."""
    if "preload" not in link.rels:
        return None
    if isinstance(link, Link):
        as_, crossorigin = link.as_, link.crossorigin is not None
    else:
        as_, crossorigin = link.get("as"), link.has("crossorigin")
    if as_ is None:
        return PreloadProblem("no-as", None)
    destination = as_.lower()
    if destination not in DESTINATIONS:
        return PreloadProblem("unknown-as", as_)
    if destination == "font" and not crossorigin:
        return PreloadProblem("font-without-crossorigin", as_)
    return None
