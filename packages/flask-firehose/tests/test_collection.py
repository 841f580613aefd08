"""Per-request link state: one ordered, merged collection per request, kept
on the request context, never shared with another request, closed once the
response is written."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from flask.globals import request_ctx

from flask_firehose import Link, push
from flask_firehose._collection import (
    CLOSED,
    NOT_LOADED,
    STATE_ATTRIBUTE,
    LinkCollection,
    RequestLinks,
    close_request,
    current_context,
    current_links,
    request_links,
)

STYLE = Link("/static/a.css", as_="style")
SCRIPT = Link("/static/a.js", as_="script")


def _collected(*links: Link) -> list[Link]:
    collection = LinkCollection()
    for link in links:
        collection.add(link)
    return list(collection)


def test_links_keep_the_order_they_were_added_in() -> None:
    image = Link("/static/a.png", as_="image")
    assert _collected(image, SCRIPT, STYLE) == [image, SCRIPT, STYLE]


def test_the_first_link_to_a_target_and_rel_wins() -> None:
    hint = Link("/static/a.css", as_="style", nopush=True)
    titled = Link("/static/a.css", as_="style", params=(("title", "x"),))
    assert _collected(STYLE, SCRIPT, hint, titled) == [STYLE, SCRIPT]
    assert _collected(hint, STYLE) == [hint]


def test_another_rel_to_the_same_target_is_another_link() -> None:
    prefetch = Link("/static/a.css", rel="prefetch")
    assert _collected(STYLE, prefetch) == [STYLE, prefetch]


def test_len_counts_merged_links_once() -> None:
    collection = LinkCollection()
    for link in (STYLE, STYLE, SCRIPT, Link("/static/a.js", as_="script", nopush=True)):
        collection.add(link)
    assert len(collection) == 2


def test_a_new_request_state_is_empty_and_open() -> None:
    state = RequestLinks()
    assert (state.declared, list(state.pushed), state.closed, state.tracked) == ((), [], False, NOT_LOADED)


@pytest.mark.parametrize("accessor", [request_links, current_links])
def test_outside_a_request_there_is_no_state(accessor: Callable[[], object]) -> None:
    assert current_context() is None
    with pytest.raises(RuntimeError, match="outside of request context"):
        accessor()


def test_close_request_outside_a_request_raises() -> None:
    with pytest.raises(RuntimeError, match="outside of request context"):
        close_request(None)


def test_inside_a_request_state_is_created_once_on_first_use(app: Flask) -> None:
    with app.test_request_context("/"):
        context = current_context()
        assert context is request_ctx._get_current_object()  # type: ignore[attr-defined]
        assert current_links() is None and getattr(context, STATE_ATTRIBUTE, None) is None
        state = request_links()
        assert request_links() is state
        assert current_links() is state and getattr(context, STATE_ATTRIBUTE, None) is state


def test_closing_a_request_that_hinted_nothing_puts_the_shared_closed_state(app: Flask) -> None:
    with app.test_request_context("/"):
        close_request(None)
        assert current_links() is CLOSED and CLOSED.closed


def test_closing_a_request_with_state_marks_that_state(app: Flask) -> None:
    with app.test_request_context("/"):
        state = request_links()
        state.pushed.add(STYLE)
        close_request(state)
        assert current_links() is state and state.closed
        assert list(state.pushed) == [STYLE]


def test_push_after_close_never_adds_to_the_shared_closed_state(app: Flask) -> None:
    with app.test_request_context("/"):
        close_request(None)
        assert push("/static/late.css") == "/static/late.css"
    assert len(CLOSED.pushed) == 0 and CLOSED.declared == ()
    with app.test_request_context("/"):
        assert current_links() is None  # the next request starts afresh


def test_nested_request_contexts_do_not_share_state(app: Flask) -> None:
    with app.test_request_context("/outer"):
        outer = request_links()
        outer.pushed.add(STYLE)
        with app.test_request_context("/inner"):
            assert current_links() is None
            request_links().pushed.add(SCRIPT)
        assert current_links() is outer
        assert list(outer.pushed) == [STYLE]


def test_consecutive_requests_do_not_share_state(app: Flask) -> None:
    with app.test_request_context("/first"):
        request_links().pushed.add(STYLE)
    with app.test_request_context("/second"):
        assert current_links() is None


def test_two_threads_in_two_requests_see_their_own_links(app: Flask) -> None:
    both_pushed = threading.Barrier(2, timeout=10)
    seen: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def visit(name: str) -> None:
        try:
            with app.test_request_context(f"/{name}"):
                push(f"/static/{name}.css")
                both_pushed.wait()  # the other request is open and has pushed too
                state = current_links()
                assert state is not None
                seen[name] = [link.target for link in state.pushed]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=visit, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == {"alice": ["/static/alice.css"], "bob": ["/static/bob.css"]}
