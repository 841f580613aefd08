"""webpack's asset manifests read into each entry's files.

Two plugins write one:

* ``webpack-assets-manifest`` with ``entrypoints: true``: besides the flat
  ``"name": "url"`` map, ``entrypoints[name].assets`` holds each entry's files
  grouped by extension (``js``, ``css``), in webpack's own order
  (``ChunkGroup.getFiles()``: the runtime, then split chunks, then the entry's
  chunk), with ``publicPath`` already in front. With ``entrypointsKey: false``
  the entries sit at the top level, beside the files.
* ``webpack-manifest-plugin``: a flat ``"main.js": "/static/main.1a2b.js"``
  map, with no grouping by entry and no order, so it answers single lookups
  (:meth:`WebpackBuild.url`) and nothing else.

With ``integrity: true`` a file's value is ``{"src": ..., "integrity": ...}``;
its ``src`` is the URL.
"""

from __future__ import annotations

from typing import Final

from ._manifest_files import EntryFiles, check_file, known_names, unknown_name
from .errors import ManifestError

__all__ = ["WebpackBuild"]

_ENTRYPOINTS: Final = "entrypoints"


class WebpackBuild:
    """One reading of a webpack manifest.

    :param document: the parsed JSON.
    :param path: the manifest file (for error messages).
    :param base: put in front of values that are relative paths (``""``:
        none; the values already carry ``publicPath``).
    :raises ManifestError: for a document that is neither manifest, or a
        value that is not a URL (naming it).
    """

    def __init__(self, document: object, path: str, base: str = "") -> None:
        self.path = path
        self._base = base
        if not isinstance(document, dict):
            raise ManifestError(
                f"build manifest {path!r} is not a webpack manifest: a JSON object was expected, "
                f"not {type(document).__name__}",
                document,
                path,
            )
        entrypoints = document.get(_ENTRYPOINTS)
        if not isinstance(entrypoints, dict):  # entrypointsKey: false, or none at all
            entrypoints = {key: value for key, value in document.items() if _is_entrypoint(value)}
        self._entries: dict[str, EntryFiles] = {}
        for name, value in entrypoints.items():
            self._entries[name] = self._entry(name, value)
        self._files: dict[str, str] = {}
        for key, value in document.items():
            if key == _ENTRYPOINTS or key in entrypoints:
                continue
            src = value.get("src") if isinstance(value, dict) else value
            if not isinstance(src, str):
                raise ManifestError(f"build manifest {path!r}: {key!r} is {value!r}, not a file's URL", value, path)
            self._files[key] = self._url(src)

    def _url(self, value: object) -> str:
        checked = check_file(value, self.path, relative=False)
        if self._base and not checked.startswith("/") and "://" not in checked:
            return self._base + checked
        if not (checked.startswith("/") or "://" in checked):
            raise ManifestError(
                f"build manifest {self.path!r}: {value!r} is relative to the page, not a URL: set the plugin's "
                "publicPath (or output.publicPath), or pass base=",
                value,
                self.path,
            )
        return checked

    def _entry(self, name: str, value: object) -> EntryFiles:
        assets = value.get("assets") if isinstance(value, dict) else None
        if not isinstance(assets, dict):
            raise ManifestError(
                f"build manifest {self.path!r}: entry point {name!r} has no 'assets' object: {value!r}",
                value,
                self.path,
            )
        lists: dict[str, tuple[str, ...]] = {}
        for kind in ("css", "js"):
            files = assets.get(kind, [])
            if not isinstance(files, list):
                raise ManifestError(
                    f"build manifest {self.path!r}: entry point {name!r} has {kind} {files!r}, not a list",
                    files,
                    self.path,
                )
            urls = (self._url(item.get("src") if isinstance(item, dict) else item) for item in files)
            lists[kind] = tuple(dict.fromkeys(urls))
        return EntryFiles(styles=lists["css"], scripts=lists["js"])

    def check_entry(self, name: str) -> None:
        """:raises ManifestError: unless *name* is an entry point."""
        if isinstance(name, str) and name in self._entries:
            return
        if not self._entries:
            raise ManifestError(
                f"build manifest {self.path!r} lists no entry points, so it cannot say which files entry {name!r} "
                "needs, nor in which order (webpack-manifest-plugin's flat map has neither): use "
                "webpack-assets-manifest with entrypoints: true, or url() for single files",
                name,
                self.path,
            )
        raise unknown_name("entry point", name, self.path, known_names(list(self._entries)))

    def files(self, name: str) -> EntryFiles:
        """The files of the entry point *name*."""
        self.check_entry(name)
        return self._entries[name]

    def url(self, name: str) -> str:
        """The URL of the file the manifest names *name* (``"main.js"``)."""
        found = self._files.get(name) if isinstance(name, str) else None
        if found is None:
            raise unknown_name("file", name, self.path, known_names(list(self._files)))
        return found


def _is_entrypoint(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("assets"), dict)
