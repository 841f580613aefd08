"""Where the links of a page's 103 were known from, for the demo's panel.

Firehose builds a 103 from the view's declared hints, the configured
preconnects, what its hint store learned from the endpoint's earlier
responses and the LCP image its visitors agreed on; the 103 itself does not
say which is which. The panel works it out after the response, from what
``flask firehose routes`` reads (the routes report: each endpoint's declared
rows, resolved as for a navigation, and its learned rows), by matching each
link's target:

``declared``
    a row the view, its blueprint or the app declared (``@early_hints``,
    ``declare_hints``);
``manifest``
    a declared row whose declaration is an ``AssetManifest`` entry;
``learned``
    a row the hint store learned for the endpoint (on any site);
``visitors``
    none of those, an image at ``fetchpriority=high``: the LCP image that
    visitors' reports agreed on (``FIREHOSE_LCP``), which the routes report
    does not list;
``preconnect``
    a ``rel=preconnect`` link (``FIREHOSE_PRECONNECT``);
``unknown``
    anything else (a declaration whose links change per request, say).

Read only when a page's panel is rendered, never on the request's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from flask import Flask

from flask_firehose._routes import EndpointHints, endpoint_hints
from flask_firehose._state import state_of
from flask_firehose.testing import ParsedLink

__all__ = ["SOURCES", "link_sources", "source_of"]

#: Each source as the panel names it.
SOURCES: Final = {
    "declared": "declared by the view",
    "manifest": "declared from a build manifest",
    "learned": "learned from earlier responses",
    "visitors": "LCP image learned from visitors",
    "preconnect": "configured preconnect",
    "unknown": "source not known to the demo",
}


def _target(text: str) -> str:
    """The target of a ``Link`` field value's first link (``<...>``)."""
    return text[1 : text.index(">")] if text.startswith("<") and ">" in text else text


def link_sources(app: Flask, endpoint: str | None) -> dict[str, str]:
    """Each target the routes report names for *endpoint*, mapped to
    ``declared``, ``manifest`` or ``learned`` (declared first, as the 103
    takes them). Empty when Firehose is not on *app* or *endpoint* is unknown."""
    state = state_of(app)
    if state is None or endpoint is None:
        return {}
    found: EndpointHints | None = next(
        (item for item in endpoint_hints(app, state).endpoints if item.endpoint == endpoint), None
    )
    if found is None:
        return {}
    sources: dict[str, str] = {}
    for row in found.declared:
        if row.link is not None:
            kind = "manifest" if row.source.startswith("AssetManifest.") else "declared"
            sources.setdefault(_target(row.link.text), kind)
    for row in found.learned or ():
        if row.link is not None:
            sources.setdefault(_target(row.link.text), "learned")
    return sources


def source_of(link: ParsedLink, known: Mapping[str, str]) -> str:
    """Where *link* of a 103 came from (a key of :data:`SOURCES`)."""
    if link.target in known:
        return known[link.target]
    if "preconnect" in link.rels:
        return "preconnect"
    if link.get("as") == "image" and link.get("fetchpriority") == "high":
        return "visitors"
    return "unknown"
