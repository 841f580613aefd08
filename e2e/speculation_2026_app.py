"""A small app for e2e/test_speculation_2026.py: Speculation Rules as Chromium
ships them in 2026 (No-Vary-Search, tags, ``prerender_until_script``,
``target_hint``, signed-in visitors), declared through the public API only.

``gunicorn "e2e.speculation_2026_app:create_app()"``, or
``create_app(signed_in="off")`` for ``FIREHOSE_SPECULATION_SIGNED_IN``. With
``SPECULATION_2026_RECORD`` set to a file, the ``/tagged/<name>`` views append
one JSON line each: what ``is_speculative()`` answered in that request.

Pages and what they ask the browser for (every rule ``immediate``):

=====================  ==============================================================
``/nvs``               prefetch ``/articles/1``; links to ``/articles/1?utm_source=x``
                       (the article ignores ``utm_source``: ``@no_vary_search``)
``/plain``             prefetch ``/notes/1``; links to ``/notes/1?utm_source=x``
                       (the note declares nothing)
``/tags``              prefetch ``/tagged/plain`` and, with ``tag="articles"``,
                       ``/tagged/articles``; an untagged rule set of the page's own
                       prefetches ``/tagged/foreign``
``/until-script``      ``prerender_until_script`` ``/scripted`` (a page with a
                       stylesheet, an image and a script pinging ``/ping``)
``/home``              prerender ``/next``; ``/login`` signs the visitor in (a
                       session cookie) and redirects here
``/accepted``          a prerender rule with ``target_hint="_blank"`` and a rule tag,
                       a tagged document rule, ``prerender_until_script``, a list
                       rule expecting No-Vary-Search
``/refused``           a rule set written by hand that Chromium refuses in part
                       (``target_hint`` on a prefetch rule): the tests' control
=====================  ==============================================================
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence

from flask import Flask, Response, render_template_string, session
from markupsafe import Markup

from flask_firehose import Firehose, is_speculative, no_vary_search, speculation

__all__ = ["RECORD_VARIABLE", "create_app"]

#: The environment variable naming the file the ``/tagged/<name>`` views append to.
RECORD_VARIABLE = "SPECULATION_2026_RECORD"

_PAGE = """<!doctype html><html><head><title>{{ title }}</title>{{ head }}</head><body>
<h1>{{ title }}</h1>
{% for href, target in links %}<p><a id="link{{ loop.index }}" href="{{ href }}"
{%- if target %} target="{{ target }}"{% endif %}>{{ href }}</a></p>{% endfor %}
{{ body }}</body></html>"""

_SCRIPTED_HEAD = Markup('<link rel="stylesheet" href="/assets/scripted.css">')
# The image comes before the script, so the parser meets it before any script
# would run; the script says whether it ran before or after the page was shown.
_SCRIPTED_BODY = Markup(
    '<img src="/assets/scripted.svg" alt="">'
    "<script>fetch('/ping?prerendering=' + document.prerendering, {cache: 'no-store'});</script>"
)
# Not Firehose's: an untagged rule set of the page itself (Sec-Speculation-Tags: null).
_FOREIGN_RULES = Markup(
    '<script type="speculationrules">'
    '{"prefetch": [{"source": "list", "urls": ["/tagged/foreign"], "eagerness": "immediate"}]}'
    "</script>"
)
# Chromium drops a prefetch rule with a target_hint (InvalidRulesSkipped).
_REFUSED_RULES = Markup(
    '<script type="speculationrules">'
    '{"prefetch": [{"source": "list", "urls": ["/next"], "target_hint": "_blank"}]}'
    "</script>"
)
_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#c00"/></svg>'
_ASSETS = {"scripted.css": ("body { color: #333; }\n", "text/css"), "scripted.svg": (_SVG, "image/svg+xml")}
_EMPTY = Markup("")
_lock = threading.Lock()


def _page(
    title: str, links: Sequence[tuple[str, str | None]] = (), head: Markup = _EMPTY, body: Markup = _EMPTY
) -> str:
    return render_template_string(_PAGE, title=title, links=links, head=head, body=body)


def _record(name: str) -> None:
    path = os.environ.get(RECORD_VARIABLE)
    if not path:
        return
    line = json.dumps(
        {
            "name": name,
            "speculative": is_speculative(),
            "own": is_speculative(own=True),
            "articles": is_speculative(tag="articles"),
        }
    )
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")


def create_app(signed_in: str = "prefetch") -> Flask:
    """The app, with ``FIREHOSE_SPECULATION_SIGNED_IN`` = *signed_in*."""
    app = Flask(__name__)
    app.secret_key = "speculation-2026-tests"
    app.config["FIREHOSE_SPECULATION_SIGNED_IN"] = signed_in
    Firehose(app)

    # -- No-Vary-Search ------------------------------------------------------------

    @app.get("/nvs")
    @speculation("prefetch", urls=["/articles/1"], eagerness="immediate")
    def nvs() -> str:
        return _page("nvs", [("/articles/1?utm_source=x", None)])

    @app.get("/articles/<int:number>")
    @no_vary_search(ignore=["utm_source"])
    def article(number: int) -> str:
        return _page(f"article {number}")

    @app.get("/plain")
    @speculation("prefetch", urls=["/notes/1"], eagerness="immediate")
    def plain() -> str:
        return _page("plain", [("/notes/1?utm_source=x", None)])

    @app.get("/notes/<int:number>")
    def note(number: int) -> str:
        return _page(f"note {number}")

    # -- tags ----------------------------------------------------------------------

    @app.get("/tags")
    @speculation("prefetch", urls=["/tagged/plain"], eagerness="immediate")
    @speculation("prefetch", urls=["/tagged/articles"], eagerness="immediate", tag="articles")
    def tags() -> str:
        return _page("tags", [("/tagged/plain", None), ("/tagged/articles", None)], head=_FOREIGN_RULES)

    @app.get("/tagged/<name>")
    def tagged(name: str) -> str:
        _record(name)
        return _page(f"tagged {name}")

    # -- prerender_until_script ------------------------------------------------------

    @app.get("/until-script")
    @speculation("prerender_until_script", urls=["/scripted"], eagerness="immediate")
    def until_script() -> str:
        return _page("until script", [("/scripted", None)])

    @app.get("/scripted")
    def scripted() -> str:
        return _page("scripted", head=_SCRIPTED_HEAD, body=_SCRIPTED_BODY)

    @app.get("/assets/<name>")
    def asset(name: str) -> Response:
        text, mimetype = _ASSETS.get(name, ("", "text/plain"))
        status = 200 if name in _ASSETS else 404
        return Response(text, status, {"Cache-Control": "max-age=3600"}, mimetype=mimetype)

    @app.get("/ping")
    def ping() -> Response:
        return Response(status=204, headers={"Cache-Control": "no-store"})

    # -- signed-in visitors ------------------------------------------------------------

    @app.get("/home")
    @speculation("prerender", urls=["/next"], eagerness="immediate")
    def home() -> str:
        return _page("home", [("/next", None)])

    @app.get("/next")
    def next_page() -> str:
        return _page("next")

    @app.get("/login")
    def login() -> Response:
        session["user"] = "alice"
        return Response(status=302, headers={"Location": "/home"})

    # -- every 2026 rule option at once, and a refused rule set ---------------------------

    @app.get("/accepted")
    @speculation("prerender", urls=["/blank-target"], eagerness="immediate", target_hint="_blank", tag="new-tab")
    @speculation("prefetch", href_matches="/docs/*", eagerness="immediate", tag="docs")
    @speculation("prerender_until_script", urls=["/scripted"], eagerness="immediate")
    @speculation("prefetch", urls=["/articles/2"], eagerness="immediate")
    def accepted() -> str:
        return _page("accepted", [("/blank-target", "_blank"), ("/docs/intro", None), ("/articles/2", None)])

    @app.get("/blank-target")
    def blank_target() -> str:
        return _page("blank target")

    @app.get("/docs/<name>")
    def docs(name: str) -> str:
        return _page(f"docs {name}")

    @app.get("/refused")
    def refused() -> str:
        return _page("refused", [("/next", None)], head=_REFUSED_RULES)

    return app
