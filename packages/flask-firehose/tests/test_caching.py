"""The one reading of the caching fields (``_caching``).

Whether a shared cache may hand a response to other clients, read from
every ``Cache-Control``, ``Expires`` and ``Vary`` field (RFC 9111 §3, §5.2.2)
and the fields addressed to CDNs (``CDN-Cache-Control``, RFC 9213; the
vendors' own; ``Surrogate-Control``); whether a browser may reuse a hinted
file without asking again, which the lint and ``firehose probe`` ask alike
(the same answer for every ``Cache-Control`` value, through each one's own
entry point); and the parsed model both read."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.wrappers import Response

from flask_firehose import Link
from flask_firehose._caching import (
    CACHING_FIELDS,
    browser_reuses,
    kept_by,
    marked_public,
    parse_cache_control,
    served_to_others,
    storable_by_others,
)
from flask_firehose._lint import Linter
from flask_firehose._probe.checks import check
from flask_firehose._probe.result import ProbeResult
from flask_firehose._probe.run import _served
from flask_firehose._probe.transport import RawExchange, RawResponse

EXPIRES = ("Expires", "Thu, 01 Dec 2099 16:00:00 GMT")
Fields = list[tuple[str, str]]


def _response(fields: Fields) -> Response:
    response = Response("x")
    for name, value in fields:
        response.headers.add(name, value)
    return response


def _cc(value: str) -> tuple[str, str]:
    return ("Cache-Control", value)


def _cdn(value: str) -> tuple[str, str]:
    return ("CDN-Cache-Control", value)


@pytest.mark.parametrize(
    ("fields", "storable"),
    [
        ([], False),  # no freshness lifetime, nothing said
        ([_cc("max-age=600")], True),
        ([_cc("max-age=0")], True),
        ([_cc("s-maxage=600")], True),
        ([_cc("public")], True),
        ([EXPIRES], True),
        ([_cc("no-cache"), EXPIRES], True),
        ([_cc("no-cache")], False),
        ([_cc("must-revalidate")], False),
        ([_cc("private, max-age=600")], False),
        ([_cc("no-store, max-age=600")], False),
        ([_cc("public, no-store")], False),
        ([_cc("private"), EXPIRES], False),
        ([_cc("max-age=600"), _cc("private")], False),  # every field counts
        ([_cc("max-age=600"), ("Vary", "Cookie")], False),
        ([_cc("public"), ("Vary", "Authorization")], False),
        ([EXPIRES, ("Vary", "*")], False),
        ([_cc("max-age=600"), ("Vary", "Accept-Encoding")], True),
        ([_cc("max-age=600"), ("Vary", "Accept-Encoding"), ("Vary", "Cookie")], False),
        ([_cc("max-age=600"), ("Vary", "accept-encoding, COOKIE")], False),
        ([("cache-control", "max-age=600"), ("vary", "cookie")], False),  # field names in any case
        ([("cache-control", "public")], True),
        # Directive names in any case, with any value: a max-age is a lifetime.
        ([_cc("MAX-AGE=600")], True),
        ([_cc("Public")], True),
        ([_cc("max-age=abc")], True),
        ([_cc("max-age")], True),
        ([_cc("max-age=600, PRIVATE")], False),
        ([_cc("max-age=600, No-Store")], False),
        # A qualified private only keeps the named fields out of the stored copy.
        ([_cc('private="Set-Cookie", max-age=600')], True),
        ([_cc('private="Set-Cookie, Authorization", max-age=600')], True),
        ([_cc('private="", max-age=600')], False),
        ([_cc('no-cache="a,private", max-age=600')], True),  # a comma inside a quoted value
        # Fields addressed to CDNs, read instead of Cache-Control by their CDN.
        ([_cdn("max-age=60")], True),
        ([_cdn("s-maxage=60")], True),
        ([_cdn("public")], True),
        ([_cdn("no-store")], False),
        ([_cdn("max-age=60, no-store")], False),
        ([_cdn("max-age=60, private")], False),
        ([_cdn("max-age=60, no-store=?0")], True),  # RFC 8941 false
        ([_cdn("max-age=60"), _cdn("no-store")], False),  # both fields of one CDN count
        ([_cc("private"), _cdn("max-age=60")], True),
        ([_cc("no-store"), _cdn("max-age=60")], True),
        ([_cc("public, max-age=60"), _cdn("no-store")], True),  # other shared caches still read Cache-Control
        ([_cdn("max-age=60"), ("Vary", "Cookie")], True),  # not every CDN keys by Cookie
        ([("cdn-cache-control", "max-age=60")], True),
        ([("Cloudflare-CDN-Cache-Control", "max-age=60")], True),
        ([("Akamai-Cache-Control", "s-maxage=60")], True),
        ([("Cloudflare-CDN-Cache-Control", "no-store")], False),
        ([("Surrogate-Control", "max-age=60")], True),
        ([("Surrogate-Control", "max-age=60+30")], True),
        ([("Surrogate-Control", 'content="ESI/1.0", max-age=60')], True),
        ([("Surrogate-Control", "max-age=60;edge")], True),
        ([("Surrogate-Control", "max-age=60, no-store;shield")], True),  # no-store for another target
        ([("Surrogate-Control", "max-age=60, no-store")], False),
        ([("Surrogate-Control", "no-store")], False),
        ([("Surrogate-Control", 'content="ESI/1.0"')], False),
        ([("X-CDN-Cache-Control", "max-age=60")], False),  # not a field any CDN reads
    ],
)
def test_storable_by_others(fields: Fields, storable: bool) -> None:
    assert storable_by_others(_response(fields)) is storable


@pytest.mark.parametrize(
    ("fields", "public"),
    [
        ([], False),
        ([_cc("public")], True),
        ([_cc("s-maxage=60")], True),
        ([_cc("public, max-age=60"), ("Vary", "Cookie")], True),  # Vary is not its question
        ([_cc("max-age=60")], False),
        ([EXPIRES], False),
        ([_cc("public, private")], False),
        ([_cc("public"), _cc("private")], False),
        ([_cc("s-maxage=60, no-store")], False),
        ([_cdn("max-age=60")], True),
        ([("Surrogate-Control", "max-age=60")], True),
        ([_cdn("no-store")], False),
    ],
)
def test_marked_public(fields: Fields, public: bool) -> None:
    assert marked_public(_response(fields)) is public


@pytest.mark.parametrize(
    ("fields", "served"),
    [
        ([], False),
        ([_cc("public")], True),
        ([_cc("s-maxage=60")], True),
        ([_cc("public"), ("Vary", "Accept-Encoding")], True),
        ([_cc("public"), ("Vary", "Cookie")], False),
        ([_cc("public"), ("Vary", "Accept-Encoding"), ("Vary", "Authorization")], False),
        ([_cc("public"), ("Vary", "*")], False),
        ([_cc("max-age=60")], False),  # not marked public
        ([EXPIRES], False),
        ([_cc("public, private")], False),
        ([_cdn("max-age=60")], True),
        ([_cdn("max-age=60"), ("Vary", "Cookie")], True),
        ([_cc("public"), ("Vary", "Cookie"), _cdn("no-store")], False),
    ],
)
def test_served_to_others(fields: Fields, served: bool) -> None:
    assert served_to_others(_response(fields)) is served


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ([], None),
        ([_cc("private")], None),
        ([_cc("max-age=60")], "Cache-Control"),
        ([EXPIRES], "Expires"),
        ([_cc("no-cache"), EXPIRES], "Expires"),
        ([_cc("public"), _cdn("max-age=60")], "CDN-Cache-Control"),
        ([("cloudflare-cdn-cache-control", "max-age=60")], "Cloudflare-CDN-Cache-Control"),
        ([("surrogate-control", "max-age=60")], "Surrogate-Control"),
    ],
)
def test_kept_by_names_the_field_that_says_so(fields: Fields, field: str | None) -> None:
    assert kept_by(_response(fields)) == field


def test_every_field_read_is_a_caching_field() -> None:
    for name, value in [_cc("max-age=60"), _cdn("max-age=60"), ("Surrogate-Control", "max-age=60"), EXPIRES]:
        assert name.lower() in CACHING_FIELDS
        assert storable_by_others(_response([(name, value)]))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Cache-Control", "CDN-Cache-Control", "Surrogate-Control", "Vary", "Expires"]),
            st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
        ),
        max_size=4,
    )
)
def test_any_field_values_give_an_answer(fields: Fields) -> None:
    response = _response(fields)
    assert storable_by_others(response) is (kept_by(response) is not None)
    assert isinstance(marked_public(response), bool) and isinstance(served_to_others(response), bool)
    # A field that says no-store and nothing else never makes a response kept.
    if all("max-age" not in v.lower() and "public" not in v.lower() and "s-maxage" not in v.lower() for _, v in fields):
        assert kept_by(response) in (None, "Expires")


# -- the parsed model ----------------------------------------------------------------


def test_a_value_is_read_into_its_directives() -> None:
    policy = parse_cache_control('Max-Age="600" , no-cache="Set-Cookie, X-A", private, s-maxage=60;edge, max-age=5')
    assert [(d.name, d.value, d.target) for d in policy.directives] == [
        ("max-age", "600", None),
        ("no-cache", "Set-Cookie, X-A", None),
        ("private", None, None),
        ("s-maxage", "60", ";edge"),
        ("max-age", "5", None),
    ]
    assert policy.seconds("max-age") == 600  # the first occurrence (RFC 9111 §4.2.1)
    assert policy.seconds("s-maxage") is None  # for another target
    assert policy.fields("no-cache") == {"set-cookie", "x-a"} and not policy.whole("no-cache")
    assert policy.whole("private") and policy.fields("private") == frozenset()
    assert policy.has("private") and not policy.has("no-store")


@pytest.mark.parametrize(
    ("value", "listed"),
    [
        ("max-age=60, public", [True, True]),
        (" ,max-age=60 ,, public,", [True, True]),
        ('max-age="60"public', [False, False]),  # glued: a strict reader splits at commas only
        ("max-age=60 public", [True]),  # one directive whose argument is no number
        ('=x, max-age=60, no-cache="a', [False, False, False]),  # a quote left open: no element is sure
        ('no-cache="a, b", max-age=60', [True, True]),  # a comma inside a quoted string
    ],
)
def test_a_directive_is_listed_when_it_has_its_element_to_itself(value: str, listed: list[bool]) -> None:
    assert [directive.listed for directive in parse_cache_control(value).directives] == listed


@pytest.mark.parametrize(
    ("argument", "seconds"),
    [("60", 60), ('"60"', 60), (" 60 ", 60), ("0", 0), ("99999999999", 2**31), ("soon", None), ("-5", None),
     ("+5", None), ("6_0", None), ("60abc", None), ("", None)],
)  # fmt: skip
def test_a_lifetime_is_delta_seconds(argument: str, seconds: int | None) -> None:
    assert parse_cache_control(f"max-age={argument}").seconds("max-age") == seconds


# -- may a browser reuse it: the lint's and the probe's question ----------------------

BROWSER = [
    (None, False),
    ("", False),
    ("no-cache", False),
    ("max-age=0", False),
    ("no-store, max-age=60", False),
    ("no-cache, max-age=60", False),
    ("max-age=3600", True),
    ("MAX-AGE=3600", True),
    ("private, max-age=60", True),
    ("s-maxage=60", True),
    ("public, max-age=31536000, immutable", True),
    ('max-age="600"', True),
    ("max-age=soon", False),
    ("max-age=soon, s-maxage=60", True),
    # RFC 9111 §5.2.2.4: a qualified no-cache concerns the fields it names only.
    ('no-cache="Set-Cookie", max-age=600', True),
    ('no-cache="set-cookie", max-age=60', True),
    ('No-Cache="Set-Cookie, Authorization", max-age=600', True),
    ('no-cache="", max-age=600', False),  # names no field: the whole response, as private="" below
    ("no-cache=?0, max-age=600", True),  # an argument: qualified (Cache-Control is no structured field)
    ("no-store=?0, max-age=600", False),  # no-store takes no argument: any one is no-store
    # Where the two readers disagreed before: decided once here.
    ("max-age=60, max-age=0", True),  # the first occurrence counts
    ("max-age=0, max-age=60", False),
    ("max-age=0, s-maxage=600", True),
    ("x-no-cache-ext, max-age=60", True),  # an extension whose name holds "no-cache" is not no-cache
    ("no-cache;x, max-age=60", True),
    ("max-age=60abc", False),
    ("max-age=60;x", False),
    ('max-age=60, no-cache="a', False),  # a quote left open: nothing in the list is sure
    ('max-age="60"public', False),
]


@pytest.mark.parametrize(("cache_control", "reusable"), BROWSER)
def test_browser_reuses(cache_control: str | None, reusable: bool) -> None:
    assert browser_reuses(cache_control) is reusable


@contextmanager
def _lint_warnings() -> Iterator[list[str]]:
    found: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("flask_firehose.lint")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


def _lint_reuses(values: list[str]) -> bool:
    """Whether the lint lets a hinted file served with these
    ``Cache-Control`` fields pass (it warns when a browser cannot reuse it)."""
    linter = Linter()
    linter.hinted([Link("/a.css", as_="style")])
    response = Response("x")
    for value in values:
        response.headers.add("Cache-Control", value)
    with _lint_warnings() as warned:
        linter.static_response("/a.css", response)
    return not any("hinted file '/a.css'" in message for message in warned)


def _probe_reuses(values: list[str]) -> bool:
    """Whether ``firehose probe`` lets a hinted file whose answer carries
    these ``Cache-Control`` fields pass, from the fields as they come off
    the wire to the warnings."""
    head = RawResponse(200, tuple(("cache-control", value) for value in values), 0.01)
    served = _served("/a.css", RawExchange(informational=[], final=head, complete=True))
    result = ProbeResult("https://example.test/", "h2", (), 200, 1.0, (), (), navigation=False)
    return "file-not-cacheable" not in [warning.code for warning in check(result, {"/a.css": served})]


@pytest.mark.parametrize(("cache_control", "reusable"), [case for case in BROWSER if case[0]])
def test_the_lint_and_the_probe_answer_as_browser_reuses(cache_control: str, reusable: bool) -> None:
    assert _lint_reuses([cache_control]) is reusable
    assert _probe_reuses([cache_control]) is reusable


def test_the_lint_and_the_probe_read_every_field() -> None:
    assert not _lint_reuses(["max-age=600", "no-store"])
    assert not _probe_reuses(["max-age=600", "no-store"])
    assert _lint_reuses(['no-cache="Set-Cookie"', "max-age=600"])
    assert _probe_reuses(['no-cache="Set-Cookie"', "max-age=600"])


# Any visible text, and text made of the pieces a Cache-Control value is made of.
_PIECES = st.sampled_from(
    ["max-age", "MAX-AGE", "s-maxage", "public", "private", "no-store", "No-Store", "no-cache", "x-no-cache-a", "=",
     ",", ", ", ";", ";x", '"', "\\", "?0", "0", "60", "=60", '="60"', "=-5", "=6_0", '="Set-Cookie"', '=""', " "]
)  # fmt: skip
_VALUES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
    st.lists(_PIECES, max_size=12).map("".join),
)


@settings(max_examples=300)
@given(st.lists(_VALUES, min_size=1, max_size=3))
def test_the_lint_and_the_probe_agree_on_every_cache_control_value(values: list[str]) -> None:
    assert _lint_reuses(values) is _probe_reuses(values) is browser_reuses(", ".join(values))


# Directive lists built as data, then written out in any case, with either
# argument form and blanks, across several fields: each answer is checked
# against what the data says, not against the parser.
_FIELD_NAMES = st.lists(st.sampled_from(["Set-Cookie", "Authorization", "X-A"]), min_size=1, max_size=3)
# An argument: what kind it is, and as written.
Argument = tuple[str, str] | None
_ARGUMENTS: st.SearchStrategy[Argument] = st.one_of(
    st.none(),
    st.builds(
        lambda seconds, quoted: ("seconds", f'"{seconds}"' if quoted else str(seconds)),
        st.one_of(st.integers(0, 2), st.integers(0, 10**12)),
        st.booleans(),
    ),
    _FIELD_NAMES.map(lambda names: ("fields", '"' + ", ".join(names) + '"')),
    st.sampled_from(["soon", "-5", "+5", "?0", "6_0", '""']).map(lambda word: ("word", word)),
)
_DIRECTIVES = st.lists(
    st.tuples(
        st.sampled_from(["max-age", "s-maxage", "no-cache", "no-store", "private", "public", "immutable"]),
        _ARGUMENTS,
    ),
    max_size=6,
)
Directives = list[tuple[str, Argument]]


@st.composite
def _fields(draw: st.DrawFn) -> tuple[Directives, list[str]]:
    """A directive list and the fields it is written in: names in any case,
    several fields, blanks around the commas."""
    directives = draw(_DIRECTIVES)
    written = []
    for name, argument in directives:
        name = (name, name.upper(), name.title())[draw(st.integers(0, 2))]
        written.append(name if argument is None else f"{name}={argument[1]}")
    if not written:
        return directives, [draw(st.sampled_from(["", " "]))]
    cuts = sorted(draw(st.sets(st.integers(1, len(written) - 1), max_size=2))) if len(written) > 1 else []
    spans = zip([0, *cuts], [*cuts, len(written)], strict=True)
    blanks = draw(st.sampled_from([", ", ",", " , ", ",\t"]))
    return directives, [blanks.join(written[start:end]) for start, end in spans]


def _first_seconds(directives: Directives, name: str) -> int:
    for found, argument in directives:
        if found == name and argument is not None and argument[0] == "seconds":
            return min(int(argument[1].strip('"')), 2**31)
    return 0


def _qualified(argument: Argument) -> bool:
    return argument is not None and argument != ("word", '""')


@settings(max_examples=500)
@given(_fields())
def test_a_browser_reuses_what_the_directives_say(case: tuple[Directives, list[str]]) -> None:
    directives, values = case
    reusable = (
        not any(name == "no-store" for name, _ in directives)
        and not any(name == "no-cache" and not _qualified(argument) for name, argument in directives)
        and (_first_seconds(directives, "max-age") > 0 or _first_seconds(directives, "s-maxage") > 0)
    )
    assert browser_reuses(", ".join(values)) is reusable
    assert _lint_reuses(values) is reusable
    assert _probe_reuses(values) is reusable


@settings(max_examples=500)
@given(_fields())
def test_a_shared_cache_keeps_what_the_directives_say(case: tuple[Directives, list[str]]) -> None:
    directives, values = case

    # Read leniently: any argument, but a directive set to ?0 says nothing.
    said = [(name, argument) for name, argument in directives if argument != ("word", "?0")]
    lifetime = any(name in ("max-age", "s-maxage", "public") for name, _ in said)
    forbidden = any(name == "no-store" or (name == "private" and not _qualified(a)) for name, a in said)
    public = any(name in ("s-maxage", "public") for name, _ in said)
    one = _response([_cc(", ".join(values))])
    several = _response([_cc(value) for value in values])
    for response in (one, several):
        assert storable_by_others(response) is (lifetime and not forbidden)
        assert kept_by(response) == ("Cache-Control" if lifetime and not forbidden else None)
        assert marked_public(response) is served_to_others(response) is (public and not forbidden)
