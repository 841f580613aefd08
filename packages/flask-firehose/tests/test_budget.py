from __future__ import annotations

import logging

import pytest

from flask_firehose import Link
from flask_firehose._budget import header_value, select
from flask_firehose._parsing import parse_link_header

STYLE = Link("/a.css", as_="style")
SCRIPT = Link("/a.js", as_="script")
FONT = Link("/f.woff2", as_="font", crossorigin="")
IMAGE = Link("/hero.png", as_="image")
PREFETCH = Link("/next", "prefetch")


def test_orders_render_blocking_first() -> None:
    chosen = select([PREFETCH, IMAGE, FONT, SCRIPT, STYLE], 20, 4096, 10)
    assert chosen.kept == (STYLE, SCRIPT, FONT, IMAGE, PREFETCH)
    assert [link.target for link in parse_link_header(header_value(chosen.kept))] == [
        "/a.css", "/a.js", "/f.woff2", "/hero.png", "/next",
    ]  # fmt: skip


def test_count_cap_drops_lowest_priority(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="flask_firehose"):
        chosen = select([IMAGE, STYLE, PREFETCH, SCRIPT], 2, 4096, 10)
    assert chosen.kept == (STYLE, SCRIPT)
    assert chosen.dropped == (IMAGE, PREFETCH)
    assert "/hero.png" in caplog.text


def test_byte_budget_is_never_exceeded() -> None:
    links = [Link(f"/static/{i:03}.png", as_="image") for i in range(50)]
    for budget in (0, 10, 40, 100, 1000):
        value = header_value(select(links, 100, budget, 10).kept)
        assert len(value) <= budget


def test_smaller_links_fill_the_rest() -> None:
    big = Link("/" + "x" * 200 + ".css", as_="style")
    chosen = select([big, SCRIPT], 10, 100, 10)
    assert chosen.kept == (SCRIPT,) and chosen.dropped == (big,)


def test_pushes_beyond_the_cap_become_hints() -> None:
    links = [Link(f"/{i}.css", as_="style") for i in range(4)]
    kept = select(links, 10, 4096, 2).kept
    assert [link.pushable for link in kept] == [True, True, False, False]
    assert all(link.nopush for link in kept[2:])
