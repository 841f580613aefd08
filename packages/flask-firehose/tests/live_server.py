"""A real server for the tests that read what crosses the wire: Werkzeug's
threaded development server (a thread per request, as ``flask run``) on a
free port of 127.0.0.1, for one block."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server

__all__ = ["serving"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


@contextmanager
def serving(app: WSGIApp) -> Iterator[int]:
    """Serve *app* for the block's duration; yield its port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
