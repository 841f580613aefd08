"""What ``init_app`` checks, and what tracking does with odd or hostile state."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from flask import Flask, render_template_string
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_firehose import Firehose, Link, SessionConnector, push
from flask_firehose.errors import ConfigurationError, FirehoseWarning
from flask_firehose.testing import links_of

PAGE = ["/static/app.css", "/static/app.js", "/static/logo.png"]


def _app(connector: object = None, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "k", "FIREHOSE_STRICT": False, **config})
    Firehose(app, connector=connector)

    @app.get("/")
    def index() -> str:
        return render_template_string("{% for url in urls %}{{ push(url) }} {% endfor %}", urls=PAGE)

    return app


def _pushed(response: Any) -> list[str]:
    return [link.target for link in links_of(response) if not link.has("nopush")]


class InstanceMethods:
    def get_pushed(self) -> set[str]:
        return set()

    def set_pushed(self, inset: set[str]) -> None:
        pass


class StaticMethods:
    store: ClassVar[set[str]] = set()

    @staticmethod
    def get_pushed() -> set[str]:
        return set(StaticMethods.store)

    @staticmethod
    def set_pushed(inset: set[str]) -> None:
        StaticMethods.store = set(inset)


class NoSetter:
    def get_pushed(self) -> set[str]:
        return set()


class WrongArity:
    def get_pushed(self) -> set[str]:
        return set()

    def set_pushed(self) -> None:
        pass


@pytest.mark.parametrize(
    ("connector", "message"),
    [
        (InstanceMethods, r"instance method: pass an instance \(Firehose\(connector=InstanceMethods\(\)\)\)"),
        (NoSetter(), "has no set_pushed"),
        (WrongArity(), r"set_pushed\(\) cannot be called as set_pushed\(urls\)"),
        (42, "has no get_pushed"),
        ("redis://localhost", "has no get_pushed"),
    ],
)
def test_broken_connectors_fail_at_init(connector: object, message: str) -> None:
    app = Flask(__name__)
    app.secret_key = "k"
    with pytest.raises(ConfigurationError, match=message) as info:
        Firehose(app, connector=connector)
    assert info.value.key == "connector"


def test_a_class_with_static_methods_is_a_connector() -> None:
    client = _app(StaticMethods).test_client()
    assert _pushed(client.get("/")) == PAGE
    assert StaticMethods.store == set(PAGE)
    assert _pushed(client.get("/")) == []


def test_bytes_from_a_connector_are_decoded() -> None:
    class RedisLike:  # redis-py returns bytes unless decode_responses=True
        def get_pushed(self) -> set[bytes]:
            return {b"/static/app.css", b"\xff\xfe", b"/static/app.js"}

        def set_pushed(self, inset: set[str]) -> None:
            assert all(isinstance(item, str) for item in inset)

    assert _pushed(_app(RedisLike()).test_client().get("/")) == ["/static/logo.png"]


@pytest.mark.parametrize(
    ("store", "message"),
    [
        (type("Store", (), {"learned": lambda self, e: [], "observe": lambda self, e, links: None}), "an instance"),
        (object(), "has no learned"),
    ],
)
def test_broken_hint_stores_fail_at_init(store: object, message: str) -> None:
    app = Flask(__name__)
    app.secret_key = "k"
    with pytest.raises(ConfigurationError, match=message):
        Firehose(app, hint_store=store)  # type: ignore[arg-type]


def test_no_secret_key_no_500_and_tracking_still_works() -> None:
    app = Flask(__name__)
    Firehose(app)  # the digest cookie needs no secret: no warning either

    @app.get("/")
    def index() -> str:
        return push("/static/app.css")

    client = app.test_client()
    first = client.get("/")
    assert first.status_code == 200 and _pushed(first) == ["/static/app.css"]
    assert [cookie.split("=")[0] for cookie in first.headers.getlist("Set-Cookie")] == ["fh-pushed"]
    assert "Vary" not in first.headers
    assert client.get("/").status_code == 200 and _pushed(client.get("/")) == []


def test_no_secret_key_with_the_session_layout() -> None:
    app = Flask(__name__)
    with pytest.warns(FirehoseWarning, match="no SECRET_KEY"):
        Firehose(app, connector=SessionConnector())

    @app.get("/")
    def index() -> str:
        return push("/static/app.css")

    client = app.test_client()
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 200
        assert _pushed(response) == ["/static/app.css"]  # untracked: pushed each time
        assert "Set-Cookie" not in response.headers and "Vary" not in response.headers


def test_no_warning_when_tracking_is_off() -> None:
    app = Flask(__name__)
    app.config["FIREHOSE_TRACKING"] = False
    Firehose(app)  # filterwarnings=error would fail here on any warning


def test_a_page_bigger_than_the_budget_never_repushes() -> None:
    urls = [f"/static/asset-{n:02}.0123456789abcdef.js" for n in range(12)]  # 12 x 38 chars > 300
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING_MAX_BYTES=300, FIREHOSE_MAX_PUSHES=20)
    Firehose(app, connector=SessionConnector)

    @app.get("/")
    def index() -> str:
        for url in urls:
            push(url)
        return "ok"

    client = app.test_client()
    pushes: list[str] = []
    for _ in range(6):
        response = client.get("/")
        pushes.extend(_pushed(response))
        assert {link.target for link in links_of(response)} == set(urls)  # every hint still goes out
    assert len(pushes) == len(set(pushes)), sorted(pushes)
    assert 0 < len(pushes) < len(urls)


def test_least_recently_used_is_forgotten_first() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", FIREHOSE_TRACKING_MAX_BYTES=100)
    Firehose(app, connector=SessionConnector)

    @app.get("/<name>")
    def page(name: str) -> str:
        push("/static/base.css")
        return push(f"/static/{name}.0123456789ab.js")

    client = app.test_client()
    assert len(_pushed(client.get("/a"))) == 2
    for name in "bcdefgh":  # base.css is used by every page: it stays
        assert _pushed(client.get(f"/{name}")) == [f"/static/{name}.0123456789ab.js"]


TAMPERED: list[object] = [
    42,
    3.5,
    None,
    True,
    ["/static/app.css"],
    {"/static/app.css": 1},
    b"/static/app.css",
    "",
    ",,,,",
    "|||",
    "\x00\r\n",
    "/static/app.css," * 200,
    "\ud800",
    "<script>",
]


@pytest.mark.parametrize("value", TAMPERED, ids=range(len(TAMPERED)))
def test_tampered_session_values_never_break_a_page(value: object) -> None:
    client = _app(SessionConnector()).test_client()
    with client.session_transaction() as state:
        state["h2-pushed"] = value
    response = client.get("/")
    assert response.status_code == 200
    assert set(_pushed(response)) <= set(PAGE)
    with client.session_transaction() as state:
        stored = state["h2-pushed"]
    assert isinstance(stored, str) and len(stored) <= 1024


def _verifies(app: Flask, value: str) -> bool:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    try:
        serializer.loads(value)
    except Exception:
        return False
    return True


def test_bit_flipped_cookies_are_empty_state() -> None:
    app = _app(SessionConnector())
    client = app.test_client()
    client.get("/")
    cookie = client.get_cookie("session")
    assert cookie is not None
    rng = random.Random(8288)
    for _ in range(200):
        raw = bytearray(cookie.value.encode())
        position = rng.randrange(len(raw))
        raw[position] ^= 1 << rng.randrange(7)
        other = app.test_client()
        other.set_cookie("session", raw.decode("latin-1"))
        response = other.get("/")
        assert response.status_code == 200
        # A flipped cookie fails its signature: nothing stored in it is trusted.
        # (A flip in base64's padding bits may leave the signed bytes intact.)
        if not _verifies(app, raw.decode("latin-1")):
            assert _pushed(response) == PAGE


def test_custom_store_links_pass_the_103_filter() -> None:
    class Store:
        def learned(self, endpoint: str) -> list[object]:
            return [
                Link("/static/a.css", as_="style", nopush=True),
                Link("/static/b.css", as_="style", params=(("x-team", "web"),)),
                Link("/media/private/alice.png", as_="image"),
                "/static/not-a-link.css",
                None,
            ]

        def observe(self, endpoint: str, links: Sequence[Link]) -> None:
            pass

    from flask_firehose.testing import record_early_hints

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k")
    Firehose(app, hint_store=Store())  # type: ignore[arg-type]

    @app.get("/")
    def index() -> str:
        return "<p>x</p>"

    client = app.test_client()
    with record_early_hints(client) as hints:
        client.get("/")
    (links,) = hints.links
    assert [(link.target, link.has("nopush")) for link in links] == [("/static/a.css", False)]


def test_a_public_response_gets_no_session_cookie() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k")
    Firehose(app)

    @app.get("/")
    def index() -> Any:
        push("/static/app.css")
        response = app.make_response("<p>cached by the CDN</p>")
        response.headers["Cache-Control"] = "public, max-age=600"
        return response

    response = app.test_client().get("/")
    assert _pushed(response) == ["/static/app.css"]
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers


def test_head_requests_touch_no_session() -> None:
    response = _app().test_client().head("/")
    assert response.status_code == 200 and _pushed(response) == PAGE
    assert "Set-Cookie" not in response.headers


def test_a_class_of_partials_is_a_connector() -> None:
    import functools

    store: dict[str, set[str]] = {"pushed": set()}

    def get(key: str) -> set[str]:
        return set(store[key])

    def put(key: str, inset: set[str]) -> None:
        store[key] = set(inset)

    class Partials:
        get_pushed = functools.partial(get, "pushed")
        set_pushed = functools.partial(put, "pushed")

    client = _app(Partials).test_client()
    assert _pushed(client.get("/")) == PAGE
    assert _pushed(client.get("/")) == []


@pytest.mark.parametrize("returned", ["/static/app.css", 42, [None, 3]])
def test_a_connector_returning_junk_raises_when_strict(returned: object) -> None:
    class Junk:
        def get_pushed(self) -> object:
            return returned

        def set_pushed(self, inset: set[str]) -> None:
            pass

    app = _app(Junk(), FIREHOSE_STRICT=True, PROPAGATE_EXCEPTIONS=True)
    with pytest.raises(TypeError, match="get_pushed"):
        app.test_client().get("/")
    lenient = _app(Junk())
    assert _pushed(lenient.test_client().get("/")) == PAGE


@pytest.mark.parametrize(
    ("fields", "tracked"),
    [
        # A shared cache may store these and serve them to others, "public" or not.
        ([("Cache-Control", "max-age=600")], False),
        ([("Cache-Control", "s-maxage=600")], False),
        ([("Expires", "Thu, 01 Dec 2099 16:00:00 GMT")], False),
        ([("Cache-Control", "max-age=600"), ("Cache-Control", "public")], False),
        # These it may not serve to another client.
        ([("Cache-Control", "max-age=600, private")], True),
        ([("Vary", "Cookie")], True),
        ([], True),
    ],
)
def test_per_client_state_only_where_no_shared_cache_serves_others(
    fields: list[tuple[str, str]], tracked: bool
) -> None:
    app = Flask(__name__)
    Firehose(app)

    @app.get("/")
    def index() -> Any:
        push("/static/app.css")
        response = app.make_response("<p>page</p>")
        for name, value in fields:
            response.headers.add(name, value)
        return response

    client = app.test_client()
    client.set_cookie("fh-pushed", _digest_of(["/static/app.css"]))
    response = client.get("/")
    # Tracked: the nopush this client's cookie earns; else as for anyone, and no cookie.
    assert _pushed(response) == ([] if tracked else ["/static/app.css"])
    if not tracked:
        assert "Set-Cookie" not in response.headers


def _digest_of(urls: list[str]) -> str:
    from flask_firehose._digest import DigestFormat, PushDigest

    return PushDigest(DigestFormat()).add(urls).encode()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"FIREHOSE_COOKIE_NAME": "session"}, "session cookie"),
        ({"SESSION_COOKIE_NAME": "sid", "FIREHOSE_COOKIE_NAME": "sid"}, "session cookie"),
        ({"FIREHOSE_DIGEST_MAX_BYTES": 5000}, "at most 4000"),
    ],
)
def test_cookie_settings_that_would_break_the_site(config: dict[str, object], message: str) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ConfigurationError, match=message):
        Firehose(app)


_COOKIE_OCTETS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\')


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.text(alphabet=_COOKIE_OCTETS, max_size=300), max_size=60),
    after=st.lists(st.text(alphabet=_COOKIE_OCTETS, max_size=300), max_size=3),
)
def test_stray_digest_cookies_around_ours_never_bring_a_push_back(before: list[str], after: list[str]) -> None:
    """Any values a browser may send beside the app's own cookie (many
    before it: deeper paths; a few after it: parent domains at its path):
    a 200, and nothing the app's own cookie holds is pushed again."""
    app = _app()
    client = app.test_client(use_cookies=False)
    ours = client.get("/").headers["Set-Cookie"].split(";", 1)[0]
    header = "; ".join([*(f"fh-pushed={v}" for v in before), ours, *(f"fh-pushed={v}" for v in after)])
    response = client.get("/", headers={"Cookie": header})
    assert response.status_code == 200
    assert _pushed(response) == []
    assert sorted(link.target for link in links_of(response)) == sorted(PAGE)


def test_a_public_response_with_a_cdn_field_gets_no_digest_cookie() -> None:
    app = Flask(__name__)
    Firehose(app)

    @app.get("/")
    def index() -> Any:
        push("/static/app.css")
        response = app.make_response("<p>cached by the CDN</p>")
        response.headers["CDN-Cache-Control"] = "max-age=600"
        return response

    client = app.test_client()
    for _ in range(2):
        response = client.get("/")
        assert _pushed(response) == ["/static/app.css"]
        assert "Set-Cookie" not in response.headers
