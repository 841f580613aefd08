"""Vite's build manifest (``.vite/manifest.json``) read into each entry's files.

The manifest maps a key (an entry's source path, ``_name-hash.js`` for a
shared chunk, an asset's source path) to a chunk: its output ``file``
(relative to the output folder, without Vite's ``base``), the keys it
``imports`` statically, its ``dynamicImports``, the ``css`` it imports itself
and ``isEntry``. An entry's files come out in the order Vite's own HTML plugin
writes its tags (``packages/vite/src/node/plugins/html.ts``):

* the stylesheets: walking ``imports`` depth first, each chunk's ``css`` after
  those of the chunks it imports (post-order, each chunk once), so the cascade
  follows the import order; first occurrence wins;
* the entry's script, then its static imports, in the same post-order walk:
  deepest dependencies first, a chunk two branches share at its first place.

``dynamicImports`` are never listed: Vite's runtime preloads them when the
page asks. A CSS entry (an ``isEntry`` chunk whose file is ``.css``, or the
single ``style.css`` of ``build.cssCodeSplit: false``) is a stylesheet. The
walk keeps its own stack, so a deep chain or an import cycle cannot exhaust
Python's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Final

from ._manifest_files import EntryFiles, check_file, known_names, unknown_name
from .errors import ManifestError

__all__ = ["ViteBuild"]

_SCRIPT_SUFFIXES: Final = (".js", ".mjs")
_LIST_FIELDS: Final = ("imports", "dynamicImports", "css", "assets")


class _Chunk:
    __slots__ = ("css", "file", "imports", "is_entry", "kind")

    def __init__(self, file: str, imports: tuple[str, ...], css: tuple[str, ...], is_entry: bool) -> None:
        self.file = file
        self.imports = imports
        self.css = css
        self.is_entry = is_entry
        path = file.split("?", 1)[0].lower()
        self.kind = "style" if path.endswith(".css") else "script" if path.endswith(_SCRIPT_SUFFIXES) else "asset"


class ViteBuild:
    """One reading of a Vite manifest, with every URL under *base*.

    :param document: the parsed JSON.
    :param path: the manifest file (for error messages).
    :param base: Vite's ``base``, ending in ``/``, already a URI-reference.
    :param importmap: the build's import map (Vite 8 ``build.chunkImportMap``)
        as JSON text safe inside ``<script>``, or ``None``.
    :raises ManifestError: for a document that is not a Vite manifest, or a
        file value that is not a plain relative path (naming it).
    """

    def __init__(self, document: object, path: str, base: str, importmap: str | None = None) -> None:
        self.path = path
        self.importmap = importmap
        if not isinstance(document, dict):
            raise ManifestError(
                f"build manifest {path!r} is not a Vite manifest: a JSON object was expected, "
                f"not {type(document).__name__}",
                document,
                path,
            )
        chunks: dict[str, _Chunk] = {}
        for key, raw in document.items():
            chunks[key] = self._chunk(key, raw, base)
        for key, chunk in chunks.items():
            for imported in chunk.imports:
                if imported not in chunks:
                    raise ManifestError(
                        f"build manifest {path!r}: {key!r} imports {imported!r}, which it does not hold",
                        imported,
                        path,
                    )
        self._chunks = chunks
        self._files: dict[str, EntryFiles] = {}
        self._lock = threading.Lock()

    def _chunk(self, key: str, raw: object, base: str) -> _Chunk:
        path = self.path
        if not isinstance(raw, dict) or "file" not in raw:
            raise ManifestError(f"build manifest {path!r}: {key!r} is not a chunk (an object with a 'file')", raw, path)
        lists: dict[str, tuple[str, ...]] = {}
        for field in _LIST_FIELDS:
            value = raw.get(field, [])
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ManifestError(
                    f"build manifest {path!r}: {key!r} has {field} {value!r}, not a list of strings", value, path
                )
            lists[field] = tuple(value)
        is_entry = raw.get("isEntry", False)
        if not isinstance(is_entry, bool):
            raise ManifestError(f"build manifest {path!r}: {key!r} has isEntry {is_entry!r}", is_entry, path)
        file = base + check_file(raw["file"], path)
        css = tuple(base + check_file(item, path) for item in lists["css"])
        return _Chunk(file, lists["imports"], css, is_entry)

    def check_entry(self, name: str) -> None:
        """:raises ManifestError: unless *name* is a key of a script chunk or a stylesheet."""
        chunk = self._chunks.get(name) if isinstance(name, str) else None
        if chunk is None:
            known = known_names(list(self._chunks), lambda key: self._chunks[key].is_entry)
            raise unknown_name("entry", name, self.path, known)
        if chunk.kind == "asset":
            raise ManifestError(
                f"build manifest {self.path!r}: {name!r} is an asset ({chunk.file}), not a script or a stylesheet: "
                "use url() for it",
                name,
                self.path,
            )

    def files(self, name: str) -> EntryFiles:
        """The files of the entry *name* (worked out once per reading).

        :raises ManifestError: for a name that is not a script or a stylesheet.
        """
        found = self._files.get(name)
        if found is None:
            self.check_entry(name)
            found = self._walk(name)
            with self._lock:
                found = self._files.setdefault(name, found)
        return found

    def _walk(self, name: str) -> EntryFiles:
        chunks = self._chunks
        root = chunks[name]
        if root.kind == "style":
            return EntryFiles(styles=(root.file, *root.css))
        order = _post_order(chunks, name)
        styles = dict.fromkeys(css for key in order for css in chunks[key].css)
        imports = dict.fromkeys(chunks[key].file for key in order[:-1])
        imports.pop(root.file, None)
        return EntryFiles(styles=tuple(styles), scripts=(root.file,), imports=tuple(imports))

    def url(self, name: str) -> str:
        """The URL of the chunk or asset the manifest keys *name*."""
        chunk = self._chunks.get(name) if isinstance(name, str) else None
        if chunk is None:
            raise unknown_name("file", name, self.path, known_names(list(self._chunks)))
        return chunk.file


def _post_order(chunks: Mapping[str, _Chunk], root: str) -> list[str]:
    """The keys *root* reaches through ``imports``, each once, every chunk
    after the chunks it imports (Vite's walk), *root* last."""
    order: list[str] = []
    seen = {root}
    stack = [(root, iter(chunks[root].imports))]
    while stack:
        key, pending = stack[-1]
        for imported in pending:
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, iter(chunks[imported].imports)))
                break
        else:
            stack.pop()
            order.append(key)
    return order
