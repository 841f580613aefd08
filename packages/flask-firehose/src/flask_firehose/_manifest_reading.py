"""Reading a build manifest file: once, at first use, and again when it changes.

A :class:`ManifestFile` looks at the file's modification time and size (and
those of the import map Vite may write beside it) no more than once a second,
so a development rebuild is picked up without a restart and a busy app does
not stat the file on every request. A reading that failed (a missing file, a
half-written one) is remembered with the file's state, so the same broken file
is not read again until it changes. One lock makes threads share one reading.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ._links import Link
from ._manifest_files import MAX_MANIFEST_BYTES, Build, load_json
from .errors import ManifestError

__all__ = ["IMPORTMAP_NAME", "RECHECK", "ManifestFile", "Reading", "importmap_path"]

#: Seconds between two looks at the manifest file's modification time.
RECHECK: Final = 1.0

#: Where Vite 8's ``build.chunkImportMap`` writes the import map by default.
IMPORTMAP_NAME: Final = "importmap.json"

#: The monotonic clock the rechecks go by (replaceable in tests).
_now: Callable[[], float] = time.monotonic

#: Turns a manifest's JSON, its path and the import map's text into a build.
Parse = Callable[[object, str, "str | None"], Build]


@dataclass(frozen=True, slots=True)
class Reading:
    """A manifest as read at one modification time, and what was worked out
    from it (by entry names: their links, their tags)."""

    build: Build
    links: dict[tuple[str, ...], tuple[Link, ...]] = field(default_factory=dict)
    tags: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = field(default_factory=dict)


class ManifestFile:
    """The manifest at *path*, parsed by *parse*; with *importmap*, the
    import map file read along with it (``None``: none)."""

    def __init__(self, path: str, parse: Parse, importmap: str | None = None) -> None:
        self.path = path
        self.importmap = importmap
        self._parse = parse
        self._lock = threading.Lock()
        self.reading: Reading | None = None
        self._failure: ManifestError | None = None
        self._stamp: object = None
        #: When the file was last looked at (on :data:`_now`'s clock).
        self.checked_at = float("-inf")

    def current(self) -> Reading:
        """The reading of the file as it is now.

        :raises ManifestError: for a missing, unreadable or malformed file.
        """
        now = _now()
        reading = self.reading
        if reading is not None and now - self.checked_at < RECHECK:
            return reading
        with self._lock:
            if self.reading is not None and now - self.checked_at < RECHECK:
                return self.reading
            self.checked_at = now
            self._refresh()
            if self.reading is None:
                raise self._failure or ManifestError(f"build manifest {self.path!r} was not read", self.path, self.path)
            return self.reading

    def _refresh(self) -> None:
        stamp = (_stamp_of(self.path), _stamp_of(self.importmap) if self.importmap else None)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self.reading = None
        self._failure = None
        try:
            if stamp[0] is None:
                raise ManifestError(
                    f"build manifest {self.path!r} is missing (build with build.manifest: true, or check the path)",
                    self.path,
                    self.path,
                )
            document = load_json(_read_bytes(self.path), self.path)
            importmap = _read_importmap(self.importmap) if self.importmap and stamp[1] else None
            self.reading = Reading(self._parse(document, self.path, importmap))
        except ManifestError as exc:
            self._failure = exc


def importmap_path(manifest: str) -> str:
    """Where Vite writes the import map for the manifest *manifest*: in the
    output folder, the manifest's parent's parent for the default
    ``.vite/manifest.json``, else beside the manifest."""
    folder = Path(manifest).parent
    beside = folder / IMPORTMAP_NAME
    if folder.name == ".vite" and not beside.is_file():
        return str(folder.parent / IMPORTMAP_NAME)
    return str(beside)


def _stamp_of(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as source:
            data = source.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"build manifest {path!r} cannot be read: {exc.strerror}", path, path) from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"build manifest {path!r} is larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MB", path, path
        )
    return data


def _read_importmap(path: str) -> str:
    """The import map *path* as JSON text safe inside ``<script>``."""
    document = load_json(_read_bytes(path), path)
    if not isinstance(document, dict) or not isinstance(document.get("imports", {}), dict):
        raise ManifestError(f"import map {path!r} is not an import map (an object with 'imports')", path, path)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    # "<", ">" and "&" escaped as JSON allows, so no "</script" or "<!--" can end the element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
