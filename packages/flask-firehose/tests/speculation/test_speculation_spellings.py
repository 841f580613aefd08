"""Exclusions hold for every spelling of a URL.

The browser matches a document rule's patterns against a link's URL as its URL
parser leaves it (measured in Chromium 156, as the URL Standard says): dot
segments resolved (``%2e`` forms included), ``\\`` read as ``/``, tab and
newline dropped, characters outside URLs percent-encoded in upper case, and
every escape written in the link kept as written (``/%6Cogout`` stays so). The
server decodes escapes before it routes, and Werkzeug redirects ``/admin`` to a
route ``/admin/`` and merges ``//``. Werkzeug's routing is case-sensitive:
``/LOGOUT`` is not ``/logout`` (a 404 here), so case is no spelling of a route.

So these tests model the two sides independently of the code under test: the
browser's URL parsing and URLPattern matching (written here from the
standards), and the server's routing (the real app, through WSGI, following
redirects). For many spellings of excluded URLs, generated: whenever the
server would run an excluded view (or see an excluded query), the rules
Firehose wrote must exclude that spelling in the browser, list rules must drop
it, and a speculative request for it is refused before the view.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

import pytest
from flask import Flask, render_template_string, request
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_firehose import Firehose, InvalidURLError, no_speculation
from flask_firehose._speculation.patterns import escape_variants, normalize_escapes, parse_pattern

NAV = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
EXCLUDED_ENDPOINTS = {"logout", "admin_index", "admin_page", "unsubscribe", "account_delete", "cafe_secret", "bye"}

# -- the browser -------------------------------------------------------------------------

# URL Standard: the path and (special) query percent-encode sets, for ASCII.
_PATH_ENCODE = set(' "#<>?`{}') | {chr(c) for c in range(0x20)} | {"\x7f"}
_QUERY_ENCODE = set(" \"#<>'") | {chr(c) for c in range(0x20)} | {"\x7f"}
_SINGLE_DOT = {".", "%2e"}
_DOUBLE_DOT = {"..", ".%2e", "%2e.", "%2e%2e"}


def rule_lists(rules: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The rules of each action (the rule set's ``tag`` is not one)."""
    return [listed for action, listed in rules.items() if action != "tag"]


def _encode(text: str, ascii_set: set[str]) -> str:
    return "".join(
        "".join(f"%{b:02X}" for b in char.encode()) if char in ascii_set or not char.isascii() else char
        for char in text
    )


def browser_url(spelling: str) -> tuple[str, str]:
    """``(pathname, search)`` Chromium gives ``https://site.example`` + *spelling*
    (``search`` without ``?``)."""
    spelling = re.sub(r"[\t\n\r]", "", spelling).replace("\\", "/")
    spelling = spelling.split("#", 1)[0]
    path, _, query = spelling.partition("?")
    output: list[str] = []
    segments = path[1:].split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment.lower() in _DOUBLE_DOT:
            if output:
                output.pop()
            if last:
                output.append("")
        elif segment.lower() in _SINGLE_DOT:
            if last:
                output.append("")
        else:
            output.append(_encode(segment, _PATH_ENCODE))
    return "/" + "/".join(output), _encode(query, _QUERY_ENCODE)


def _pattern_regex(pattern: str, segment: str) -> str:
    """A URLPattern component pattern as a regex: ``\\x`` a literal, ``*`` anything,
    ``:name`` one segment, every other character itself."""
    out = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            out.append(re.escape(pattern[position + 1]))
            position += 2
            continue
        name = re.match(r":[A-Za-z_][A-Za-z0-9_]*", pattern[position:])
        if name:
            out.append(segment)
            position += len(name.group())
            continue
        out.append(".*" if char == "*" else re.escape(char))
        position += 1
    return "".join(out)


def resolve_pattern(pattern: dict[str, str], base: str) -> dict[str, str]:
    """URLPattern's processing of a pattern dictionary given the rule set's
    base URL (the page for inline rules, the resource for the header's): a
    ``pathname`` that does not start with ``/`` (or ``\\/``, ``{/``) is put under
    the base URL's folder; an absent ``search`` is any query."""
    pathname = pattern["pathname"]
    if not pathname.startswith(("/", "\\/", "{/")):
        pathname = base[: base.rindex("/") + 1] + pathname
    return {"pathname": pathname, "search": pattern.get("search", "*")}


def urlpattern_test(pattern: dict[str, str], pathname: str, search: str, base: str) -> bool:
    """URLPattern's test() for a pattern without protocol and host (inherited from
    the rule set's base URL: same origin) against a same-origin URL."""
    resolved = resolve_pattern(pattern, base)
    if not re.fullmatch(_pattern_regex(resolved["pathname"], "[^/]+"), pathname, re.S):
        return False
    return re.fullmatch(_pattern_regex(resolved["search"], ".+"), search, re.S) is not None


def browser_speculates(rules: dict[str, Any], spelling: str, base: str = "/") -> bool:
    """Whether a document rule of *rules* (whose base URL has the path *base*)
    lets the browser speculate a link to *spelling* (a link with no
    ``data-no-speculation``)."""
    pathname, search = browser_url(spelling)
    for rule in (rule for action in rule_lists(rules) for rule in action if rule["source"] == "document"):
        clauses = rule["where"]["and"]
        allowed = True
        for clause in clauses:
            if "href_matches" in clause:
                patterns = clause["href_matches"]
                patterns = [{"pathname": patterns}] if isinstance(patterns, str) else patterns
                allowed &= any(urlpattern_test(p, pathname, search, base) for p in patterns)
            elif "not" in clause and "href_matches" in clause["not"]:
                allowed &= not any(urlpattern_test(p, pathname, search, base) for p in clause["not"]["href_matches"])
        if allowed:
            return True
    return False


@pytest.mark.parametrize(
    ("pattern", "base", "url", "matches"),
    [
        # Each seen in Chromium 156: new URLPattern({pathname, baseURL}).test(url)
        ({"pathname": "*logout*"}, "/_firehose/speculation/k.json", "/logout", False),
        ({"pathname": "/*logout*"}, "/_firehose/speculation/k.json", "/logout", True),
        ({"pathname": "*", "search": "*token=*"}, "/_firehose/speculation/k.json", "/x?token=1", False),
        ({"pathname": "/*", "search": "*token=*"}, "/_firehose/speculation/k.json", "/x?token=1", True),
        ({"pathname": "//*"}, "/page", "//admin/x", True),
        ({"pathname": "/*//*"}, "/page", "//admin/x", False),
        ({"pathname": "/*//*"}, "/page", "/admin//x", True),
        ({"pathname": "/articles/*"}, "/page", "/articles/a?x=1", True),
    ],
)
def test_the_urlpattern_model_agrees_with_chromium(pattern: dict[str, str], base: str, url: str, matches: bool) -> None:
    pathname, search = browser_url(url)
    assert urlpattern_test(pattern, pathname, search, base) is matches


@pytest.mark.parametrize(
    ("spelling", "pathname"),
    [
        ("/%6Cogout", "/%6Cogout"),
        ("/admin/%2e%2e/logout", "/logout"),
        ("/admin/.%2E/x", "/x"),
        ("/admin/./x", "/admin/x"),
        ("//admin/x", "//admin/x"),
        ("/admin\\x", "/admin/x"),
        ("/lo\tgout", "/logout"),
        ("/café", "/caf%C3%A9"),
        ("/caf%c3%a9", "/caf%c3%a9"),
        ("/a b", "/a%20b"),
        ("/a/..", "/"),
    ],
)
def test_the_browser_model_agrees_with_chromium(spelling: str, pathname: str) -> None:
    # Each pair seen in Chromium 156: new URL("https://site.example" + spelling).pathname
    assert browser_url(spelling)[0] == pathname


# -- the server ------------------------------------------------------------------------------


def build_app(**config: Any) -> tuple[Flask, Firehose]:
    app = Flask(__name__)
    app.config.update(
        {
            "SECRET_KEY": "s",
            "TESTING": True,
            "FIREHOSE_SPECULATION_EXCLUDE": ["/admin/*", "?*token=*", "account_delete"],
            **config,
        }
    )
    firehose = Firehose(app)
    app.config["ran"] = []

    @app.before_request
    def record() -> None:
        app.config["ran"].append((request.endpoint, request.query_string.decode("latin-1")))

    @app.get("/")
    def index() -> str:
        return render_template_string("{{ speculation_rules() }}")

    @app.get("/logout")
    def logout() -> str:
        return "bye"

    @app.get("/account/sign-out/")
    def bye() -> str:
        return "bye"

    @app.get("/admin/")
    def admin_index() -> str:
        return "admin"

    @app.get("/admin/<page>")
    def admin_page(page: str) -> str:
        return page

    @app.get("/unsubscribe/<token>")
    @no_speculation
    def unsubscribe(token: str) -> str:
        return "done"

    @app.get("/account/delete")
    def account_delete() -> str:
        return "deleted"

    @app.get("/café/secret")
    @no_speculation
    def cafe_secret() -> str:
        return "secret"

    @app.get("/articles/<slug>")
    def article(slug: str) -> str:
        return slug

    @app.get("/magic")
    def magic() -> str:
        return "magic"

    return app, firehose


def server_reaches(app: Flask, spelling: str, headers: dict[str, str] | None = None) -> tuple[bool, int]:
    """Whether the browser's request for *spelling* (redirects followed) runs an
    excluded view or carries an excluded query; and the last status."""
    pathname, search = browser_url(spelling)
    client = app.test_client()
    app.config["ran"] = []
    status = 0
    for _ in range(5):
        environ = {
            "PATH_INFO": unquote_to_bytes(pathname).decode("latin-1"),
            "QUERY_STRING": search,
            "REQUEST_URI": pathname + (f"?{search}" if search else ""),
        }
        response = client.get("/", headers=headers or {}, environ_overrides=environ)
        status = response.status_code
        if status not in (301, 302, 307, 308):
            break
        location = urlsplit(response.headers["Location"])
        pathname, search = location.path, location.query
    reached = any(
        endpoint in EXCLUDED_ENDPOINTS or (endpoint and "token=" in unquote_to_bytes(query).decode("latin-1"))
        for endpoint, query in app.config["ran"]
    )
    return reached, status


def page_rules(app: Flask) -> dict[str, Any]:
    html = app.test_client().get("/", headers=NAV).text
    (body,) = re.findall(r'<script type="speculationrules">(.*?)</script>', html, re.S)
    rules: dict[str, Any] = json.loads(body)
    return rules


def header_rules(app: Flask) -> tuple[dict[str, Any], str]:
    """The rules a page below the root gets in its header, and their base URL's path."""
    client = app.test_client()
    (value,) = client.get("/articles/deep", headers=NAV).headers.getlist("Speculation-Rules")
    url = value.strip('"')
    rules: dict[str, Any] = json.loads(client.get(url).data)
    return rules, url


Delivered = tuple[Flask, dict[str, Any], str]


def _inline_site() -> Delivered:
    app, firehose = build_app()
    firehose.speculate("prefetch", href_matches="/*", eagerness="immediate")
    return app, page_rules(app), "/"


def _header_site() -> Delivered:
    app, firehose = build_app()
    firehose.speculate("prefetch", href_matches="/*", eagerness="immediate")
    rules, base = header_rules(app)
    return app, rules, base


_SITES = {"inline": _inline_site(), "header": _header_site()}


@pytest.fixture(params=["inline", "header"])
def site(request: pytest.FixtureRequest) -> Delivered:
    """The app, and the rules its pages get: inline at ``/``, or through the
    header (whose base URL is the resource's)."""
    return _SITES[request.param]


# The spellings asked about, and more.
SPELLINGS = [
    "/logout",
    "/%6Cogout",
    "/%6cogout",
    "/log%6Fut",
    "/logout/",
    "/logout;x",
    "/logout?next=/",
    "/LOGOUT",  # Werkzeug: a 404, not the logout view
    "/admin/",
    "/admin",  # redirected to /admin/
    "/admin/x",
    "/admin/./x",
    "/admin/%2e%2e/admin/x",
    "/x/%2e%2e/admin/x",
    "/x/..%2Fadmin/x",
    "//admin/x",
    "/admin//x",
    "/%61dmin/x",
    "/%61DMIN/x",
    "/admin%2Fx",
    "/admin%2fx",
    "/admin\\x",
    "/adm\tin/x",
    "/admin;a/x",
    "/unsubscribe/abc",
    "/un%73ubscribe/abc",
    "/unsubscribe%2Fabc",
    "/unsubscribe/abc/",
    "/account/delete",
    "/account/delet%65",
    "/account/delete/",
    "/account/sign-out",  # redirected to /account/sign-out/
    "/account/sign%2Dout/",
    "/café/secret",
    "/caf%C3%A9/secret",
    "/caf%c3%a9/secret",
    "/caf%C3%a9/secret",
    "/caf%c3%A9/secret",
    "/magic?token=1",
    "/magic?%74oken=1",
    "/magic?tok%65n=1",
    "/magic?a=1&token=2",
    "/magic?TOKEN=1",
]
# Links that must stay speculated (a rule that excludes everything is no answer).
KEPT = ["/articles/a", "/articles/caf%C3%A9", "/articles/caf\u00e9", "/magic", "/magic?page=2", "/admin-guide"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_spelling_that_reaches_an_excluded_view_is_never_speculated(site: Delivered, spelling: str) -> None:
    app, rules, base = site
    reached, _ = server_reaches(app, spelling)
    if reached:
        assert not browser_speculates(rules, spelling, base), spelling


@pytest.mark.parametrize("spelling", ["/LOGOUT", "/Logout", "/ADMIN/x"])
def test_case_is_no_spelling_of_a_werkzeug_route(site: Delivered, spelling: str) -> None:
    app, _, _ = site
    assert server_reaches(app, spelling) == (False, 404)


@pytest.mark.parametrize("spelling", ["/%6Cogout", "//admin/x", "/admin%2Fx", "/caf%c3%a9/secret", "/magic?%74oken=1"])
def test_the_tricky_spellings_do_reach_excluded_views(site: Delivered, spelling: str) -> None:
    """The table above is not vacuous: these reach an excluded view, and a
    pattern written for the plain URL alone would let the browser fetch them."""
    app, rules, base = site
    assert server_reaches(app, spelling)[0]
    (rule,) = rules["prefetch"]
    naive = {"prefetch": [{**rule, "where": {"and": [rule["where"]["and"][0], _plain_only(rule)]}}]}
    assert browser_speculates(naive, spelling, base)
    assert not browser_speculates(rules, spelling, base)


def _plain_only(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule's ``not`` patterns without the spelling guards (what Firehose wrote before)."""
    (patterns,) = [c["not"]["href_matches"] for c in rule["where"]["and"] if "href_matches" in c.get("not", {})]
    guard = r"/?\*?(%[0-9A-Fa-f]{1,2}|//|;)\*"
    kept = [p for p in patterns if not re.fullmatch(guard, p.get("search", p["pathname"]))]
    return {"not": {"href_matches": kept}}


@pytest.mark.parametrize("spelling", KEPT)
def test_ordinary_links_are_still_speculated(site: Delivered, spelling: str) -> None:
    app, rules, base = site
    assert not server_reaches(app, spelling)[0]
    assert browser_speculates(rules, spelling, base), spelling


# -- generated spellings ------------------------------------------------------------------------------

BASES = [
    "/logout",
    "/admin/users",
    "/admin/",
    "/unsubscribe/abc",
    "/account/delete",
    "/account/sign-out/",
    "/café/secret",
    "/magic?token=1",
]


@st.composite
def spellings(draw: st.DrawFn) -> str:
    """A spelling of one of :data:`BASES`: escapes in either case, dot
    segments, doubled or added slashes, ``;`` parameters, backslashes, tabs."""
    base = draw(st.sampled_from(BASES))
    path, _, query = base.partition("?")
    out: list[str] = []
    for char in path:
        roll = draw(st.integers(0, 9))
        if char == "/" and roll == 0:
            out.append(draw(st.sampled_from(["//", "/./", "/%2e/", "/x/../", "/x/%2E%2e/", "\\", "%2F", "%2f", ";p/"])))
        elif char != "/" and roll <= 2:
            for byte in char.encode():
                escape = f"%{byte:02X}"
                out.append(escape.lower() if draw(st.booleans()) else escape)
        elif roll == 3 and char != "/":
            out.append(char.upper())
        else:
            out.append(char)
    spelled = "".join(out) + draw(st.sampled_from(["", "", "/", ";x", "\t"]))
    if query:
        spelled += "?" + "".join(f"%{ord(c):02x}" if c.isalpha() and draw(st.integers(0, 4)) == 0 else c for c in query)
    return spelled


@settings(max_examples=300, deadline=None)
@given(spellings(), st.sampled_from(sorted(_SITES)))
def test_generated_spellings_of_excluded_urls(spelling: str, delivery: str) -> None:
    app, rules, base = _SITES[delivery]
    reached, _ = server_reaches(app, spelling)
    if reached:
        assert not browser_speculates(rules, spelling, base), spelling


@pytest.mark.parametrize("spelling", [*SPELLINGS, *KEPT])
def test_list_rules_drop_the_spellings_of_excluded_urls(spelling: str) -> None:
    _check_list_rule(spelling)


@settings(max_examples=150, deadline=None)
@given(spellings())
def test_list_rules_drop_every_spelling_of_an_excluded_url(spelling: str) -> None:
    _check_list_rule(spelling)


def _check_list_rule(spelling: str) -> None:
    app, firehose = build_app()
    try:
        firehose.speculate("prefetch", urls=[spelling, "/articles/a"])
    except InvalidURLError:
        return  # refused when declared: never sent
    rules = page_rules(app)
    urls = [url for rule in rules["prefetch"] if rule["source"] == "list" for url in rule["urls"]]
    assert "/articles/a" in urls
    for url in urls:
        if url != "/articles/a":
            assert not server_reaches(app, url)[0], url


@settings(max_examples=150, deadline=None)
@given(spellings())
def test_a_speculation_of_any_spelling_of_an_excluded_url_is_refused(spelling: str) -> None:
    app, _, _ = _SITES["inline"]
    reached, _ = server_reaches(app, spelling)
    if not reached:
        return
    speculative, status = server_reaches(app, spelling, {"Sec-Purpose": "prefetch", **NAV})
    assert not speculative and status == 503, spelling


# -- the pieces --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [("/%6Cogout", "/logout"), ("/caf%c3%a9", "/caf%C3%A9"), ("/a%2fb", "/a%2Fb"), ("?%74oken=%2a", "?token=%2A")],
)
def test_patterns_are_written_with_escapes_as_the_browser_writes_them(written: str, normal: str) -> None:
    assert normalize_escapes(written) == normal
    assert parse_pattern(written).as_json() == parse_pattern(normal).as_json()


def test_escape_variants_cover_every_other_case_of_an_escape() -> None:
    variants = {p.as_json()["pathname"] for p in escape_variants([parse_pattern("/caf%C3%A9/*"), parse_pattern("/é")])}
    assert variants == {"/*%c3*", "/*%a9*"}
    (mixed,) = [parse_pattern("/%CA%80")]
    assert {p.as_json()["pathname"] for p in escape_variants([mixed])} == {"/*%cA*", "/*%Ca*", "/*%ca*"}


def test_query_guards_appear_only_with_query_exclusions() -> None:
    app, firehose = build_app(FIREHOSE_SPECULATION_EXCLUDE=["/admin/*"])
    firehose.speculate("prefetch")
    rules = page_rules(app)
    patterns = [p for c in rules["prefetch"][0]["where"]["and"] if "not" in c for p in c["not"].get("href_matches", [])]
    assert not any("search" in p for p in patterns)
    assert {"pathname": "/admin"} in patterns  # the bare folder Werkzeug would redirect
    assert {"pathname": "/account/sign-out"} in patterns  # the route's other trailing slash


def test_the_not_clauses_stay_small() -> None:
    """Every document rule carries the guards: they must not crowd the rules."""
    app, firehose = build_app()
    firehose.speculate("prefetch")
    body = json.dumps(page_rules(app))
    assert len(body) < 2500, len(body)


def test_the_guards_are_urlpattern_syntax() -> None:
    _, rules, _ = _SITES["header"]
    for pattern in [
        p for c in rules["prefetch"][0]["where"]["and"] if "not" in c for p in c["not"].get("href_matches", [])
    ]:
        for value in pattern.values():
            # No regexp group (speculation rules refuse them) and no unescaped special but * and :name.
            assert "(" not in value.replace("\\(", "") and "{" not in value, pattern
            assert quote(value, safe="/*:\\%;@!$&'+,=~-._") == value, pattern
        # Absolute: URLPattern puts a relative pathname under the base URL's folder.
        assert pattern["pathname"].startswith("/"), pattern
