"""scan_page() on open-ended input: any bytes give a valid scan, a head built
from generated tags gives exactly the links the tags call for, and hostile
inputs cost time in proportion to their length."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_firehose import Link
from flask_firehose._links import is_same_origin_path
from flask_firehose._page_hints import MAX_IMAGES, MAX_LINKS, PageScan, scan_page
from flask_firehose._parsing import parse_link_header

PATHS = st.sampled_from(["/", "/shop/articles/3?x=1", "/a/b/", "//odd", "/é?q=ü"])

# Pieces of HTML, so that generated text holds tags, comments and raw text
# often enough to reach the scanner's every branch.
FRAGMENTS = st.sampled_from(
    ["<", ">", "/", "=", '"', "'", " ", "\n", "&", "&amp;", "&#x2f;", "&copy", "<!--", "-->", "--!>", "<!", "<?",
     "</", "link", "script", "style", "template", "noscript", "title", "textarea", "img", "source", "picture",
     "video", "base", "head", "body", "div", "meta", "rel", "stylesheet", "modulepreload", "preload", "as", "style",
     "font", "image", "href", "src", "srcset", "poster", "type", "module", "importmap", "crossorigin",
     "use-credentials", "fetchpriority", "high", "low", "defer", "async", "nomodule", "integrity", "media", "print",
     "/a.css", "b.js", "../c.png", "//x/d", "https://x/e", "\\f", "?v=1", "#frag", "url(", ")", ",", " 2x", "é",
     "\x00", "\ufffd", "%", "%2e"]
)  # fmt: skip
HTMLISH = st.lists(FRAGMENTS, max_size=120).map("".join)
CHARSETS = st.sampled_from(
    [
        None,
        "utf-8",
        "windows-1252",
        "shift_jis",
        "gb18030",
        "utf-16",
        "bogus",
        "cp037",
        "idna",
        "unicode_escape",
        "base64",
    ]
)


def check(scan: PageScan) -> None:
    """What every scan holds, whatever the page."""
    assert isinstance(scan, PageScan)
    assert len(scan.links) <= MAX_LINKS
    assert len(scan.images) <= MAX_IMAGES
    targets = [link.target for link in scan.links]
    assert len(set(targets)) == len(targets)
    assert len(set(scan.images)) == len(scan.images)
    for link in scan.links:
        assert type(link) is Link
        assert is_same_origin_path(link.target)
        assert link.rel in ("preload", "modulepreload")
        assert not link.nopush
        assert "#" not in link.target
        (parsed,) = parse_link_header(link.text)
        assert parsed.target == link.target
    for image in scan.images:
        assert is_same_origin_path(image)
        assert "#" not in image
        assert Link(image).target == image  # a valid URI-reference as it stands
    if scan.importmap:
        assert all(link.rel != "modulepreload" for link in scan.links)


@given(st.binary(max_size=2048), PATHS, st.integers(0, 4096), CHARSETS)
def test_any_bytes_give_a_valid_scan(body: bytes, path: str, limit: int, charset: str | None) -> None:
    check(scan_page(body, path, limit=limit, charset=charset))


@given(HTMLISH, PATHS, st.integers(0, 4096), CHARSETS)
def test_any_htmlish_text_gives_a_valid_scan(text: str, path: str, limit: int, charset: str | None) -> None:
    for body in (text.encode("utf-8", "surrogatepass"), text.encode("latin-1", "replace")):
        check(scan_page(body, path, limit=limit, charset=charset))


# -- a head built from generated tags --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    """One generated element and the hint it calls for."""

    kind: str
    url: str
    crossorigin: str | None
    fetchpriority: str | None

    def attributes(self) -> list[tuple[str, str | None]]:
        table: dict[str, list[tuple[str, str | None]]] = {
            "stylesheet": [("rel", "stylesheet"), ("href", self.url)],
            "script": [("src", self.url)],
            "defer": [("src", self.url), ("defer", None)],
            "async": [("src", self.url), ("async", None)],
            "module": [("type", "module"), ("src", self.url)],
            "modulepreload": [("rel", "modulepreload"), ("href", self.url)],
            "font": [("rel", "preload"), ("as", "font"), ("type", "font/woff2"), ("href", self.url)],
            "image": [("rel", "preload"), ("as", "image"), ("href", self.url)],
        }
        attrs = table[self.kind]
        if self.crossorigin is not None:
            attrs.append(("crossorigin", self.crossorigin or None))
        if self.fetchpriority is not None:
            attrs.append(("fetchpriority", self.fetchpriority))
        return attrs

    def expected(self) -> Link:
        credentials = (self.crossorigin or "").lower() == "use-credentials"
        cors = None if self.crossorigin is None else "use-credentials" if credentials else ""
        written = (self.fetchpriority or "").lower()
        priority = written if written in ("high", "low") else None
        if self.kind in ("defer", "async") and priority is None:
            priority = "low"
        params: tuple[tuple[str, str | None], ...] = (("fetchpriority", priority),) if priority else ()
        if self.kind in ("module", "modulepreload"):
            return Link(self.url, "modulepreload", None, "use-credentials" if cors == "use-credentials" else None,
                        params=params)  # fmt: skip
        if self.kind == "font":
            return Link(self.url, "preload", "font", cors, params=(("type", "font/woff2"), *params))
        as_ = {"stylesheet": "style", "image": "image"}.get(self.kind, "script")
        return Link(self.url, "preload", as_, cors, params=params)


URLS = st.builds(
    lambda parts, ext, query: "/" + "/".join(parts) + ext + query,
    st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8), min_size=1, max_size=3),
    st.sampled_from([".css", ".js", ".mjs", ".woff2", ".png", ""]),
    st.sampled_from(["", "?v=1", "?v=3f9a1c&x=2"]),  # written with &amp;
)
TAGS = st.builds(
    Tag,
    st.sampled_from(["stylesheet", "script", "defer", "async", "module", "modulepreload", "font", "image"]),
    URLS,
    st.sampled_from([None, "", "anonymous", "use-credentials", "Use-Credentials", "junk"]),
    st.sampled_from([None, "high", "low", "auto", "HIGH", "bogus"]),
)
NOISE = st.sampled_from(
    ["", "<meta name=x content='a > b'>", "<title>t <link rel=stylesheet href=/no.css></title>",
     "<!-- <script src=/no.js></script> -->", "<noscript><link rel=stylesheet href=/no.css></noscript>",
     "<style>.a{background:url(/bg.png)}</style>", "<script>var a = '<script src=/no.js>'</script>",
     "<template><link rel=stylesheet href=/no.css></template>", "<link rel=icon href=/favicon.ico>"]
)  # fmt: skip


@st.composite
def rendered(draw: st.DrawFn, tag: Tag) -> str:
    """*tag* written as pages write it: any case, quoting, order, spacing."""
    attrs = draw(st.permutations(tag.attributes()))
    parts = []
    unquoted_last = False
    for name, value in attrs:
        name = draw(st.sampled_from([name, name.upper(), name.title()]))
        unquoted_last = False
        if value is None:
            parts.append(name)
            continue
        value = value.upper() if name.lower() == "crossorigin" and draw(st.booleans()) else value
        quote = draw(st.sampled_from(['"', "'"] + ([""] if value and "&" not in value else [])))
        spaces = draw(st.sampled_from(["", " ", "\n  "]))
        unquoted_last = not quote
        parts.append(f"{name}{spaces}={spaces}{quote}{value.replace(chr(38), '&amp;')}{quote}")
    separator = draw(st.sampled_from([" ", "\n", "\t", "  "]))
    element = "script" if tag.kind in ("script", "defer", "async", "module") else "link"
    element = draw(st.sampled_from([element, element.upper()]))
    # An unquoted value runs to whitespace or ">": "href=/a.css/>" holds "/a.css/".
    end = draw(st.sampled_from([">", " >", " />"] if unquoted_last else [">", " >", "/>", " />"]))
    closing = f"</{element}>" if element.lower() == "script" else ""
    return f"<{element}{separator}{separator.join(parts)}{end}{closing}"


@given(st.data(), st.lists(TAGS, max_size=12), st.booleans())
def test_a_generated_head_gives_exactly_its_links(data: st.DataObject, tags: list[Tag], importmap: bool) -> None:
    pieces = []
    for tag in tags:
        pieces.append(data.draw(NOISE))
        pieces.append(data.draw(rendered(tag)))
    if importmap:
        pieces.insert(data.draw(st.integers(0, len(pieces))), '<script type="importmap">{"imports": {}}</script>')
    body = ("<!DOCTYPE html><html><head>" + "".join(pieces) + "</head><body><p>x</body></html>").encode()
    scan = scan_page(body, "/", limit=len(body))
    expected: list[Link] = []
    for tag in tags:
        link = tag.expected()
        if (importmap and link.rel == "modulepreload") or any(e.target == link.target for e in expected):
            continue
        expected.append(link)
    assert list(scan.links) == expected
    assert scan.importmap is importmap
    assert scan.complete
    check(scan)


# -- time in proportion to length -----------------------------------------------------------------------------

HOSTILE: dict[str, Callable[[int], bytes]] = {
    "open tags": lambda n: b"<head>" + b"<link " * (n // 6),
    "open tags, one >": lambda n: b"<head>" + b"<link " * (n // 6) + b">",
    "unclosed quote": lambda n: b'<head><link href="' + b"x" * n + b">",
    "quotes": lambda n: b'<head><link href="' + b'"' * n,
    # An even number of quotes: each closes the one before (an odd one leaves
    # the last open, and the scan stops at once).
    "quote after quote": lambda n: b"<head>" + b'<a b="' * (n // 12 * 2) + b">",
    "equals": lambda n: b"<head><link" + b" x=" * (n // 3) + b">",
    "equals, quoted": lambda n: b"<head><link" + b" x='" * (n // 8 * 2) + b">",
    "comment openers": lambda n: b"<head>" + b"<!--" * (n // 4),
    "bogus comments": lambda n: b"<head>" + b"<!" * (n // 2),
    "end tags": lambda n: b"<head>" + b"</a" * (n // 3),
    "less-thans": lambda n: b"<head>" + b"<" * n,
    "body tags, unclosed quote": lambda n: b"<body><div class=x>" * 10 + b'<div a="' + b"x" * n + b">",
    "body tags": lambda n: b"<body>" + b"<div " * (n // 5) + b">",
    "styles": lambda n: b"<body>" + b"<p style='" * (n // 20 * 2) + b">",
    "many attributes": lambda n: b"<head><link" + b" a=b" * (n // 4) + b">",
    "css url(": lambda n: b"<head><style>" + b'url("' * (n // 5),
    "css url( in style attributes": lambda n: b"<body><div style='" + b"url(url(" * (n // 8) + b"'>",
    "srcset parentheses": lambda n: b'<body><img srcset="' + b"a (" * (n // 3) + b'">',
    "srcset commas": lambda n: b'<body><img srcset="' + b", " * (n // 2) + b'">',
    "character references": lambda n: b'<head><link rel=stylesheet href="' + b"&" * n + b'">',
    "long numeric reference": lambda n: b'<head><link rel=stylesheet href="/&#' + b"9" * n + b'">',
    "templates": lambda n: b"<head>" + b"<template>" * (n // 10),
    "pictures": lambda n: b"<body>" + b"<picture><source srcset=/a.png>" * (n // 32),
    "images": lambda n: b"<body>" + b"<img src=/a.png>" * (n // 16),
    "links": lambda n: b"<head>" + b"<link rel=stylesheet href=/a.css>" * (n // 34),
    "script openers": lambda n: b"<head><script>" + b"<script" * (n // 7),
}
ORDINARY: Callable[[int], bytes] = lambda n: (  # noqa: E731
    b"<head>"
    + b"<meta name=description content='a page about things'><link rel=stylesheet href=/s.css>" * (n // 160)
    + b"</head><body>"
    + b"<div class=card><p>Text <a href=/x>link</a></p><img src=/i.png></div>" * (n // 140)
)


def best_time(body: bytes, repeat: int = 5) -> float:
    """The least processor time three scans of *body* took: processor time,
    so that other processes on a busy machine do not count, and the least,
    as the least disturbed."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(3):
            scan_page(body, "/", limit=len(body))
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_costs_time_in_proportion_to_its_length(name: str) -> None:
    make = HOSTILE[name]
    small, large = make(2048), make(32768)
    check(scan_page(large, "/", limit=len(large)))
    # Sixteen times the bytes: at most about sixteen times the time if linear,
    # 256 if quadratic. A ratio, not a time, so a slow machine does not fail it.
    large_time = best_time(large)
    ratio = large_time / max(best_time(small), 1e-6)
    assert ratio < 64, f"{name}: 16x the input took {ratio:.1f}x the time"
    # And no worse than an ordinary page of that length by much.
    ordinary = best_time(ORDINARY(len(large)))
    assert large_time < 8 * ordinary, f"{name}: {large_time / ordinary:.1f}x an ordinary page's time"
