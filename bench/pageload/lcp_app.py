"""The image-LCP page the page-load benchmark serves under gunicorn (``--page lcp``).

One page in two forms, each after a 300 ms think time: a 60 kB render-blocking
stylesheet, a 150 kB deferred script, a hidden 20 kB menu, then a ~200 kB hero image
(1200x800 JPEG) found late: ``/img`` shows it as an ``<img>`` after the menu, ``/bg``
as a CSS background that only the stylesheet names. Both forms get the same HTML
bytes but for that one element, and the same stylesheet.

URLs: ``/img?n=NONCE&i=KEY`` (or ``/bg``); the stylesheet is ``/lcp.css?n=NONCE&i=KEY``
(a view: it names the image; the learned mode's is the static ``/static/lcp.css``),
the script ``/static/lcp.js?n=NONCE``, the image ``/static/hero.jpg?n=KEY``. KEY is
the nonce, except in the bound variant, where it stays the same across two
navigations of one context so the image comes from the cache. So the access log says
how often each file of each navigation was sent. In
mode ``learned`` the files have no query at all (a learned hint names one URL, not a
URL per visit); the run counts its downloads from the log lines each navigation added.

Configured by the environment (one gunicorn per mode):

BENCH_LCP_MODE    none | today | lcp | lcp-nojs | learned: no Firehose; a 103 with the
                  stylesheet and script (``@early_hints``); the stylesheet, the image
                  at ``fetchpriority=high`` and the script at ``fetchpriority=low``;
                  the stylesheet and the image; ``Firehose(app)`` alone, nothing declared
BENCH_LCP_THINK   seconds the view thinks (default 0.3)
BENCH_LCP_STATIC  folder holding the files written by :func:`write_files`
BENCH_LCP_PROXIED non-empty: behind Caddy (the 103 over HTTP/1.1 too; the learned mode
                  takes the client's address from ``X-Forwarded-For``, as a proxied
                  app does with Werkzeug's ``ProxyFix``)
"""

from __future__ import annotations

import io
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, url_for
from markupsafe import Markup, escape
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_firehose import Firehose, Link, early_hints

from .app import _stream

__all__ = ["FILES", "HERO", "LCP_JS", "MODES", "create_app", "write_files"]

LCP_JS, HERO, LCP_CSS = "lcp.js", "hero.jpg", "lcp.css"
FILES = ("css", "js", "img")  # the short names reports use, in this order
MODES = ("none", "today", "lcp", "lcp-nojs", "learned")
_MENU_BYTES = 20_000
_HERO_RULE = ".hero-bg{{background-image:url({url})}}\n"  # the stylesheet's last line
_WORDS = ("early", "hints", "let", "the", "browser", "fetch", "what", "a", "page", "needs", "while", "thinking")


def _hero_jpeg(target: int = 200_000) -> bytes:
    """A 1200x800 JPEG of about *target* bytes (same bytes every time)."""
    from PIL import Image, ImageFilter

    rng = random.Random(19)
    small = Image.new("RGB", (60, 40))
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(60 * 40)])
    base = small.resize((1200, 800), Image.Resampling.BICUBIC)
    noise = Image.effect_noise((1200, 800), 40).convert("RGB")
    picture = Image.blend(base, noise, 0.18).filter(ImageFilter.SMOOTH)
    best = b""
    for quality in range(95, 20, -2):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality)
        best = out.getvalue()
        if len(best) <= target * 1.05:
            break
    return best


def _css_text(css_bytes: int) -> str:
    css = (
        "body{font:18px/1.5 sans-serif;margin:1em;color:#222}h1{font-size:1.6em;margin:.3em 0}"
        ".hero{display:block;width:100%;height:auto;aspect-ratio:3/2}"
        ".hero-bg{background-position:center;background-size:cover}\n"
    )
    return css + _stream("lcpcss", css_bytes - len(css) - 80, ".r{i}-{d}{{color:#{d:.6};margin:{i}px;content:'{d}'}}\n")


def write_files(folder: Path, css_bytes: int = 60_000, js_bytes: int = 150_000) -> dict[str, int]:
    """Write the script, the image and the stylesheet's body; return the sizes
    (the stylesheet as served, with its one rule naming the image)."""
    folder.mkdir(parents=True, exist_ok=True)
    js = "window.lcpRows=[\n" + _stream("lcpjs", js_bytes - 80, '"{d}{d}",\n')
    js += "];document.documentElement.dataset.js=String(lcpRows.length);\n"
    (folder / LCP_JS).write_text(js)
    (folder / HERO).write_bytes(_hero_jpeg())
    (folder / LCP_CSS).write_text(_css_text(css_bytes) + _HERO_RULE.format(url=f"/static/{HERO}"))
    return {
        "css": len(_css_text(css_bytes).encode())
        + len(".hero-bg{background-image:url(/static/hero.jpg?n=0123456789abcdef)}\n"),
        "js": len(js.encode()),
        "img": (folder / HERO).stat().st_size,
    }


def _menu() -> str:
    """A hidden navigation menu of about 20 kB: the markup before the hero."""
    items, total, i = [], 0, 0
    while total < _MENU_BYTES:
        words = " ".join(_WORDS[(i + k) % len(_WORDS)] for k in range(3))
        item = f'<li><a href="/catalogue/{i}/{words.replace(" ", "-").lower()}">{words} {i}</a></li>\n'
        items.append(item)
        total += len(item)
        i += 1
    return "<nav hidden><ul>\n" + "".join(items) + "</ul></nav>\n"


_MENU = _menu()


def create_app() -> Flask:
    mode = os.environ.get("BENCH_LCP_MODE", "lcp")
    if mode not in MODES:
        raise ValueError(f"BENCH_LCP_MODE must be one of {MODES}, not {mode!r}")
    think = float(os.environ.get("BENCH_LCP_THINK", "0.3"))
    static = Path(os.environ["BENCH_LCP_STATIC"])
    stable_css = (static / LCP_CSS).read_text()
    css_body = stable_css[: stable_css.rindex(".hero-bg{background-image")]
    app = Flask(__name__, static_folder=str(static), static_url_path="/static")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # cacheable: a hinted file is then downloaded once
    app.secret_key = "bench-lcp-" + mode  # a real app has one; the learned mode may sign with it
    proxied = bool(os.environ.get("BENCH_LCP_PROXIED"))
    if mode in ("today", "lcp", "lcp-nojs"):
        app.config.update(FIREHOSE_TRACKING=False, FIREHOSE_LEARN=False, FIREHOSE_LINT=False)
        app.config["FIREHOSE_EARLY_HINTS_HTTP1"] = proxied
        Firehose(app)
    elif mode == "learned":
        # Nothing declared: what it learns is all it sends. Behind a proxy, the
        # setting any proxied deployment needs for a 103 at all.
        app.config["FIREHOSE_EARLY_HINTS_HTTP1"] = proxied
        Firehose(app)
        if proxied:
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    stable = mode == "learned"

    def css_url() -> str:
        if stable:
            return url_for("static", filename=LCP_CSS)
        return url_for("stylesheet", n=request.args.get("n", ""), i=request.args.get("i", ""))

    def js_url() -> str:
        if stable:
            return url_for("static", filename=LCP_JS)
        return url_for("static", filename=LCP_JS, n=request.args.get("n", ""))

    def image_url() -> str:
        if stable:
            return url_for("static", filename=HERO)
        return url_for("static", filename=HERO, n=request.args.get("i", ""))

    def image_hint() -> Link:
        return Link(image_url(), rel="preload", as_="image", params=(("fetchpriority", "high"),))

    def script_hint_low() -> Link:
        return Link(js_url(), rel="preload", as_="script", params=(("fetchpriority", "low"),))

    hints: dict[str, tuple[Any, ...]] = {
        "today": (css_url, js_url),
        "lcp": (css_url, image_hint, script_hint_low),
        "lcp-nojs": (css_url, image_hint),
    }

    @app.get("/lcp.css")
    def stylesheet() -> Response:
        response = Response(css_body + _HERO_RULE.format(url=image_url()), mimetype="text/css")
        response.cache_control.public = True
        response.cache_control.max_age = 3600
        return response

    def page(form: str) -> str:
        time.sleep(think)
        if form == "img":
            hero = f'<img class="hero" src="{escape(image_url())}" width="1200" height="800" alt="A hero picture">'
        else:
            hero = '<div class="hero hero-bg" role="img" aria-label="A hero picture"></div>'
        return Markup(
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>image LCP bench</title>\n'
            f'<link rel="stylesheet" href="{escape(css_url())}">\n'
            f'<script defer src="{escape(js_url())}"></script>\n</head><body>\n'
            f"<header><h1>Image LCP benchmark</h1></header>\n{_MENU}{hero}\n"
            "<p>The hero above is the largest element: its paint is the page's LCP.</p>\n"
            "</body></html>\n"
        )

    def declared(view: Callable[[], str]) -> Callable[[], str]:
        return early_hints(*hints[mode])(view) if mode in hints else view

    @app.get("/img")
    @declared
    def img_page() -> str:
        return page("img")

    @app.get("/bg")
    @declared
    def bg_page() -> str:
        return page("bg")

    return app
