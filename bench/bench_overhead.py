"""Per-request cost of Flask-Firehose, and the size of its tracking state.

Prints, measured side by side in this run:

* the time per request of a view pushing 10 resources through Firehose against
  a bare Flask view that sets the same Link header by hand: with tracking on
  and a new client each request (so every request writes the session), the
  same against a bare view that also writes the same session value by hand
  (what Flask itself charges for tracking), for a returning client whose
  cookie says all was pushed, and with tracking off;
* the Set-Cookie bytes after a client was pushed 100 and 1,000 hashed asset
  URLs, one per page.

Rounds alternate between the two apps so that a noisy neighbour slows both.
Run with ``make bench`` (or ``python bench/bench_overhead.py --quick``).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

from flask import Flask, session
from flask.testing import FlaskClient

from flask_firehose import Firehose, push

ASSETS = [f"/static/assets/chunk-{i:02}.{hashlib.sha256(str(i).encode()).hexdigest()[:8]}.js" for i in range(10)]
BY_HAND = ", ".join(f"<{url}>; rel=preload; as=script" for url in ASSETS)


def firehose_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="bench", **config)
    Firehose(app)

    @app.get("/")
    def page() -> str:
        for url in ASSETS:
            push(url)
        return "ok"

    return app


def bare_app(track_by_hand: bool = False) -> Flask:
    """The baseline: the same Link header written by hand; optionally the same
    session value too, which is what tracking costs in Flask itself."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    tracked = ",".join(ASSETS)

    @app.get("/")
    def page() -> tuple[str, dict[str, str]]:
        if track_by_hand:
            session["h2-pushed"] = tracked
        return "ok", {"Link": BY_HAND}

    return app


def per_request(app: Flask, requests: int, cookie: str | None = None) -> float:
    """Seconds per request, a new client each time (with *cookie*, if given)."""
    start = time.perf_counter()
    for _ in range(requests):
        client = app.test_client()
        if cookie:  # the test client sends its jar, not a hand-made Cookie header
            client.set_cookie("session", cookie)
        client.get("/")
    return (time.perf_counter() - start) / requests


def ratio(label: str, ours: Flask, baseline: Flask, requests: int, rounds: int, cookie: str | None = None) -> None:
    """Alternate rounds of *ours* and *baseline*; print the median ratio."""
    for app in (ours, baseline):  # warm up
        per_request(app, 100, cookie)
    ratios, ours_s, base_s = [], [], []
    for _ in range(rounds):
        ours_s.append(per_request(ours, requests, cookie))
        base_s.append(per_request(baseline, requests, cookie))
        ratios.append(ours_s[-1] / base_s[-1])
    print(
        f"  {label:<52} {statistics.median(base_s) * 1e6:7.1f} us -> {statistics.median(ours_s) * 1e6:7.1f} us"
        f"   ratio {statistics.median(ratios):.3f}"
    )


def compare(requests: int, rounds: int) -> None:
    tracking, untracked = firehose_app(), firehose_app(FIREHOSE_TRACKING=False)
    first = tracking.test_client().get("/")
    assert len(first.headers["Link"].split(", ")) == 10
    cookie = first.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    returning = tracking.test_client()
    returning.set_cookie("session", cookie)
    again = returning.get("/")
    assert "nopush" in again.headers["Link"] and "Set-Cookie" not in again.headers
    print(f"per request, a view pushing 10 resources ({rounds} rounds x {requests} requests, medians):")
    ratio("tracking on, new client  vs Link by hand", tracking, bare_app(), requests, rounds)
    ratio("tracking on, new client  vs Link + session by hand", tracking, bare_app(True), requests, rounds)
    ratio("tracking on, returning client  vs Link by hand", tracking, bare_app(), requests, rounds, cookie)
    ratio("tracking off  vs Link by hand", untracked, bare_app(), requests, rounds)


def cookie_bytes(pages: int, client: FlaskClient) -> int:
    response = None
    for n in range(pages):
        response = client.get(f"/{n}")
    assert response is not None
    header = response.headers.get("Set-Cookie", "")
    return len(header.split(";", 1)[0])


def cookie_sizes() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    Firehose(app)

    @app.get("/<int:n>")
    def page(n: int) -> str:
        return push(f"/static/assets/chunk-{n:04}.{hashlib.sha256(str(n).encode()).hexdigest()[:8]}.js")

    client = app.test_client()
    after_100 = cookie_bytes(100, client)
    after_1000 = cookie_bytes(900, client)
    print("tracking cookie (name=value bytes of Set-Cookie), one hashed asset URL per page:")
    print(f"  after 100 URLs             {after_100:8,}  (0.2.3: 1,361)")
    print(f"  after 1,000 URLs           {after_1000:8,}  (0.2.3: 13,184; browsers drop cookies over 4,096)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    args = parser.parse_args(argv)
    compare(300 if args.quick else 2000, 3 if args.quick else 9)
    cookie_sizes()


if __name__ == "__main__":
    main()
