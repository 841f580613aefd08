"""``AssetManifest``: a build manifest (Vite's, webpack's) as hints and tags.

The file is read by :mod:`._manifest_reading` (at first use, and again when
it changes), parsed by :mod:`._manifest_vite` or :mod:`._manifest_webpack`;
here each entry's links and tags are worked out once per reading.
:meth:`AssetManifest.entry` is a declaration for
``declare_hints()`` and ``@early_hints``; :meth:`AssetManifest.tags` writes
the same files as HTML tags and puts their links in the request's final
header, where the request's links collection keeps each file once.

Which requests the hints make, and why they match the tags (the browser
reuses a preload only for the same destination, mode and credentials):

* Vite: every tag Vite writes carries ``crossorigin``, so the stylesheets are
  ``rel=preload; as=style; crossorigin`` (CORS, same-origin credentials, as
  ``<link rel=stylesheet crossorigin>``) and the module files
  ``rel=modulepreload; crossorigin`` (as ``<script type=module crossorigin>``).
* webpack: ``rel=preload; as=style`` and ``as=script`` with no
  ``crossorigin``, as the plain ``<link rel=stylesheet>`` and
  ``<script defer>`` html-webpack-plugin writes; ``modulepreload`` for a
  module build (``module=True``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from flask import Flask, current_app
from markupsafe import Markup

from ._collection import STATE_ATTRIBUTE, RequestLinks, current_context, request_links
from ._links import Link
from ._manifest_files import Build, EntryFiles
from ._manifest_reading import ManifestFile, Reading, importmap_path
from ._manifest_vite import ViteBuild
from ._manifest_webpack import WebpackBuild
from ._state import EXTENSION_KEY, state_of
from ._targets import encode_target
from .errors import ConfigurationError, InvalidURLError, ManifestError

__all__ = ["AssetManifest", "ManifestEntry"]

#: Most combinations of entry names whose links one reading remembers.
_MAX_REMEMBERED: Final = 256


class AssetManifest:
    """A build manifest, turned into hints and tags for the pages that use
    its entries. Build one with :meth:`vite` or :meth:`webpack`, at import
    time; nothing is read until it is first used::

        assets = AssetManifest.vite("static/dist/.vite/manifest.json", base="/static/dist/")
        firehose.declare_hints(assets.entry("src/main.js"))

    and in the template, where the tags go (in ``<head>``)::

        {{ assets.tags("src/main.js") }}

    .. versionadded:: 1.0
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        read: Callable[[object, str, str | None], Build],
        *,
        flavour: str,
        module: bool = True,
        crossorigin: bool = True,
        modulepreload: bool = True,
        importmap: bool | None = False,
    ) -> None:
        self.path = os.fspath(path)
        self._flavour = flavour
        self._module = module
        self._crossorigin = "" if crossorigin else None
        self._modulepreload = modulepreload
        self._importmap = importmap
        # Vite 8's build.chunkImportMap file, looked for when importmap is None.
        found = importmap_path(self.path) if flavour == "vite" and importmap is None else None
        self._file = ManifestFile(self.path, read, found)

    @classmethod
    def vite(
        cls,
        path: str | os.PathLike[str],
        base: str = "/static/dist/",
        importmap: bool | None = None,
        modulepreload: bool = True,
    ) -> AssetManifest:
        """A Vite manifest (``build.manifest: true``: ``<outDir>/.vite/manifest.json``).

        :param base: Vite's ``base``: where the output folder is served, a
            path (``"/static/dist/"``) or a CDN's URL
            (``"https://cdn.example.com/dist/"``); put in front of every file once.
        :param importmap: whether the pages have an import map, which a
            ``modulepreload`` in a ``Link`` header would break
            (whatwg/html#9274): with one, the hints carry the stylesheets
            only. ``None``: when Vite 8's ``build.chunkImportMap`` wrote an
            ``importmap.json`` in the output folder (or beside the manifest),
            which :meth:`tags` then writes first; ``True``: the pages write
            their own (put :meth:`tags` after it); ``False``: none.
        :param modulepreload: ``False`` for a build with
            ``build.modulePreload: false``: the entries' static imports get
            no ``modulepreload`` (as Vite writes none); the entry script keeps
            its hint, as the page asks for it at once anyway.
        :raises ConfigurationError: for a *base* that is neither a path nor
            an ``http(s)`` URL (``key`` is ``"base"``).
        """
        prefix = _check_base(base)

        def read(document: object, where: str, importmap_text: str | None) -> Build:
            return ViteBuild(document, where, prefix, importmap_text)

        return cls(path, read, flavour="vite", modulepreload=modulepreload, importmap=importmap)

    @classmethod
    def webpack(cls, path: str | os.PathLike[str], module: bool = False, base: str = "") -> AssetManifest:
        """A webpack manifest: ``webpack-assets-manifest``'s (with
        ``entrypoints: true`` for :meth:`entry`, :meth:`links` and
        :meth:`tags`), or ``webpack-manifest-plugin``'s flat map (for
        :meth:`url` only: it says nothing of which files an entry needs).

        :param module: a build with ``output.module`` (ES modules): the
            scripts are ``modulepreload`` hints and ``type="module"`` tags,
            instead of ``as=script`` hints and ``defer`` tags.
        :param base: put in front of values that are relative paths; by
            default none, as the values carry ``publicPath``.
        """
        prefix = _check_base(base) if base else ""

        def read(document: object, where: str, importmap_text: str | None) -> Build:
            return WebpackBuild(document, where, prefix)

        return cls(path, read, flavour="webpack", module=module, crossorigin=False)

    def __repr__(self) -> str:
        return f"AssetManifest.{self._flavour}({self.path!r})"

    def _has_importmap(self, reading: Reading) -> bool:
        if self._importmap is not None:
            return self._importmap
        return getattr(reading.build, "importmap", None) is not None

    # -- the public calls --------------------------------------------------

    def entry(self, *names: str) -> ManifestEntry:
        """A hint declaration for the pages that use the entries *names*
        (Vite: the manifest's keys, ``"src/main.js"``; webpack: the entry
        points' names), for :meth:`Firehose.declare_hints` and
        :func:`early_hints`.

        :raises ManifestError: at once for a name the manifest does not
            hold as an entry, when the manifest can be read now; otherwise
            when a page is served (the failure policy then logs it and
            serves the page without these hints; strict apps raise).
        """
        if not names or not all(isinstance(name, str) for name in names):
            raise TypeError(f"entry() takes one or more entry names (str), not {names!r}")
        try:
            build = self._file.current().build
        except ManifestError:
            pass  # not built yet: checked when a page asks
        else:
            for name in names:
                build.check_entry(name)
        return ManifestEntry(self, names)

    def links(self, *names: str) -> tuple[Link, ...]:
        """The hints for the entries *names*: the stylesheets
        (``rel=preload; as=style``), then each entry's script and static
        imports (``rel=modulepreload``, or ``as=script`` for classic
        scripts), each file once.

        :raises ManifestError: for a missing or unusable manifest, or a name
            it does not hold as an entry.
        """
        reading = self._file.current()
        found = reading.links.get(names)
        if found is None:
            found = self._links(reading, names)
            if len(reading.links) >= _MAX_REMEMBERED:
                reading.links.clear()
            reading.links[names] = found
        return found

    def _links(self, reading: Reading, names: tuple[str, ...]) -> tuple[Link, ...]:
        files = [reading.build.files(name) for name in names]
        crossorigin = self._crossorigin
        made = {url: Link(url, as_="style", crossorigin=crossorigin) for url in _styles(files)}
        if self._module and self._has_importmap(reading):
            return tuple(made.values())
        for entry in files:
            imports = entry.imports if self._modulepreload else ()
            for url in (*entry.scripts, *imports):
                if url in made:
                    continue
                if self._module:
                    made[url] = Link(url, rel="modulepreload", crossorigin=crossorigin)
                else:
                    made[url] = Link(url, as_="script", crossorigin=crossorigin)
        return tuple(made.values())

    def tags(self, *names: str, nonce: str | None = None) -> Markup:
        """The HTML tags for the entries *names*, for the page's ``<head>``;
        their links also go in the current request's final ``Link`` header
        (once each, with what was declared).

        The order: the import map Vite wrote (if any), the stylesheets, then
        each entry's script followed by the ``modulepreload`` links of its
        imports (webpack: every script of the entry, ``defer``). Stylesheets
        come first, as Vite's backend guide recommends, so that the preload
        scanner finds the render-blocking files first; a module or ``defer``
        script runs after parsing wherever it stands. *nonce*, for a
        Content-Security-Policy, goes on every tag, as Vite's
        ``html.cspNonce`` puts it.

        :raises ManifestError: as :meth:`links`.
        """
        reading = self._file.current()
        key = names
        parts = reading.tags.get(key)
        if parts is None:
            parts = self._tags(reading, names)
            if len(reading.tags) >= _MAX_REMEMBERED:
                reading.tags.clear()
            reading.tags[key] = parts
        _hint(self.links(*names))
        attribute = Markup(' nonce="{}"').format(nonce) if nonce is not None else Markup("")
        lines = [Markup(template).format(value, nonce=attribute) for template, value in parts]
        return Markup("\n").join(lines)

    def _tags(self, reading: Reading, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        files = [reading.build.files(name) for name in names]
        cors = " crossorigin" if self._crossorigin is not None else ""
        parts: list[tuple[str, str]] = []
        importmap = getattr(reading.build, "importmap", None)
        if importmap is not None:
            parts.append(('<script type="importmap"{nonce}>{}</script>', Markup(importmap)))
        parts.extend((f'<link rel="stylesheet"{cors}{{nonce}} href="{{}}">', url) for url in _styles(files))
        script = (
            f'<script type="module"{cors}{{nonce}} src="{{}}"></script>'
            if self._module
            else ('<script defer{nonce} src="{}"></script>')
        )
        written: set[str] = set()
        for entry in files:
            for url in entry.scripts:
                if url not in written:
                    written.add(url)
                    parts.append((script, url))
            for url in entry.imports if self._modulepreload else ():
                if url not in written:
                    written.add(url)
                    parts.append((f'<link rel="modulepreload"{cors}{{nonce}} href="{{}}">', url))
        return tuple(parts)

    def url(self, name: str) -> str:
        """The URL of one file the manifest names (Vite: its key, as
        ``"src/logo.svg"``; webpack: ``"main.js"``).

        :raises ManifestError: for a missing manifest or a name it does not hold.
        """
        return self._file.current().build.url(name)


class ManifestEntry:
    """What :meth:`AssetManifest.entry` returns: called per request by the
    declaration machinery, it gives the entries' links."""

    __slots__ = ("manifest", "names")

    def __init__(self, manifest: AssetManifest, names: tuple[str, ...]) -> None:
        self.manifest = manifest
        self.names = names

    def __call__(self) -> tuple[Link, ...]:
        return self.manifest.links(*self.names)

    def __repr__(self) -> str:
        return f"{self.manifest!r}.entry({', '.join(map(repr, self.names))})"


def _styles(files: list[EntryFiles]) -> list[str]:
    return list(dict.fromkeys(url for entry in files for url in entry.styles))


def _check_base(base: object) -> str:
    """Vite's ``base`` as a URI-reference ending in ``/``."""
    if not isinstance(base, str) or not (base.startswith("/") or base.lower().startswith(("http://", "https://"))):
        raise ConfigurationError(
            f"base {base!r} is neither a path (/static/dist/) nor an http(s) URL (https://cdn.example.com/dist/)",
            "base",
            base,
        )
    if base.startswith("//"):
        raise ConfigurationError(f"base {base!r} has no scheme: write https://{base[2:]}", "base", base)
    try:
        encoded = encode_target(base)
    except InvalidURLError as exc:
        raise ConfigurationError(f"base {base!r} is not a URL: {exc}", "base", base) from None
    if "?" in encoded or "#" in encoded:
        raise ConfigurationError(f"base {base!r} holds a query or a fragment", "base", base)
    return encoded if encoded.endswith("/") else encoded + "/"


def _hint(links: tuple[Link, ...]) -> None:
    """Add *links* to the current request's final header, as ``push()`` does;
    outside a request, or in an app without Firehose, there is none."""
    context = current_context()
    if context is None:
        return
    collected: RequestLinks | None = getattr(context, STATE_ATTRIBUTE, None)
    if collected is None:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        if EXTENSION_KEY not in app.extensions:
            return
        collected = request_links()
    if collected.closed:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        state = state_of(app)
        if state is not None:
            state.failures.warn_once_in_a_while(
                ("manifest-tags-after-response", repr(links[:1])),
                "AssetManifest.tags() came after the response headers were written (a streamed template?): "
                "its links are not in the Link header",
            )
        return
    for link in links:
        collected.pushed.add(link)
