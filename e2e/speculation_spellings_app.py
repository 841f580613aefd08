"""A small app for e2e/test_speculation_spellings.py: one page linking to many
spellings of URLs that must never be speculated, under an app-wide
``prefetch`` rule with ``immediate`` eagerness (the browser acts on every link
it may at once).

``gunicorn "e2e.speculation_spellings_app:create_app()"``. ``/page`` carries the
rules Firehose writes inline, ``/deep/page`` names them in its
``Speculation-Rules`` header; ``/naive`` carries them inline without the
patterns that guard other spellings (what a rule written for the plain URLs
alone does).
"""

from __future__ import annotations

import json
import re

from flask import Flask, render_template_string, request
from markupsafe import Markup

from flask_firehose import Firehose, no_speculation

__all__ = ["EXCLUDED", "KEPT", "create_app"]

#: Spellings of excluded URLs: each one but the last reaches an excluded view in
#: this app (the server decodes escapes, redirects /admin to /admin/, merges
#: "//"), or carries an excluded query.
EXCLUDED = (
    "/logout",
    "/%6Cogout",
    "/log%6fut",
    "/admin",
    "/admin/x",
    "//admin/x",
    "/admin//x",
    "/%61dmin/x",
    "/admin%2Fx",
    "/un%73ubscribe/abc",
    "/unsubscribe%2Fabc",
    "/caf%c3%a9/secret",
    "/caf%C3%a9/secret",
    "/magic?token=1",
    "/magic?%74oken=1",
    "/blog/why-logout-matters",  # no route: the built-in words hold for any path
)
#: Links that are speculated, so the page's rules are seen to be in force.
KEPT = ("/articles/a", "/articles/caf%C3%A9", "/magic?page=2", "/admin-guide")

_PAGE = """<!doctype html><html><head><title>links</title>{{ rules }}</head><body>
{% for href in links %}<a href="{{ origin }}{{ href }}">{{ href }}</a><br>{% endfor %}
</body></html>"""
_GUARD = re.compile(r"/?\*?(%[0-9A-Fa-f]{1,2}|//|;)\*")


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["FIREHOSE_SPECULATION_EXCLUDE"] = ["/admin/*", "?*token=*"]
    firehose = Firehose(app)
    firehose.speculate("prefetch", href_matches="/*", eagerness="immediate")

    def page(rules: Markup) -> str:
        origin = request.host_url.rstrip("/")
        return render_template_string(_PAGE, rules=rules, links=[*EXCLUDED, *KEPT], origin=origin)

    @app.get("/page")
    def with_guards() -> str:
        return page(Markup(render_template_string("{{ speculation_rules() }}")))

    @app.get("/naive")
    def naive() -> str:
        script = str(render_template_string("{{ speculation_rules() }}"))
        body = json.loads(re.sub(r"^<script[^>]*>|</script>$", "", script))
        for rule in body["prefetch"]:
            for clause in rule["where"]["and"]:
                if "href_matches" in clause.get("not", {}):
                    clause["not"]["href_matches"] = [
                        p for p in clause["not"]["href_matches"] if not _GUARD.fullmatch(p.get("search", p["pathname"]))
                    ]
        # The rules hold only this app's constant patterns: no "<" to escape.
        return page(Markup(f'<script type="speculationrules">{json.dumps(body)}</script>'))

    @app.get("/deep/page")
    def through_the_header() -> str:
        # No inline rules: the page names the rules resource in its header,
        # and URLPattern resolves the rules' patterns against that resource's URL.
        return page(Markup(""))

    @app.get("/logout")
    def logout() -> str:
        return "bye"

    @app.get("/admin/")
    def admin_index() -> str:
        return "admin"

    @app.get("/admin/<name>")
    def admin_page(name: str) -> str:
        return name

    @app.get("/admin-guide")
    def admin_guide() -> str:
        return "guide"

    @app.get("/unsubscribe/<token>")
    @no_speculation
    def unsubscribe(token: str) -> str:
        return "done"

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

    return app
