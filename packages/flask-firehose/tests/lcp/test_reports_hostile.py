"""The report endpoint as an attacker meets it, through Flask's test client.

Every refusal is a 4xx with one line of text; nothing an attacker sends makes
the app hint a URL its page does not use, or grow memory past fixed caps."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Callable

import pytest
from flask import Request
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner

from flask_firehose._lcp import MemoryLcpStore, tokens
from flask_firehose._lcp.reports import MAX_BODY
from flask_firehose._links import Link

from .lcp_app import IMAGES, KEY, LcpApp, build, report, token_of

HERO = "http://localhost/static/hero.jpg"
FOOTER = "http://localhost/static/footer.webp"
WIDTHS = (375, 550, 700, 1280)
REFUSALS = {400, 403, 405, 409, 413, 415, 429}


@pytest.fixture
def site() -> LcpApp:
    return build()


@pytest.fixture
def client(site: LcpApp) -> FlaskClient:
    return site.app.test_client()


def _hero() -> Link:
    return Link("/static/hero.jpg", rel="preload", as_="image", params=(("fetchpriority", "high"),))


def _agree(client: FlaskClient, url: str = HERO, widths: tuple[int, ...] = WIDTHS, first: int = 1) -> None:
    """Three honest distinct clients per viewport class report *url*."""
    n = first
    for width in widths:
        for _ in range(3):
            assert report(client, token_of(client), url, width=width, address=f"198.51.100.{n}") == (204, "")
            n += 1


def _assert_line(text: str) -> None:
    assert text.endswith("\n") and text.count("\n") == 1 and len(text) < 100


def test_honest_visitors_agree(site: LcpApp, client: FlaskClient) -> None:
    assert site.learning.wants_sample(KEY)
    assert site.learning.hints(KEY) == ()
    _agree(client)
    assert site.learning.hints(KEY) == (_hero(),)
    assert site.learning.final_links(KEY) == (_hero(),)
    assert not site.learning.wants_sample(KEY)
    # the page carries no script once every class agreed
    assert "data-firehose-lcp" not in client.get("/").get_data(as_text=True)


def test_done_classes_in_the_token_and_refused(site: LcpApp, client: FlaskClient) -> None:
    _agree(client, widths=(375,))
    token = token_of(client)
    assert tokens.verify("test-secret", "lcp_app http://localhost/", token).done == frozenset({0})
    status, text = report(client, token, FOOTER, width=320, address="203.0.113.9")
    assert status == 409
    _assert_line(text)
    assert report(client, token, FOOTER, width=1280, address="203.0.113.9") == (204, "")


def test_by_class_links_carry_media(site: LcpApp, client: FlaskClient) -> None:
    _agree(client, widths=(375,), url=FOOTER)
    _agree(client, widths=(550, 700, 1280), first=100)
    footer = Link(
        "/static/footer.webp",
        rel="preload",
        as_="image",
        params=(("fetchpriority", "high"), ("media", "(max-width: 480px)")),
    )
    hero = Link(
        "/static/hero.jpg",
        rel="preload",
        as_="image",
        params=(("fetchpriority", "high"), ("media", "(min-width: 481px)")),
    )
    assert site.learning.hints(KEY) == ()
    assert site.learning.final_links(KEY) == (footer, hero)


def test_text_and_outside_the_viewport_count_as_no_image(site: LcpApp, client: FlaskClient) -> None:
    assert report(client, token_of(client), "", width=375, address="198.51.100.1") == (204, "")
    assert report(client, token_of(client), HERO, width=375, in_viewport=False, address="198.51.100.2") == (204, "")
    assert [url for _, url in site.store.samples(KEY)[0]] == ["", ""]


def _forge(token: str, **changes: object) -> str:
    payload_part, rest = token.split(".", 1)
    payload = json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))
    payload.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{encoded}.{rest}"


def test_forged_tokens(client: FlaskClient) -> None:
    token = token_of(client)
    for forged in (
        "forged",
        "a.b.c",
        _forge(token, m=["/evil.jpg"]),
        _forge(token, k="another|key"),
        _forge(token, d=[]),
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    ):
        status, text = report(client, forged, HERO, address="192.0.2.77")
        assert status in (400, 403), forged
        _assert_line(text)
    assert report(client, _forge(token, m=["/evil.jpg"]), "http://localhost/evil.jpg")[0] == 403


def test_token_of_another_app_secret_or_site(site: LcpApp, client: FlaskClient) -> None:
    for other in (build("other_app"), build(secret="another-secret")):
        status, text = report(client, token_of(other.app.test_client()), HERO)
        assert (status, text) == (403, "token signature is not valid\n")
    # the same app, another site (Host): the token is bound to the site
    foreign = token_of(client, "http://tenant.example/")
    assert report(client, foreign, HERO)[0] == 403
    # the other app's store got nothing, and neither did this one
    assert site.store.samples(KEY) == {}


def test_expired_token(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - tokens.MAX_AGE - 2)
        old = token_of(client)
    assert report(client, old, HERO) == (403, "token expired\n")
    assert report(client, token_of(client), HERO, address="192.0.2.99") == (204, "")


def test_replay(client: FlaskClient) -> None:
    token = token_of(client)
    assert report(client, token, HERO, address="192.0.2.1") == (204, "")
    assert report(client, token, HERO, address="192.0.2.2") == (409, "token already used\n")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://localhost/static/unused.jpg", "not an image the page referenced"),
        ("http://localhost/static/hero.jpg?x=1", "not an image the page referenced"),
        ("http://localhost/static/HERO.jpg", "not an image the page referenced"),
        ("http://evil.example/static/hero.jpg", "not same-origin"),
        ("https://localhost/static/hero.jpg", "not same-origin"),
        ("http://localhost:8080/static/hero.jpg", "not same-origin"),
        ("http://user@localhost/static/hero.jpg", "not same-origin"),
        ("/static/hero.jpg", "not same-origin"),
        ("//localhost/static/hero.jpg", "not same-origin"),
        ("data:image/png;base64,AAAA", "not same-origin"),
        ("javascript:alert(1)", "not same-origin"),
        ("http://localhost:99999/static/hero.jpg", "not a URL the page referenced"),
        ("http://localhost/static/hero.jpg\n", "not a URL the page referenced"),
        ("http://localhost/static/h\u00e9ro.jpg", "not a URL the page referenced"),
    ],
)
def test_urls_the_page_did_not_reference(site: LcpApp, client: FlaskClient, url: str, reason: str) -> None:
    status, text = report(client, token_of(client), url)
    assert status == 403
    assert reason in text
    assert site.store.samples(KEY) == {}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "https://localhost"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": ""}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Sec-Fetch-Site": "none"}, 403),
        ({"Sec-Fetch-Site": ""}, 403),
        ({"Sec-Fetch-Dest": "document"}, 403),
        ({"Sec-Fetch-Dest": ""}, 403),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Content-Type": ""}, 415),
    ],
)
def test_headers(site: LcpApp, client: FlaskClient, headers: dict[str, str], status: int) -> None:
    code, text = report(client, token_of(client), HERO, headers=headers)
    assert code == status
    _assert_line(text)
    assert site.store.samples(KEY) == {}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'"t"',
        b"null",
        b"[" * 1020 + b"]" * 1020,
        b'{"t": "x", "w": 100, "u": "", "v": true}',  # shape fine, token forged: 403 below
        b'{"w": 100, "u": "", "v": true}',
        b'{"t": "x", "w": "100", "u": "", "v": true}',
        b'{"t": "x", "w": true, "u": "", "v": true}',
        b'{"t": "x", "w": 0, "u": "", "v": true}',
        b'{"t": "x", "w": 100000000, "u": "", "v": true}',
        b'{"t": "x", "w": 100.5, "u": "", "v": true}',
        b'{"t": "x", "w": 100, "u": null, "v": true}',
        b'{"t": "x", "w": 100, "u": "", "v": 1}',
        b'{"t": "x", "w": 100, "u": ""}',
        b'{"t": ["x"], "w": 100, "u": "", "v": true}',
        b"\xff\xfe\x00",
    ],
)
def test_malformed_bodies(client: FlaskClient, body: bytes) -> None:
    status, text = report(client, "", body=body)
    assert status in (400, 403)
    _assert_line(text)


def test_oversized_body(client: FlaskClient) -> None:
    token = token_of(client)
    padded = json.dumps({"t": token, "w": 100, "u": HERO, "v": True, "pad": "x" * MAX_BODY}).encode()
    assert report(client, token, body=padded) == (413, f"body over {MAX_BODY} bytes\n")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods(client: FlaskClient, method: str) -> None:
    assert client.open("/_firehose/lcp", method=method).status_code == 405


def test_one_report_per_client_at_a_time(client: FlaskClient) -> None:
    assert report(client, token_of(client), HERO, address="192.0.2.5") == (204, "")
    assert report(client, token_of(client), HERO, address="192.0.2.5") == (429, "one report per client at a time\n")
    # refused reports spend nothing: another client goes on
    assert report(client, token_of(client), HERO, address="192.0.2.6") == (204, "")


def test_reports_per_key_and_minute() -> None:
    site = build(reports_per_minute=5)
    client = site.app.test_client()
    answers = [report(client, token_of(client), HERO, width=WIDTHS[n % 4], address=f"192.0.2.{n}")[0] for n in range(8)]
    assert answers == [204] * 5 + [429] * 3


def test_store_failure_is_a_503_and_a_log(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(MemoryLcpStore):
        def record(self, key: str, report_id: str, client: str, viewport: int, url: str) -> bool:
            raise ConnectionError("store down")

    site = build(store=Broken())
    client = site.app.test_client()
    with caplog.at_level(logging.ERROR, "flask_firehose"):
        assert report(client, token_of(client), HERO) == (503, "the store is unavailable\n")
    assert "LCP store record()" in caplog.text


def test_no_secret_key(caplog: pytest.LogCaptureFixture) -> None:
    site = build(secret=None)
    client = site.app.test_client()
    with caplog.at_level(logging.WARNING, "flask_firehose"):
        for _ in range(3):
            assert "data-firehose-lcp" not in client.get("/").get_data(as_text=True)
    assert caplog.text.count("no SECRET_KEY") == 1
    forged = tokens.issue("guess", "http://localhost/", KEY, IMAGES, (480,))
    assert report(client, forged, HERO)[0] == 403


def test_the_report_is_not_a_navigation_firehose_learns_from() -> None:
    """POST never passes ``is_navigation``: the request hooks leave it alone."""
    from flask_firehose._requests import is_navigation

    assert not is_navigation({"REQUEST_METHOD": "POST", "HTTP_SEC_FETCH_MODE": "navigate"})
    assert not is_navigation({"REQUEST_METHOD": "POST", "HTTP_ACCEPT": "text/html"})


_members = st.fixed_dictionaries(
    {},
    optional={
        "t": st.one_of(st.text(max_size=40), st.integers(), st.none()),
        "w": st.one_of(st.integers(min_value=-5, max_value=10**7), st.floats(), st.booleans(), st.text(max_size=5)),
        "u": st.one_of(st.text(max_size=60), st.just(HERO), st.none()),
        "v": st.one_of(st.booleans(), st.integers(), st.none()),
    },
)


@settings(max_examples=150)
@given(st.one_of(_members.map(lambda value: json.dumps(value).encode()), st.binary(max_size=300)))
def test_never_a_server_error(body: bytes) -> None:
    site = build(strict=True)
    status, text = report(site.app.test_client(), "", body=body)
    assert status in REFUSALS
    _assert_line(text)


def _post(site: LcpApp, body: bytes, address: str) -> int:
    """One report straight into the report view, inside the app's context
    (a whole test-client request would cost ten times the report)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/_firehose/lcp",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_ORIGIN": "http://localhost",
        "HTTP_SEC_FETCH_SITE": "same-origin",
        "HTTP_SEC_FETCH_DEST": "empty",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": address,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
    }
    return site.learning.reports.respond(Request(environ)).status_code


def _flood(site: LcpApp, count: int, token: Callable[[int], str]) -> dict[int, int]:
    """*count* reports from as many addresses; the answers counted by status."""
    answers: dict[int, int] = {}
    with site.app.app_context():
        for n in range(count):
            url = (HERO, FOOTER, "http://localhost/evil.jpg", "http://evil.example/x.jpg")[n % 4]
            body = json.dumps({"t": token(n), "w": 300 + n % 1200, "u": url, "v": True}).encode()
            status = _post(site, body, f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
            answers[status] = answers.get(status, 0) + 1
    assert set(answers) <= REFUSALS | {204}
    return answers


def _kept_urls(store: MemoryLcpStore, keys: list[str]) -> set[str]:
    return {url for key in keys for samples in store.samples(key).values() for _, url in samples}


def test_flood_stays_within_the_limits() -> None:
    """10,000 reports from 10,000 fake clients with real tokens, forged
    ones, replays and unreferenced URLs: at most the page's budget counts."""
    store = MemoryLcpStore()
    site = build(store=store)
    client = site.app.test_client()
    page_tokens = [token_of(client) for _ in range(40)]
    answers = _flood(site, 10000, lambda n: page_tokens[n % 40] if n % 3 else _forge(page_tokens[0], k=f"key{n}"))
    assert 0 < answers.get(204, 0) <= 30
    assert answers.get(409, 0) + answers.get(429, 0) > 3000  # settled classes, spent budget
    assert store.sizes()[0] == 1
    reports = site.learning.reports
    assert len(reports.clients) == 4096 and len(reports.clients._last) == 4096
    assert len(reports.keys) == 1
    assert _kept_urls(store, [KEY]) <= {"/static/hero.jpg", "/static/footer.webp"}


def test_flood_of_many_pages_stays_bounded() -> None:
    """10,000 accepted-shaped reports for 2,000 pages (tokens as an app with
    that many pages signs them), every rate limit lifted: the store, the
    per-page counters and the memo stay at their caps."""
    store = MemoryLcpStore(max_keys=16, max_ids=500)
    site = build(store=store, report_interval=0.0, reports_per_minute=10**6)
    keys = [f"app|http://localhost/|page{n}" for n in range(2000)]

    def token(n: int) -> str:
        return tokens.issue("test-secret", "lcp_app http://localhost/", keys[n // 4 % 2000], IMAGES, (480, 600, 782))

    answers = _flood(site, 10000, token)
    assert answers[204] > 2000
    keys_kept, ids_kept, most = store.sizes()
    assert (keys_kept, ids_kept) == (16, 500) and most <= 3
    assert len(site.learning.reports.keys) == site.learning.reports.keys.max_keys == 1024
    assert len(site.learning.reports.clients._last) == 4096
    assert len(site.learning._memo) <= 1024
    assert _kept_urls(store, keys) <= {"/static/hero.jpg", "/static/footer.webp"}


def test_flooder_cannot_outvote_honest_visitors(site: LcpApp, client: FlaskClient) -> None:
    # tokens taken before the classes agreed (each valid ten minutes)
    stock = [token_of(client) for _ in range(200)]
    _agree(client)
    assert site.learning.hints(KEY) == (_hero(),)
    refused: set[int] = set()
    for n in range(2000):
        token = stock[n % len(stock)]
        url = ("http://localhost/evil.jpg", FOOTER, "http://evil.example/static/hero.jpg")[n % 3]
        status, _ = report(client, token, url, width=(375, 550, 700, 1280)[n % 4], address=f"10.9.{n >> 8}.{n & 255}")
        refused.add(status)
    assert 204 not in refused
    assert site.learning.hints(KEY) == (_hero(),)
    assert site.learning.final_links(KEY) == (_hero(),)
    kept = {url for samples in site.store.samples(KEY).values() for _, url in samples}
    assert kept == {"/static/hero.jpg"}


def test_flooder_before_agreement_cannot_hint_an_unreferenced_image(site: LcpApp, client: FlaskClient) -> None:
    for n in range(1000):
        url = ("http://localhost/evil.jpg", "http://evil.example/static/hero.jpg")[n % 2]
        assert report(client, token_of(client), url, width=375, address=f"10.8.{n >> 8}.{n & 255}")[0] == 403
    _agree(client)
    assert site.learning.hints(KEY) == (_hero(),)
