"""The named patterns of ``_grammar`` against the ABNF each one quotes: what
sits just inside an edge of the grammar matches, what sits just outside does
not; and :func:`quote` writes what the patterns read back."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_firehose import _grammar as grammar

# RFC 9110 §5.6.2 tchar, and the visible ASCII characters that are not one.
TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DELIMITERS = '"(),/:;<=>?@[\\]{}'


def _fullmatches(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.fullmatch(text) is not None


@pytest.mark.parametrize("char", list(TCHARS))
def test_every_tchar_is_a_token(char: str) -> None:
    assert _fullmatches(grammar.TOKEN, char)


@pytest.mark.parametrize("char", [*DELIMITERS, " ", "\t", "\x00", "\x7f", "é"])
def test_delimiters_whitespace_and_controls_are_not_tchars(char: str) -> None:
    assert not _fullmatches(grammar.TOKEN, f"a{char}b")


def test_a_token_is_not_empty() -> None:
    assert not _fullmatches(grammar.TOKEN, "")


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('""', True),  # empty
        ('"a b"', True),  # SP is qdtext
        ('"\t"', True),  # so is HTAB
        ('"!#[]~"', True),  # %x21, %x23-5B, %x5D-7E edges
        ('"\\""', True),  # an escaped DQUOTE
        ('"\\\\"', True),  # an escaped backslash
        ('"\\a\\ \\\t"', True),  # any VCHAR, SP or HTAB may be escaped
        ('"', False),
        ('"a', False),
        ('a"', False),
        ('"a"b"', False),  # a bare DQUOTE inside
        ('"\\"', False),  # the closing quote escaped: unterminated
        ('"a\\"', False),
        ('"\\', False),
        ('"\x7f"', False),  # DEL is not qdtext
        ('"\x00"', False),
        ('"\r\n"', False),
        ('"\\\n"', False),  # nor may a line break be escaped
        ('"é"', False),  # obs-text is left out on purpose
        ("'a'", False),
    ],
)
def test_quoted_string(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.QUOTED_STRING, text) is matches


@pytest.mark.parametrize(
    ("text", "escaped"), [('\\"', '"'), ("\\\\", "\\"), ("\\ ", " "), ("\\\t", "\t"), ("\\~", "~")]
)
def test_quoted_pair_matches_and_captures_the_escaped_character(text: str, escaped: str) -> None:
    match = grammar.QUOTED_PAIR.fullmatch(text)
    assert match is not None and match.group(1) == escaped


@pytest.mark.parametrize(
    "text",
    [
        "\\",
        '"',
        "a",
        "\\\n",
        "\\ab",
        "\\\x00",
        "\\\x7f",
        "\\\r",
    ],
)
def test_quoted_pair_rejects(text: str) -> None:
    assert not _fullmatches(grammar.QUOTED_PAIR, text)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("\t", True),
        (" ", True),
        ("!~", True),  # VCHAR edges
        ("sha384-abc def", True),
        ("\x7f", False),
        ("\x1f", False),
        ("\r", False),
        ("\n", False),
        ("é", False),
    ],
)
def test_text(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.TEXT, text) is matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [("%20", True), ("%aF", True), ("%FF", True), ("%09", True), ("%2", False), ("%G0", False), ("%%20", False)],
)
def test_pct_encoded(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.PCT_ENCODED, text) is matches


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("%", True),
        ("100%", True),
        ("%2", True),
        ("%zz", True),
        ("%%20", True),  # the first "%" starts no triplet
        ("/a%2Fb%e9", False),
        ("%aF", False),
        ("/plain", False),
        ("", False),
    ],
)
def test_bad_percent(text: str, bad: bool) -> None:
    assert (grammar.BAD_PERCENT.search(text) is not None) is bad


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("https://example.com/", "https"),
        ("HTTP://example.com/", "HTTP"),
        ("a+b.c-9:rest", "a+b.c-9"),
        ("javascript:alert(1)", "javascript"),
        ("z:", "z"),
        ("/path:with-colon", None),  # starts with "/"
        ("1http://x", None),  # a scheme starts with ALPHA
        ("-x:y", None),
        (":x", None),
        ("no-colon", None),
        ("a_b:c", None),  # "_" is not a scheme character
    ],
)
def test_scheme_at_the_start_of_a_reference(text: str, scheme: str | None) -> None:
    match = grammar.SCHEME.match(text)
    assert (match.group(1) if match else None) == scheme


@pytest.mark.parametrize("char", [*(chr(c) for c in range(0x21)), "\x7f", "<", ">", '"', "\\"])
def test_uri_forbidden(char: str) -> None:
    assert grammar.URI_FORBIDDEN.search(f"/a{char}b") is not None


@pytest.mark.parametrize("text", ["/a/b?c=d#e", "%zz", "{}|^`", "é", "~!$&'()*+,;=:@[]"])
def test_uri_forbidden_leaves_the_rest(text: str) -> None:
    assert grammar.URI_FORBIDDEN.search(text) is None


@pytest.mark.parametrize("char", ["{", "}", "|", "^", "`", "é", "\u2603", "\U0001f525"])
def test_uri_encodable(char: str) -> None:
    assert _fullmatches(grammar.URI_ENCODABLE, char)


@pytest.mark.parametrize("char", ["a", "%", "/", "~", "<", " ", "\\", "\x7f"])
def test_uri_encodable_leaves_ascii_that_is_not_the_five(char: str) -> None:
    assert grammar.URI_ENCODABLE.search(char) is None


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),  # a relative-ref may be empty
        ("/static/app.css?v=1#top", True),
        ("https://user@h.example:8443/p;x=1", True),
        ("//cdn.example/a", True),
        ("[::1]", True),
        ("-._~!$&'()*+,;=:@/?#", True),
        ("%2F%aF", True),
        ("%", False),
        ("%2", False),
        ("%zz", False),
        (" ", False),
        ("<", False),
        (">", False),
        ('"', False),
        ("\\", False),
        ("{", False),
        ("|", False),
        ("^", False),
        ("`", False),
        ("é", False),
        ("\x00", False),
    ],
)
def test_uri_reference_chars(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.URI_REFERENCE_CHARS, text) is matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("preload", True),
        ("dns-prefetch", True),
        ("a.b", True),
        ("x1", True),
        ("a", True),
        ("Preload", False),  # LOALPHA only
        ("1a", False),
        ("-a", False),
        (".a", False),
        ("pre_load", False),
        ("a b", False),
        ("", False),
    ],
)
def test_reg_rel_type(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.REG_REL_TYPE, text) is matches


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        ("; rel=preload", "rel", "preload"),
        (";rel=preload", "rel", "preload"),
        (" \t; \trel \t= \tpreload", "rel", "preload"),  # OWS before ";", BWS around "="
        ("; nopush", "nopush", None),
        ('; title="a \\"b\\""', "title", '"a \\"b\\""'),
        ("; as=style", "as", "style"),
        ('; x=""', "x", '""'),
    ],
)
def test_link_param(text: str, name: str, value: str | None) -> None:
    match = grammar.LINK_PARAM.fullmatch(text)
    assert match is not None
    assert (match.group("name"), match.group("value")) == (name, value)


@pytest.mark.parametrize(
    "text",
    [
        "rel=preload",  # no ";"
        ";",
        "; =x",
        "; rel=",
        '; title="unterminated',
        "; title=a b",
        "; rel=pre;load",
        "\n; rel=preload",
    ],
)
def test_link_param_rejects(text: str) -> None:
    assert not _fullmatches(grammar.LINK_PARAM, text)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("</static/app.css>", "/static/app.css"),
        ("<https://h.example/a?b=c#d>", "https://h.example/a?b=c#d"),
        ("<>", ""),
        ("</a%20b>", "/a%20b"),
    ],
)
def test_link_value(text: str, target: str) -> None:
    match = grammar.LINK_VALUE.fullmatch(text)
    assert match is not None and match.group("target") == target


@pytest.mark.parametrize("text", ["/a.css", "</a.css", "</a b>", '<"/a">', "<é>", "<<a>>", "< /a>", "</a%zz>"])
def test_link_value_rejects(text: str) -> None:
    assert not _fullmatches(grammar.LINK_VALUE, text)


@pytest.mark.parametrize(("text", "matches"), [("", True), (" ", True), ("\t", True), (" \t ", True)])
def test_ows(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.OWS, text) is matches


@pytest.mark.parametrize("text", ["\n", "\r\n ", "\xa0", "\v", "\f"])
def test_ows_is_space_and_tab_only(text: str) -> None:
    assert not _fullmatches(grammar.OWS, text)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        (",", True),
        (" ,", True),
        (", ", True),
        ("\t,\t", True),
        ("  ,  ", True),
        ("", False),
        (" ", False),
        (",,", False),
        (";", False),
        ("\n,", False),
        (", \r\n", False),
    ],
)
def test_list_delimiter(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.LIST_DELIMITER, text) is matches


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("preload", "preload"),
        ("sha384-abc+/=", '"sha384-abc+/="'),
        ("text/css", '"text/css"'),
        ("a b", '"a b"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("\t", '"\t"'),
    ],
)
def test_quote(value: str, quoted: str) -> None:
    assert grammar.quote(value) == quoted


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "\r\n", "é", "\x00", "\x7f", "a\x1fb"])
def test_quote_refuses_what_no_header_may_hold(value: str) -> None:
    with pytest.raises(ValueError, match="cannot quote"):
        grammar.quote(value)


def _unquote(text: str) -> str:
    return grammar.QUOTED_PAIR.sub(r"\1", text[1:-1]) if text.startswith('"') else text


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t")))
def test_quote_writes_a_token_or_a_quoted_string_that_reads_back(value: str) -> None:
    quoted = grammar.quote(value)
    assert _fullmatches(grammar.TOKEN, quoted) or _fullmatches(grammar.QUOTED_STRING, quoted)
    assert _unquote(quoted) == value


@given(st.text(min_size=1).filter(lambda value: grammar.TEXT.fullmatch(value) is None))
def test_quote_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="cannot quote"):
        grammar.quote(value)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (grammar.QVALUE, "0", True),
        (grammar.QVALUE, "0.5", True),
        (grammar.QVALUE, "0.001", True),
        (grammar.QVALUE, "1", True),
        (grammar.QVALUE, "1.000", True),
        (grammar.QVALUE, "1.001", False),
        (grammar.QVALUE, "0.0001", False),
        (grammar.QVALUE, "2", False),
        (grammar.QVALUE, ".5", False),
        (grammar.QVALUE, "", False),
        (grammar.ORIGIN, "https://fonts.example", True),
        (grammar.ORIGIN, "http://127.0.0.1:8443", True),
        (grammar.ORIGIN, "https://cdn.example/", False),
        (grammar.ORIGIN, "ftp://files.example", False),
        (grammar.ORIGIN, "https://user@host.example", False),
        (grammar.ORIGIN, "https://a.example:123456", False),
        (grammar.DOMAIN, "example.com", True),
        (grammar.DOMAIN, ".example.com", True),
        (grammar.DOMAIN, "-bad.example", False),
        (grammar.DOMAIN, "exa mple.com", False),
        (grammar.DOMAIN, "example.com;", False),
        (grammar.COOKIE_AV_TEXT, "/app", True),
        (grammar.COOKIE_AV_TEXT, "/a;b", False),
        (grammar.COOKIE_AV_TEXT, "/a b", False),
        (grammar.COOKIE_AV_TEXT, "/a\r\n", False),
        (grammar.PLAIN_PATH_PREFIX, "/_firehose/speculation", True),
        (grammar.PLAIN_PATH_PREFIX, "/a/b.c", True),
        (grammar.PLAIN_PATH_PREFIX, "/", False),
        (grammar.PLAIN_PATH_PREFIX, "/a/../b", False),
        (grammar.PLAIN_PATH_PREFIX, '/a"b', False),
    ],
)
def test_values_the_config_reads(pattern: re.Pattern[str], text: str, matches: bool) -> None:
    assert _fullmatches(pattern, text) is matches


# RFC 3986 §4.1 URI-reference, whole: the character set is not enough ("[" only
# around an IP literal, one "#", no ":" in a relative path's first segment).
@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("/static/app.css?v=1#top", True),
        ("https://user:pw@h.example:8443/p;x=1?q=/?#f/?", True),
        ("//cdn.example/a", True),
        ("//[::1]:8443/a", True),
        ("http://[v1.fe:x]/", True),
        ("//[::ffff:192.0.2.1]/", True),
        ("//192.0.2.1:80", True),
        ("//h:/a", True),  # port = *DIGIT
        ("http:", True),
        ("x:y:z", True),  # scheme "x"
        ("./1a:b.css", True),
        ("a/b:c", True),
        ("?a[", False),
        ("#a#b", False),
        ("/a#b#c", False),
        ("/a[1].css", False),
        ("/a.js?ids[]=1", False),
        ("[::1]", False),  # an IP literal only follows "//"
        ("1a:b.css", False),  # not a scheme: a first segment with a colon
        ("::x", False),
        ("//[::1/a", False),
        ("//[1:2:3:4:5:6:7:8:9]/", False),
        ("//[::1]x/", False),
        ("//h:8x/", False),
        ("//a@b@c/", False),
        ("//h[1]/", False),
        ("/a%2", False),
        ("/a%zz", False),
        ("/a b", False),
        ("/é", False),
        ("/{}", False),
    ],
)
def test_uri_reference(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.URI_REFERENCE, text) is matches
    assert _fullmatches(grammar.LINK_VALUE, f"<{text}>") is matches


@given(st.ip_addresses(v=6))
def test_every_ipv6_address_is_an_ip_literal(address: ipaddress.IPv6Address) -> None:
    for form in (address.compressed, address.exploded):
        assert _fullmatches(grammar.URI_REFERENCE, f"//[{form}]/x")
    if address.ipv4_mapped is not None:
        assert _fullmatches(grammar.URI_REFERENCE, f"//[::ffff:{address.ipv4_mapped}]/x")


@given(st.text(alphabet="0123456789abcdefABCDEF:.", max_size=45))
def test_ip_literals_are_what_an_ipv6_parser_reads(text: str) -> None:
    try:
        ipaddress.IPv6Address(text)
        valid = True
    except ValueError:
        valid = False
    assert _fullmatches(grammar.URI_REFERENCE, f"//[{text}]/x") is valid


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("https://h:1/p?q#f#g", ("https", "h:1", "/p", "q", "f#g")),
        ("/a[1]?x[]", (None, None, "/a[1]", "x[]", None)),
        ("1a:b.css", ("1a", None, "b.css", None, None)),
        ("", (None, None, "", None, None)),
        ("?#", (None, None, "", "", "")),
        ("a\nb", (None, None, "a\nb", None, None)),
    ],
)
def test_uri_parts_split_any_string(text: str, parts: tuple[str | None, ...]) -> None:
    match = grammar.URI_PARTS.fullmatch(text)
    assert match is not None
    assert match.group("scheme", "authority", "path", "query", "fragment") == parts


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("no-referrer", True),
        ("default-src 'self'; img-src https://x.example", True),
        ("a\tb", True),
        (" a", False),
        ("a ", False),
        ("a\r\nb", False),
        ("a\nb", False),
        ("a\x00", False),
        ("é", False),  # obs-text is never written
    ],
)
def test_field_value(text: str, matches: bool) -> None:
    assert _fullmatches(grammar.FIELD_VALUE, text) is matches


@pytest.mark.parametrize(
    ("text", "in_path", "in_fragment"),
    [("[", True, True), ("]", True, True), ("#", False, True), ("é", True, True), ("{", True, True),
     (":", False, False), ("@", False, False), ("?", False, False), ("/", False, False), ("%", False, False)],
)  # fmt: skip
def test_what_a_path_or_fragment_encodes(text: str, in_path: bool, in_fragment: bool) -> None:
    assert _fullmatches(grammar.PATH_ENCODABLE, text) is in_path
    assert _fullmatches(grammar.FRAGMENT_ENCODABLE, text) is in_fragment
