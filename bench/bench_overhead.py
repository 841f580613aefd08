"""Per-request cost of Flask-Firehose, and the size of its tracking state.

Prints, measured side by side in this run:

* the time per request of a browser's navigation (the headers Chromium sends)
  to a view pushing 10 resources through Firehose, against a bare Flask view
  that sends the same response headers by hand, measured twice: through
  Flask's test client, and calling the app as a WSGI server does (the
  server's own work only). First the goal's two lines, with the default
  digest tracker: a new client (against a bare view sending the same ``Link``
  and ``Set-Cookie``) and a returning one (its cookie says all was pushed;
  the same ``Link``); then a new client against a bare view sending no
  cookie; the session layout (``connector=SessionConnector()``), also against
  a bare view writing the same session value by hand; tracking off; and a
  returning client on a server that sends 103s (``wsgi.early_hints``, as
  gunicorn 25+ over HTTP/2), where Firehose also sends a 103 and learns;
  then a page that never calls ``push()``, read for its hints;
* calling the app as a WSGI server does, the documented usage and the cases
  where Firehose costs most: the 0.2.3 README's template (ten ``push()``
  calls with attributes, a template compiled once) for a new and a returning
  client, against the same template with ``push`` a function returning its
  URL and the same ``Link`` (and ``Set-Cookie``) by hand; 2,000 returning
  clients, each with a digest of its own holding 30-100 files; a server
  sending 103s of declared and learned hints, with the memory store and (with
  ``--redis``) Redis, the client's cookie steady; and the demo's article view
  (``apps/demo``: its template, data and declarations, sessions in memory)
  with everything on, against the same app with ``FIREHOSE_ENABLED = False``
  sending the same headers by hand;
* the Set-Cookie bytes after a client was pushed 10, 100, 1,000 and 10,000
  hashed asset URLs, one per page, for the digest and the session layout;
* the digest's false-positive rate, measured over 100,000 lookups of URLs
  never pushed, against the configured rate.

Rounds alternate between the two apps so that a noisy neighbour slows both;
each line prints the median time per request of each app, the median of the
rounds' ratios, and the lowest and highest round's ratio. The ratio is a
median of ratios, not the ratio of the two medians printed beside it, so the
times do not divide to it exactly; :data:`LEGEND`, printed first, says so.
Run with ``make bench`` (or ``python bench/bench_overhead.py --quick``).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response, render_template, session
from flask.testing import FlaskClient
from jinja2 import DictLoader
from werkzeug.test import EnvironBuilder, TestResponse

from flask_firehose import Firehose, SessionConnector, early_hints, push

#: What a browser sends when it navigates to a page: the request every hint is
#: for. (Without them the request is not a navigation, and Firehose would skip
#: most of its work: the 103, the learner, the Speculation Rules.)
NAVIGATION = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Site": "none",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0",
}
#: What gunicorn 25+ puts in the environ of an HTTP/2 request: a callback
#: that sends a 103 (here it sends nothing, so only Firehose's work counts).
#: The test client always says HTTP/1.1: the key record_early_hints sets
#: presents its requests as HTTP/2.
EARLY_HINTS_SERVER: dict[str, object] = {
    "wsgi.early_hints": lambda headers: None,
    "SERVER_PROTOCOL": "HTTP/2.0",
    "HTTP_VERSION": "2",
    "flask_firehose.testing.http2": True,
}
ASSETS = [f"/static/assets/chunk-{i:02}.{hashlib.sha256(str(i).encode()).hexdigest()[:8]}.js" for i in range(10)]
BY_HAND = ", ".join(f"<{url}>; rel=preload; as=script" for url in ASSETS)


def firehose_app(connector: object = None, **config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="bench", **config)
    Firehose(app, connector=connector)

    @app.get("/")
    def page() -> str:
        for url in ASSETS:
            push(url)
        return "ok"

    return app


def bare_app(track_by_hand: bool = False, set_cookie: str | None = None, link: str = BY_HAND) -> Flask:
    """The baseline: the same Link header written by hand; optionally the same
    session value too, which is what session tracking costs in Flask itself,
    or the same ``Set-Cookie`` header, what any cookie costs the client."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    tracked = ",".join(ASSETS)

    @app.get("/")
    def page() -> tuple[str, dict[str, str]]:
        if track_by_hand:
            session["h2-pushed"] = tracked
        if set_cookie is not None:
            return "ok", {"Link": link, "Set-Cookie": set_cookie}
        return "ok", {"Link": link}

    return app


Cookie = tuple[str, str] | list[tuple[str, str]] | None


def per_request(
    app: Flask, requests: int, cookie: Cookie = None, server: dict[str, object] | None = None, path: str = "/"
) -> float:
    """Seconds per request for *path* through Flask's test client, a new
    client each time (with *cookie*, if given; *server*: what the WSGI server
    adds to the environ; a list of cookies: one after the other, a client
    each): the measure this benchmark has always used."""
    cookies = cookie if isinstance(cookie, list) else [cookie]
    start = time.perf_counter()
    for n in range(requests):
        client = app.test_client()
        if server:
            client.environ_base.update(server)  # type: ignore[arg-type]
        held = cookies[n % len(cookies)]
        if held:  # the test client sends its jar, not a hand-made Cookie header
            client.set_cookie(*held)
        client.get(path, headers=NAVIGATION)
    return (time.perf_counter() - start) / requests


def per_call(
    app: Flask, requests: int, cookie: Cookie = None, server: dict[str, object] | None = None, path: str = "/"
) -> float:
    """Seconds the app itself spends per request, called as a WSGI server
    calls it: no test client, whose parsing of the response (a cookie jar to
    update) is the browser's work, not the server's."""
    environs = []
    for held in cookie if isinstance(cookie, list) else [cookie]:
        headers = [*NAVIGATION.items(), *([("Cookie", f"{held[0]}={held[1]}")] if held else [])]
        environ = EnvironBuilder(path=path, headers=headers).get_environ()
        environ.update(server or {})
        environs.append(environ)

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
        return None

    start = time.perf_counter()
    for n in range(requests):
        body = app(dict(environs[n % len(environs)]), start_response)  # type: ignore[arg-type]
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - start) / requests


MEASURES = {"test client": per_request, "WSGI call": per_call}
MEASURE = per_request


#: How to read a ``ratio()`` line, printed once before the measurements.
LEGEND = (
    "How to read a line  'label  A us -> B us   ratio R [L-H]':\n"
    "  A, B  the baseline's and Firehose's time per request, each the median of its rounds' times;\n"
    "  R     the median of the rounds' own ratios (Firehose / baseline, measured in the same round),\n"
    "        L and H the lowest and highest of them. R is a median of ratios, not B / A, so the\n"
    "        times do not divide to it exactly: each round's ratio compares two apps timed side by side."
)


def ratio(
    label: str,
    ours: Flask,
    baseline: Flask,
    requests: int,
    rounds: int,
    cookie: Cookie = None,
    server: dict[str, object] | None = None,
    path: str = "/",
) -> None:
    """Alternate rounds of *ours* and *baseline*; print the median ratio and
    the lowest and highest round's."""
    for app in (ours, baseline):  # warm up
        MEASURE(app, 100, cookie, server, path)
    ratios, ours_s, base_s = [], [], []
    for _ in range(rounds):
        ours_s.append(MEASURE(ours, requests, cookie, server, path))
        base_s.append(MEASURE(baseline, requests, cookie, server, path))
        ratios.append(ours_s[-1] / base_s[-1])
    print(
        f"  {label:<60} {statistics.median(base_s) * 1e6:7.1f} us -> {statistics.median(ours_s) * 1e6:7.1f} us"
        f"   ratio {statistics.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}]"
    )


def app_set_cookie(app: Flask, name: str) -> str:
    """The ``Set-Cookie`` header *app* sends a new client."""
    headers = app.test_client().get("/", headers=NAVIGATION).headers.getlist("Set-Cookie")
    return next(header for header in headers if header.startswith(name + "="))


def returning_cookie(app: Flask, name: str) -> tuple[str, str]:
    """The cookie a client holds after one visit, checked to say all was pushed."""
    first = app.test_client().get("/", headers=NAVIGATION)
    assert len(first.headers["Link"].split(", ")) == 10
    value = next(
        header.split(";", 1)[0].split("=", 1)[1]
        for header in first.headers.getlist("Set-Cookie")
        if header.startswith(name + "=")
    )
    client = app.test_client()
    client.set_cookie(name, value)
    again = client.get("/", headers=NAVIGATION)
    assert again.headers["Link"].count("nopush") == 10 and "Set-Cookie" not in again.headers
    return name, value


def returning_cookies(app: Flask, name: str, count: int, files: tuple[int, int] = (30, 30)) -> list[tuple[str, str]]:
    """*count* different cookies, each saying this page's files and others
    of the client's own were pushed, *files* in all, between the two bounds
    (drawn from a seeded generator: the same in every run; checked for the
    first)."""
    from flask_firehose._digest import DigestFormat, PushDigest

    fmt = DigestFormat()  # the default FIREHOSE_DIGEST_* settings
    draw = random.Random(21)
    cookies = []
    for n in range(count):
        others = (f"/static/seen/{n}-{k}.js" for k in range(draw.randint(*files) - len(ASSETS)))
        cookies.append((name, PushDigest(fmt).add([*ASSETS, *others]).encode()))
    client = app.test_client()
    client.set_cookie(*cookies[0])
    again = client.get("/", headers=NAVIGATION)
    assert again.headers["Link"].count("nopush") == 10 and "Set-Cookie" not in again.headers
    return cookies


def compare(requests: int, rounds: int, measure: str, redis_url: str | None = None) -> None:
    global MEASURE
    MEASURE = MEASURES[measure]
    digest = firehose_app()
    in_session = firehose_app(SessionConnector())
    untracked = firehose_app(FIREHOSE_TRACKING=False)
    print(
        f"per request ({measure}), a browser navigating to a view pushing 10 resources "
        f"({rounds} rounds x {requests} requests, medians; [lowest-highest round ratio]):"
    )
    # The goal's two lines: the same response bytes by hand, Firehose's work the only difference.
    first_cookie = app_set_cookie(digest, "fh-pushed")
    ratio(
        "digest (default), new client  vs Link + Set-Cookie by hand",
        digest,
        bare_app(set_cookie=first_cookie),
        requests,
        rounds,
    )
    ratio(
        "digest (default), returning client  vs Link by hand",
        digest,
        bare_app(),
        requests,
        rounds,
        returning_cookie(digest, "fh-pushed"),
    )
    # Many clients, each with a cookie of its own (every memo of a worker
    # misses): what a busy site's returning visitors cost.
    ratio(
        "digest (default), 2,000 returning clients  vs Link by hand",
        digest,
        bare_app(),
        requests,
        rounds,
        returning_cookies(digest, "fh-pushed", 2000),
    )
    # The cookie's own cost on top: a bare view that sends none.
    ratio("digest (default), new client  vs Link by hand (no cookie)", digest, bare_app(), requests, rounds)
    ratio("session layout, new client  vs Link by hand", in_session, bare_app(), requests, rounds)
    ratio("session layout, new client  vs Link + session by hand", in_session, bare_app(True), requests, rounds)
    ratio(
        "session layout, returning client  vs Link by hand",
        in_session,
        bare_app(),
        requests,
        rounds,
        returning_cookie(in_session, "session"),
    )
    ratio("tracking off  vs Link by hand", untracked, bare_app(), requests, rounds)
    # Where the server sends 103s (gunicorn 25+ over HTTP/2), Firehose does
    # more than the bare view can: a 103 before the view, learning after it.
    ratio(
        "digest, returning client, a server sending 103s  vs Link by hand",
        digest,
        bare_app(),
        requests,
        rounds,
        returning_cookie(digest, "fh-pushed"),
        EARLY_HINTS_SERVER,
    )
    if redis_url is not None:
        # The same with learned hints in Redis: read for the 103, counted after the view.
        shared = firehose_app(FIREHOSE_REDIS_URL=redis_url)
        ratio(
            "digest, returning client, a server sending 103s, Redis hint store  vs Link by hand",
            shared,
            bare_app(),
            requests,
            rounds,
            returning_cookie(shared, "fh-pushed"),
            EARLY_HINTS_SERVER,
        )
    page_learning(requests, rounds)


#: A page that never calls ``push()``: its head names 3 stylesheets and 3
#: scripts among the usual meta tags, then 20 kB of body with 6 images.
PAGE_HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>An article</title>'
    + "".join(f'<meta name="m{n}" content="value {n}">' for n in range(12))
    + "".join(f'<link rel="stylesheet" href="/static/css/s{n}.css">' for n in range(3))
    + '<script src="/static/js/sync.js"></script><script defer src="/static/js/app.js"></script>'
    + '<script type="module" src="/static/js/mod.js"></script>'
    + '<link rel="icon" href="/favicon.ico"></head>'
)
PAGE_BODY = (
    "<body><main>"
    + "".join(f"<p>Paragraph {n} of the article, long enough to be a paragraph.</p>" for n in range(260))
    + "".join(f'<img src="/static/img/p{n}.jpg" alt="" width="600" height="400">' for n in range(6))
    + "</main></body></html>"
)
PAGE = PAGE_HEAD + PAGE_BODY


def page_app(firehose: bool, **config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="bench", **config)
    if firehose:
        Firehose(app)

    @app.get("/")
    def page() -> str:
        return PAGE

    return app


@contextmanager
def every_visit(sampled: bool = False) -> Iterator[None]:
    """Every response read, as while an endpoint is being learned; with
    *sampled*, every visit also gets the LCP script (as while no viewport
    class agreed yet, with no cap per minute or per client)."""
    from flask_firehose import _page_learning

    names = ("STEADY_AFTER", "SAMPLES_PER_MINUTE", "SAMPLES_PER_CLIENT") if sampled else ("STEADY_AFTER",)
    saved = {name: getattr(_page_learning, name) for name in names}
    for name in names:  # module constants, changed for this measure only
        setattr(_page_learning, name, 10**9)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(_page_learning, name, value)


def page_learning(requests: int, rounds: int) -> None:
    """What a page that never pushes costs with ``Firehose(app)`` alone (its
    HTML learned from, its LCP image sampled), against Flask serving the same
    page, on a server sending 103s: steady (hints learned, the body not
    read; at most 30 sampled visits a minute), while learning (the body read
    on every response), while sampled (read, the LCP script and its token on
    every response), and with both off."""
    bare = page_app(False)
    print(f"  a {len(PAGE):,}-byte page that never calls push(), {len(PAGE_HEAD):,}-byte head, a server sending 103s:")
    steady = page_app(True)
    for _ in range(5):  # learned, then steady
        steady.test_client().get("/", headers=NAVIGATION, environ_base=EARLY_HINTS_SERVER)
    ratio(
        "Firehose(app) alone, page steady  vs the bare page", steady, bare, requests, rounds, server=EARLY_HINTS_SERVER
    )
    with every_visit():
        learning = page_app(True, FIREHOSE_LCP=False)
        ratio(
            "page read on every visit (learning)  vs the bare page",
            learning,
            bare,
            requests,
            rounds,
            server=EARLY_HINTS_SERVER,
        )
    with every_visit(sampled=True):
        sampled = page_app(True)
        ratio(
            "page read, LCP script added on every visit  vs the bare page",
            sampled,
            bare,
            requests,
            rounds,
            server=EARLY_HINTS_SERVER,
        )
    off = page_app(True, FIREHOSE_LCP=False, FIREHOSE_LEARN_FROM_HTML=False)
    ratio(
        "FIREHOSE_LEARN_FROM_HTML and FIREHOSE_LCP off  vs the bare page",
        off,
        bare,
        requests,
        rounds,
        server=EARLY_HINTS_SERVER,
    )


#: The 0.2.3 README's usage, the one users copy: ``push()`` called from a
#: Jinja template with attributes, here for ten stylesheets.
TEMPLATE = (
    "<!doctype html><html><head>"
    + "".join(
        '<link rel="stylesheet" href="{{ '
        + f"push('/static/css/x{n}.css', **{{'as': 'style', 'rel': 'preload'}})"
        + ' }}">'
        for n in range(10)
    )
    + "</head><body>{{ body }}</body></html>"
)
#: Known before the view runs (``@early_hints``), so they go out in the 103
#: with the hints learned from earlier responses.
DECLARED = ["/static/css/main.1234abcd.css", "/static/js/boot.5678ef01.js"]


def template_app(by_hand: dict[str, str] | None = None) -> Flask:
    """A view rendering :data:`TEMPLATE` from a loader, so compiled once (as
    ``render_template`` with files; ``render_template_string`` compiles on
    every call). With *by_hand*, the baseline: no Firehose, ``push`` a Jinja
    global that returns its URL (calling a function from the template is the
    template's cost, not Firehose's), and these headers sent by hand."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    app.jinja_env.loader = DictLoader({"page.html": TEMPLATE})
    if by_hand is None:
        Firehose(app)
    else:
        app.jinja_env.globals["push"] = lambda url, *args, **attrs: url

    @app.get("/")
    def page() -> tuple[str, dict[str, str]]:
        return render_template("page.html", body="hello"), by_hand or {}

    return app


def declaring_app(**config: object) -> Flask:
    """The bench's view pushing 10 resources, with 2 more declared."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="bench", **config)
    Firehose(app)

    @app.get("/")
    @early_hints(*DECLARED)
    def declaring() -> str:  # its own endpoint: learned apart from firehose_app's page
        for url in ASSETS:
            push(url)
        return "ok"

    return app


def served(app: Flask, cookie: Cookie = None, path: str = "/", server: dict[str, object] | None = None) -> TestResponse:
    """One navigation to *path* by a client holding *cookie*."""
    client = app.test_client()
    if isinstance(cookie, tuple):
        client.set_cookie(*cookie)
    return client.get(path, headers=NAVIGATION, environ_base=server or {})


def steady_cookie(app: Flask, name: str) -> tuple[tuple[str, str], str]:
    """The cookie one client holds, on a server sending 103s, once the 103
    carries the declared and the learned hints and no visit changes its cookie
    any more; and the final ``Link`` it is then sent (both checked)."""
    client = app.test_client()
    client.environ_base.update(EARLY_HINTS_SERVER)  # type: ignore[arg-type]
    for _ in range(50):
        hints: list[list[tuple[str, str]]] = []
        response = client.get("/", headers=NAVIGATION, environ_base={"wsgi.early_hints": hints.append})
        sent = dict(hints[0]).get("Link", "") if hints else ""
        if len(sent.split(", ")) == len(DECLARED) + len(ASSETS) and "Set-Cookie" not in response.headers:
            break
        time.sleep(0.05)  # a shared store answers from what it read at most a second ago
    else:
        raise AssertionError(f"no steady 103 after 50 visits: {sent!r}, {response.headers!r}")
    held = client.get_cookie(name)
    assert held is not None and response.headers["Link"].count("nopush") == len(ASSETS) + len(DECLARED)
    return (name, held.value), response.headers["Link"]


def demo_article(requests: int, rounds: int) -> None:
    """The demo's article view (its template, data and declarations: hints
    declared by a callable, ``No-Vary-Search``, the app's Speculation Rules,
    tracking through its connector) for a returning visitor, everything on,
    against the same app with ``FIREHOSE_ENABLED = False``, ``push`` a Jinja
    global returning its URL and the same ``Link``, ``No-Vary-Search``,
    ``Speculation-Rules`` and ``Vary`` set by hand. Both apps read one
    in-memory session store (on disk, as shipped, one file write per request
    in both would swamp the difference) and leave out the demo's panel
    recorder (``Witness``, demo tooling that parses every response)."""
    from cachelib import SimpleCache

    from demo import create_app
    from demo.views import ARTICLES
    from demo.witness import Witness

    with tempfile.TemporaryDirectory() as data:
        config = {"DEMO_DATA_DIR": data, "SESSION_CACHELIB": SimpleCache(threshold=10_000)}
        on, off = create_app(config), create_app({**config, "FIREHOSE_ENABLED": False})
        for app in (on, off):
            witness = vars(app)["wsgi_app"]
            assert isinstance(witness, Witness)
            app.wsgi_app = witness.inner  # type: ignore[method-assign,assignment]
        path = f"/articles/{next(iter(ARTICLES))}"
        client = on.test_client()
        for _ in range(4):  # its session made, then what was pushed to it recorded
            response = client.get(path, headers=NAVIGATION)
        held = client.get_cookie(on.config["SESSION_COOKIE_NAME"])
        assert held is not None and "Set-Cookie" not in response.headers
        cookie = (held.key, held.value)
        made = [(k, v) for k, v in response.headers if k in {"Link", "No-Vary-Search", "Speculation-Rules", "Vary"}]
        assert {k for k, _ in made} == {"Link", "No-Vary-Search", "Speculation-Rules", "Vary"}, made
        off.jinja_env.globals["push"] = lambda url, *args, **attrs: url

        @off.after_request
        def by_hand(response: Response) -> Response:
            for name, value in made:
                response.headers[name] = value
            return response

        assert sorted(served(off, cookie, path).headers) == sorted(response.headers)
        ratio(
            "demo article, returning visitor, everything on  vs Firehose off, headers by hand",
            on,
            off,
            requests,
            rounds,
            cookie,
            path=path,
        )


def costly_cases(requests: int, rounds: int, redis_url: str | None) -> None:
    """The documented usage and the cases where Firehose costs most, called
    as a WSGI server calls the app (the server's own work only)."""
    global MEASURE
    MEASURE = per_call
    print(
        "per request (WSGI call), the README's template usage and the costly cases "
        f"({rounds} rounds x {requests} requests, medians; [lowest-highest round ratio]):"
    )
    templated = template_app()
    first = served(templated).headers
    ratio(
        "README template, 10 push() with attributes, new client  vs Link + Set-Cookie by hand",
        templated,
        template_app({"Link": first["Link"], "Set-Cookie": first["Set-Cookie"]}),
        requests,
        rounds,
    )
    cookie = returning_cookie(templated, "fh-pushed")
    ratio(
        "README template, 10 push() with attributes, returning client  vs Link by hand",
        templated,
        template_app({"Link": served(templated, cookie).headers["Link"]}),
        requests,
        rounds,
        cookie,
    )
    digest = firehose_app()
    cookies = returning_cookies(digest, "fh-pushed", 2000, files=(30, 100))
    ratio(
        "2,000 returning clients, digests of 30-100 files  vs Link by hand",
        digest,
        bare_app(link=served(digest, cookies[0]).headers["Link"]),
        requests,
        rounds,
        cookies,
    )
    hinting = declaring_app()
    cookie, link = steady_cookie(hinting, "fh-pushed")
    ratio(
        "a server sending 103s, declared + learned hints, memory store  vs Link by hand",
        hinting,
        bare_app(link=link),
        requests,
        rounds,
        cookie,
        EARLY_HINTS_SERVER,
    )
    if redis_url is not None:
        hinting = declaring_app(FIREHOSE_REDIS_URL=redis_url)
        cookie, link = steady_cookie(hinting, "fh-pushed")
        ratio(
            "a server sending 103s, declared + learned hints, Redis store  vs Link by hand",
            hinting,
            bare_app(link=link),
            requests,
            rounds,
            cookie,
            EARLY_HINTS_SERVER,
        )
    demo_article(requests, rounds)


def cookie_bytes(pages: range, client: FlaskClient, name: str) -> int:
    size = 0
    for n in pages:
        for header in client.get(f"/{n}").headers.getlist("Set-Cookie"):
            if header.startswith(name + "="):
                size = len(header.split(";", 1)[0])
    return size


def cookie_sizes(quick: bool) -> None:
    print("tracking cookie (name=value bytes of Set-Cookie), one hashed asset URL per page:")
    print(f"  {'URLs':>8}  {'digest':>8}  {'session layout':>14}  0.2.3")
    layouts = []
    for connector in (None, SessionConnector()):
        app = Flask(__name__)
        app.config.update(SECRET_KEY="bench", FIREHOSE_STRICT=True)
        Firehose(app, connector=connector)

        @app.get("/<int:n>")
        def page(n: int) -> str:
            return push(f"/static/assets/chunk-{n:05}.{hashlib.sha256(str(n).encode()).hexdigest()[:8]}.js")

        layouts.append((app.test_client(), "fh-pushed" if connector is None else "session"))
    counts = [10, 100, 1000] if quick else [10, 100, 1000, 10_000]
    old = {10: "-", 100: "1,361", 1000: "13,184", 10_000: "over 4,096: dropped by browsers"}
    done = 0
    for count in counts:
        sizes = [cookie_bytes(range(done, count), client, name) for client, name in layouts]
        done = count
        print(f"  {count:>8,}  {sizes[0]:>8,}  {sizes[1]:>14,}  {old[count]}")


def false_positives(lookups: int) -> None:
    from flask_firehose._digest import DigestFormat, PushDigest

    for rate in (0.01, 0.025):
        fmt = DigestFormat(false_positives=rate)
        digest = PushDigest(fmt)
        pushed = [f"/static/assets/chunk-{n:05}.js" for n in range(1000)]
        for start in range(0, len(pushed), 10):
            digest = digest.add(pushed[start : start + 10])
        digest = PushDigest.decode(digest.encode(), fmt)
        assert all(url in digest for url in pushed)
        hits = sum(1 for n in range(lookups) if f"/static/never/{n}.js" in digest)
        print(
            f"  configured {rate:.3f}: {hits / lookups:.4f} measured over {lookups:,} lookups "
            f"(1,000 URLs pushed, {len(digest.encode()):,} characters)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    parser.add_argument("--redis", metavar="URL", help="also measure the Redis hint store on this server")
    args = parser.parse_args(argv)
    requests, rounds = (300, 3) if args.quick else (2000, 9)
    print(LEGEND)
    for measure in MEASURES:
        compare(requests, rounds, measure, args.redis)
    costly_cases(requests, rounds, args.redis)
    cookie_sizes(args.quick)
    print("digest false positives:")
    false_positives(20_000 if args.quick else 100_000)


if __name__ == "__main__":
    main()
