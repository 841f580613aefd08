"""The tokenizer scan_page() reads pages with: which tokens a text yields,
attribute syntax, character references."""

from __future__ import annotations

import pytest

from flask_firehose._page_scan_html import (
    END,
    MAX_ATTRIBUTES,
    START,
    Tokens,
    attributes,
    css_urls,
    decode_references,
    srcset_urls,
)


def names(text: str, *, body: bool = False) -> list[str]:
    walk = Tokens(text)
    walk.body = body
    return [("/" if kind == END else "") + name for kind, name, _, _ in walk]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<html><HEAD><title>a <b> c</title></head>", ["html", "head", "title", "/title", "/head"]),
        ("<meta charset=utf-8><link rel=x>", ["link"]),  # <meta> is passed over in the head
        ("<script>if (a < b) { x = '</div>' }</script><p>", ["script", "/script", "p"]),
        ("<script>x</SCRIPT >y", ["script", "/script"]),
        ("<script>x</scripty></script>", ["script", "/script"]),
        ("<style>a{}</style ><p>", ["style", "/style", "p"]),
        ("<textarea></textarea/><p>", ["textarea", "/textarea", "p"]),
        ("<!DOCTYPE html><!-- <a> --><?xml x?><![CDATA[<b>]]><p>", ["p"]),
        ("</ x><p>", ["p"]),
        ("</><p>", ["p"]),
        ("a < b <3 <p>", ["p"]),
        ("<a title='x>y' b=\"c>d\" e=f>g>", ["a"]),
        ("<plaintext><p>", ["plaintext"]),
        ("<p", []),
        ("<p title='x>", []),
        ("<script>never closed <p>", ["script"]),
        ("<!-- never closed <p>", []),
        ("</p", []),
        ("<", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<div><p class=x><span>t</span></p></div>", []),
        ("<div><img src=a><source srcset=b><video poster=c></video>", ["img", "source", "video"]),
        (
            "<picture><source></picture><template></template>",
            ["picture", "source", "/picture", "template", "/template"],
        ),
        ("<div style='x'><p STYLE=y><a class=styled>", ["div", "p", "a"]),
        ("<div class='a style=b'><p data-x='style'>", []),
        ("<p data-x=style>", ["p"]),  # "style" outside quotes: yielded, to be safe
        ("<textarea><img src=a></textarea><title><img></title>", ["textarea", "title"]),
        ("<link rel=x><script>s</script><style>t</style>", ["link", "script", "style"]),
        ("<base href=/><meta><noscript><img></noscript>", ["base", "noscript"]),
    ],
)
def test_tokens_in_the_body_pass_over_what_no_image_or_link_needs(text: str, expected: list[str]) -> None:
    assert names(text, body=True) == expected


def test_style_text_and_attribute_text() -> None:
    assert list(Tokens("<style media=x>a{b:url(c)}</style><img src=d>")) == [
        (START, "style", " media=x", "a{b:url(c)}"),
        (END, "style", "", ""),
        (START, "img", " src=d", ""),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" a=1 B=\"2\" c='3' d", {"a": "1", "b": "2", "c": "3", "d": ""}),
        (" a = 1  b\n=\n'2'", {"a": "1", "b": "2"}),
        (" a=1 a=2 A=3", {"a": "1"}),
        (' a="x" b="y"c=z', {"a": "x", "b": "y", "c": "z"}),
        (" href=/a.css/", {"href": "/a.css/"}),
        (" a=\"\" b=''", {"a": "", "b": ""}),
        (" a= b", {"a": "b"}),
        (' title="it\'s" x=it"s', {"title": "it's", "x": 'it"s'}),
        (" src=/a?x=1&amp;y=2", {"src": "/a?x=1&y=2"}),
        ("", {}),
        (" / ", {}),
    ],
)
def test_attributes(text: str, expected: dict[str, str]) -> None:
    assert attributes(text) == expected


def test_attributes_are_read_up_to_a_bound() -> None:
    found = attributes("".join(f" a{i}=x" for i in range(MAX_ATTRIBUTES + 10)))
    assert list(found) == [f"a{i}" for i in range(MAX_ATTRIBUTES)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a&amp;b", "a&b"),
        ("&AMP;", "&"),
        ("&lt;&gt;&quot;&apos;", "<>\"'"),
        ("&copy;", "\xa9"),
        ("&copy", "\xa9"),  # a legacy name, nothing after it
        ("&copy=1", "&copy=1"),  # in an attribute, "=" after a legacy name keeps it
        ("&copyx", "&copyx"),
        ("&notit;", "&notit;"),
        ("&notin;", "\u2209"),
        ("&nosuch;", "&nosuch;"),
        ("&#47;&#x2F;&#X2f", "///"),
        ("&#0;", "\ufffd"),
        ("&#x110000;", "\ufffd"),
        ("&#128;", "\u20ac"),  # HTML's windows-1252 replacements
        ("&#" + "9" * 5000 + ";", "\ufffd"),
        ("&#0000000047;", "/"),
        ("& &# &#x", "& &# &#x"),
    ],
)
def test_decode_references(value: str, expected: str) -> None:
    assert decode_references(value) == expected


def test_css_urls() -> None:
    css = "a{b:url(/x.png)} c{d:URL( '/y.png' )} e{f:Url(\"/z (1).png\")} g{width:calc(1px + 2px)} h{i:url("
    assert css_urls(css, 10) == (["/x.png", "/y.png", "/z (1).png"], 6)  # the last url( is read, and cut
    assert css_urls("a{b:url(/a.png)}" * 10, 3) == (["/a.png"] * 3, 0)
    assert css_urls("url()url('')", 5) == ([], 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/a.jpg", ["/a.jpg"]),
        ("/a.jpg 1x, /b.jpg 2x", ["/a.jpg", "/b.jpg"]),
        (" ,, /a.jpg,,, /b.jpg 100w", ["/a.jpg", "/b.jpg"]),
        ("/a.jpg (1, 2) 1x, /b.jpg", ["/a.jpg", "/b.jpg"]),
        ("/a.jpg (unclosed, /b.jpg", ["/a.jpg"]),
        ("", []),
        (", , ,", []),
    ],
)
def test_srcset_urls(value: str, expected: list[str]) -> None:
    assert srcset_urls(value) == expected


def test_srcset_urls_are_read_up_to_a_bound() -> None:
    assert len(srcset_urls(", ".join(f"/{i}.jpg" for i in range(100)))) == 64
