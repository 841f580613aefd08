"""Flask-Firehose: tell browsers and proxies what a page needs, early.

``push(url)`` in a view or template adds a ``Link: <url>; rel=preload`` to the
response, which pushing proxies (nginx 1.22-1.24 with ``http2_push_preload``,
Apache, h2o) turn into HTTP/2 pushes and browsers use as preload hints. Hints
declared with :func:`early_hints` or learned from earlier responses go out in
a 103 Early Hints response before the view runs, where the server can send one.
"""

from __future__ import annotations

from .declared import early_hints
from .errors import (
    ConfigurationError,
    FirehoseWarning,
    InvalidAsError,
    InvalidAttributeError,
    InvalidLinkError,
    InvalidURLError,
)
from .extension import Firehose, push
from .learning import HintStore, MemoryHintStore
from .links import Link
from .parsing import ParsedLink, parse_link_header
from .tracking import Connector, PushConnector, SessionConnector

__version__ = "1.0.0.dev0"

__all__ = [
    "ConfigurationError",
    "Connector",
    "Firehose",
    "FirehoseWarning",
    "HintStore",
    "InvalidAsError",
    "InvalidAttributeError",
    "InvalidLinkError",
    "InvalidURLError",
    "Link",
    "MemoryHintStore",
    "ParsedLink",
    "PushConnector",
    "SessionConnector",
    "early_hints",
    "parse_link_header",
    "push",
]
