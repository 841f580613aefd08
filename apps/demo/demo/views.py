"""The demo's pages: pushes from templates (most of them) and from views."""

from __future__ import annotations

import time
from collections import Counter

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from flask_firehose import TRACKING_PARAMETERS, early_hints, is_speculative, no_vary_search, push, speculation

from .assets import asset

__all__ = ["account", "site"]

site = Blueprint("site", __name__)
account = Blueprint("account", __name__)

ARTICLES = {
    "early-hints": (
        "Early hints, explained",
        "A 103 response lets the browser start on stylesheets while the server still thinks.",
    ),
    "push-is-dead": (
        "Server push is gone. Long live preload.",
        "Browsers dropped push; the Link header it rode on is more useful than ever.",
    ),
    "budgets": (
        "Header budgets",
        "Proxies give all response headers one buffer. A page's hints must fit in it.",
    ),
}
PHOTOS = [f"img/photo-{n}.png" for n in range(1, 7)]
#: The README's section on trusting the demo's certificate, as the repository's
#: page renders it (docutils makes the anchor of "Trusting the demo's certificate").
TRUST_URL = "https://github.com/flask-firehose/flask-firehose#trusting-the-demo-s-certificate"
#: Articles read in this process: prefetches and prerenders are not counted.
READS: Counter[str] = Counter()


@site.get("/")
# Hovering an article link for 200 ms prerenders it: the click shows it at once.
@speculation("prerender", endpoints=[("site.article", {"slug": slug}) for slug in ARTICLES])
def index() -> str:
    # The hero image is the page's largest paint: the view knows it is needed.
    push(asset("img/hero.png"), fetchpriority="high")
    return render_template("index.html", articles=ARTICLES)


def _article_assets() -> list[str]:
    # Render-blocking files, known before the view runs: declared, so they go
    # out in the 103 on the very first visit.
    return [asset("css/main.css"), asset("css/article.css"), asset("js/app.js")]


@site.get("/articles/<slug>")
@early_hints(_article_assets)
# A newsletter's ?utm_source=... link shows the same article: the page
# prerendered as /articles/x serves it, and so does the browser's cache.
@no_vary_search(ignore=TRACKING_PARAMETERS)
def article(slug: str) -> str:
    if slug not in ARTICLES:
        abort(404)
    title, lede = ARTICLES[slug]
    if not is_speculative():  # a prerendered page may never be read
        READS[slug] += 1
    return render_template(
        "articles/article.html", slug=slug, title=title, lede=lede, cdn=current_app.config["DEMO_CDN_ORIGIN"]
    )


@site.get("/report")
@early_hints(lambda: asset("css/report.css"))
def report() -> str:
    # Stands in for a slow database query: the 103 has gone out long before.
    time.sleep(float(current_app.config["DEMO_SLOW_SECONDS"]))
    # The chart is the page's largest image; named here, it is learned into the 103.
    push(asset("img/heatmap.png"))
    return render_template("report.html", rows=[(name, len(lede)) for name, (_, lede) in ARTICLES.items()])


@site.get("/compare")
def compare() -> Response:
    # The measuring is done by static/js/panel.js, in top-level navigations:
    # Chromium acts on a 103 only for those (not in iframes, not for fetches).
    # The run comes back here between loads. This page is cross-origin
    # isolated (COOP + COEP) and the measured page is not, so Chromium cannot
    # keep them in one renderer process: each load gets a new one, whose memory
    # cache holds none of the other load's files (Clear-Site-Data empties only
    # the HTTP cache; a new opener policy alone kept the process). The measured
    # page's own headers stay as they are.
    page = render_template("compare.html", slow=current_app.config["DEMO_SLOW_SECONDS"], trust_url=TRUST_URL)
    response = current_app.response_class(page, mimetype="text/html")
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
    return response


@site.post("/compare/reset")
def compare_reset() -> Response:
    # Each measured load starts with an empty HTTP cache for this origin, or the
    # second page would find the first one's files (cached for a year) at hand.
    # The app's record of what this visitor was pushed goes too: with an empty
    # cache the browser is a first visitor, whose 103 leaves nothing out.
    connector = getattr(current_app.extensions.get("firehose"), "connector", None)
    if connector is not None:
        connector.set_pushed(set())
    response = current_app.response_class(status=204)
    response.headers["Clear-Site-Data"] = '"cache"'
    response.headers["Cache-Control"] = "no-store"
    return response


@site.get("/gallery")
def gallery() -> str:
    for photo in PHOTOS:
        push(asset(photo))
    return render_template("gallery.html", photos=PHOTOS)


@site.get("/api/stats")
def stats() -> Response:
    # An API response never calls push(): no Link, no session, no Vary: Cookie.
    return jsonify(articles=len(ARTICLES), photos=len(PHOTOS))


@account.get("/")
def dashboard() -> str | Response:
    user = session.get("user")
    if not isinstance(user, str):
        return redirect(url_for("account.login"))
    return render_template("account/dashboard.html", user=user)


@account.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if request.method == "POST":
        name = request.form.get("user", "").strip()
        if name.isalnum() and len(name) <= 32:
            session["user"] = name
            return redirect(url_for("account.dashboard"))
    return render_template("account/login.html")


# GET too, for the nav's link: a GET that signs out is exactly what speculation
# must never fetch (the extension leaves logout-like routes out of every rule).
@account.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    session.pop("user", None)
    return redirect(url_for("site.index"))
