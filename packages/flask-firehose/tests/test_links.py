from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from flask_firehose import InvalidAsError, InvalidAttributeError, InvalidLinkError, InvalidURLError, Link
from flask_firehose import _grammar as grammar
from flask_firehose._links import encode_target, infer_as, link_from_push
from flask_firehose._parsing import parse_link_header


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/static/app.css", "style"),
        ("/static/app.min.js?v=3", "script"),
        ("/static/mod.mjs", "script"),
        ("/static/font.WOFF2", "font"),
        ("/img/hero.webp#x", "image"),
        ("/data/feed.json", "fetch"),
        ("/static/readme", None),
        ("/static/archive.tar.gz", None),
        ("/static.d/noext", None),
    ],
)
def test_infer_as(url: str, expected: str | None) -> None:
    assert infer_as(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/static/a.css", "/static/a.css"),
        ("/static/café.css", "/static/caf%C3%A9.css"),
        ("/s/{x}|^`.js", "/s/%7Bx%7D%7C%5E%60.js"),
        ("/s/a%20b.css", "/s/a%20b.css"),
        ("https://cdn.example/x.js", "https://cdn.example/x.js"),
        ("//cdn.example/x.js", "//cdn.example/x.js"),
        ("static/rel.css", "static/rel.css"),
    ],
)
def test_encode_target(url: str, expected: str) -> None:
    assert encode_target(url) == expected


@pytest.mark.parametrize(
    "url",
    ["", "/a b.css", "/a\r\nSet-Cookie: x=1", "/a>.css", "/a<.css", '/a".css', "/a\\b.css", "/a\x00", "/a\x7f",
     "/a%zz.css", "/a%2", "javascript:alert(1)", "data:text/css,x", 42, None, b"/a.css"],
)  # fmt: skip
def test_encode_target_rejects(url: object) -> None:
    with pytest.raises(InvalidURLError) as info:
        encode_target(url)
    assert info.value.value == url
    assert repr(url) in str(info.value)


def test_push_arguments_as_in_023() -> None:
    link = link_from_push("/static/main.css", (), {"as": "style", "rel": "preload"})
    assert link == Link("/static/main.css", "preload", "style")
    assert link_from_push("/static/main.css", (), {"as_": "style"}) == link
    assert link_from_push("/static/main.css") == link


@pytest.mark.parametrize(
    ("args", "attrs", "expected"),
    [
        (("nopush",), {}, Link("/f.woff2", "preload", "font", "", True)),
        (("crossorigin",), {"as_": "font"}, Link("/f.woff2", "preload", "font", "")),
        ((), {"crossorigin": "use-credentials"}, Link("/f.woff2", "preload", "font", "use-credentials")),
        (("type=font/woff2",), {}, Link("/f.woff2", "preload", "font", "", params=(("type", "font/woff2"),))),
        ((), {"nopush": True, "crossorigin": None}, Link("/f.woff2", "preload", "font", "", True)),
        ((), {"rel": "prefetch"}, Link("/f.woff2", "prefetch")),
        ((), {"rel": "Preload"}, Link("/f.woff2", "preload", "font", "")),
        ((), {"media": "(min-width: 40em)"}, Link("/f.woff2", "preload", "font", "", params=(("media", "(min-width: 40em)"),))),  # noqa: E501
        ((), {"fetchpriority": "high"}, Link("/f.woff2", "preload", "font", "", params=(("fetchpriority", "high"),))),
    ],
)  # fmt: skip
def test_push_attributes(args: tuple[object, ...], attrs: dict[str, object], expected: Link) -> None:
    assert link_from_push("/f.woff2", args, attrs) == expected


def test_fonts_always_carry_crossorigin() -> None:
    assert link_from_push("/static/x.bin", (), {"as_": "font"}).crossorigin == ""


def test_cross_origin_is_never_pushable() -> None:
    for url in ("https://cdn.example/a.js", "//cdn.example/a.js", "static/a.js"):
        link = link_from_push(url)
        assert link.nopush and not link.pushable


@pytest.mark.parametrize(
    ("attrs", "error", "bad"),
    [
        ({"as": "stylesheet"}, InvalidAsError, "stylesheet"),
        ({"as_": "img"}, InvalidAsError, "img"),
        ({"crossorigin": "yes"}, InvalidAttributeError, "yes"),
        ({"title": "a\r\nb"}, InvalidAttributeError, "a\r\nb"),
        ({"title": "café"}, InvalidAttributeError, "café"),
        ({"media": ["screen"]}, InvalidAttributeError, ["screen"]),
        ({"bad name": "x"}, InvalidAttributeError, "bad name"),
        ({"as": "style", "as_": "style"}, InvalidAttributeError, "as_"),
        ({"rel": "pre load!"}, InvalidAttributeError, "pre load!"),
        ({"anchor": 1.5}, InvalidAttributeError, 1.5),
    ],
)
def test_invalid_attributes(attrs: dict[str, object], error: type[InvalidLinkError], bad: object) -> None:
    with pytest.raises(error) as info:
        link_from_push("/a.css", (), attrs)
    assert isinstance(info.value, ValueError)
    assert info.value.value == bad
    assert repr(bad) in str(info.value)


def test_positional_attribute_must_be_text() -> None:
    with pytest.raises(InvalidAttributeError):
        link_from_push("/a.css", (3,), {})


@pytest.mark.parametrize(
    ("link", "text"),
    [
        (Link("/a.css", as_="style"), "</a.css>; rel=preload; as=style"),
        (Link("/f.woff2", as_="font", crossorigin=""), "</f.woff2>; rel=preload; as=font; crossorigin"),
        (Link("/a.css", "preload stylesheet"), '</a.css>; rel="preload stylesheet"'),
        (Link("/a.css", params=(("title", 'say "hi"'),)), '</a.css>; rel=preload; title="say \\"hi\\""'),
        (Link("/a.css", nopush=True), "</a.css>; rel=preload; nopush"),
    ],
)
def test_serialization(link: Link, text: str) -> None:
    assert link.text == text
    (parsed,) = parse_link_header(link.text)
    assert parsed.target == link.target


@pytest.mark.parametrize(
    ("link", "priority"),
    [
        (Link("/a.css", as_="style"), 0),
        (Link("/a.js", as_="script"), 1),
        (Link("/a.js", as_="script", params=(("fetchpriority", "high"),)), 1),
        (Link("/hero.jpg", as_="image", params=(("fetchpriority", "high"),)), 2),
        (Link("/hero.jpg", as_="image", params=(("fetchpriority", "HIGH"),)), 2),
        (Link("/f.woff2", as_="font", crossorigin=""), 3),
        (Link("/a.js", "modulepreload"), 4),
        (Link("/late.js", as_="script", params=(("fetchpriority", "low"),)), 5),
        (Link("/a.json", as_="fetch", crossorigin=""), 6),
        (Link("https://cdn.example", "preconnect"), 6),
        (Link("/a.png", as_="image"), 7),
        (Link("/a.png", as_="image", params=(("fetchpriority", "low"),)), 7),
        (Link("/a.png", "prefetch", params=(("fetchpriority", "high"),)), 8),
        (Link("/next.html", "prefetch"), 8),
    ],
)
def test_priority(link: Link, priority: int) -> None:
    assert link.priority == priority


def test_a_103_with_an_lcp_image_leaves_late_scripts_to_the_page() -> None:
    from flask_firehose._early_hints import assemble

    late = Link("/app.js", as_="script", params=(("fetchpriority", "low"),))
    sync = Link("/sync.js", as_="script")
    hero = Link("/hero.jpg", as_="image", params=(("fetchpriority", "high"),))
    css = Link("/main.css", as_="style")
    module = Link("/mod.js", rel="modulepreload")

    def targets(*links: Link) -> list[str]:
        sent = assemble(links, pushing_front=False, already_pushed=None, max_links=20, max_bytes=2048)
        return [link.target for link in sent]

    assert targets(late, hero, css, sync, module) == ["/main.css", "/sync.js", "/hero.jpg", "/mod.js"]
    # Without an LCP image the late script keeps its place, after the rest.
    assert targets(late, css, Link("/other.png", as_="image")) == ["/main.css", "/app.js", "/other.png"]


def test_order_serves_lcp() -> None:
    """Render-blocking CSS, then the LCP image, then deferred scripts: the
    103 and the final header go out in this order whatever order they were
    declared in."""
    from flask_firehose._budget import select

    late = Link("/app.js", as_="script", params=(("fetchpriority", "low"),))
    hero = Link("/hero.jpg", as_="image", params=(("fetchpriority", "high"),))
    css = Link("/main.css", as_="style")
    kept = select([late, hero, css], 10, 8192, None).kept
    assert [link.target for link in kept] == ["/main.css", "/hero.jpg", "/app.js"]


def test_link_constructor_validates() -> None:
    with pytest.raises(InvalidURLError):
        Link("/café.css")
    with pytest.raises(InvalidAttributeError):
        Link("/a.css", params=(("as", "style"),))
    with pytest.raises(InvalidAttributeError):
        Link("/a.css", params=(("Title", "x"),))


def test_build_cache_separates_true_from_one() -> None:
    assert link_from_push("/a.css", (), {"crossorigin": True}).crossorigin == ""
    with pytest.raises(InvalidAttributeError):
        link_from_push("/a.css", (), {"crossorigin": 1})


class _Sneaky(str):
    def __format__(self, spec: str) -> str:
        return "screen, </evil.js>; rel=preload; as=script"

    def __str__(self) -> str:
        return "x\r\nSet-Cookie: a=b"


class _SneakyInt(int):
    def __str__(self) -> str:
        return "1, </evil.js>"

    __repr__ = __str__


def test_subclasses_of_str_and_int_write_their_characters_only() -> None:
    link = link_from_push(_Sneaky("/static/a.css"), (), {"media": _Sneaky("screen"), "width": _SneakyInt(5)})
    assert link.text == "</static/a.css>; rel=preload; as=style; media=screen; width=5"
    built = Link(_Sneaky("/a.css"), _Sneaky("preload"), _Sneaky("style"), params=((_Sneaky("media"), _Sneaky("x")),))
    assert built.text == "</a.css>; rel=preload; as=style; media=x"
    assert all(type(value) is str for value in (built.target, built.rel, built.as_, *built.params[0]))


def test_a_pickled_link_is_validated_again() -> None:
    import pickle

    link = Link("/a.css", as_="style")
    object.__setattr__(link, "text", "<https://evil.example/>")
    assert pickle.loads(pickle.dumps(link)).text == "</a.css>; rel=preload; as=style"


def test_plain_links_are_remembered_bounded_and_only_when_valid() -> None:
    from flask_firehose import _links

    _links.PLAIN_LINKS.clear()
    first = _links.plain_link("/static/app.css")
    assert _links.plain_link("/static/app.css") is first is _links.PLAIN_LINKS["/static/app.css"]
    assert first == _links.link_from_push("/static/app.css")
    for n in range(5000):
        _links.plain_link(f"/static/{n}.css")
    assert 0 < len(_links.PLAIN_LINKS) <= 2048
    for bad in ("/a\r\nX-Evil: 1", "javascript:alert(1)", ""):
        with pytest.raises(InvalidLinkError):
            _links.plain_link(bad)
        assert bad not in _links.PLAIN_LINKS


def test_push_of_a_str_subclass_does_not_take_the_plain_path() -> None:
    from flask import Flask

    from flask_firehose import Firehose, push

    class Sneaky(str):
        def __str__(self) -> str:
            return "/evil\r\nX-Evil: 1"

    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="s")
    Firehose(app)

    @app.get("/")
    def index() -> str:
        push(Sneaky("/static/app.css"))
        return "<p>x"

    response = app.test_client().get("/")
    assert response.headers.getlist("Link") == ["</static/app.css>; rel=preload; as=style"]


# push() targets that are not RFC 3986 URI-references as written: percent-encoded
# where the grammar allows no such character, "./" before a first segment that
# would read as a scheme, refused where no encoding keeps the meaning.
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/static/a[1].css", "/static/a%5B1%5D.css"),
        ("/app.js?ids[]=1&ids[]=2", "/app.js?ids%5B%5D=1&ids%5B%5D=2"),
        ("/static/a#b#c", "/static/a#b%23c"),
        ("/static/a.css#x[1]", "/static/a.css#x%5B1%5D"),
        ("/static/a.css##", "/static/a.css#%23"),
        ("/a?b#c?d/e", "/a?b#c?d/e"),  # "?" and "/" are fragment characters
        ("1a:b.css", "./1a:b.css"),  # "1a" cannot be a scheme: a relative path with a colon
        ("::x.css", "./::x.css"),
        ("+a:b/c.css", "./+a:b/c.css"),
        ("1a://h/p.css", "./1a://h/p.css"),
        ("a/b:c.css", "a/b:c.css"),  # a colon after the first segment is fine
        ("https://[::1]:8443/a[b].js?x[]#y#z", "https://[::1]:8443/a%5Bb%5D.js?x%5B%5D#y%23z"),
        ("https://[v7.x]/a.js", "https://[v7.x]/a.js"),
        ("//cdn.example/a[1].css", "//cdn.example/a%5B1%5D.css"),
        ("//bücher.example/a.css", "//b%C3%BCcher.example/a.css"),
        ("/s/%5B1%5D.css", "/s/%5B1%5D.css"),  # already encoded: left alone
        ("http:x[1].css", "http:x%5B1%5D.css"),
        ("/static/é[1]#é#é", "/static/%C3%A9%5B1%5D#%C3%A9%23%C3%A9"),
    ],
)
def test_encode_target_makes_a_uri_reference(url: str, expected: str) -> None:
    assert encode_target(url) == expected
    assert grammar.URI_REFERENCE.fullmatch(expected)
    assert Link(expected).target == expected
    assert parse_link_header(f"<{expected}>; rel=preload")[0].target == expected


@pytest.mark.parametrize(
    "url",
    [
        "//h[x]/a.css",  # brackets outside an IP literal, in the host
        "https://[::1/x.css",
        "https://[1:2:3:4:5:6:7:8:9]/x.css",
        "https://[::1]x/a.css",
        "https://h:8x/a.css",
        "https://u@[::1]]:1/a.css",
        "//a@b@c/x.css",
        "a:b.css",  # "a" is a scheme: not http(s)
        "C:/x.css",
        "/a%.css",
        "/a%5",
        "/a b[1].css",
    ],
)
def test_encode_target_refuses_what_no_encoding_keeps(url: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        encode_target(url)
    assert info.value.value == url
    assert repr(url) in str(info.value)


@pytest.mark.parametrize(
    "target",
    ["/a[1].css", "/a.js?ids[]=1", "/a#b#c", "1a:b.css", "http://[::1/x", "//h[x]/a", "/a%5", "/a b", "/é.css"],
)
def test_link_refuses_a_target_that_is_no_uri_reference(target: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        Link(target)
    assert info.value.value == target


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/static/a[1].css", "/static/a%5B1%5D.css"),
        ("/app.js?ids[]=1", "/app.js?ids%5B%5D=1"),
        ("/static/a#b#c", "/static/a#b%23c"),
        ("1a:b.css", "./1a:b.css"),
    ],
)
def test_push_writes_what_a_strict_parser_reads(strict: bool, url: str, expected: str) -> None:
    from flask import Flask, render_template_string

    from flask_firehose import Firehose
    from flask_firehose.testing import links_of

    app = Flask(__name__)
    app.config.update(FIREHOSE_STRICT=strict, FIREHOSE_TRACKING=False)
    Firehose(app)

    @app.get("/")
    def index() -> str:
        return render_template_string("<p>{{ push(url) }}</p>", url=url)

    response = app.test_client().get("/")
    assert response.status_code == 200
    (link,) = links_of(response)  # the strict parser
    assert link.target == expected


@pytest.mark.parametrize("url", ["//h[x]/a.css", "https://[::1/x.css", "a:b.css"])
def test_push_of_a_refused_url_raises_when_strict_and_drops_it_otherwise(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from flask import Flask

    from flask_firehose import Firehose, push

    for strict in (True, False):
        app = Flask(__name__)
        app.config.update(FIREHOSE_STRICT=strict, FIREHOSE_TRACKING=False, PROPAGATE_EXCEPTIONS=strict)
        Firehose(app)

        @app.get("/")
        def index() -> str:
            push("/static/ok.css")
            push(url)
            return "ok"

        if strict:
            with pytest.raises(InvalidURLError, match=re.escape(repr(url))):
                app.test_client().get("/")
            continue
        with caplog.at_level("WARNING", logger="flask_firehose"):
            response = app.test_client().get("/")
        assert response.status_code == 200
        assert [link.target for link in parse_link_header(response.headers["Link"])] == ["/static/ok.css"]
        assert repr(url) in caplog.text


@pytest.mark.parametrize("build", [link_from_push, lambda url: Link(url)], ids=["push", "Link"])
def test_a_url_no_header_could_carry_is_refused_before_it_is_parsed(build: Callable[[str], object]) -> None:
    url = "/static/" + "a" * 1_000_000 + ".css"
    with pytest.raises(InvalidURLError, match="1,000,012 characters long") as caught:
        build(url)
    assert len(str(caught.value)) < 300  # the message quotes the start, not the whole URL
    assert build("/static/" + "a" * (4096 - 12) + ".css")  # the longest taken
