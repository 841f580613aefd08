"""Speculation tags: the rule set's ``tag`` (``FIREHOSE_SPECULATION_TAG``), a
rule's ``tag=``, and ``is_speculative(tag=..., own=...)`` against the
``Sec-Speculation-Tags`` values Chromium sends and values it never would."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask, jsonify, render_template_string
from flask.typing import ResponseReturnValue
from hypothesis import given
from hypothesis import strategies as st

from flask_firehose import ConfigurationError, Firehose, is_speculative, speculation
from flask_firehose._speculation.rules import MAX_TAG, make_spec
from flask_firehose._speculation.tags import MAX_FIELD, parse_tags

from ..conftest import AppFactory
from .structured_fields import Token, parse_list, serialize_string, served

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


def tagged_site(make_app: AppFactory, **config: Any) -> tuple[Flask, Firehose]:
    app, firehose = make_app(**config)

    @app.get("/")
    def index() -> str:
        return "<p>home"

    @app.get("/inline")
    def inline() -> str:
        return render_template_string("<p>{{ speculation_rules() }}")

    @app.get("/next")
    def next_page() -> str:
        return "<p>next"

    @app.get("/probe")
    def probe() -> ResponseReturnValue:
        return jsonify(
            plain=is_speculative(),
            ours=is_speculative(tag="flask-firehose"),
            inner=is_speculative(tag="inner"),
            quoted=is_speculative(tag='a"b'),
            own=is_speculative(own=True),
        )

    firehose.speculate("prefetch", urls=["/next"], app=app)
    return app, firehose


def header_rules(client: Any) -> dict[str, Any]:
    (value,) = client.get("/", headers=NAV).headers.getlist("Speculation-Rules")
    resource = client.get(value.strip('"'))
    assert resource.status_code == 200
    rules: dict[str, Any] = json.loads(resource.data)
    return rules


def inline_rules(client: Any) -> dict[str, Any]:
    html = client.get("/inline", headers=NAV).get_data(as_text=True)
    match = re.search(r'<script type="speculationrules">(.*?)</script>', html, re.S)
    assert match, html
    rules: dict[str, Any] = json.loads(match[1])
    return rules


# -- the rule set's tag ----------------------------------------------------------------


def test_rule_sets_are_tagged_by_default(make_app: AppFactory) -> None:
    client = tagged_site(make_app)[0].test_client()
    for rules in (header_rules(client), inline_rules(client)):
        assert list(rules) == ["tag", "prefetch"]
        assert rules["tag"] == "flask-firehose"
        assert "tag" not in rules["prefetch"][0]


def test_a_tag_of_the_apps_own(make_app: AppFactory) -> None:
    client = tagged_site(make_app, FIREHOSE_SPECULATION_TAG="shop v2 (beta)")[0].test_client()
    assert header_rules(client)["tag"] == inline_rules(client)["tag"] == "shop v2 (beta)"


def test_no_tag(make_app: AppFactory) -> None:
    client = tagged_site(make_app, FIREHOSE_SPECULATION_TAG=None)[0].test_client()
    for rules in (header_rules(client), inline_rules(client)):
        assert list(rules) == ["prefetch"]


@pytest.mark.parametrize(
    "value", [5, b"flask", "fïre", "x" * (MAX_TAG + 1), "", "   ", "a\nb", "\t", "tab\there", "\x7f", True, ["a"]]
)
def test_bad_rule_set_tags_are_refused(make_app: AppFactory, value: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_app(FIREHOSE_SPECULATION_TAG=value)
    assert raised.value.key == "FIREHOSE_SPECULATION_TAG"
    assert raised.value.value == value
    assert "FIREHOSE_SPECULATION_TAG" in str(raised.value)


@pytest.mark.parametrize("value", ["x" * MAX_TAG, '"', "\\", "a b, c", " padded ", "null"])
def test_printable_ascii_tags_up_to_the_limit_are_accepted(make_app: AppFactory, value: str) -> None:
    client = tagged_site(make_app, FIREHOSE_SPECULATION_TAG=value)[0].test_client()
    assert header_rules(client)["tag"] == value


# -- a rule's tag -------------------------------------------------------------------------


def test_a_rule_tag_goes_on_that_rule_only(make_app: AppFactory) -> None:
    app, firehose = tagged_site(make_app)
    firehose.speculate("prerender", urls=["/next"], tag="hot", app=app)
    firehose.speculate("prerender", href_matches="/n*", tag="doc", app=app)

    @app.get("/view")
    @speculation("prefetch", urls=["/next"], tag="view")
    def view() -> str:
        return "<p>view"

    client = app.test_client()
    rules = header_rules(client)
    assert rules["tag"] == "flask-firehose"
    assert [rule.get("tag") for rule in rules["prefetch"]] == [None]
    assert [rule.get("tag") for rule in rules["prerender"]] == ["hot", "doc"]
    (value,) = client.get("/view", headers=NAV).headers.getlist("Speculation-Rules")
    view_rules = json.loads(client.get(value.strip('"')).data)
    assert [rule.get("tag") for rule in view_rules["prefetch"]] == [None, "view"]


@pytest.mark.parametrize("value", [5, "", "  ", "é", "x" * (MAX_TAG + 1), b"t", "a\r\nb"])
def test_bad_rule_tags_are_refused(value: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_spec("prefetch", urls=["/a"], tag=value)
    assert raised.value.key == "tag"
    assert raised.value.value == value
    with pytest.raises(ConfigurationError):
        speculation("prerender", tag=value)


# -- is_speculative -----------------------------------------------------------------------


def probe(client: Any, tags: str | None, purpose: str | None = "prefetch") -> dict[str, bool]:
    headers = {}
    if purpose is not None:
        headers["Sec-Purpose"] = purpose
    if tags is not None:
        headers["Sec-Speculation-Tags"] = tags
    response = client.get("/probe", headers=headers)
    assert response.status_code == 200
    answer: dict[str, bool] = response.get_json()
    return answer


# Exactly as Chromium 156 sends them (the research's server log).
CHROMIUM = [
    ('"flask-firehose"', {"ours": True, "own": True}),
    ("null", {}),
    ('null, "flask-firehose"', {"ours": True, "own": True}),
    ('"inner", "outer"', {"inner": True}),
    ('"flask-firehose", "inner"', {"ours": True, "inner": True, "own": True}),
    ('"a\\"b"', {"quoted": True}),
    ('"a b, c"', {}),
    ('""', {}),
]
# Never sent by a browser: read as no tags (the request stays speculative).
HOSTILE = [
    '"flask-firehose',
    '"flask-firehose";a=1',
    '"flask-firehose", "x";q',
    "flask-firehose",
    '"flask-firehose",',
    ',"flask-firehose"',
    '"flask-firehose",,"inner"',
    'nul, "flask-firehose"',
    'NULL, "flask-firehose"',
    '("flask-firehose")',
    '"flask-firehose" "inner"',
    '"flask\\firehose"',
    '"flask-firehose"\x00',
    "",
    " ",
    ", ".join(['"flask-firehose"'] * 200),
    '"inner", ' + '"' + "x" * 2048 + '"',
]


@pytest.mark.parametrize(("value", "true"), CHROMIUM)
def test_tags_as_chromium_sends_them(make_app: AppFactory, value: str, true: dict[str, bool]) -> None:
    client = tagged_site(make_app)[0].test_client()
    expected = {"plain": True, "ours": False, "inner": False, "quoted": False, "own": False, **true}
    assert probe(client, value) == expected
    assert probe(client, value, "prefetch;prerender") == expected


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_tags_count_as_none(make_app: AppFactory, value: str) -> None:
    client = tagged_site(make_app)[0].test_client()
    expected = {"plain": True, "ours": False, "inner": False, "quoted": False, "own": False}
    assert probe(client, value) == expected


def test_tags_without_a_speculation_count_for_nothing(make_app: AppFactory) -> None:
    client = tagged_site(make_app)[0].test_client()
    nothing = {"plain": False, "ours": False, "inner": False, "quoted": False, "own": False}
    for purpose in (None, "", "prefetcher", "Prefetch", "prerender"):
        assert probe(client, '"flask-firehose", "inner"', purpose) == nothing


def test_own_follows_the_configured_tag(make_app: AppFactory) -> None:
    client = tagged_site(make_app, FIREHOSE_SPECULATION_TAG="mine")[0].test_client()
    assert probe(client, '"mine"')["own"] is True
    assert probe(client, '"flask-firehose"') == {
        "plain": True,
        "ours": True,
        "inner": False,
        "quoted": False,
        "own": False,
    }
    untagged = tagged_site(make_app, FIREHOSE_SPECULATION_TAG=None)[0].test_client()
    assert probe(untagged, '"flask-firehose"')["own"] is False
    assert probe(untagged, "null")["own"] is False


def test_outside_a_request_nothing_is_speculative() -> None:
    assert is_speculative() is False
    assert is_speculative(tag="flask-firehose") is False
    assert is_speculative(own=True) is False


def test_tags_on_the_wire(make_app: AppFactory) -> None:
    """Raw bytes through a real server: escapes, non-ASCII bytes, a 2 kB field."""
    app, _ = tagged_site(make_app)
    cases: list[tuple[bytes, dict[str, bool]]] = [
        (b'"a\\"b", null', {"quoted": True}),
        (b'null, "flask-firehose"', {"ours": True, "own": True}),
        (b'"flask-firehose", "\xc3\xa9"', {}),
        (b'"\xff"', {}),
        (b'"flask-firehose", ' + b'"y", ' * 400 + b'"z"', {}),
    ]
    with served(app) as server:
        for value, true in cases:
            status, _, body = server.request(
                "GET", "/probe", [("Sec-Purpose", "prefetch"), ("Sec-Speculation-Tags", value)]
            )
            assert status == 200, value
            expected = {"plain": True, "ours": False, "inner": False, "quoted": False, "own": False, **true}
            assert json.loads(body) == expected, value


# -- parse_tags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tags"),
    [
        ('"flask-firehose"', ("flask-firehose",)),
        ("null", (None,)),
        ('null, "t"', (None, "t")),
        ('"inner", "outer"', ("inner", "outer")),
        ('"a\\"b"', ('a"b',)),
        ('"a\\\\"', ("a\\",)),
        ('"a b, c"', ("a b, c",)),
        ('"x" ,\t"y"', ("x", "y")),
        (None, None),
        ("", None),
        ('"x";a=1', None),
        ('"x",', None),
        ("token", None),
        ('"é"', None),
        ('"' + "x" * MAX_FIELD + '"', None),
    ],
)
def test_parse_tags(value: str | None, tags: tuple[str | None, ...] | None) -> None:
    assert parse_tags(value) == tags


_PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@given(
    st.lists(st.one_of(st.none(), _PRINTABLE), min_size=1, max_size=12),
    st.sampled_from([",", ", ", " ,", " , ", ",\t", "\t,  "]),
)
def test_any_list_chromium_could_send_parses_back(tags: list[str | None], separator: str) -> None:
    value = separator.join("null" if tag is None else serialize_string(tag) for tag in tags)
    # The tests' own parser agrees with the serialisation first.
    assert [None if isinstance(item, Token) else item for item, _ in parse_list(value)] == tags
    assert parse_tags(value) == (tuple(tags) if len(value) <= MAX_FIELD else None)


@given(st.text(max_size=80))
def test_parse_tags_never_raises(value: str) -> None:
    found = parse_tags(value)
    assert found is None or all(tag is None or isinstance(tag, str) for tag in found)


@pytest.mark.parametrize("tag", [True, 1, "", b"x"])
def test_is_speculative_refuses_a_tag_that_is_not_one(tag: object) -> None:
    from flask_firehose import is_speculative

    app = Flask(__name__)
    with app.test_request_context("/"), pytest.raises(TypeError, match="non-empty str") as raised:
        is_speculative(tag)  # type: ignore[arg-type]
    if tag is True:
        assert "own=True" in str(raised.value)
