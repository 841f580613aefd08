"""The digest cookie sent more than once: what the digest tracker reads and writes."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_firehose import Firehose, push
from flask_firehose.testing import links_of

from .conftest import targets

# A browser sends every cookie that matches the request, longest path first,
# then oldest first (RFC 6265 §5.4): a cookie of the same name set for a
# deeper path, or for the parent domain by a sibling subdomain, comes with
# this app's own, often before it. Setting ours replaces ours only: the other
# stays for good.

_HOST = "shop.example.com"


class _Browser:
    """The ``fh-pushed`` cookies a browser keeps for one site, as a browser
    orders them; Set-Cookie from the app replaces the host-only one at its path."""

    def __init__(self) -> None:
        self.cookies: dict[tuple[str, str], tuple[int, str]] = {}
        self.clock = 0

    def plant(self, value: str, *, domain: str = "example.com", path: str = "/") -> None:
        self.clock += 1
        created = self.cookies.get((domain, path), (self.clock, ""))[0]
        self.cookies[(domain, path)] = (created, value)

    def header(self) -> str:
        ordered = sorted(self.cookies.items(), key=lambda item: (-len(item[0][1]), item[1][0]))
        return "; ".join(["session=abc", *(f"fh-pushed={value}" for _, (_, value) in ordered)])

    def receive(self, response: Any) -> None:
        for value in response.headers.getlist("Set-Cookie"):
            name_value, *attributes = [part.strip() for part in value.split(";")]
            name, _, cookie = name_value.partition("=")
            if name == "fh-pushed":
                path = next(a[5:] for a in attributes if a.startswith("Path="))
                self.plant(cookie, domain=_HOST, path=path)


def _account_app() -> Flask:
    app = Flask(__name__)
    Firehose(app)

    @app.get("/account/<int:n>")
    def page(n: int) -> str:
        for url in (f"/static/page-{n}.css", "/static/app.css", "/static/app.js"):
            push(url)
        return "<p>account</p>"

    return app


def _visit(app: Flask, browser: _Browser, n: int) -> list[str]:
    response = app.test_client(use_cookies=False).get(f"/account/{n}", headers={"Cookie": browser.header()})
    assert response.status_code == 200
    browser.receive(response)
    return targets(response, pushable=True)


def _other_digest(*urls: str) -> str:
    from flask_firehose._digest import DigestFormat, PushDigest

    return PushDigest(DigestFormat()).add(urls).encode()


_PLANTED = {
    "junk": ["junk"],
    "empty": [""],
    "quoted-junk": ['"%%%"'],
    "valid-empty-digest": [_other_digest()],
    "valid-other-digest": [_other_digest("/static/elsewhere.css")],
    "foreign-rate-digest": ["EAAAAAAA"],
    "huge": ["A" * 100_000],
}


@pytest.mark.parametrize("where", ["parent-domain-first", "parent-domain-after", "deeper-path"])
@pytest.mark.parametrize("kind", sorted(_PLANTED))
def test_a_planted_cookie_never_makes_a_visit_push_again(kind: str, where: str) -> None:
    app = _account_app()
    browser = _Browser()
    if where != "parent-domain-after":
        for value in _PLANTED[kind]:
            browser.plant(value, path="/account" if where == "deeper-path" else "/")
    assert len(_visit(app, browser, 1)) == 3
    if where == "parent-domain-after":  # created after ours: sent after it
        for value in _PLANTED[kind]:
            browser.plant(value)
    for _ in range(3):
        assert _visit(app, browser, 1) == []
    assert _visit(app, browser, 2) == ["/static/page-2.css"]
    for n in (1, 2, 1, 2):
        assert _visit(app, browser, n) == []


def test_a_planted_digest_claiming_a_file_makes_it_a_hint_only() -> None:
    """What a planted valid digest can do: say a file was pushed (it then
    goes out nopush, still hinted), nothing more."""
    app = _account_app()
    browser = _Browser()
    browser.plant(_other_digest("/static/app.js"), path="/account")
    response = app.test_client(use_cookies=False).get("/account/1", headers={"Cookie": browser.header()})
    assert targets(response, pushable=True) == ["/static/page-1.css", "/static/app.css"]
    assert targets(response) == ["/static/page-1.css", "/static/app.css", "/static/app.js"]


@pytest.mark.parametrize("valid", [False, True], ids=["junk", "valid-digests"])
def test_fifty_cookies_of_the_same_name_before_ours(valid: bool) -> None:
    app = _account_app()
    client = app.test_client(use_cookies=False)
    planted = [_other_digest(f"/static/x{i}.css") if valid else f"junk{i}" for i in range(50)]
    first = client.get("/account/1", headers={"Cookie": "; ".join(f"fh-pushed={value}" for value in planted)})
    assert len(targets(first, pushable=True)) == 3
    ours = first.headers["Set-Cookie"].split(";", 1)[0]
    header = "; ".join([*(f"fh-pushed={value}" for value in planted), ours])
    second = client.get("/account/1", headers={"Cookie": header})
    assert second.status_code == 200 and targets(second, pushable=True) == []
    assert {link.target for link in links_of(second) if link.has("nopush")} == {
        "/static/page-1.css",
        "/static/app.css",
        "/static/app.js",
    }
    assert "Set-Cookie" not in second.headers  # nothing new: the cookie stays as it is


def test_the_cookie_written_after_a_merge_keeps_both_histories() -> None:
    app = _account_app()
    client = app.test_client(use_cookies=False)
    ours = client.get("/account/1").headers["Set-Cookie"].split(";", 1)[0]
    planted = f"fh-pushed={_other_digest('/static/page-2.css')}"
    third = client.get("/account/3", headers={"Cookie": f"{planted}; {ours}"})
    assert targets(third, pushable=True) == ["/static/page-3.css"]
    written = third.headers["Set-Cookie"].split(";", 1)[0]
    # With our new cookie alone (the planted one gone), pages 1 and 3 push nothing.
    for n in (1, 3):
        again = client.get(f"/account/{n}", headers={"Cookie": written})
        assert targets(again, pushable=True) == []
