"""What a page's own HTML names: the hints a browser would match, read from
the first bytes of the page.

:func:`scan_page` reads at most *limit* bytes of an HTML body with the strict
tokenizer of :mod:`flask_firehose._page_scan_html` (no tree, no
``html.parser``: it runs on a live request while an endpoint is learned)
and returns a :class:`PageScan`:

* ``links``: one :class:`~flask_firehose.Link` per early resource of the
  head, written so that the hint makes the same request the element makes
  (destination, CORS mode and credentials), else the browser downloads the
  file twice:

  ==================================  =========================================
  element                             hint
  ==================================  =========================================
  ``<link rel=stylesheet>``           ``rel=preload; as=style`` (+ crossorigin)
  ``<script src>``                    ``rel=preload; as=script`` (+ crossorigin)
  ``<script defer|async src>``        the same, ``fetchpriority=low`` unless set
  ``<script type=module src>``        ``rel=modulepreload`` (crossorigin only
                                      for ``use-credentials``)
  ``<link rel=modulepreload>``        the same ``rel=modulepreload``
  ``<link rel=preload as=X>``         copied: ``as``, crossorigin, ``type``,
                                      ``fetchpriority``
  ==================================  =========================================

  ``fetchpriority`` (``high``/``low``) is copied from the element. Skipped:
  ``alternate``/``disabled`` stylesheets and those whose ``media`` is not
  absent, ``all`` or ``screen``; ``nomodule`` and data-block scripts; any
  element with ``integrity`` (a hint cannot carry it); preloads with
  ``imagesrcset``, ``imagesizes`` or ``media`` (a 103 drops them). A page
  with an import map (``<script type=importmap>`` anywhere in the bytes
  read) gets no ``modulepreload`` at all: a ``Link`` header
  ``modulepreload`` starts a module fetch that disables the page's import
  map (whatwg/html#9274).
* ``images``: the same-origin images the bytes read reference, head and
  body (``<img src srcset>``, ``<source srcset>`` in ``<picture>``,
  ``<link rel=preload as=image href imagesrcset>``, ``<video poster>``,
  ``url(...)`` in ``style`` attributes and ``<style>`` elements, but for
  ``.css``, ``.js`` and font files): the only URLs a visitor's LCP report
  may name.

Hints come from the head only: it ends at ``</head>``, ``<body>``, or the
first start tag the HTML parser does not keep in the head (anything but
``html``, ``head``, ``base``, ``basefont``, ``bgsound``, ``link``, ``meta``,
``title``, ``noscript``, ``noframes``, ``style``, ``script``,
``template``); text in the head does not end it here. Images are read on
to the limit. Nothing inside comments, ``<noscript>``, ``<template>`` or
the text of ``<script>``, ``<style>``, ``<textarea>`` and ``<title>``
counts.

URLs: the scanner does not know the page's host, so only references that
stay on the page's origin are kept, resolved against the page's path and
the first ``<base href>``, written as absolute paths without a fragment
(``/static/a.css?v=1``). A URL with a scheme (``https://...``, ``data:``,
``blob:``, ``javascript:``), a protocol-relative ``//host/...`` (and
``\\\\host/...``, which browsers read as that), and every relative URL under a
``<base href>`` with a scheme or host are dropped. A space, ``"``, ``<``
and ``>`` are percent-encoded and non-ASCII characters encoded as UTF-8, as
browsers do; a URL that browsers would write otherwise than
:func:`~flask_firehose._links.encode_target` does is dropped rather than
hinted under another name (which would download the file twice): one
holding ``{ } | ^ ` [ ]``, a ``\\`` in its query, an encoded dot ``%2e``,
or a non-ASCII query on a page in another charset than UTF-8 (browsers
encode that query in the page's charset).

Bounded: at most *limit* bytes, :data:`MAX_LINKS` links, :data:`MAX_IMAGES`
images, 64 attributes a tag, 256 CSS ``url(`` read; time in proportion to
the bytes read, whatever they hold. Nothing here raises on what the page
holds.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin

from ._links import DESTINATIONS, Link, encode_target, infer_as, is_same_origin_path
from ._page_scan_html import END, Tokens, attributes, css_urls, srcset_urls
from .errors import InvalidLinkError

__all__ = ["DEFAULT_LIMIT", "MAX_IMAGES", "MAX_LINKS", "PageScan", "scan_page"]

#: Bytes of a page read by default: the head of nearly every page.
DEFAULT_LIMIT: Final = 32768
#: At most this many links in a :class:`PageScan`.
MAX_LINKS: Final = 128
#: At most this many image URLs in a :class:`PageScan`.
MAX_IMAGES: Final = 64


@dataclass(frozen=True, slots=True)
class PageScan:
    """What the first bytes of one page name."""

    links: tuple[Link, ...]
    """Hints for the head's early resources, in document order, one per
    target (the first element naming it wins), at most :data:`MAX_LINKS`."""
    images: tuple[str, ...]
    """Same-origin image URLs the scanned bytes reference, as absolute
    paths, each once, at most :data:`MAX_IMAGES`."""
    importmap: bool
    """A ``<script type=importmap>`` was seen in the bytes read, head or
    body (then ``links`` holds no ``modulepreload``). The walk stops early
    once the head has ended and :data:`MAX_IMAGES` images are found."""
    complete: bool
    """The end of the head was reached within the bytes read."""


_EMPTY: Final = PageScan((), (), False, False)

# Start tags the "in head" insertion mode keeps in the head; any other ends it.
_HEAD_ELEMENTS: Final = frozenset(
    {"html", "head", "base", "basefont", "bgsound", "link", "meta", "title", "noscript", "noframes", "style",
     "script", "template"}
)  # fmt: skip
_HEAD_ENDS: Final = frozenset({"head", "body", "html"})  # end tags that close the head

# HTML's "JavaScript MIME type essence match" list: a classic script.
_JAVASCRIPT_TYPES: Final = frozenset(
    {"application/ecmascript", "application/javascript", "application/x-ecmascript", "application/x-javascript",
     "text/ecmascript", "text/javascript", "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
     "text/javascript1.3", "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
     "text/x-ecmascript", "text/x-javascript"}
)  # fmt: skip
_STYLESHEET_MEDIA: Final = frozenset({"", "all", "screen"})
_PRIORITIES: Final = frozenset({"high", "low"})  # "auto" and invalid values are the default
# A MIME type without parameters (RFC 6838 §4.2 restricted-name "/" restricted-name).
_MIME_TYPE: Final = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}")
_STYLE_ATTRIBUTE: Final = re.compile(r"style[\t\n\f\r ]*=", re.IGNORECASE)
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# Characters browsers and encode_target() write differently, or never in a URL.
_UNMATCHED: Final = re.compile(r"[{}|^`\[\]\\]|%2[eE]")
_ORIGIN: Final = "http://page.invalid"  # stands in for the page's origin while resolving
_C0_AND_SPACE: Final = "".join(map(chr, range(0x21)))
_CSS_URLS: Final = 4 * MAX_IMAGES  # url( read per page at most
_NOT_IMAGES: Final = frozenset({"style", "font", "script"})  # what url() in CSS also names


def scan_page(body: bytes, page_path: str, *, limit: int = DEFAULT_LIMIT, charset: str | None = None) -> PageScan:
    """Read the first *limit* bytes of the HTML page *body* and return the
    hints its head names and the images it references (see the module).

    :param body: the response body, or its first bytes.
    :param page_path: the path (and query) the page was served at, as
        ``request.full_path`` gives it: ``/shop/articles/3?x=1``. Relative
        URLs resolve against it.
    :param limit: bytes read at most; a tag the limit cuts is ignored.
    :param charset: the response's charset. Used when it is an
        ASCII-compatible encoding Python knows; else the body is read as
        UTF-8, bad bytes replaced. A UTF-16 or UTF-32 body (a byte order
        mark or that charset) gives an empty scan.
    :raises TypeError: *body* is not bytes, or *page_path* or *charset* not a str.
    :raises ValueError: *limit* is negative or *page_path* is not a path
        starting with ``/``.
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes, not {type(body).__name__}")
    if not isinstance(page_path, str):
        raise TypeError(f"page_path must be a str, not {type(page_path).__name__}")
    if not page_path.startswith("/"):
        raise ValueError(f"page_path must be a path starting with '/': {page_path[:200]!r}")
    if type(limit) is not int or limit < 0:
        raise ValueError(f"limit must be an int >= 0, not {limit!r}")
    if charset is not None and not isinstance(charset, str):
        raise TypeError(f"charset must be a str or None, not {type(charset).__name__}")
    decoded = _decode(bytes(body[:limit]), charset)
    if decoded is None:
        return _EMPTY
    text, utf8 = decoded
    return _Scan(page_path.partition("#")[0], utf8).run(text)


def _decode(data: bytes, charset: str | None) -> tuple[str, bool] | None:
    """The text of *data* and whether it was read as UTF-8; ``None`` for UTF-16/32."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), True  # a BOM outranks the charset
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        return None
    name = _codec(charset) if charset else None
    if name is not None and name.startswith(("utf-16", "utf-32")):
        return None
    if name is not None and name != "utf-8" and _ascii_compatible(name):
        try:
            return data.decode(name, "replace"), False
        except (UnicodeError, LookupError, ValueError):
            pass  # a codec that fails even with "replace": read UTF-8
    return data.decode("utf-8", "replace"), True


def _codec(label: str) -> str | None:
    """Python's codec for the charset *label*, or ``None`` when it knows none."""
    try:
        name = codecs.lookup(label.strip()).name
    except (LookupError, ValueError):
        return None
    # Browsers read these labels as windows-1252 (WHATWG Encoding, "Names and labels").
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


_PROBE: Final = bytes(range(0x20, 0x7F)) + b"\t\n\r\f"


def _ascii_compatible(name: str) -> bool:
    """Whether the codec *name* is a charset that reads every ASCII byte as
    that character (not a stateful 7-bit one, nor one of Python's own)."""
    if name.startswith(("iso2022", "hz", "utf-7")) or name in _NOT_CHARSETS:
        return False  # an escape changes what follows, or not a charset at all
    try:
        return _PROBE.decode(name) == _PROBE.decode("ascii")
    except (UnicodeError, LookupError, ValueError):
        return False


# Python codecs that read bytes but are no charset a page comes in.
_NOT_CHARSETS: Final = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


class _Scan:
    """One page's scan: the state the walk over its tokens keeps."""

    __slots__ = (
        "base",
        "css_budget",
        "head_done",
        "image_set",
        "images",
        "importmap",
        "links",
        "page",
        "picture",
        "utf8",
    )  # fmt: skip

    def __init__(self, page: str, utf8: bool) -> None:
        self.page = page
        self.utf8 = utf8
        self.base: str | None = page  # None: a <base href> on another origin
        self.head_done = False
        self.importmap = False
        self.links: list[Link] = []
        self.images: list[str] = []
        self.image_set: set[str] = set()
        self.picture = 0
        self.css_budget = _CSS_URLS  # url( read at most, found or not

    def run(self, text: str) -> PageScan:
        template = 0
        base_seen = False
        walk = Tokens(text)
        for kind, name, attrs, style in walk:
            if kind == END:
                if template:
                    template -= name == "template"
                elif name in _HEAD_ENDS:
                    self.head_done = walk.body = True
                elif name == "picture" and self.picture:
                    self.picture -= 1
                continue
            if template:  # a template's content is inert: only its nesting counts
                template += name == "template"
                continue
            if not self.head_done and name not in _HEAD_ELEMENTS:
                self.head_done = True
            handler = _HANDLERS.get(name)
            if handler is not None:
                handler(self, attributes(attrs) if attrs else {})
            elif name == "template":
                template = 1
            elif name == "base" and not base_seen:
                found = attributes(attrs)
                if "href" in found:
                    base_seen = True
                    self.base = self._base(found["href"])
            elif name == "picture":
                self.picture += 1
            if style:
                self._css_images(style)
            if "=" in attrs and _STYLE_ATTRIBUTE.search(attrs):
                value = attributes(attrs).get("style")
                if value:
                    self._css_images(value)
            if self.head_done:
                if len(self.images) >= MAX_IMAGES:
                    break
                walk.body = True
        return PageScan(self._final_links(), tuple(self.images), self.importmap, self.head_done)

    def _final_links(self) -> tuple[Link, ...]:
        seen: set[str] = set()
        kept: list[Link] = []
        for link in self.links:
            if (self.importmap and link.rel == "modulepreload") or link.target in seen:
                continue
            seen.add(link.target)
            kept.append(link)
            if len(kept) == MAX_LINKS:
                break
        return tuple(kept)

    # -- URLs ------------------------------------------------------------------

    def _base(self, href: str) -> str | None:
        """The path relative URLs resolve against after ``<base href>``."""
        value = _clean(href)
        if not value:
            return self.page  # an empty href leaves the document's URL
        return self._resolve(value)

    def url(self, raw: str) -> str | None:
        """*raw* as an absolute same-origin path, or ``None`` (module doc)."""
        value = _clean(raw)
        if not value:
            return None
        return self._resolve(value)

    def _resolve(self, value: str) -> str | None:
        return None if self.base is None else _resolve(value, self.base, self.utf8)

    # -- images ----------------------------------------------------------------

    def image(self, raw: str | None) -> None:
        if raw is None or len(self.images) >= MAX_IMAGES:
            return
        target = self.url(raw)
        if target is not None and target not in self.image_set:
            self.image_set.add(target)
            self.images.append(target)

    def responsive(self, src: str | None, srcset: str | None) -> None:
        """The image of an element with a ``src`` and a ``srcset``, when it
        has only one: of several candidates (the ``src`` counts as one), which
        the browser takes depends on its pixel density as well as its width,
        so one visitor's LCP report cannot say what the next one needs (the
        LCP learning's classes are widths alone). None is counted then."""
        candidates = srcset_urls(srcset) if srcset else []
        if src is not None:
            candidates.insert(0, src)
        if len(candidates) == 1:
            self.image(candidates[0])

    def _css_images(self, css: str) -> None:
        if len(self.images) >= MAX_IMAGES or self.css_budget <= 0:
            return
        urls, self.css_budget = css_urls(css, self.css_budget)
        for raw in urls:
            if infer_as(raw.strip()) not in _NOT_IMAGES:  # @import and font files are not images
                self.image(raw)

    # -- links -----------------------------------------------------------------

    def add_link(
        self,
        href: str | None,
        rel: str,
        as_: str | None,
        crossorigin: str | None,
        params: tuple[tuple[str, str | None], ...] = (),
    ) -> None:
        if href is None or self.head_done or len(self.links) >= 4 * MAX_LINKS:
            return
        target = self.url(href)
        if target is not None:
            link = _link_for(target, rel, as_, crossorigin, params)
            if link is not None:
                self.links.append(link)


@functools.lru_cache(maxsize=1024)
def _link_for(
    target: str, rel: str, as_: str | None, crossorigin: str | None, params: tuple[tuple[str, str | None], ...]
) -> Link | None:
    # Remembered: an endpoint's pages are scanned again and again while it is
    # learned, and building a Link checks it whole.
    try:
        return Link(target, rel, as_, crossorigin, False, params)
    except InvalidLinkError:
        return None


@functools.lru_cache(maxsize=4096)
def _resolve(value: str, base: str, utf8: bool) -> str | None:
    """*value* (cleaned) resolved against the path *base*, as an absolute
    same-origin path; ``None`` when it is not one (see the module)."""
    cut = len(value)
    for mark in ("?", "#"):
        at = value.find(mark)
        if 0 <= at < cut:
            cut = at
    if "\\" in value[:cut]:  # the URL parser reads "\" as "/" in an http(s) path
        value = value[:cut].replace("\\", "/") + value[cut:]
    if value.startswith("//") or _SCHEME.match(value):
        return None
    if value.startswith("/") and "/." not in value[:cut]:
        target = value.partition("#")[0]  # already absolute, no dot segments
    else:
        target = urljoin(_ORIGIN + base, value)[len(_ORIGIN) :].partition("#")[0]
    if _UNMATCHED.search(target):
        return None
    if " " in target or '"' in target or "<" in target or ">" in target:
        target = target.replace(" ", "%20").replace('"', "%22").replace("<", "%3C").replace(">", "%3E")
    if not target.isascii() and not utf8 and not target.partition("?")[2].isascii():
        return None
    try:
        target = encode_target(target)
    except InvalidLinkError:
        return None
    return target if is_same_origin_path(target) else None


def _clean(raw: str) -> str:
    """An attribute value as the URL parser reads it: C0 controls and spaces
    stripped from both ends, tabs and newlines removed."""
    value = raw.strip(_C0_AND_SPACE)
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "").replace("\n", "").replace("\r", "")
    return value


def _crossorigin(attrs: dict[str, str]) -> str | None:
    """The CORS settings attribute as a hint writes it: absent, bare
    (anonymous, also for an unknown value) or ``use-credentials``."""
    value = attrs.get("crossorigin")
    if value is None:
        return None
    return "use-credentials" if value.lower() == "use-credentials" else ""


def _priority(attrs: dict[str, str], default: str | None = None) -> tuple[tuple[str, str | None], ...]:
    value = attrs.get("fetchpriority", "").lower()
    if value not in _PRIORITIES:
        value = default or ""
    return (("fetchpriority", value),) if value else ()


def _link(scan: _Scan, attrs: dict[str, str]) -> None:
    rels = attrs.get("rel", "").lower().split()
    href = attrs.get("href")
    if "preload" in rels and attrs.get("as", "").lower() == "image":
        scan.responsive(href, attrs.get("imagesrcset"))
    if href is None or "integrity" in attrs or scan.head_done:
        return
    if "stylesheet" in rels:
        if "alternate" in rels or "disabled" in attrs:
            return
        media = attrs.get("media")
        if media is not None and media.strip().lower() not in _STYLESHEET_MEDIA:
            return  # the preload scanner skips stylesheets that do not block rendering
        kind = attrs.get("type")
        if kind is not None and kind.strip().lower() not in ("", "text/css"):
            return  # never loaded
        scan.add_link(href, "preload", "style", _crossorigin(attrs), _priority(attrs))
    elif "preload" in rels:
        as_ = attrs.get("as", "").lower()
        if as_ not in DESTINATIONS or "imagesrcset" in attrs or "imagesizes" in attrs or "media" in attrs:
            return
        params: tuple[tuple[str, str | None], ...] = ()
        kind = attrs.get("type")
        if kind is not None:
            kind = kind.strip().lower()
            if not _MIME_TYPE.fullmatch(kind):
                return  # a type the browser does not support: it fetches nothing
            params = (("type", kind),)
        scan.add_link(href, "preload", as_, _crossorigin(attrs), params + _priority(attrs))
    elif "modulepreload" in rels:
        module_as = attrs.get("as", "").lower() or None
        if module_as is not None and module_as not in DESTINATIONS:
            return  # not a destination a module is fetched for: the browser fetches nothing
        scan.add_link(href, "modulepreload", module_as, _module_crossorigin(attrs), _priority(attrs))


def _module_crossorigin(attrs: dict[str, str]) -> str | None:
    # A module fetch is always CORS, with same-origin credentials unless
    # crossorigin=use-credentials: a hint with no crossorigin is that request.
    return "use-credentials" if _crossorigin(attrs) == "use-credentials" else None


def _script(scan: _Scan, attrs: dict[str, str]) -> None:
    kind = attrs.get("type")
    if kind is None or kind == "":
        language = attrs.get("language", "")
        kind = f"text/{language}" if kind is None and language else "text/javascript"
    kind = kind.strip(" \t\n\f\r").lower()
    if kind == "importmap":
        scan.importmap = True
        return
    src = attrs.get("src")
    if src is None or "integrity" in attrs or scan.head_done:
        return
    if kind == "module":
        # Chromium fetches a module script at High priority, deferred or not:
        # ResourceFetcher::ComputeLoadPriority lowers only *classic* defer and
        # async scripts to kLow (blink web test priorities/resource-load-
        # priorities.html: "Module scripts should be loaded with kHigh
        # priority"). A low hint would hold back a file the page asks for at
        # High, so a module gets no fetchpriority but the one it sets.
        scan.add_link(src, "modulepreload", None, _module_crossorigin(attrs), _priority(attrs))
    elif kind in _JAVASCRIPT_TYPES and "nomodule" not in attrs:
        # Chromium loads classic defer and async scripts at Low priority; a
        # hint at Low leaves the bandwidth to the CSS and the LCP image, as
        # the page itself would. An explicit fetchpriority wins, as in Chromium.
        lazy = "defer" in attrs or "async" in attrs
        scan.add_link(src, "preload", "script", _crossorigin(attrs), _priority(attrs, "low" if lazy else None))


def _img(scan: _Scan, attrs: dict[str, str]) -> None:
    scan.responsive(attrs.get("src"), attrs.get("srcset"))


def _source(scan: _Scan, attrs: dict[str, str]) -> None:
    if scan.picture:
        scan.responsive(None, attrs.get("srcset"))


def _video(scan: _Scan, attrs: dict[str, str]) -> None:
    scan.image(attrs.get("poster"))


_HANDLERS: Final[dict[str, Callable[[_Scan, dict[str, str]], None]]] = {
    "link": _link,
    "script": _script,
    "img": _img,
    "source": _source,
    "video": _video,
}
