"""``flask firehose routes`` against declarations written the way an
attacker (or a bad day) writes them: callables that raise anything,
``BaseException`` subclasses included, generators that fail midway or never
end, exceptions whose message cannot be read, names and messages full of
newlines and terminal escapes. Each is one line of the table, escaped; the
listing goes on; only the user's Ctrl-C stops it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup

from flask_firehose import Firehose, early_hints
from flask_firehose._declared import MAX_DECLARED
from flask_firehose._terminal import UNSAFE

EVIL = "\x1b[2J\x1b]52;c;aGVsbG8=\x07\x9b2J\u202e\u2066\nX-Injected: 1\r\n"


class Custom(BaseException):
    """Not an Exception: the request hook's failure policy would not catch it."""


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def raises(exc: BaseException) -> Any:
    def hint() -> str:
        raise exc

    hint.__qualname__ = f"raises_{type(exc).__name__}"
    return hint


def fails_midway() -> Iterator[str]:
    yield "/static/one.css"
    yield "/static/two.css"
    raise ValueError("manifest ended" + EVIL)


def endless() -> Iterator[str]:
    for number in itertools.count():
        yield f"/static/{number}.css"


def evil_name() -> str:
    return "/static/named.css"


evil_name.__qualname__ = "evil" + EVIL


DECLARED = [
    ("runtime", raises(RuntimeError("boom" + EVIL))),
    ("system exit", raises(SystemExit(3))),
    ("generator exit", raises(GeneratorExit())),
    ("custom base exception", raises(Custom("custom"))),
    ("unreadable message", raises(Unprintable())),
    ("fails midway", fails_midway),
    ("evil name", evil_name),
    ("returns a number", lambda: 42),
]


def build(*hints: Any, endpoint: str = "page", **config: Any) -> Flask:
    app = Flask("hostile")
    app.config.update(SECRET_KEY="k", FIREHOSE_LEARN=False, **config)
    firehose = Firehose(app)

    @early_hints(*hints)
    def page() -> str:
        return "page"

    app.add_url_rule("/page", endpoint=endpoint, view_func=page)
    assert firehose is not None
    return app


def run(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["firehose", "routes", *args])


def page_rows(app: Flask) -> list[dict[str, Any]]:
    result = run(app, "--json")
    assert result.exit_code == 0, result.output
    (page,) = [item for item in json.loads(result.stdout)["endpoints"] if not item["static"]]
    rows: list[dict[str, Any]] = page["declared"]
    return rows


@pytest.mark.parametrize("testing", [False, True], ids=["lenient", "strict"])
def test_every_failure_is_one_escaped_line_and_the_listing_goes_on(testing: bool) -> None:
    app = build(*(spec for _, spec in DECLARED), "/static/after.css", TESTING=testing)
    result = run(app)
    assert result.exit_code == 0, result.output
    assert UNSAFE.search(result.output.replace("\n", "")) is None
    lines = result.output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("page "))
    body = lines[start : start + len(DECLARED) + 1]
    # One line per declaration (each fails whole, as the request hook drops
    # all of a failing callable's links), then the URL after them.
    assert len(body) == len(DECLARED) + 1
    assert body[-1].endswith("</static/after.css>; rel=preload; as=style")
    assert "error in raises_RuntimeError(): RuntimeError: boom\\x1b[2J\\x1b]52;c;aGVsbG8=\\x07\\x9b2J\\u202e" in body[0]
    assert "\\x0aX-Injected: 1\\x0d\\x0a" in body[0]
    assert "error in raises_SystemExit(): SystemExit: 3 (not an Exception" in body[1]
    assert "GeneratorExit (not an Exception" in body[2]
    assert "Custom: custom (not an Exception: at run time it escapes the failure policy" in body[3]
    assert "Unprintable: (its message cannot be read)" in body[4]
    assert "error in fails_midway(): ValueError: manifest ended\\x1b" in body[5]
    assert body[6].endswith("</static/named.css>; rel=preload; as=style")  # a hostile name, a good hint
    assert "returned 42, not a URL, a Link or a list of them" in body[7]


def test_json_holds_the_same_failures_escaped() -> None:
    app = build(*(spec for _, spec in DECLARED))
    output = run(app, "--json").stdout
    assert UNSAFE.search(output.replace("\n", "")) is None
    errors = [row["error"] for row in page_rows(app)]
    assert errors[0] == "RuntimeError: boom" + EVIL  # exact once read back
    assert errors[5] == "ValueError: manifest ended" + EVIL
    assert page_rows(app)[6]["source"] == "evil" + EVIL + "()"


def test_a_generator_is_read_no_further_than_a_page_takes() -> None:
    rows = page_rows(build(endless))
    links = [row for row in rows if row["link"]]
    assert len(links) == MAX_DECLARED
    assert [link["link"]["target"] for link in links[:2]] == ["/static/0.css", "/static/1.css"]
    (note,) = [row["note"] for row in rows if row["note"]]
    assert note == f"more entries, not read: the page takes {MAX_DECLARED} more"


def test_the_limit_counts_across_declarations_as_the_request_hook_does() -> None:
    many = [f"/static/{number}.css" for number in range(MAX_DECLARED - 1)]
    rows = page_rows(build(lambda: many, endless, "/static/late.css"))
    assert sum(1 for row in rows if row["link"]) == MAX_DECLARED
    assert rows[-1]["link"] is None and rows[-1]["source"] == "/static/late.css"
    assert rows[-1]["note"].startswith("not used: the page already has all")
    # FIREHOSE_MAX_LINKS above the cap raises it, as for a request.
    rows = page_rows(build(endless, FIREHOSE_MAX_LINKS=MAX_DECLARED + 10))
    assert sum(1 for row in rows if row["link"]) == MAX_DECLARED + 10


def test_keyboard_interrupt_still_stops_the_listing() -> None:
    result = run(build(raises(KeyboardInterrupt())))
    assert result.exit_code != 0
    assert isinstance(result.exception, KeyboardInterrupt) or "Aborted" in result.output


def test_names_and_rules_cannot_break_a_line() -> None:
    app = build("/static/a.css", endpoint="page" + EVIL)
    result = run(app)
    assert result.exit_code == 0, result.output
    assert UNSAFE.search(result.output.replace("\n", "")) is None
    (line,) = [line for line in result.output.splitlines() if line.startswith("page")]
    assert line.endswith("</static/a.css>; rel=preload; as=style")
    assert "X-Injected" in line
