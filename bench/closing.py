"""Knowing when the server has written a response's last byte (for the
benchmarks' access logs): the WSGI server closes the body then."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any


class _Closing:
    """A response body that counts what it yields and calls *done* with the
    count once the server closes it."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body, self._done, self._sent = body, done, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._sent)


def when_closed(environ: dict[str, Any], body: Any, done: Callable[[int], None]) -> Any:
    """*body*, made to call ``done(bytes yielded)`` when the server closes it.
    The server's own file wrapper (sendfile) is kept, its ``close`` hooked
    (its bytes are not counted: ``done(0)``)."""
    wrapper = environ.get("wsgi.file_wrapper")
    if isinstance(wrapper, type) and isinstance(body, wrapper) and hasattr(body, "close"):
        closing = body.close

        def close() -> None:
            try:
                closing()
            finally:
                done(0)

        body.close = close
        return body
    return _Closing(body, done)
