"""What a build manifest's file values may be, and what one entry needs.

Both readers (:mod:`._manifest_vite`, :mod:`._manifest_webpack`) turn a
manifest into a :class:`Build`: each entry's files as URLs, in the order the
page uses them. A file value comes from a file on disk that a build tool (or
anyone who can write there) made, so it is checked before it becomes a URL: a
Vite value must be a plain relative path (no ``/`` in front, no ``..``
segment, no backslash, no control character, no scheme); a webpack value,
which already carries its ``publicPath``, may also be a path on this origin or
an ``http(s)`` URL, under the same rules for its path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from ._targets import encode_target
from .errors import InvalidURLError, ManifestError

__all__ = [
    "MAX_MANIFEST_BYTES",
    "Build",
    "EntryFiles",
    "check_file",
    "known_names",
    "load_json",
    "unknown_name",
]

#: Largest manifest read (a site with thousands of chunks writes a few MB).
MAX_MANIFEST_BYTES: Final = 16 * 1024 * 1024

#: Longest file value taken (a Link header carries URLs up to 4 kB).
_MAX_FILE: Final = 2048

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HTTP_ORIGIN: Final = re.compile(r"^https?://[^/?#]+(?=/)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class EntryFiles:
    """The files one page needs for some entries, as URLs, in order.

    :param styles: stylesheets, in cascade order.
    :param scripts: what the page runs: module entry scripts (Vite) or every
        script of the entry in execution order (webpack).
    :param imports: modules the scripts import statically (Vite), in the
        order Vite's own HTML plugin preloads them.
    """

    styles: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()


class Build(Protocol):
    """One reading of a manifest."""

    #: The manifest file it was read from.
    path: str

    def files(self, name: str) -> EntryFiles:
        """The files of the entry *name*.

        :raises ManifestError: for a name that is not an entry.
        """

    def url(self, name: str) -> str:
        """The URL of the file the manifest names *name*.

        :raises ManifestError: for a name it does not hold.
        """

    def check_entry(self, name: str) -> None:
        """:raises ManifestError: unless *name* is an entry :meth:`files` takes."""


def load_json(data: bytes, path: str) -> object:
    """The JSON document *data* read from the manifest *path*.

    :raises ManifestError: for bytes that are not JSON (or too deeply nested).
    """
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        reason = str(exc)[:120] if isinstance(exc, ValueError) else "nested too deeply"
        raise ManifestError(f"build manifest {path!r} is not JSON: {reason}", path, path) from None


def check_file(value: object, path: str, *, relative: bool = True) -> str:
    """*value* checked as a manifest's file value, and percent-encoded where
    a URL needs it.

    :param relative: only a relative path (Vite's ``file``); otherwise also a
        path-absolute reference or an ``http(s)`` URL (webpack's, with its
        ``publicPath``).
    :raises ManifestError: naming the value, for anything else.
    """
    if not isinstance(value, str) or not value:
        raise ManifestError(f"build manifest {path!r}: a file value is {value!r}, not a file name", value, path)
    if len(value) > _MAX_FILE:
        raise ManifestError(
            f"build manifest {path!r}: a file value is {len(value):,} characters long: {value[:60]!r}...", value, path
        )
    rest = value
    if not relative:
        origin = _HTTP_ORIGIN.match(value)
        if origin:
            rest = value[origin.end() :]
        if rest.startswith("/") and not rest.startswith("//"):
            rest = rest[1:]
    why = _why_not_plain(rest)
    if why:
        raise ManifestError(f"build manifest {path!r}: file value {value!r} {why}", value, path)
    try:
        return encode_target(value)
    except InvalidURLError as exc:
        raise ManifestError(f"build manifest {path!r}: file value {value!r} is not a URL: {exc}", value, path) from None


def _why_not_plain(rest: str) -> str | None:
    """Why *rest* is not a plain relative path, or ``None``."""
    if _CONTROL.search(rest):
        return "holds a control character"
    if "\\" in rest:
        return "holds a backslash"
    if rest.startswith("/"):
        return "is absolute (a file value is relative to the build's output folder)"
    if _SCHEME.match(rest):
        return "names a scheme (a file value is relative to the build's output folder)"
    segments = rest.split("?", 1)[0].split("#", 1)[0].split("/")
    if any(segment in ("..", ".") for segment in segments) or any(
        segment.lower() in ("%2e%2e", ".%2e", "%2e.") for segment in segments
    ):
        return "holds a '..' or '.' segment"
    return None


def known_names(names: Mapping[str, object] | list[str], keep: Callable[[str], bool] = lambda _: True) -> str:
    """A few of *names* (those *keep* accepts), for an error message."""
    picked = [name for name in names if keep(name)][:5]
    return ", ".join(repr(name) for name in picked) if picked else "none"


def unknown_name(what: str, name: object, path: str, known: str) -> ManifestError:
    """The error for a name the manifest *path* does not hold."""
    shown = name if isinstance(name, str) and len(name) <= 200 else f"{str(name)[:200]}..."
    return ManifestError(f"build manifest {path!r} has no {what} {shown!r} (it has {known})", name, path)
