"""``firehose probe`` on 103s as browsers take them: every link of the first
103 a browser ignores is named with why (``hint-ignored``, judged by
``_browsers.browser_takes``), a second 103 is said (``hint-after-first``),
and a navigation that got no 103 although its final header holds links one
could carry is said with the likely causes (``hint-missing``), against real
servers on 127.0.0.1 that send none and one that sends one."""

from __future__ import annotations

import pytest

from flask_firehose._browsers import browser_takes_parsed
from flask_firehose._probe.checks import check
from flask_firehose._probe.result import ProbeResult
from flask_firehose._probe.run import ProbeOptions, probe

from .test_probe import Answer, h2c_server, http1_server, serving, visit

STYLE = "</a.css>; rel=preload; as=style"


def warnings_of(result: ProbeResult, code: str) -> list[str]:
    return [warning.message for warning in check(result, {}) if warning.code == code]


# -- hint-ignored: the first 103, link by link -------------------------------------

IGNORED = [
    ("nopush", "</a.css>; rel=preload; as=style; nopush", "nopush"),
    ("integrity", '</a.js>; rel=preload; as=script; integrity="sha384-abc"', "integrity"),
    ("imagesrcset", '</a.png>; rel=preload; as=image; imagesrcset="/a.png 1x, /b.png 2x"', "imagesrcset"),
    ("imagesizes", '</a.png>; rel=preload; as=image; imagesizes="50vw"', "imagesizes"),
    ("media", '</a.css>; rel=preload; as=style; media="print"', "media"),
    ("referrerpolicy", "</a.js>; rel=preload; as=script; referrerpolicy=no-referrer", "referrerpolicy"),
    ("prefetch", "</b.html>; rel=prefetch", "prefetch"),
    ("stylesheet", "</a.css>; rel=stylesheet", "stylesheet"),
    ("two relations", '</a.css>; rel="preload prefetch"; as=style', "several relations"),
    ("preload without as", "</a.css>; rel=preload", "without as"),
    ("as a browser does not know", "</a.css>; rel=preload; as=stylesheet", "as=stylesheet"),
    ("as not fetched from a 103", "</a.mp4>; rel=preload; as=video", "as=video"),
    ("type no MIME type", "</a.css>; rel=preload; as=style; type=css", "type=css"),
    ("crossorigin a browser does not know", "</f.woff2>; rel=preload; as=font; crossorigin=always", "crossorigin"),
    ("no rel", "</a.css>; as=style", "no rel"),
]


@pytest.mark.parametrize(("value", "reason"), [case[1:] for case in IGNORED], ids=[case[0] for case in IGNORED])
def test_each_ignored_link_of_the_first_103_is_named_with_why(value: str, reason: str) -> None:
    result = visit(hints=[(0.01, f"{value}, </kept.js>; rel=preload; as=script")])
    (message,) = warnings_of(result, "hint-ignored")
    target = value.split(">", 1)[0] + ">"
    assert message.startswith(f"103 link {target} is ignored by browsers (")
    assert reason in message
    assert "/kept.js" not in message
    # Said once, by the check that knows the 103: no preload-without-as or preload-invalid-as beside it.
    assert [w.code for w in check(result, {})].count("hint-ignored") == 1
    assert not {"preload-without-as", "preload-invalid-as"} & {w.code for w in check(result, {})}


TAKEN = [
    "</a.css>; rel=preload; as=style",
    "</a.css>; REL=Preload; AS=Style",  # names and values compared lower-cased
    '</a.css>; rel="preload"; as="style"; type="text/css"',
    "</a.js>; rel=preload; as=script; fetchpriority=high",
    "</f.woff2>; rel=preload; as=font; crossorigin; type=font/woff2",
    "</d.json>; rel=preload; as=fetch; crossorigin=anonymous",
    "</i.png>; rel=preload; as=image; fetchpriority=low",
    "</m.js>; rel=modulepreload",
    "<https://cdn.test>; rel=preconnect",
    "<https://cdn.test>; rel=preconnect; crossorigin",
]


@pytest.mark.parametrize("value", TAKEN)
def test_links_browsers_take_in_a_103_are_not_flagged(value: str) -> None:
    assert warnings_of(visit(hints=[(0.01, value)]), "hint-ignored") == []


def test_a_target_no_link_may_hold_is_judged_by_its_parameters() -> None:
    # The parser reads what Link refuses as a target (a scheme Firehose never
    # preloads); whether a browser takes a 103 link depends on its relation
    # and parameters.
    (ok,) = visit(hints=[(0.01, "<data:text/css,a>; rel=preload; as=style")]).early_hints[0].links
    assert browser_takes_parsed(ok) is None
    (bad,) = visit(hints=[(0.01, "<data:text/css,a>; rel=preload; as=style; nopush")]).early_hints[0].links
    assert browser_takes_parsed(bad) is not None
    assert browser_takes_parsed(bad, nopush=False) is None


def test_a_second_103_is_said_even_when_it_repeats_the_first() -> None:
    result = visit(hints=[(0.01, STYLE), (0.02, STYLE), (0.03, STYLE)])
    (message,) = warnings_of(result, "hint-after-first")
    assert message == "3 responses 103 came: Chromium and Firefox act on the first only"
    result = visit(hints=[(0.01, STYLE), (0.02, "</b.js>; rel=preload; as=script")])
    (message,) = warnings_of(result, "hint-after-first")
    assert message.endswith("; 1 link(s) are only in later ones (/b.js)")


# -- hint-missing ------------------------------------------------------------------

MISSING = [
    ("a preload and no 103", dict(final=STYLE), True),
    ("nopush is left out of a 103", dict(final=f"{STYLE}; nopush"), True),
    ("a modulepreload", dict(final="</m.js>; rel=modulepreload"), True),
    ("a preconnect", dict(final="<https://cdn.test>; rel=preconnect"), True),
    ("a 103 came", dict(final=STYLE, hints=[(0.01, STYLE)]), False),
    (
        "nothing a 103 could carry",
        dict(final='</b.html>; rel=prefetch, </i.png>; rel=preload; as=image; imagesrcset="/i.png 1x"'),
        False,
    ),
    ("no Link header", dict(final=()), False),
    ("not a navigation", dict(final=STYLE, navigation=False), False),
    ("a JSON answer", dict(final=STYLE, headers=[("content-type", "application/json")]), False),
    ("an HTML answer", dict(final=STYLE, headers=[("content-type", "text/html; charset=utf-8")]), True),
]


@pytest.mark.parametrize(("given", "warned"), [case[1:] for case in MISSING], ids=[case[0] for case in MISSING])
def test_hint_missing_when_a_103_could_have_carried_the_links(given: dict[str, object], warned: bool) -> None:
    result = visit(**{"navigation": True, **given})  # type: ignore[arg-type]
    assert bool(warnings_of(result, "hint-missing")) is warned


def test_hint_missing_is_only_for_pages() -> None:
    import dataclasses

    result = dataclasses.replace(visit(STYLE, navigation=True), status=404)
    assert warnings_of(result, "hint-missing") == []


def test_hint_missing_names_the_links_and_the_likely_causes() -> None:
    result = visit(
        "</a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script; nopush, "
        "</c.js>; rel=modulepreload, </d.css>; rel=preload; as=style, </e.html>; rel=prefetch",
        headers=[("server", "nginx/1.22.1")],
        navigation=True,
    )
    (message,) = warnings_of(result, "hint-missing")
    assert message.startswith(
        "no 103 came, though the final Link header holds 4 link(s) a 103 could carry (</a.css>, </b.js>, </c.js>, ...)"
    )
    for cause in ("nginx before 1.29", "FIREHOSE_EARLY_HINTS_HTTP1", "wsgi.early_hints", "flask run", "hypercorn"):
        assert cause in message
    assert message.endswith("The answer names its server: nginx/1.22.1.")
    assert "without HTTP/2" not in message
    over_http1 = visit(STYLE, protocol="http/1.1", navigation=True)
    (message,) = warnings_of(over_http1, "hint-missing")
    assert "the page came without HTTP/2 over TLS" in message


# -- against servers on 127.0.0.1 ------------------------------------------------------


def page(hints: bool) -> Answer:
    return Answer(
        headers=[("link", f"{STYLE}, </b.js>; rel=preload; as=script"), ("content-type", "text/html")],
        body=b"<!doctype html>",
        hints=[[("link", STYLE)]] if hints else [],
        think=0.05,
    )


@pytest.mark.parametrize("server", [http1_server, h2c_server], ids=["http1", "h2c"])
def test_a_server_that_sends_no_103_is_said_and_one_that_sends_one_is_not(server: object) -> None:
    protocol = "http2" if server is h2c_server else "http1"
    options = ProbeOptions(timeout=5, check_files=False, protocol=protocol)  # type: ignore[arg-type]
    with serving(server(lambda method, path, headers: page(hints=False))) as port:  # type: ignore[operator]
        quiet = probe(f"http://127.0.0.1:{port}/", options)
    with serving(server(lambda method, path, headers: page(hints=True))) as port:  # type: ignore[operator]
        hinting = probe(f"http://127.0.0.1:{port}/", options)
    assert quiet.early_hints == () and [len(hint.links) for hint in hinting.early_hints] == [1]
    assert "hint-missing" in [w.code for w in quiet.warnings]
    assert "hint-missing" not in [w.code for w in hinting.warnings]
    # --no-navigate asks as a script would: no 103 is expected then.
    with serving(server(lambda method, path, headers: page(hints=False))) as port:  # type: ignore[operator]
        plain = probe(
            f"http://127.0.0.1:{port}/",
            ProbeOptions(timeout=5, check_files=False, navigate=False, protocol=protocol),  # type: ignore[arg-type]
        )
    assert "hint-missing" not in [w.code for w in plain.warnings]
