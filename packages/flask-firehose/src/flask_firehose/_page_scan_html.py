"""Reading HTML as the browser's tokenizer does, as far as hints need it.

:class:`Tokens` walks a page's text once, left to right, and yields its start
tags (name and attribute text), its end tags, and the text of ``<style>``
elements. It skips what the HTML tokenizer skips: comments (``<!-- -->``,
abruptly closed ones too), doctypes and bogus comments (``<!...>``,
``<?...>``, ``</ ...>``), and the content of the raw-text and RCDATA
elements (``<script>``, ``<style>``, ``<textarea>``, ``<title>``,
``<noscript>``, ``<xmp>``, ``<iframe>``, ``<noembed>``, ``<noframes>``),
where a ``<link`` inside a JavaScript string is text, not a tag. A construct
the text ends inside (a tag, a comment, a raw-text element cut by the read
limit) ends the walk: it is never guessed at. Two simplifications, both
rare in real heads: a ``<script>`` ends at its first ``</script``, even in
the "double-escaped" state an ``<!--<script>`` inside a script opens; and
``<plaintext>`` ends the walk.

:func:`attributes` turns a start tag's attribute text into a dict (names
lower-cased, the first of a repeated name kept, character references
decoded as in an attribute value); :func:`srcset_urls` and
:func:`css_urls` read the URLs of a ``srcset`` and of CSS ``url(...)``.
Every pattern here has one way to match at each step, so a failed match
costs time in proportion to what it read, and a page costs time in
proportion to its length, whatever its bytes.
"""

from __future__ import annotations

import html
import itertools
import re
import sys
from html.entities import html5
from typing import Final

__all__ = ["END", "MAX_ATTRIBUTES", "START", "Tokens", "attributes", "css_urls", "decode_references", "srcset_urls"]

#: Token kinds: ``(kind, name, attribute text, style text)``.
START: Final = 0
END: Final = 1

# HTML's ASCII whitespace: tab, LF, FF, CR, space.
_WS: Final = r"\t\n\f\r "

# A start tag from its "<": the name (tag name state: up to whitespace, "/"
# or ">"), then the attribute text up to the ">" that ends the tag. A quote
# opens a quoted value only after "=" and optional whitespace (the "before
# attribute value" state); elsewhere it is an ordinary character. Written as
# an unrolled loop, normal* (special normal*)*, in which every step has one
# way to match: a tag the text ends inside fails in time linear in its length.
# Possessive quantifiers where Python has them (3.11): the same matches,
# but a failing match gives nothing back, so it fails in one pass.
_P: Final = "+" if sys.version_info >= (3, 11) else ""

# The attribute text of a start tag, up to the ">" that ends the tag. A quote
# opens a quoted value only after "=" and optional whitespace (the "before
# attribute value" state); elsewhere it is an ordinary character. Written as
# an unrolled loop, normal* (special normal*)*, in which every step has one
# way to match: a tag the text ends inside fails in time linear in its length.
_VALUE: Final = rf"=(?:[{_WS}]*{_P}\"[^\"]*{_P}\"|[{_WS}]*{_P}'[^']*{_P}'|(?![{_WS}]*[\"']))"
_ATTRIBUTES: Final = rf"[^>=]*{_P}(?:{_VALUE}[^>=]*{_P})*{_P}"
# The same, holding no "style" outside quotes (no style attribute).
_PLAIN: Final = rf"[^>=sS]*{_P}(?:[sS](?!(?i:tyle))[^>=sS]*{_P})*{_P}"
_ATTRIBUTES_NO_STYLE: Final = rf"{_PLAIN}(?:{_VALUE}{_PLAIN})*{_P}"
# A tag name runs to whitespace, "/" or ">" (the tag name state).
_TAG_NAME: Final = rf"[A-Za-z][^{_WS}/>]*{_P}"
_NAME_END: Final = rf"(?![^{_WS}/>])"
_START_TAG: Final = re.compile(rf"<({_TAG_NAME})({_ATTRIBUTES})>")
_END_TAG: Final = re.compile(rf"</({_TAG_NAME})[^>]*{_P}>")

# One attribute in a tag's attribute text: a name, then "=" and a double-
# quoted, single-quoted or unquoted value, or no value at all.
_ATTRIBUTE: Final = re.compile(
    rf"([^{_WS}/>=][^{_WS}/>=]*)(?:[{_WS}]*=[{_WS}]*(?:\"([^\"]*)\"|'([^']*)'|([^{_WS}>]*)))?"
)

# Where a comment ends: "-->" or "--!>" (after "<!--", whose own dashes do
# not count but for the abrupt "<!-->" and "<!--->").
_COMMENT_END: Final = re.compile(r"--!?>")

# Raw-text (script, style, and the rest) and RCDATA (textarea, title)
# elements: their content is text up to "</name" followed by whitespace, "/"
# or ">". noscript is raw text because browsers that run the hints run scripts.
_RAW_TEXT: Final = ("script", "style", "textarea", "title", "noscript", "xmp", "iframe", "noembed", "noframes")
_RAW_TEXT_END: Final = {name: re.compile(rf"</{name}[{_WS}/>]", re.IGNORECASE) for name in _RAW_TEXT}

# What a walk passes over without yielding, in one match (the regex engine
# reads it, not Python): text, a "<" that opens nothing, and, in the head,
# <meta> tags; in the body, every tag but the ones images, links and
# raw-text content need, and those with a style attribute. Each is a loop
# that may stop anywhere, so a match never fails and never backtracks far.
_TEXT: Final = r"[^<]+|<(?![A-Za-z!/?])"
_SKIP_IN_HEAD: Final = re.compile(rf"(?:{_TEXT}|<(?i:meta){_NAME_END}{_ATTRIBUTES}>)*")
_WANTED_IN_BODY: Final = "|".join(("img", "source", "video", "picture", "link", "script", "template", "base",
                                   "plaintext", *_RAW_TEXT))  # fmt: skip
_SKIP_IN_BODY: Final = re.compile(
    rf"(?:{_TEXT}"
    rf"|<(?!(?i:{_WANTED_IN_BODY}){_NAME_END}){_TAG_NAME}{_NAME_END}{_ATTRIBUTES_NO_STYLE}>"
    rf"|</(?!(?i:picture|template){_NAME_END}){_TAG_NAME}[^>]*{_P}>)*"
)

_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# A character reference: hexadecimal, decimal or named (with or without ";").
_REFERENCE: Final = re.compile(r"&(?:#[xX]([0-9A-Fa-f]+);?|#([0-9]+);?|([A-Za-z][A-Za-z0-9]*;?))")
#: Attributes of one tag read at most.
MAX_ATTRIBUTES: Final = 64
# What url( holds in CSS, up to its ")": a quoted or an unquoted URL.
_CSS_URL: Final = re.compile(rf"[{_WS}]*(?:\"([^\"]*)\"|'([^']*)'|([^{_WS}\"'()]*))[{_WS}]*\)")
# A srcset's image candidates: a URL (a run of non-whitespace), then its
# descriptors up to a comma outside parentheses.
_SRCSET_URL: Final = re.compile(rf"[{_WS},]*([^{_WS}]*)")
_SRCSET_DESCRIPTORS: Final = re.compile(r"[^,(]*(?:\([^)]*\)?[^,(]*)*,?")
_MAX_SRCSET: Final = 64  # candidates read at most
_MAX_CODE_POINT_DIGITS: Final = 8  # 0x10FFFF has 6 hex and 7 decimal digits


class Tokens:
    """The tokens of *text*, in order: ``(START, name, attribute text, style
    text)`` for a start tag, ``(END, name, "", "")`` for an end tag; names
    are lower-case, the style text is the content of a ``<style>`` element
    (as far as *text* holds it) and ``""`` for every other tag.

    While :attr:`body` is false, every tag but ``<meta>`` is yielded; once
    the reader sets it, only the tags images and links need (``img``,
    ``source``, ``video``, ``picture``, ``link``, ``script``, ``template``,
    ``base``, raw-text elements, and any tag with a ``style`` attribute) and
    the end tags of ``picture`` and ``template``.
    """

    __slots__ = ("_pos", "_text", "body", "start")

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self.body = False
        #: Where the last token yielded begins (its ``<``).
        self.start = 0

    def __iter__(self) -> Tokens:
        return self

    def __next__(self) -> tuple[int, str, str, str]:
        text = self._text
        size = len(text)
        find = text.find
        pos = self._pos
        while True:
            pos = (_SKIP_IN_BODY if self.body else _SKIP_IN_HEAD).match(text, pos).end()  # type: ignore[union-attr]
            if pos + 1 >= size:
                break
            lt = pos
            char = text[lt + 1]
            if char in _LETTERS:
                # No ">" left: the tag runs past the end (found at once, not by a failed match).
                match = _START_TAG.match(text, lt) if find(">", lt) >= 0 else None
                if match is None:
                    break  # the tag runs past the end of the text
                name = match.group(1).lower()
                pos = match.end()
                end = _RAW_TEXT_END.get(name)
                self.start = lt
                if end is None:
                    self._pos = size if name == "plaintext" else pos
                    return START, name, match.group(2), ""
                close = end.search(text, pos)
                stop = size if close is None else close.start()
                self._pos = stop  # the end tag is read as a token of its own
                return START, name, match.group(2), text[pos:stop] if name == "style" else ""
            if char == "/":
                match = _END_TAG.match(text, lt)
                if match is not None:
                    self._pos = match.end()
                    self.start = lt
                    return END, match.group(1).lower(), "", ""
                after = text[lt + 2 : lt + 3]
                if not after or after in _LETTERS:
                    break  # "</" or an end tag the text ends inside
                if after == ">":
                    pos = lt + 3  # "</>" is dropped
                    continue
                gt = find(">", lt + 2)  # "</ ..." is a bogus comment
            elif text.startswith("<!--", lt):
                if text.startswith(">", lt + 4):
                    pos = lt + 5  # "<!-->"
                    continue
                if text.startswith("->", lt + 4):
                    pos = lt + 6  # "<!--->"
                    continue
                close = _COMMENT_END.search(text, lt + 4)
                if close is None:
                    break
                pos = close.end()
                continue
            else:  # "<!" (a doctype, CDATA or other bogus comment) or "<?"
                gt = find(">", lt + 2)
            if gt < 0:
                break
            pos = gt + 1
        self._pos = size
        raise StopIteration


def attributes(text: str) -> dict[str, str]:
    """The attributes in a start tag's attribute *text*: lower-case names,
    values with character references decoded, ``""`` for a bare attribute;
    the first of a repeated name wins, as in HTML. Only the first
    :data:`MAX_ATTRIBUTES` are read: no element a hint comes from needs more."""
    found: dict[str, str] = {}
    for match in itertools.islice(_ATTRIBUTE.finditer(text), MAX_ATTRIBUTES):
        name, double, single, bare = match.groups()
        name = name.lower()
        if name in found:
            continue
        value = double if double is not None else single if single is not None else bare or ""
        found[name] = decode_references(value) if "&" in value else value
    return found


def decode_references(value: str) -> str:
    """Decode the character references in an attribute *value* as HTML
    does: a named reference without ``;`` (``&copy``) is decoded only when
    the whole name is one of the legacy names and no ``=`` follows it, so
    ``?a=1&copy=2`` stays as written."""
    return _REFERENCE.sub(_decode_reference, value)


def _decode_reference(match: re.Match[str]) -> str:
    hexadecimal, decimal, name = match.groups()
    if name is None:
        digits = (hexadecimal or decimal).lstrip("0")
        if len(digits) > _MAX_CODE_POINT_DIGITS:
            return "\ufffd"  # beyond U+10FFFF
        number = int(digits or "0", 16 if hexadecimal is not None else 10)
        return html.unescape(f"&#{number};")  # HTML's replacements for NUL, surrogates, C1
    if name.endswith(";"):
        return html5.get(name, match.group())
    following = match.string[match.end() : match.end() + 1]
    if name in html5 and following != "=":
        return html5[name]
    return match.group()


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` value, as HTML's "parse a srcset attribute"
    splits it (a comma inside a URL is part of it), at most 64."""
    urls: list[str] = []
    pos, size = 0, len(value)
    while pos < size and len(urls) < _MAX_SRCSET:
        match = _SRCSET_URL.match(value, pos)
        assert match is not None  # both parts may be empty
        url, pos = match.group(1), match.end()
        if not url:
            break
        if url.endswith(","):
            url = url.rstrip(",")
            if url:
                urls.append(url)
            continue
        urls.append(url)
        descriptors = _SRCSET_DESCRIPTORS.match(value, pos)
        assert descriptors is not None
        pos = descriptors.end()
    return urls


def css_urls(css: str, budget: int) -> tuple[list[str], int]:
    """The URLs of the first *budget* ``url(`` in *css* (quoted or not; any
    case), and the budget left. Each ``(`` is found with ``str.find`` (few in
    CSS): a case-insensitive regex search would read every character."""
    urls: list[str] = []
    find = css.find
    pos = find("(")
    while pos >= 0 and budget > 0:
        if pos < 3 or css[pos - 3 : pos].lower() != "url":
            pos = find("(", pos + 1)
            continue
        budget -= 1
        match = _CSS_URL.match(css, pos + 1)
        if match is None:
            pos = find("(", pos + 1)
            continue
        double, single, bare = match.groups()
        url = double if double is not None else single if single is not None else bare
        if url:
            urls.append(url)
        pos = find("(", match.end())
    return urls, budget
