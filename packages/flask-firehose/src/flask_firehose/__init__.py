"""Flask-Firehose: tell browsers and proxies what a page needs, early.

``push(url)`` in a view or template adds a ``Link: <url>; rel=preload`` to the
response, which pushing proxies (nginx 1.22-1.24 with ``http2_push_preload``,
Apache, h2o) turn into HTTP/2 pushes and browsers use as preload hints.
"""

from __future__ import annotations

from .errors import InvalidAsError, InvalidAttributeError, InvalidLinkError, InvalidURLError
from .extension import Firehose, push
from .links import Link
from .parsing import ParsedLink, parse_link_header
from .tracking import Connector, PushConnector, SessionConnector

__version__ = "1.0.0.dev0"

__all__ = [
    "Connector",
    "Firehose",
    "InvalidAsError",
    "InvalidAttributeError",
    "InvalidLinkError",
    "InvalidURLError",
    "Link",
    "ParsedLink",
    "PushConnector",
    "SessionConnector",
    "parse_link_header",
    "push",
]
