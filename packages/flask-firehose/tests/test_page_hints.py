"""scan_page(): the hints a page's head names, tag by tag, and the images it
references; URL resolution, the head's end, the read limit, encodings, and
two real heads (Vite's output, a Flask/Jinja layout)."""

from __future__ import annotations

import pytest

from flask_firehose._page_hints import DEFAULT_LIMIT, MAX_IMAGES, MAX_LINKS, PageScan, scan_page
from flask_firehose._parsing import parse_link_header


def page(head: str, body: str = "") -> bytes:
    return f"<!doctype html><html><head><meta charset=utf-8>{head}</head><body>{body}</body></html>".encode()


def hints(head: str, path: str = "/shop/articles/3?x=1", **kwargs: object) -> list[str]:
    """The scanned links of a page with *head*, as their header text."""
    return [link.text for link in scan_page(page(head), path, **kwargs).links]  # type: ignore[arg-type]


def images(body: str, head: str = "", path: str = "/shop/articles/3") -> list[str]:
    return list(scan_page(page(head, body), path).images)


# -- one table per kind of tag ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ('<link rel="stylesheet" href="/static/a.css">', ["</static/a.css>; rel=preload; as=style"]),
        ("<LINK REL=StyleSheet HREF=/static/a.css>", ["</static/a.css>; rel=preload; as=style"]),
        ("<link href='/static/a.css' rel='icon stylesheet'>", ["</static/a.css>; rel=preload; as=style"]),
        ('<link rel="stylesheet" href="/a.css" crossorigin>', ["</a.css>; rel=preload; as=style; crossorigin"]),
        ('<link rel="stylesheet" href="/a.css" crossorigin="">', ["</a.css>; rel=preload; as=style; crossorigin"]),
        ("<link rel=stylesheet href=/a.css crossorigin=anonymous>", ["</a.css>; rel=preload; as=style; crossorigin"]),
        ("<link rel=stylesheet href=/a.css crossorigin=bogus>", ["</a.css>; rel=preload; as=style; crossorigin"]),
        (
            "<link rel=stylesheet href=/a.css crossorigin=USE-CREDENTIALS>",
            ["</a.css>; rel=preload; as=style; crossorigin=use-credentials"],
        ),
        (
            "<link rel=stylesheet href=/a.css fetchpriority=HIGH>",
            ["</a.css>; rel=preload; as=style; fetchpriority=high"],
        ),
        ("<link rel=stylesheet href=/a.css fetchpriority=auto>", ["</a.css>; rel=preload; as=style"]),
        ("<link rel=stylesheet href=/a.css fetchpriority=urgent>", ["</a.css>; rel=preload; as=style"]),
        ("<link rel=stylesheet href=/a.css media=all>", ["</a.css>; rel=preload; as=style"]),
        ("<link rel=stylesheet href=/a.css media=' Screen '>", ["</a.css>; rel=preload; as=style"]),
        ("<link rel=stylesheet href=/a.css type=text/css>", ["</a.css>; rel=preload; as=style"]),
        ("<link rel=stylesheet href=/a.css media=print>", []),
        ("<link rel=stylesheet href=/a.css media='(min-width: 600px)'>", []),
        ("<link rel='alternate stylesheet' href=/a.css title=Dark>", []),
        ("<link rel=stylesheet href=/a.css disabled>", []),
        ("<link rel=stylesheet href=/a.css integrity=sha384-abc>", []),
        ("<link rel=stylesheet href=/a.css type=text/less>", []),
        ("<link rel=stylesheet>", []),
        ("<link rel=stylesheet href=''>", []),
        ("<link rel=stylesheet href=https://cdn.example/a.css>", []),
        ("<link rel=icon href=/favicon.ico>", []),
        ("<link rel=preconnect href=/>", []),
    ],
)
def test_stylesheets(tag: str, expected: list[str]) -> None:
    assert hints(tag) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ('<script src="/static/app.js"></script>', ["</static/app.js>; rel=preload; as=script"]),
        ("<SCRIPT SRC=/app.js TYPE=text/javascript></SCRIPT>", ["</app.js>; rel=preload; as=script"]),
        ("<script src=/app.js type=' application/javascript '></script>", ["</app.js>; rel=preload; as=script"]),
        ("<script src=/app.js type=''></script>", ["</app.js>; rel=preload; as=script"]),
        ("<script src=/app.js language=javascript></script>", ["</app.js>; rel=preload; as=script"]),
        ("<script src=/app.js defer></script>", ["</app.js>; rel=preload; as=script; fetchpriority=low"]),
        ("<script async src=/app.js></script>", ["</app.js>; rel=preload; as=script; fetchpriority=low"]),
        (
            "<script defer src=/app.js fetchpriority=high></script>",
            ["</app.js>; rel=preload; as=script; fetchpriority=high"],
        ),
        (
            "<script defer src=/app.js fetchpriority=auto></script>",
            ["</app.js>; rel=preload; as=script; fetchpriority=low"],
        ),
        ("<script src=/app.js fetchpriority=low></script>", ["</app.js>; rel=preload; as=script; fetchpriority=low"]),
        ("<script src=/app.js crossorigin></script>", ["</app.js>; rel=preload; as=script; crossorigin"]),
        (
            "<script src=/app.js crossorigin=use-credentials async></script>",
            ["</app.js>; rel=preload; as=script; crossorigin=use-credentials; fetchpriority=low"],
        ),
        ("<script src=/app.js nomodule></script>", []),
        ("<script src=/app.js integrity=sha384-abc></script>", []),
        ("<script src=/data.json type=application/json></script>", []),
        ("<script src=/t.html type=text/template></script>", []),
        ("<script src=/app.js type='text/javascript; charset=utf-8'></script>", []),
        ("<script src=/app.js language=vbscript></script>", []),
        ("<script>var x = 1;</script>", []),
        ("<script src=''></script>", []),
        ("<script src=//cdn.example/app.js></script>", []),
    ],
)
def test_classic_scripts(tag: str, expected: list[str]) -> None:
    assert hints(tag) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ('<script type="module" src="/static/main.js"></script>', ["</static/main.js>; rel=modulepreload"]),
        ("<script type=MODULE src=/main.js async></script>", ["</main.js>; rel=modulepreload"]),
        ("<script type=module src=/main.js defer></script>", ["</main.js>; rel=modulepreload"]),
        ("<script type=module crossorigin src=/main.js></script>", ["</main.js>; rel=modulepreload"]),
        ("<script type=module crossorigin=anonymous src=/main.js></script>", ["</main.js>; rel=modulepreload"]),
        (
            "<script type=module crossorigin=use-credentials src=/main.js></script>",
            ["</main.js>; rel=modulepreload; crossorigin=use-credentials"],
        ),
        (
            "<script type=module src=/main.js fetchpriority=low></script>",
            ["</main.js>; rel=modulepreload; fetchpriority=low"],
        ),
        (
            "<script type=module src=/main.js fetchpriority=high></script>",
            ["</main.js>; rel=modulepreload; fetchpriority=high"],
        ),
        ("<script type=module src=/main.js integrity=sha384-abc></script>", []),
        ("<script type=module>import './a.js'</script>", []),
        ("<script type=module src=main.js></script>", ["</shop/articles/main.js>; rel=modulepreload"]),
    ],
)
def test_module_scripts(tag: str, expected: list[str]) -> None:
    assert hints(tag) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("<link rel=modulepreload href=/dep.js>", ["</dep.js>; rel=modulepreload"]),
        ("<link rel=modulepreload crossorigin href=/dep.js>", ["</dep.js>; rel=modulepreload"]),
        ("<link rel=ModulePreload href=/dep.js as=script>", ["</dep.js>; rel=modulepreload; as=script"]),
        ("<link rel=modulepreload href=/w.js as=worker>", ["</w.js>; rel=modulepreload; as=worker"]),
        (
            "<link rel=modulepreload href=/dep.js crossorigin=use-credentials>",
            ["</dep.js>; rel=modulepreload; crossorigin=use-credentials"],
        ),
        (
            "<link rel=modulepreload href=/dep.js fetchpriority=low>",
            ["</dep.js>; rel=modulepreload; fetchpriority=low"],
        ),
        ("<link rel=modulepreload href=/dep.js as=banana>", []),
        ("<link rel=modulepreload href=/dep.js integrity=sha384-abc>", []),
        ("<link rel=modulepreload>", []),
    ],
)
def test_link_modulepreload(tag: str, expected: list[str]) -> None:
    assert hints(tag) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("<link rel=preload href=/f.woff2 as=font crossorigin>", ["</f.woff2>; rel=preload; as=font; crossorigin"]),
        (
            '<link rel="preload" href="/f.woff2" as="FONT" type="Font/WOFF2" crossorigin="anonymous">',
            ['</f.woff2>; rel=preload; as=font; crossorigin; type="font/woff2"'],
        ),
        ("<link rel=preload href=/f.woff2 as=font>", ["</f.woff2>; rel=preload; as=font"]),
        (
            "<link rel=preload href=/hero.avif as=image fetchpriority=high>",
            ["</hero.avif>; rel=preload; as=image; fetchpriority=high"],
        ),
        ("<link rel=preload href=/a.js as=script>", ["</a.js>; rel=preload; as=script"]),
        ("<link rel=preload href=/d.json as=fetch crossorigin>", ["</d.json>; rel=preload; as=fetch; crossorigin"]),
        (
            "<link rel=preload href=/a.css as=style type=text/css fetchpriority=low>",
            ['</a.css>; rel=preload; as=style; type="text/css"; fetchpriority=low'],
        ),
        ("<link rel=preload href=/a.css>", []),
        ("<link rel=preload href=/a.css as=stylesheet>", []),
        ("<link rel=preload href=/hero.avif as=image imagesrcset='/h-2x.avif 2x'>", []),
        ("<link rel=preload href=/hero.avif as=image imagesizes=100vw>", []),
        ("<link rel=preload href=/hero.avif as=image media='(max-width: 600px)'>", []),
        ("<link rel=preload href=/a.js as=script integrity=sha384-abc>", []),
        ("<link rel=preload href=/f.woff2 as=font type='font/woff2; x=1'>", []),
        ("<link rel=prefetch href=/next.js as=script>", []),
        ("<link rel=preload href=https://cdn.example/f.woff2 as=font crossorigin>", []),
    ],
)
def test_link_preload(tag: str, expected: list[str]) -> None:
    assert hints(tag) == expected


def test_every_link_is_a_valid_header_value() -> None:
    head = (
        '<link rel=stylesheet href="/a.css?v=1&amp;b=2" crossorigin fetchpriority=high>'
        "<script defer src=/b.js></script><script type=module src=/c.js></script>"
        "<link rel=preload href=/f.woff2 as=font type=font/woff2 crossorigin>"
    )
    scan = scan_page(page(head), "/")
    parsed = parse_link_header(", ".join(link.text for link in scan.links))
    assert [(p.target, p.get("rel"), p.get("as")) for p in parsed] == [
        ("/a.css?v=1&b=2", "preload", "style"),
        ("/b.js", "preload", "script"),
        ("/c.js", "modulepreload", None),
        ("/f.woff2", "preload", "font"),
    ]


# -- import maps --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "importmap",
    [
        '<script type="importmap">{"imports": {"vue": "/static/vue.js"}}</script>',
        "<SCRIPT TYPE=' ImportMap '>{}</SCRIPT>",
    ],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_an_import_map_drops_every_modulepreload(importmap: str, where: str) -> None:
    tags = (
        "<link rel=stylesheet href=/a.css><script type=module src=/main.js></script>"
        "<link rel=modulepreload href=/dep.js><script src=/classic.js defer></script>"
    )
    scan = scan_page(page(importmap + tags if where == "before" else tags + importmap), "/")
    assert scan.importmap
    assert [link.text for link in scan.links] == [
        "</a.css>; rel=preload; as=style",
        "</classic.js>; rel=preload; as=script; fetchpriority=low",
    ]


def test_an_import_map_in_the_body_counts_too() -> None:
    scan = scan_page(page("<script type=module src=/m.js></script>", "<script type=importmap>{}</script>"), "/")
    assert scan.importmap
    assert scan.links == ()


@pytest.mark.parametrize(
    "hidden",
    [
        "<!-- <script type=importmap>{}</script> -->",
        "<template><script type=importmap>{}</script></template>",
        "<noscript><script type=importmap>{}</script></noscript>",
        "<script>document.write('<script type=importmap>{}<' + '/script>')</script>",
    ],
)
def test_an_import_map_that_is_not_one(hidden: str) -> None:
    scan = scan_page(page(hidden + "<script type=module src=/m.js></script>"), "/")
    assert not scan.importmap
    assert [link.text for link in scan.links] == ["</m.js>; rel=modulepreload"]


# -- URLs ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/static/a.css", "/static/a.css"),
        ("a.css", "/shop/articles/a.css"),
        ("./a.css", "/shop/articles/a.css"),
        ("../a.css", "/shop/a.css"),
        ("../../../../../a.css", "/a.css"),
        ("/static/./x/../a.css", "/static/a.css"),
        ("?v=2", "/shop/articles/3?v=2"),
        ("/a.css?v=1#top", "/a.css?v=1"),
        ("/a.css#x?y", "/a.css"),
        ("  /a.css\n ", "/a.css"),
        ("/st\natic/a\t.css", "/static/a.css"),
        ("/a b.css", "/a%20b.css"),
        ("/café.css", "/caf%C3%A9.css"),
        ("/a.css?q=é", "/a.css?q=%C3%A9"),
        ("/a%20b.css", "/a%20b.css"),
        ("\\static\\a.css", "/static/a.css"),
        ("https://example.com/a.css", None),
        ("http:a.css", None),
        ("//example.com/a.css", None),
        ("\\\\example.com/a.css", None),
        ("/\\example.com/a.css", None),
        ("/.//example.com/a.css", None),
        ("data:text/css,a{}", None),
        ("blob:https://example.com/1", None),
        ("javascript:alert(1)", None),
        ("", None),
        ("   ", None),
        ("/a|b.css", None),
        ("/a{b}.css", None),
        ("/a%2e%2e/b.css", None),
        ("/a%zz.css", None),
        ("/a.css?x=a\\b", None),
    ],
)
def test_urls_resolve_to_same_origin_paths(href: str, expected: str | None) -> None:
    scan = scan_page(page(f'<link rel=stylesheet href="{href}">'), "/shop/articles/3?x=1")
    assert [link.target for link in scan.links] == ([] if expected is None else [expected])


def test_character_references_in_urls_are_decoded_as_in_an_attribute() -> None:
    head = (
        '<link rel=stylesheet href="/a.css?x=1&amp;y=2">'
        '<link rel=stylesheet href="/b.css?x=1&copy=2">'
        '<link rel=stylesheet href="/c.css?x=1&copy;">'
        '<link rel=stylesheet href="/d&#46;css">'
        '<link rel=stylesheet href="/e&#x2E;css&notit;">'
    )
    assert [link.target for link in scan_page(page(head), "/").links] == [
        "/a.css?x=1&y=2",
        "/b.css?x=1&copy=2",
        "/c.css?x=1%C2%A9",
        "/d.css",
        "/e.css&notit;",
    ]


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ('<base href="/static/">', ["/static/a.css", "/root.css"]),
        ('<base href="../">', ["/shop/a.css", "/root.css"]),
        ('<base href="/static/"><base href="/other/">', ["/static/a.css", "/root.css"]),
        ('<base target=_blank><base href="/static/">', ["/static/a.css", "/root.css"]),
        ('<base href="">', ["/shop/articles/a.css", "/root.css"]),
        ('<base href="https://cdn.example/">', []),
        ('<base href="//cdn.example/">', []),
        ('<base href="data:text/html,">', []),
        ("<template><base href=/static/></template>", ["/shop/articles/a.css", "/root.css"]),
    ],
)
def test_base_href(base: str, expected: list[str]) -> None:
    head = base + "<link rel=stylesheet href=a.css><link rel=stylesheet href=/root.css>"
    assert [link.target for link in scan_page(page(head), "/shop/articles/3").links] == expected


def test_a_base_applies_to_the_urls_after_it() -> None:
    head = "<link rel=stylesheet href=a.css><base href=/static/><link rel=stylesheet href=b.css>"
    assert [link.target for link in scan_page(page(head), "/p/q").links] == ["/p/a.css", "/static/b.css"]


def test_links_are_deduplicated_by_target_first_wins() -> None:
    head = (
        "<link rel=preload href=/a.css as=style fetchpriority=high>"
        "<link rel=stylesheet href=/a.css><link rel=stylesheet href=a.css>"
        "<script src=/b.js></script><script src=/b.js#again defer></script>"
    )
    assert hints(head, "/") == [
        "</a.css>; rel=preload; as=style; fetchpriority=high",
        "</b.js>; rel=preload; as=script",
    ]


# -- what is not a tag ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hidden",
    [
        "<!-- <link rel=stylesheet href=/x.css> -->",
        "<!--<link rel=stylesheet href=/x.css>--!>",
        "<!-- a -- b <link rel=stylesheet href=/x.css> -->",
        "<noscript><link rel=stylesheet href=/x.css></noscript>",
        "<template><link rel=stylesheet href=/x.css></template>",
        "<template><template></template><link rel=stylesheet href=/x.css></template>",
        '<script>var s = "<link rel=stylesheet href=/x.css>";</script>',
        "<script>var s = '</scrip' + 't><link rel=stylesheet href=/x.css>';</script>",
        "<style>/* <link rel=stylesheet href=/x.css> */</style>",
        "<title><link rel=stylesheet href=/x.css></title>",
        "<noframes><link rel=stylesheet href=/x.css></noframes>",
        "<![CDATA[ x ]]>",
        "<?php echo 1 ?>",
        "</ <link rel=stylesheet href=/x.css>",
        '<meta content="<link rel=stylesheet href=/x.css>">',
        "<meta name=a content='>'><link rel=stylesheet href=/x.css title=\"it's\">",
    ],
)
def test_hidden_markup_names_nothing(hidden: str) -> None:
    expected_x = ["/x.css"] if hidden.startswith("<meta name=a") else []
    head = hidden + "<link rel=stylesheet href=/after.css>"
    assert [link.target for link in scan_page(page(head), "/").links] == [*expected_x, "/after.css"]


@pytest.mark.parametrize(
    "comment",
    ["<!---->", "<!-->", "<!--->", "<!-- - -->", "<!--x--!>"],
)
def test_comments_that_close_early(comment: str) -> None:
    assert hints(comment + "<link rel=stylesheet href=/a.css>", "/") == ["</a.css>; rel=preload; as=style"]


def test_attribute_syntax() -> None:
    head = (
        "<link\nrel=stylesheet\thref=/a.css/>"  # an unquoted value keeps its "/"
        '<link rel="stylesheet" href="/b.css"/>'
        "<link rel = 'stylesheet' href = '/c.css' >"
        '<link rel=stylesheet href="/d.css" href="/ignored.css">'
        '<link rel=stylesheet title="a > b" href="/e.css">'
        "<link rel=stylesheet href=/f.css?a=b=c>"
    )
    assert [link.target for link in scan_page(page(head), "/").links] == [
        "/a.css/",
        "/b.css",
        "/c.css",
        "/d.css",
        "/e.css",
        "/f.css?a=b=c",
    ]


# -- the end of the head ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "end",
    ["</head>", "<body>", "<BODY class=x>", "<div>", "<p>hello", "<img src=/i.png>", "<h1>", "<main>", "<my-app>",
     "</body>", "</html>"],
)  # fmt: skip
def test_hints_come_from_the_head_only(end: str) -> None:
    body = (
        b"<html><head><link rel=stylesheet href=/a.css>" + end.encode() + b"<link rel=stylesheet href=/late.css>"
        b"<script src=/late.js></script><script type=importmap>{}</script>"
    )
    scan = scan_page(body, "/")
    assert [link.target for link in scan.links] == ["/a.css"]
    assert scan.complete
    assert scan.importmap  # seen after the head


@pytest.mark.parametrize(
    "kept",
    ["<meta name=x content=y>", "<title>t</title>", "<base target=_top>", "<noscript><p>x</p></noscript>",
     "<style>p{}</style>", "<template><div></div></template>", "<head>", "<html>"],
)  # fmt: skip
def test_elements_that_stay_in_the_head(kept: str) -> None:
    scan = scan_page(b"<html><head>" + kept.encode() + b"<link rel=stylesheet href=/a.css>", "/")
    assert [link.target for link in scan.links] == ["/a.css"]
    assert not scan.complete


def test_a_page_without_head_tags_is_read_until_its_first_body_element() -> None:
    scan = scan_page(b"<link rel=stylesheet href=/a.css><p>x<link rel=stylesheet href=/b.css>", "/")
    assert [link.target for link in scan.links] == ["/a.css"]
    assert scan.complete


# -- the limit ----------------------------------------------------------------------------------------------------


def test_the_limit_cuts_a_tag_which_is_then_ignored() -> None:
    body = b"<head><link rel=stylesheet href=/a.css><link rel=stylesheet href=/b.css></head>"
    cut = body.index(b"/b.css") + 3
    scan = scan_page(body, "/", limit=cut)
    assert [link.target for link in scan.links] == ["/a.css"]
    assert not scan.complete
    full = scan_page(body, "/", limit=len(body))
    assert [link.target for link in full.links] == ["/a.css", "/b.css"]
    assert full.complete


@pytest.mark.parametrize("limit", range(0, 120, 7))
def test_every_cut_is_a_prefix_of_the_whole(limit: int) -> None:
    body = page(
        "<!-- c --><link rel=stylesheet href=/a.css><script defer src=/b.js></script>"
        "<style>p{}</style><link rel=preload as=font href=/f.woff2 crossorigin>"
    )
    whole = scan_page(body, "/").links
    cut = scan_page(body, "/", limit=limit).links
    assert whole[: len(cut)] == cut


def test_the_default_limit() -> None:
    padding = "<meta name=x content=y>" * (DEFAULT_LIMIT // 23)
    scan = scan_page(page(padding + "<link rel=stylesheet href=/late.css>"), "/")
    assert scan.links == ()
    assert not scan.complete
    assert [link.target for link in scan_page(page(padding + "<link rel=stylesheet href=/late.css>"), "/",
                                              limit=2 * DEFAULT_LIMIT).links] == ["/late.css"]  # fmt: skip


def test_caps() -> None:
    head = "".join(f"<link rel=stylesheet href=/s{i}.css>" for i in range(MAX_LINKS + 20))
    body = "".join(f"<img src=/i{i}.png>" for i in range(MAX_IMAGES + 20))
    scan = scan_page(page(head, body), "/", limit=10**6)
    assert [link.target for link in scan.links] == [f"/s{i}.css" for i in range(MAX_LINKS)]
    assert list(scan.images) == [f"/i{i}.png" for i in range(MAX_IMAGES)]


# -- encodings ----------------------------------------------------------------------------------------------------


def test_utf8_with_and_without_bom() -> None:
    head = "<link rel=stylesheet href=/café.css>"
    assert [link.target for link in scan_page(page(head), "/").links] == ["/caf%C3%A9.css"]
    assert [link.target for link in scan_page(b"\xef\xbb\xbf" + page(head), "/", charset="latin-1").links] == [
        "/caf%C3%A9.css"
    ]


def test_an_ascii_compatible_charset_is_used() -> None:
    body = "<link rel=stylesheet href=/café.css><link rel=stylesheet href=/b.css?q=é>".encode("cp1252")
    scan = scan_page(body, "/", charset="windows-1252")
    # The path is UTF-8 percent-encoded as browsers do; a non-ASCII query
    # would be encoded in the page's charset, which a hint cannot match.
    assert [link.target for link in scan.links] == ["/caf%C3%A9.css"]
    latin = scan_page(body, "/", charset="ISO-8859-1")
    assert [link.target for link in latin.links] == ["/caf%C3%A9.css"]


def test_shift_jis_is_ascii_compatible() -> None:
    body = "<title>日本</title><link rel=stylesheet href=/a.css>".encode("shift_jis")
    assert [link.target for link in scan_page(body, "/", charset="Shift_JIS").links] == ["/a.css"]


@pytest.mark.parametrize(
    "charset",
    [None, "utf-8", " UTF-8 ", "", "no-such-charset", "utf-8\x00", "utf-7", "cp037", "iso-2022-jp", "rot13", "base64",
     "undefined", "idna", "punycode", "unicode_escape", "raw_unicode_escape"],
)  # fmt: skip
def test_unknown_or_incompatible_charsets_read_utf8(charset: str | None) -> None:
    body = "<link rel=stylesheet href=/é.css>\\x3clink rel=stylesheet href=/x.css>".encode()
    assert [link.target for link in scan_page(body, "/", charset=charset).links] == ["/%C3%A9.css"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    body = b"<link rel=stylesheet href=/a\xff.css><link rel=stylesheet href=/b.css>"
    assert [link.target for link in scan_page(body, "/").links] == ["/a%EF%BF%BD.css", "/b.css"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_give_an_empty_scan(encoding: str) -> None:
    text = "<link rel=stylesheet href=/a.css>"
    body = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        body = ("\ufeff" + text).encode(encoding)  # a byte order mark
    assert scan_page(body, "/") == PageScan((), (), False, False)
    assert scan_page(text.encode("utf-16-le"), "/", charset="UTF-16LE") == PageScan((), (), False, False)


# -- images -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<img src=/hero.jpg>", ["/hero.jpg"]),
        ("<IMG SRC='hero.jpg' ALT=x>", ["/shop/articles/hero.jpg"]),
        # Of several candidates (src counts as one) the browser's choice
        # depends on its pixel density: none is an image a report may name.
        ('<img src="/a.jpg" srcset="/a-1x.jpg 1x, /a-2x.jpg 2x">', []),
        ('<img src="/a.jpg" srcset="/a-2x.jpg 2x">', []),
        ('<img srcset="/s.jpg 480w,/m.jpg 800w ,  /l.jpg 1200w">', []),
        ('<img srcset="/a,b.jpg 1x, /c.jpg">', []),
        ('<img srcset="/a.jpg,/b.jpg 2x">', ["/a.jpg,/b.jpg"]),  # a comma inside a URL is part of it
        ('<img srcset="/only.jpg 1x">', ["/only.jpg"]),
        ('<img srcset="/a.jpg, /b.jpg,, /c.jpg,">', []),
        ('<img srcset="/a.jpg (x, y) 1x, /b.jpg">', []),
        ("<picture><source srcset='/p.avif 1x, /p2.avif 2x' type=image/avif><img src=/p.jpg></picture>",
         ["/p.jpg"]),
        ("<picture><source srcset='/p.avif' type=image/avif><img src=/p.jpg></picture>", ["/p.avif", "/p.jpg"]),
        ("<video poster=/poster.jpg src=/v.mp4></video>", ["/poster.jpg"]),
        ("<source srcset=/not-in-picture.jpg>", []),
        ("<picture></picture><source srcset=/after-picture.jpg>", []),
        ("<div style=\"background-image: url('/bg.jpg')\"></div>", ["/bg.jpg"]),
        ("<div STYLE='background: URL( \"/bg.jpg\" ) no-repeat, url(/two.png)'></div>", ["/bg.jpg", "/two.png"]),
        ("<section style=background:url(/s.webp)></section>", ["/s.webp"]),
        ("<div style=\"background:url(&quot;/q.jpg&quot;)\"></div>", ["/q.jpg"]),
        ("<style>.h{background:url(/h.jpg)} @import url(/x.css); @font-face{src:url(/f.woff2)}</style>", ["/h.jpg"]),
        ("<link rel=preload as=image href=/lcp.jpg imagesrcset='/lcp-1x.jpg 1x, /lcp-2x.jpg 2x'>", []),
        ("<link rel=preload as=image href=/lcp.jpg>", ["/lcp.jpg"]),
        ("<img src=https://cdn.example/a.jpg srcset='//cdn.example/b.jpg 2x'>", []),
        ("<img src='data:image/png;base64,AAAA'>", []),
        ("<img src=/dup.jpg><img src=/dup.jpg#x><img src=dup.jpg>", ["/dup.jpg", "/shop/articles/dup.jpg"]),
        ("<noscript><img src=/ns.jpg></noscript>", []),
        ("<template><img src=/t.jpg></template>", []),
        ("<!-- <img src=/c.jpg> -->", []),
        ("<textarea><img src=/ta.jpg></textarea>", []),
    ],
)  # fmt: skip
def test_images(markup: str, expected: list[str]) -> None:
    assert images(markup) == expected


def test_images_in_the_head_and_body_in_document_order() -> None:
    head = "<style>.a{background:url(/head-bg.png)}</style><link rel=preload as=image href=/lcp.jpg>"
    scan = scan_page(page(head, "<img src=/body.jpg>"), "/")
    assert list(scan.images) == ["/head-bg.png", "/lcp.jpg", "/body.jpg"]
    assert [link.text for link in scan.links] == ["</lcp.jpg>; rel=preload; as=image"]


def test_css_urls_read_per_page_are_bounded() -> None:
    fonts = "".join(f"@font-face{{src:url(/f{i}.woff2)}}" for i in range(300))
    assert images("<div style='background:url(/late.png)'>", head=f"<style>{fonts}</style>") == []
    assert images("<div style='background:url(/late.png)'>", head="<style>@font-face{src:url(/f.woff2)}</style>") == [
        "/late.png"
    ]


def test_images_keep_being_collected_after_the_head() -> None:
    body = "<div class=x>" * 200 + "<p>text</p>" * 200 + "<img src=/late.jpg>"
    assert images(body) == ["/late.jpg"]


# -- real heads ---------------------------------------------------------------------------------------------------

# What `vite build` writes for an entry with a shared chunk and two CSS files
# (Vite 5-8's html plugin: the entry script, modulepreloads, then stylesheets,
# all with a bare crossorigin, appended before </head>).
VITE_PAGE = b"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <link rel="icon" type="image/svg+xml" href="/vite.svg" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>main, as Vite writes it</title>
    <script type="module" crossorigin src="/static/dist/assets/index-wcBiAvA8.js"></script>
    <link rel="modulepreload" crossorigin href="/static/dist/assets/modulepreload-polyfill-P2Xu9kJm.js">
    <link rel="modulepreload" crossorigin href="/static/dist/assets/shared-Dc-AGWwQ.js">
    <link rel="stylesheet" crossorigin href="/static/dist/assets/shared-Nun8YsAd.css">
    <link rel="stylesheet" crossorigin href="/static/dist/assets/index-8iCS4mZ6.css">
  </head>
  <body>
    <div id="app"></div>
  </body>
</html>
"""


def test_a_vite_built_page() -> None:
    scan = scan_page(VITE_PAGE, "/")
    assert [link.text for link in scan.links] == [
        "</static/dist/assets/index-wcBiAvA8.js>; rel=modulepreload",
        "</static/dist/assets/modulepreload-polyfill-P2Xu9kJm.js>; rel=modulepreload",
        "</static/dist/assets/shared-Dc-AGWwQ.js>; rel=modulepreload",
        "</static/dist/assets/shared-Nun8YsAd.css>; rel=preload; as=style; crossorigin",
        "</static/dist/assets/index-8iCS4mZ6.css>; rel=preload; as=style; crossorigin",
    ]
    assert scan.complete
    assert not scan.importmap


def test_a_vite_built_page_with_an_import_map() -> None:
    importmap = b'<script type="importmap">{"imports":{"shared":"/static/dist/assets/shared-Dc-AGWwQ.js"}}</script>'
    body = VITE_PAGE.replace(b"<script type=", importmap + b"\n    <script type=", 1)
    scan = scan_page(body, "/")
    assert scan.importmap
    assert [link.target for link in scan.links] == [
        "/static/dist/assets/shared-Nun8YsAd.css",
        "/static/dist/assets/index-8iCS4mZ6.css",
    ]


# A layout as Flask apps write it with Jinja (url_for rendered), including the
# usual noise: conditional comments, inline JSON, a template, analytics.
FLASK_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Articles &mdash; Shop</title>
  <link rel="preconnect" href="https://fonts.example">
  <link rel="icon" href="/static/favicon.ico">
  <link rel="preload" href="/static/fonts/inter.woff2" as="font" type="font/woff2" crossorigin>
  <link rel="stylesheet" href="/static/css/main.css?v=3f9a1c">
  <link rel="stylesheet" href="/static/css/print.css" media="print">
  <link rel="stylesheet" href="https://cdn.example/lib.css" integrity="sha384-x" crossorigin="anonymous">
  <!--[if lt IE 9]><script src="/static/js/html5shiv.js"></script><![endif]-->
  <script>window.CONFIG = {"next": "<link rel=stylesheet href=/x.css>", "user": null};</script>
  <script src="/static/js/vendor.js?v=3f9a1c" defer></script>
  <script src="/static/js/app.js?v=3f9a1c" defer></script>
  <script async src="https://analytics.example/a.js"></script>
  <script type="application/ld+json">{"@type": "Article"}</script>
  <style>.hero{background-image:url('/static/img/hero-bg.webp')}</style>
</head>
<body class="articles">
  <header><img src="/static/img/logo.svg" alt="Shop"></header>
  <main>
    <img src="/static/img/article-3.jpg" srcset="/static/img/article-3@2x.jpg 2x" alt="">
  </main>
</body>
</html>
"""


def test_a_flask_jinja_page() -> None:
    scan = scan_page(FLASK_PAGE, "/shop/articles/3?x=1")
    assert [link.text for link in scan.links] == [
        '</static/fonts/inter.woff2>; rel=preload; as=font; crossorigin; type="font/woff2"',
        "</static/css/main.css?v=3f9a1c>; rel=preload; as=style",
        "</static/js/vendor.js?v=3f9a1c>; rel=preload; as=script; fetchpriority=low",
        "</static/js/app.js?v=3f9a1c>; rel=preload; as=script; fetchpriority=low",
    ]
    # The article's picture has a 1x and a 2x candidate: neither is listed.
    assert scan.images == ("/static/img/hero-bg.webp", "/static/img/logo.svg")
    assert scan.complete
    assert not scan.importmap


# -- arguments ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("<html>", "/"), {}, TypeError),
        ((b"", None), {}, TypeError),
        ((b"", "relative/path"), {}, ValueError),
        ((b"", ""), {}, ValueError),
        ((b"", "/"), {"limit": -1}, ValueError),
        ((b"", "/"), {"limit": 1.5}, ValueError),
        ((b"", "/"), {"limit": True}, ValueError),
        ((b"", "/"), {"charset": b"utf-8"}, TypeError),
    ],
)
def test_bad_arguments_raise_typed_errors(args: tuple[object, ...], kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        scan_page(*args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [b"", bytearray(b"<link rel=stylesheet href=/a.css>"), memoryview(b"<p>")])
def test_bytes_like_bodies(body: bytes) -> None:
    assert isinstance(scan_page(body, "/"), PageScan)
