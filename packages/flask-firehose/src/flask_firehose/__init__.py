"""Flask-Firehose: tell browsers and proxies what a page needs, early.

``push(url)`` in a view or template adds a ``Link: <url>; rel=preload`` to the
response, which pushing proxies (nginx 1.22-1.24 with ``http2_push_preload``,
Apache, h2o) turn into HTTP/2 pushes and browsers use as preload hints. Hints
declared with :func:`early_hints` or learned from earlier responses go out in
a 103 Early Hints response before the view runs, where the server can send one.
Speculation Rules declared with :meth:`Firehose.speculate` or :func:`speculation`
let the browser fetch or prerender the next page before the click.

Everything users call is imported from here; the modules whose names start
with an underscore are internal. :mod:`flask_firehose.testing` holds helpers
for testing apps, :mod:`flask_firehose.errors` the exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _compat
from ._connectors import PushConnector, SessionConnector
from ._declared import early_hints
from ._extension import Firehose
from ._hint_store import HintStore, MemoryHintStore
from ._links import Link
from ._manifest import AssetManifest
from ._push import push
from ._speculation.no_vary_search import TRACKING_PARAMETERS, no_vary_search
from ._speculation.views import is_speculative, no_speculation, speculation
from ._version import __version__ as __version__
from .errors import (
    ConfigurationError,
    FirehoseError,
    FirehoseWarning,
    InvalidAsError,
    InvalidAttributeError,
    InvalidLinkError,
    InvalidURLError,
    ManifestError,
)

if TYPE_CHECKING:  # imported on first use: they need the ``redis`` extra
    from ._redis import RedisConnector, RedisHintStore


__all__ = [
    "TRACKING_PARAMETERS",
    "AssetManifest",
    "ConfigurationError",
    "Firehose",
    "FirehoseError",
    "FirehoseWarning",
    "HintStore",
    "InvalidAsError",
    "InvalidAttributeError",
    "InvalidLinkError",
    "InvalidURLError",
    "Link",
    "ManifestError",
    "MemoryHintStore",
    "PushConnector",
    "RedisConnector",
    "RedisHintStore",
    "SessionConnector",
    "early_hints",
    "is_speculative",
    "no_speculation",
    "no_vary_search",
    "push",
    "speculation",
]


def __getattr__(name: str) -> Any:
    if name in ("RedisConnector", "RedisHintStore"):
        from . import _redis

        return getattr(_redis, name)
    return _compat.moved(__name__, name)
