"""What browsers do with a link (``_browsers``): one decision for each of the
two questions, whichever form the link has and whoever asks.

A link Firehose sends and the same link read back from the wire get the same
answer (the 103 channel judges the one, the probe the other); the lint and
``firehose probe`` name the same preload problems for every ``Link`` value.
The 103 rules themselves are tabled in ``test_early_hints.py`` and, on the
wire, in ``probe/test_probe_hints.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.wrappers import Response

from flask_firehose import Link
from flask_firehose._browsers import HINT_AS, browser_takes, browser_takes_parsed, preload_problem
from flask_firehose._links import DESTINATIONS
from flask_firehose._lint import Linter
from flask_firehose._parsing import parse_link_header
from flask_firehose._probe.checks import check

from .probe.test_probe import visit
from .test_properties import _LINKS

# Links near what a 103 may carry: its relations, destinations and
# parameters, with values that are and are not MIME types or priorities.
_HINT_LINKS = st.builds(
    Link,
    target=st.sampled_from(["/s/a.css", "//cdn.example/a.js", "https://cdn.example/f.woff2"]),
    rel=st.sampled_from(["preload", "modulepreload", "preconnect", "prefetch", "preload prefetch", "stylesheet"]),
    as_=st.one_of(st.none(), st.sampled_from(sorted(HINT_AS)), st.sampled_from(sorted(DESTINATIONS))),
    crossorigin=st.sampled_from([None, "", "anonymous", "use-credentials"]),
    nopush=st.booleans(),
    params=st.lists(
        st.tuples(
            st.sampled_from(["type", "fetchpriority", "media", "integrity", "imagesrcset"]),
            st.sampled_from([None, "font/woff2", "text/css", "css", "high", "print", "a b"]),
        ),
        max_size=2,
        unique_by=lambda item: item[0],
    ).map(tuple),
)


@settings(max_examples=400)
@given(st.one_of(_HINT_LINKS, _LINKS))
def test_a_link_read_back_is_judged_as_it_was_sent(link: Link) -> None:
    (read,) = parse_link_header(link.text)
    assert browser_takes_parsed(read) == browser_takes(link)
    assert browser_takes_parsed(read, nopush=False) == browser_takes(link.without_nopush())
    assert preload_problem(read) == preload_problem(link)


PROBLEMS = [
    ("</a.css>; rel=preload; as=style", None),
    ("</a.css>; rel=preload", ("no-as", None)),
    ("</a.css>; rel=preload; as", ("no-as", None)),  # a bare as names no destination
    ("</a.css>; rel=preload; as=stylesheet", ("unknown-as", "stylesheet")),
    ('</a.css>; rel=preload; as=""', ("unknown-as", "")),
    ("</a.png>; rel=preload; as=IMG", ("unknown-as", "IMG")),
    ("</a.png>; rel=preload; as=Image", None),  # compared lower-cased
    ("</f.woff2>; rel=preload; as=font", ("font-without-crossorigin", "font")),
    ("</f.woff2>; rel=preload; as=font; crossorigin", None),
    ("</f.woff2>; rel=preload; as=FONT; crossorigin=anonymous", None),
    ("</a.css>; rel=stylesheet", None),  # not a preload: not this question
    ("</m.js>; rel=modulepreload", None),
    ('</a.css>; rel="preload prefetch"', ("no-as", None)),  # a preload among others
]


@pytest.mark.parametrize(("value", "problem"), PROBLEMS)
def test_preload_problem(value: str, problem: tuple[str, str | None] | None) -> None:
    (read,) = parse_link_header(value)
    assert preload_problem(read) == problem


@contextmanager
def _lint_warnings() -> Iterator[list[str]]:
    found: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("flask_firehose.lint")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


def _lint_says(value: str) -> set[str]:
    """The problems the lint reports for a view's own ``Link`` field."""
    response = Response("x", headers={"Link": value})
    with _lint_warnings() as warned:
        Linter().view_links(response)
    said = set()
    for message in warned:
        if "has no 'as'" in message:
            said.add("no-as")
        elif "which browsers ignore" in message:
            said.add("unknown-as")
        elif "lacks crossorigin" in message:
            said.add("font-without-crossorigin")
    return said


_PROBE_CODES = {
    "preload-without-as": "no-as",
    "preload-invalid-as": "unknown-as",
    "font-without-crossorigin": "font-without-crossorigin",
}


def _probe_says(value: str) -> set[str]:
    """The problems ``firehose probe`` reports for the same field in a final response."""
    return {_PROBE_CODES[w.code] for w in check(visit(value), {}) if w.code in _PROBE_CODES}


_AS = st.sampled_from(["style", "STYLE", "font", "Font", "image", "img", "stylesheet", "fetch", "video", '""'])
_LINK_VALUES = st.builds(
    lambda rel, as_, crossorigin: "</x>; " + "; ".join(part for part in (rel, as_, crossorigin) if part),
    st.sampled_from(["rel=preload", "REL=Preload", 'rel="preload modulepreload"', "rel=modulepreload", "rel=prefetch"]),
    st.one_of(st.none(), st.just("as"), _AS.map(lambda value: f"as={value}")),
    st.sampled_from([None, "crossorigin", "crossorigin=anonymous", "CrossOrigin=use-credentials"]),
)


@settings(max_examples=300)
@given(_LINK_VALUES)
def test_the_lint_and_the_probe_name_the_same_preload_problems(value: str) -> None:
    (read,) = parse_link_header(value)
    problem = preload_problem(read)
    expected = set() if problem is None else {problem.kind}
    assert _lint_says(value) == _probe_says(value) == expected
