"""What each demo page hints, checked as a user's app would check its own:
the 103s through ``record_early_hints`` and the final ``Link`` header through
``links_of``, both parsed strictly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from demo import create_app
from demo.assets import asset
from flask_firehose.testing import ParsedLink, links_of, record_early_hints

BASE = ["css/main.css", "js/app.js", "fonts/firehose-blocks.woff2", "img/logo.svg"]


def _config(tmp_path: Path) -> dict[str, object]:
    return {"TESTING": True, "DEMO_REDIS_URL": None, "DEMO_DATA_DIR": str(tmp_path), "DEMO_SLOW_SECONDS": 0}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app(_config(tmp_path))


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


@pytest.fixture
def url(app: Flask) -> Callable[[str], str]:
    """The versioned URL the templates write for a static file."""

    def versioned(filename: str) -> str:
        with app.test_request_context():
            return asset(filename)

    return versioned


def _by_target(links: list[ParsedLink]) -> dict[str, ParsedLink]:
    by_target = {link.target: link for link in links}
    assert len(by_target) == len(links), "a target hinted twice"
    return by_target


def _pushable(links: list[ParsedLink]) -> set[str]:
    return {link.target for link in links if not link.has("nopush")}


def test_the_home_page_hints_the_layout_and_its_hero(client: FlaskClient, url: Callable[[str], str]) -> None:
    with record_early_hints(client) as hints:
        response = client.get("/")
    assert hints.sent == []  # nothing declared, nothing learned yet
    links = _by_target(links_of(response))
    assert set(links) == {url(name) for name in [*BASE, "img/hero.png"]}
    assert links[url("css/main.css")].get("as") == "style"
    assert links[url("js/app.js")].get("as") == "script"
    font = links[url("fonts/firehose-blocks.woff2")]
    assert font.get("as") == "font" and font.has("crossorigin")
    assert links[url("img/hero.png")].get("fetchpriority") == "high"
    assert links[url("img/logo.svg")].has("nopush")  # a hint, never a push
    assert all(link.rels == {"preload"} for link in links.values())


def test_an_article_sends_its_declared_files_in_the_103(client: FlaskClient, url: Callable[[str], str]) -> None:
    declared = [url("css/main.css"), url("css/article.css"), url("js/app.js")]
    with record_early_hints(client) as hints:
        response = client.get("/articles/early-hints")
    assert [[link.target for link in links] for links in hints.links] == [declared]
    assert not any(link.has("nopush") for links in hints.links for link in links)
    final = _by_target(links_of(response))
    assert set(final) == {url(name) for name in [*BASE, "css/article.css"]}
    assert final[url("css/article.css")].get("as") == "style"


def test_an_article_hints_its_cdn_script_without_pushing_it(tmp_path: Path, url: Callable[[str], str]) -> None:
    app = create_app({**_config(tmp_path), "DEMO_CDN_ORIGIN": "https://cdn.example"})
    links = _by_target(links_of(app.test_client().get("/articles/budgets")))
    script = links["https://cdn.example" + url("js/reading-time.js")]
    assert script.get("as") == "script" and script.has("nopush")


def test_the_gallery_hints_every_photo(client: FlaskClient, url: Callable[[str], str]) -> None:
    response = client.get("/gallery")
    photos = {url(f"img/photo-{n}.png") for n in range(1, 7)}
    links = _by_target(links_of(response))
    assert photos <= _pushable(list(links.values()))
    assert {links[photo].get("as") for photo in photos} == {"image"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/stats", 200),  # JSON: never hinted
        ("GET", "/articles/no-such-article", 404),
        ("GET", "/account/", 302),  # signed out: a redirect
        ("POST", "/compare/reset", 204),
    ],
)
def test_what_is_not_a_page_carries_no_links(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert links_of(response) == []


def test_an_api_call_gets_no_103(client: FlaskClient) -> None:
    with record_early_hints(client) as hints:
        client.get("/api/stats")
    assert hints.sent == []


def test_a_returning_visitor_is_hinted_not_pushed_again(client: FlaskClient) -> None:
    first = links_of(client.get("/"))
    second = links_of(client.get("/"))
    assert [link.target for link in second] == [link.target for link in first]
    assert _pushable(first) and _pushable(second) == set()


def test_anonymous_visits_teach_the_home_page_its_103(app: Flask, url: Callable[[str], str]) -> None:
    client = app.test_client(use_cookies=False)
    with record_early_hints(client) as hints:
        for _ in range(3):
            client.get("/")
    assert len(hints.sent) == 1  # learned from the first two visits
    (learned,) = hints.links
    assert {link.target for link in learned} == {url(name) for name in [*BASE, "img/hero.png"]}
    assert not any(link.has("nopush") for link in learned)  # browsers ignore a 103 link with it


def _sign_in(app: Flask, user: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/account/login", data={"user": user}).status_code == 302
    return client


def test_the_account_area_pushes_once_per_user_not_per_browser(app: Flask, url: Callable[[str], str]) -> None:
    own = {url("css/account.css"), url("js/account.js")}
    laptop = _sign_in(app, "ada")
    assert own <= _pushable(links_of(laptop.get("/account/")))
    phone = _sign_in(app, "ada")  # another session, the same user
    assert _pushable(links_of(phone.get("/account/"))) == set()
    assert own <= _pushable(links_of(_sign_in(app, "grace").get("/account/")))
    # Outside the account area tracking is per session: the phone is new there.
    assert url("img/hero.png") in _pushable(links_of(phone.get("/")))
