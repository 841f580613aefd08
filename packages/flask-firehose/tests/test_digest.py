"""The digest tracker: Golomb-coded sets in a cookie of their own."""

from __future__ import annotations

import base64
import contextlib
import random
import warnings
from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_firehose import Firehose, push
from flask_firehose._digest import DigestFormat, PushDigest
from flask_firehose._digest_tracker import DigestTracker
from flask_firehose._state import state_of
from flask_firehose.testing import links_of, record_early_hints

from .conftest import AppFactory

FORMAT = DigestFormat()


def _urls(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"/static/asset-{i:05}.{rng.getrandbits(48):012x}.js" for i in range(n)]


def _filled(n: int, fmt: DigestFormat = FORMAT) -> tuple[PushDigest, list[str]]:
    urls = _urls(n)
    digest = PushDigest(fmt)
    for start in range(0, n, 10):  # ten files a page, as a client browses
        digest = digest.add(urls[start : start + 10])
    return digest, urls


@pytest.mark.parametrize("n", [0, 1, 10, 100, 1000])
def test_round_trip_without_false_negatives(n: int) -> None:
    digest, urls = _filled(n)
    back = PushDigest.decode(digest.encode(), FORMAT)
    assert all(url in back for url in urls)
    assert back.encode() == digest.encode()


@pytest.mark.parametrize(("n", "most_chars"), [(100, 250 - len("fh-pushed=")), (1000, 2048 - len("fh-pushed="))])
def test_size_targets(n: int, most_chars: int) -> None:
    assert len(_filled(n)[0].encode()) <= most_chars


@pytest.mark.parametrize("rate", [0.01, 0.025])
def test_false_positives_stay_under_the_configured_rate(rate: float) -> None:
    fmt = DigestFormat(false_positives=rate)
    digest, _ = _filled(1000, fmt)
    back = PushDigest.decode(digest.encode(), fmt)
    hits = sum(1 for n in range(50_000) if f"/never/pushed/{n}.css" in back)
    assert hits / 50_000 <= rate


def test_bounded_however_many_files() -> None:
    digest, urls = _filled(10_000)
    assert len(digest.encode()) <= FORMAT.max_chars
    assert all(url in digest for url in urls[-500:])  # the newest are kept


def _flip(text: str, rng: random.Random) -> str:
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def _tampered() -> list[str]:
    good = _filled(100)[0].encode()
    rng = random.Random(7)
    other_rate = _filled(100, DigestFormat(false_positives=0.1))[0].encode()
    return [
        good[: len(good) // 2],
        good + "AAAA",
        "!" * 10,
        "\u00e9t\u00e9",
        "A" * 5000,
        other_rate,
        base64.urlsafe_b64encode(b"\x00" * 40).decode(),
        base64.urlsafe_b64encode(b"\xff" * 40).decode(),
        *(_flip(good, rng) for _ in range(40)),
    ]


@pytest.mark.parametrize("value", _tampered(), ids=range(len(_tampered())))
def test_tampered_values_decode_to_nothing_or_raise_value_error(value: str) -> None:
    try:
        digest = PushDigest.decode(value, FORMAT)
    except ValueError:
        return
    assert len(digest) <= 1 << 20  # a flip can give another valid digest, never an unbounded one


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_digest_or_a_value_error(value: str) -> None:
    with contextlib.suppress(ValueError):
        PushDigest.decode(value, FORMAT)


@pytest.mark.parametrize("value", _tampered(), ids=range(len(_tampered())))
def test_a_text_accepted_is_the_digests_own_encoding(value: str) -> None:
    """The decoder keeps the text as the digest's encoding: that holds only
    if it accepts nothing but what the encoder writes."""
    try:
        digest = PushDigest.decode(value, FORMAT)
    except ValueError:
        return
    assert digest.encode() == value == PushDigest(FORMAT, digest._generations)._encode()


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 300), seed=st.integers(0, 2**32), flips=st.lists(st.integers(0, 10**6), max_size=3))
def test_any_digest_and_its_flipped_bits_decode_canonically_or_not_at_all(n: int, seed: int, flips: list[int]) -> None:
    digest = PushDigest(FORMAT).add(_urls(n, seed))
    text = digest.encode()
    assert PushDigest._decode(text, FORMAT).encode() == text
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    for flip in flips:
        if raw:
            raw[flip % len(raw)] ^= 1 << (flip % 8)
    for variant in (base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="), text[:-1] + "A", text + "A"):
        with contextlib.suppress(ValueError):
            decoded = PushDigest._decode(variant, FORMAT)
            assert PushDigest(FORMAT, decoded._generations)._encode() == variant


@pytest.mark.parametrize("n", [1, 2, 4, 7])  # encodings whose last character has unused bits
def test_a_stray_bit_in_the_last_character_is_refused(n: int) -> None:
    text = PushDigest(FORMAT).add(_urls(n)).encode()
    assert len(text) % 4 in (2, 3)

    def raw(value: str) -> bytes:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same = [text[:-1] + c for c in alphabet if c != text[-1] and raw(text[:-1] + c) == raw(text)]
    assert same  # other spellings of the same bytes exist...
    for other in same:  # ...and none is taken for the digest
        with pytest.raises(ValueError, match="canonical"):
            PushDigest._decode(other, FORMAT)


def _app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"FIREHOSE_STRICT": False, **config})
    Firehose(app)

    @app.get("/<int:page>")
    def page(page: int) -> str:
        for url in _urls(5, seed=page):
            push(url)
        return "<p>page</p>"

    return app


def _pushed(response: Any) -> list[str]:
    return [link.target for link in links_of(response) if not link.has("nopush")]


def test_a_url_pushed_once_is_never_pushed_again() -> None:
    client = _app().test_client()
    first = [url for page in range(200) for url in _pushed(client.get(f"/{page}"))]  # 1,000 files
    # A false positive (1 % configured) is sent nopush without ever being pushed.
    assert len(first) == len(set(first)) >= 990
    again = [url for page in range(200) for url in _pushed(client.get(f"/{page}"))]
    assert again == []


def test_tampered_cookies_never_break_a_page() -> None:
    client = _app().test_client()
    for value in _tampered():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # werkzeug warns of a cookie over 4 KB
            client.set_cookie("fh-pushed", value)
        response = client.get("/1")
        assert response.status_code == 200
        assert len(_pushed(response)) <= 5


def test_the_cookie_and_its_attributes() -> None:
    client = _app().test_client()
    header = client.get("/1").headers["Set-Cookie"]
    name_value, *attributes = [part.strip() for part in header.split(";")]
    assert name_value.startswith("fh-pushed=")
    assert set(attributes) == {"HttpOnly", "Max-Age=2592000", "Path=/", "SameSite=Lax"} | {
        a for a in attributes if a.startswith("Expires=")
    }
    secure = client.get("/2", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in [part.strip() for part in secure.split(";")]


def test_cookie_attributes_are_configurable() -> None:
    app = _app(
        FIREHOSE_COOKIE_NAME="pushed",
        FIREHOSE_COOKIE_MAX_AGE=None,
        FIREHOSE_COOKIE_PATH="/shop",
        FIREHOSE_COOKIE_SECURE=True,
        FIREHOSE_COOKIE_HTTPONLY=False,
        FIREHOSE_COOKIE_SAMESITE="Strict",
    )
    header = app.test_client().get("/1").headers["Set-Cookie"]
    parts = {part.strip() for part in header.split(";")}
    assert {"Path=/shop", "Secure", "SameSite=Strict"} <= parts and "HttpOnly" not in parts
    assert not any(part.startswith(("Max-Age", "Expires")) for part in parts)
    assert header.startswith("pushed=")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FIREHOSE_COOKIE_NAME", "a b"),
        ("FIREHOSE_COOKIE_NAME", ""),
        ("FIREHOSE_COOKIE_MAX_AGE", -1),
        ("FIREHOSE_COOKIE_PATH", "shop"),
        ("FIREHOSE_COOKIE_PATH", "/a;b"),
        ("FIREHOSE_COOKIE_DOMAIN", "a b.example"),
        ("FIREHOSE_COOKIE_SAMESITE", "lax"),
        ("FIREHOSE_DIGEST_FALSE_POSITIVES", 0),
        ("FIREHOSE_DIGEST_FALSE_POSITIVES", 0.9),
        ("FIREHOSE_DIGEST_MAX_BYTES", 10),
    ],
)
def test_bad_cookie_settings_name_their_key(key: str, value: object) -> None:
    from flask_firehose import ConfigurationError

    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(ConfigurationError, match=key):
        Firehose(app)


def test_the_digest_cookie_does_not_make_a_visitor_known() -> None:
    app = Flask(__name__)
    app.config.update(FIREHOSE_LEARN_MIN_SEEN=1)
    Firehose(app)
    app.add_url_rule("/", "home", lambda: push("/static/app.css") and "<p>home</p>")
    client = app.test_client()  # keeps the digest cookie between requests
    with record_early_hints(client) as hints:
        client.get("/")
        assert client.get_cookie("fh-pushed") is not None
        client.get("/")
    assert [[link.target for link in links] for links in hints.links] == [["/static/app.css"]]


def test_two_clients_at_once_each_get_what_their_own_cookie_earns() -> None:
    """The per-app memo of outcomes is keyed on the digest: two clients hitting
    one page at the same time never get each other's nopush hints or cookie."""
    import threading

    app = _app()
    pushed_before = PushDigest(FORMAT).add(_urls(5, seed=1)).encode()
    errors: list[str] = []

    def visit(cookie: str | None) -> None:
        client = app.test_client(use_cookies=False)
        for _ in range(150):
            headers = {"Cookie": f"fh-pushed={cookie}"} if cookie else {}
            response = client.get("/1", headers=headers)
            expected = [] if cookie else _urls(5, seed=1)
            if _pushed(response) != expected:
                errors.append(f"cookie {cookie!r}: pushed {_pushed(response)}")
            if (cookie is None) != ("Set-Cookie" in response.headers):
                errors.append(f"cookie {cookie!r}: Set-Cookie {response.headers.get('Set-Cookie')!r}")

    threads = [threading.Thread(target=visit, args=(cookie,)) for cookie in (pushed_before, None) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]


def test_the_digest_memo_keeps_no_cookie_text_longer_than_a_digest(make_app: AppFactory) -> None:
    """A cookie value over ``max_chars`` cannot decode: it is answered empty
    without entering the memo of decoded digests, so junk cookies pin no
    memory there."""
    app, _ = make_app()
    hooks = state_of(app)
    assert hooks is not None and isinstance(hooks.tracker, DigestTracker)
    tracker = hooks.tracker
    for i in range(256):
        with app.test_request_context("/", headers={"Cookie": f"fh-pushed={'A' * 20_000}{i}"}):
            assert len(tracker.load()) == 0
    kept = sum(len(text) for text in tracker._loaded._entries)
    assert kept <= 256 * tracker.format.max_chars


def test_the_set_cookie_memo_follows_the_clients_digest_and_scheme(make_app: AppFactory) -> None:
    app, _ = make_app()

    @app.get("/<int:n>")
    def page(n: int) -> str:
        return push(f"/static/{n}.css")

    for base in ["http://localhost", "https://localhost"] * 3:  # new clients, one key apart: the scheme
        header = app.test_client().get("/1", base_url=base).headers["Set-Cookie"]
        assert header.endswith("; Secure") == base.startswith("https")
    # A client holding /1 gets /1 and /2 after /2; a new client gets /2 only.
    plain = app.test_client()
    plain.get("/1")
    two = plain.get("/2").headers["Set-Cookie"].split(";", 1)[0]
    fresh = app.test_client().get("/2").headers["Set-Cookie"].split(";", 1)[0]
    assert two != fresh


def _decoded(digest: PushDigest) -> PushDigest:
    return PushDigest.decode(digest.encode(), FORMAT, remember=False)


def test_a_merge_answers_pushed_wherever_one_of_its_digests_does() -> None:
    mine = PushDigest(FORMAT).add(_urls(40, seed=1))
    planted = PushDigest(FORMAT).add(_urls(30, seed=2))
    merged = PushDigest.merge([planted, mine], FORMAT)
    assert all(url in merged for url in _urls(40, seed=1) + _urls(30, seed=2))
    assert _decoded(merged).encode() == merged.encode()  # a valid cookie value


def test_merging_with_a_digest_written_from_it_gives_the_latter() -> None:
    """The planted value stays in the browser and comes back with ours on
    every request: merging must settle, not grow."""
    planted = PushDigest(FORMAT).add(_urls(10, seed=3))
    mine = PushDigest(FORMAT).add(_urls(10, seed=4))
    first = PushDigest.merge([planted, mine], FORMAT)
    written = first.add(_urls(5, seed=5))
    for order in ([planted, written], [written, planted]):
        assert PushDigest.merge(order, FORMAT).encode() == written.encode()


def test_a_merge_of_one_digest_is_that_digest() -> None:
    digest = PushDigest(FORMAT).add(_urls(3))
    assert PushDigest.merge([digest], FORMAT) is digest
    assert PushDigest.merge([PushDigest(FORMAT), digest], FORMAT).encode() == digest.encode()


def test_a_merge_of_full_digests_stays_within_the_budget() -> None:
    fmt = DigestFormat(max_chars=400)
    digests = []
    for seed in range(8):
        digest = PushDigest(fmt)
        for start in range(0, 200, 20):
            digest = digest.add(_urls(200, seed=seed)[start : start + 20])
        digests.append(digest)
    merged = PushDigest.merge(digests, fmt)
    assert 0 < len(merged.encode()) <= fmt.max_chars
    assert PushDigest.decode(merged.encode(), fmt, remember=False).encode() == merged.encode()
    # The digest holding the most (of equals, the last) is kept newest: its latest files are in.
    largest = sorted(digests, key=len)[-1]
    seed = digests.index(largest)
    assert all(url in merged for url in _urls(200, seed=seed)[-20:])


def test_duplicate_cookies_pin_no_more_memory_than_digests(make_app: AppFactory) -> None:
    """Eight values a request, any size: only values a digest could be are
    kept, in either memo."""
    app, _ = make_app()
    hooks = state_of(app)
    assert hooks is not None and isinstance(hooks.tracker, DigestTracker)
    tracker = hooks.tracker
    for i in range(100):
        cookie = "; ".join(f"fh-pushed={'A' * 20_000}{i}-{k}" for k in range(8))
        with app.test_request_context("/", headers={"Cookie": cookie + f"; fh-pushed=short{i}; fh-pushed=x{i}"}):
            assert len(tracker.load()) == 0
    merged_chars = sum(len(text) for key in tracker._merged._entries for text in key)
    assert merged_chars <= 32 * 8 * tracker.format.max_chars
    assert sum(len(text) for text in tracker._loaded._entries) <= 256 * tracker.format.max_chars
