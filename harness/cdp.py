"""A small client for the Chrome DevTools Protocol over ``--remote-debugging-pipe``,
shared by the speculation tests (e2e/test_speculation.py) and the next-navigation
benchmark (bench/nextnav/).

Why the tab target: Playwright (like most clients) attaches DevTools to the page
target itself, and Chromium refuses to prerender while DevTools is attached that way
(the prerender is cancelled with ``PrerenderingDisabledByDevTools``). Attaching to the
*tab* target instead, and to the tab's pages through ``Target.setAutoAttach`` on that
tab's session, keeps prerendering on, as for a user: this is what :class:`Tab` does.
The pages a tab attaches (a prerendering one included) are in :meth:`Tab.pages`.

Why a pipe: the maintained CDP libraries on PyPI (cdp-use, pydoll, zendriver, nodriver,
pyppeteer) speak CDP over a WebSocket only, so Chromium would have to listen on a
DevTools port that any local process can drive, and they bring an asyncio stack for
what is here a few synchronous calls. The pipe needs nothing but the standard library
and is reachable by this process only.

The transport: Chromium reads commands from its fd 3 and writes replies and events to
its fd 4, each message one JSON object followed by a NUL byte. Commands to a target
attached with ``flatten=True`` carry that attachment's ``sessionId``; so do its
replies and events. A reader thread collects replies and events; the calls below
block until their reply (or time out).

Putting the pipe on fds 3 and 4: through no shell. Debian's ``/bin/sh`` (dash)
rejects descriptor numbers above 9 in redirections, so ``sh -c 'exec ... 3<&12'``
fails; and ``subprocess.Popen(preexec_fn=...)`` is unsafe in a process with threads
(the reader, the benchmark's servers). The child's ends are moved to fds >= 10
(close-on-exec) and ``os.posix_spawn`` dup2()s them onto 3 and 4 in the child, where
only those two survive the exec. The browser gets a process group of its own
(``setsid``); :meth:`Browser.close` (also the context manager's exit) asks it to quit,
then kills that group, and only that group, before it reaps the browser, so the id it
signals cannot belong to anything else.

Usage::

    with Browser("/usr/bin/chromium", ["--ignore-certificate-errors-spki-list=..."]) as browser:
        tab = browser.new_tab()  # in a fresh browser context: empty cache and cookies
        tab.navigate("https://127.0.0.1:8443/a")
        x, y = tab.center("a#next")
        tab.mouse_move(x, y)  # hover
        tab.click(x, y)
        tab.wait_for_url(lambda url: url.endswith("/b"))
        print(tab.evaluate("performance.getEntriesByType('navigation')[0].activationStart"))
        tab.close()

Every event is kept with the time it was read (``time.monotonic()``) in
:attr:`Browser.events` (see :meth:`Browser.events_since`). A tab enables the domains
it is given (``new_tab(enable=("Page", "Runtime", "Network", "Preload"))``) on every
page it attaches, prerendered ones included, before they start: ``Network.*`` events
for request and byte accounting, ``Preload.*`` for what became of each speculation.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from .chromium import CHROMIUM_FLAGS

__all__ = ["FLAGS", "Browser", "CDPError", "Event", "Tab"]

#: A quiet headless Chromium, as this client starts it.
FLAGS = ("--headless", *CHROMIUM_FLAGS, "--no-default-browser-check", "--mute-audio")

Json = dict[str, Any]


class CDPError(RuntimeError):
    """A command failed, timed out, or the browser went away."""


@dataclass(frozen=True)
class Event:
    """A protocol event: its method, params, the session it came on (None: the
    browser's own), and when it was read (``time.monotonic()``)."""

    method: str
    params: Json
    session: str | None
    time: float


@dataclass
class _Waiter:
    done: threading.Event = field(default_factory=threading.Event)
    reply: Json | None = None


class Browser:
    """Headless Chromium started with ``--remote-debugging-pipe``; a context manager
    that always stops the browser's process group and removes its profile.

    :param executable: the browser, e.g. ``/usr/bin/chromium``.
    :param args: more command-line flags (added to :data:`FLAGS`).
    :param timeout: default seconds a command may take.
    """

    def __init__(self, executable: str, args: Sequence[str] = (), *, timeout: float = 30.0) -> None:
        self.executable, self.args, self.timeout = executable, list(args), timeout
        self.events: list[Event] = []
        self.version = ""
        self._pid: int | None = None
        self._ended = False  # the browser's process has exited (it stays unreaped until close())
        self._profile: str | None = None
        self._to_browser: int = -1
        self._from_browser: int = -1
        self._next_id = 0
        self._waiters: dict[int, _Waiter] = {}
        self._lock = threading.Lock()  # ids, waiters, writes
        self._changed = threading.Condition()  # notified on every event
        self._reader: threading.Thread | None = None
        self._closed = False
        self._on_attach: dict[str, list[tuple[str, Json]]] = {}  # parent session -> commands for new children
        self._children: dict[str, list[tuple[str, str]]] = {}  # parent session -> [(child session, targetId)]
        self._targets: dict[str, Json] = {}  # targetId -> latest TargetInfo (Target.setDiscoverTargets)

    # -- life -------------------------------------------------------------------

    def __enter__(self) -> Browser:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> Browser:
        """Launch Chromium in its own process group with a throwaway profile.

        On any failure the browser is stopped and the profile removed again."""
        try:
            self._spawn()
            self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
            self._reader.start()
            self.version = str(self.send("Browser.getVersion")["product"])
            self.send("Target.setDiscoverTargets", {"discover": True, "filter": [{}]})
        except BaseException:
            self.close()
            raise
        return self

    def _spawn(self) -> None:
        self._profile = tempfile.mkdtemp(prefix="cdp-profile-")
        commands_r, self._to_browser = os.pipe()  # both ends close-on-exec
        self._from_browser, replies_w = os.pipe()
        # The child's ends go to fds >= 10 first (still close-on-exec), so that neither
        # is 3 or 4 itself; posix_spawn's dup2 then puts them on 3 and 4, without the
        # close-on-exec flag, and no shell is involved.
        theirs = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_r, replies_w)]
        os.close(commands_r)
        os.close(replies_w)
        args = [*FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe", *self.args, "about:blank"]
        try:
            self._pid = os.posix_spawn(
                self.executable,
                [self.executable, *args],
                dict(os.environ),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_DUP2, theirs[0], 3),
                    (os.POSIX_SPAWN_DUP2, theirs[1], 4),
                ],
                setsid=True,  # its own session and process group (id: its pid), which close() ends
            )
        finally:
            for fd in theirs:
                os.close(fd)

    def close(self) -> None:
        """Ask the browser to close, then kill its process group and reap it; remove
        the profile. Safe to call more than once."""
        pid = self._pid
        if pid is not None:
            if not self._wait_exit(0):
                with contextlib.suppress(CDPError):
                    self.send("Browser.close", timeout=5)
                if not self._wait_exit(10):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)
                    self._wait_exit(10)
            # The helpers the browser left in its group. Its pid, the group's id, is
            # not reused while the browser is unreaped, so this hits its group only.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0 if self._ended else os.WNOHANG)
            self._pid = None
        self._closed = True
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_browser = self._from_browser = -1
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def _wait_exit(self, timeout: float) -> bool:
        """Whether the browser's process has exited, waiting up to *timeout* seconds.
        It is not reaped (``WNOWAIT``): its pid stays its own until :meth:`close`."""
        deadline = time.monotonic() + timeout
        while self._pid is not None and not self._ended:
            try:
                state = os.waitid(os.P_PID, self._pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # reaped already: nothing of it is left to wait for
                state = None
                self._ended = True
            if state is not None:
                self._ended = True
            elif not self._ended:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)
        return True

    # -- commands and events -------------------------------------------------------

    def send(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float | None = None,
    ) -> Json:
        """Run *method* (on *session*, or the browser's own); return its result.

        :raises CDPError: on an error reply, a timeout, or a closed browser."""
        waiter = _Waiter()
        ident = self._write(method, params, session, waiter)
        timeout = self.timeout if timeout is None else timeout
        if not waiter.done.wait(timeout):
            with self._lock:
                self._waiters.pop(ident, None)
            raise CDPError(f"{method}: no reply within {timeout} s")
        reply = waiter.reply
        if reply is None:
            raise CDPError(f"{method}: the browser closed the pipe")
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')} ({reply['error'].get('data', '')})")
        result: Json = reply.get("result", {})
        return result

    def mark(self) -> int:
        """A position in :attr:`events`, for :meth:`events_since` and :meth:`wait_event`."""
        with self._changed:
            return len(self.events)

    def events_since(self, mark: int, method: str | None = None, session: str | None = None) -> list[Event]:
        """Events read since *mark*, of *method* and *session* when given."""
        with self._changed:
            found = self.events[mark:]
        return [
            e for e in found if (method is None or e.method == method) and (session is None or e.session == session)
        ]

    def wait_event(
        self,
        method: str,
        *,
        since: int = 0,
        session: str | None = None,
        predicate: Callable[[Json], bool] | None = None,
        timeout: float | None = None,
    ) -> Event:
        """The first event of *method* (on *session*) since *since* for which *predicate*
        holds (given the event's params), waiting for it if need be.

        :raises CDPError: when none came within *timeout*."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        position = since
        with self._changed:
            while True:
                for event in self.events[position:]:
                    wanted = event.method == method and session in (None, event.session)
                    if wanted and (predicate is None or predicate(event.params)):
                        return event
                position = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CDPError(f"no {method} event within {timeout} s")
                self._changed.wait(left)

    def forget_events(self) -> None:
        """Drop the events read so far (marks taken before become invalid)."""
        with self._changed:
            self.events.clear()

    # -- tabs ---------------------------------------------------------------------

    def new_tab(self, *, fresh_context: bool = True, enable: Sequence[str] = ("Page", "Runtime")) -> Tab:
        """A new tab on ``about:blank``, attached through its tab target.

        :param fresh_context: in a new browser context (own cache, cookies, storage),
            disposed of by :meth:`Tab.close`.
        :param enable: domains to enable on every page the tab attaches, prerendered
            pages included (each waits for them before it starts)."""
        context = str(self.send("Target.createBrowserContext")["browserContextId"]) if fresh_context else None
        params: Json = {"url": "about:blank"}
        if context is not None:
            params["browserContextId"] = context
        page_id = str(self.send("Target.createTarget", params)["targetId"])
        # Tab targets are listed only when a filter asks for them.
        tabs = self.send("Target.getTargets", {"filter": [{"type": "tab"}]})["targetInfos"]
        # A tab's targetInfo names no page: match by context, or by the page's id
        # (which Chromium reuses as the tab's own id for a tab it opened).
        candidates = [info for info in tabs if info.get("browserContextId") == context] if context else []
        if len(candidates) != 1:
            candidates = [info for info in tabs if info["targetId"] == page_id]
        if len(candidates) != 1:
            raise CDPError(f"cannot tell the tab of page {page_id} among {tabs}")
        tab_id = str(candidates[0]["targetId"])
        tab_session = str(self.send("Target.attachToTarget", {"targetId": tab_id, "flatten": True})["sessionId"])
        self._on_attach[tab_session] = [(f"{domain}.enable", {}) for domain in enable]
        mark = self.mark()
        self.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session=tab_session,
        )
        attached = self.wait_event(
            "Target.attachedToTarget",
            since=mark,
            session=tab_session,
            predicate=lambda p: p["targetInfo"]["targetId"] == page_id,
        )
        return Tab(self, tab_id, tab_session, context, str(attached.params["sessionId"]))

    def _children_of(self, session: str) -> list[tuple[str, Json]]:
        """(session, latest targetInfo) of the targets attached under *session* and not
        detached since, oldest first."""
        with self._changed:
            found = list(self._children.get(session, ()))
            return [(child, self._targets.get(target, {"targetId": target})) for child, target in found]

    # -- the pipe -------------------------------------------------------------------

    def _post(self, method: str, params: Mapping[str, Any] | None = None, *, session: str | None = None) -> None:
        """Send *method* without waiting for its reply (which is dropped)."""
        self._write(method, params, session, None)

    def _write(self, method: str, params: Mapping[str, Any] | None, session: str | None, waiter: _Waiter | None) -> int:
        with self._lock:
            if self._closed or self._to_browser < 0:
                raise CDPError(f"{method}: the browser is closed")
            self._next_id += 1
            ident = self._next_id
            message: Json = {"id": ident, "method": method, "params": dict(params or {})}
            if session is not None:
                message["sessionId"] = session
            if waiter is not None:
                self._waiters[ident] = waiter
            data = json.dumps(message).encode() + b"\0"
            try:
                while data:
                    data = data[os.write(self._to_browser, data) :]
            except OSError as exc:
                self._waiters.pop(ident, None)
                raise CDPError(f"{method}: cannot write to the browser: {exc}") from exc
        return ident

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                try:
                    chunk = os.read(self._from_browser, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    self._dispatch(json.loads(raw))
        finally:
            self._closed = True
            with self._lock:
                waiters, self._waiters = list(self._waiters.values()), {}
            for waiter in waiters:
                waiter.done.set()
            with self._changed:
                self._changed.notify_all()

    def _dispatch(self, message: Json) -> None:
        if "id" in message:
            with self._lock:
                waiter = self._waiters.pop(int(message["id"]), None)
            if waiter is not None:
                waiter.reply = message
                waiter.done.set()
            return
        method, params, session = str(message["method"]), message.get("params", {}), message.get("sessionId")
        with self._changed:
            if method in ("Target.targetCreated", "Target.targetInfoChanged"):
                self._targets[params["targetInfo"]["targetId"]] = params["targetInfo"]
            elif method == "Target.targetDestroyed":
                self._targets.pop(params["targetId"], None)
            elif method == "Target.attachedToTarget":
                child = (str(params["sessionId"]), str(params["targetInfo"]["targetId"]))
                self._children.setdefault(session or "", []).append(child)
            elif method == "Target.detachedFromTarget":
                for children in self._children.values():
                    children[:] = [child for child in children if child[0] != params["sessionId"]]
        if method == "Target.attachedToTarget":
            # Enable the tab's domains on the new page, then let it (a prerendered one
            # too) start; in this order on the pipe, without waiting for the replies.
            child_session = str(params["sessionId"])
            with contextlib.suppress(CDPError):
                for command, arguments in self._on_attach.get(session or "", ()):
                    self._post(command, arguments, session=child_session)
                if params.get("waitingForDebugger"):
                    self._post("Runtime.runIfWaitingForDebugger", session=child_session)
        with self._changed:
            self.events.append(Event(method, params, session, time.monotonic()))
            self._changed.notify_all()


class Tab:
    """A tab attached through its tab target, and the page it shows.

    The page changes when a prerendered page is activated: :attr:`page` is the session
    of the page the tab shows now (its target's type is ``page`` and it is no
    prerender), which commands without an explicit session go to."""

    def __init__(self, browser: Browser, tab_id: str, tab_session: str, context: str | None, page: str) -> None:
        self.browser, self.tab_id, self.tab_session, self.context = browser, tab_id, tab_session, context
        self._first_page = page

    @property
    def page(self) -> str:
        """The session of the page the tab shows now: the latest attached page that
        is no prerender (the first page until a prerendered one is activated)."""
        for session, info in reversed(self.pages()):
            if info.get("type") == "page" and info.get("subtype") != "prerender":
                return session
        return self._first_page

    def pages(self) -> list[tuple[str, Json]]:
        """(session, latest targetInfo) of every page the tab has attached and not lost,
        oldest first, prerendering ones included (their ``subtype`` is ``prerender``)."""
        return self.browser._children_of(self.tab_session)

    def send(self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> Json:
        """Run *method* on the page the tab shows now."""
        return self.browser.send(method, params, session=self.page, timeout=timeout)

    def evaluate(self, expression: str, *, session: str | None = None, timeout: float | None = None) -> Any:
        """The value of *expression* (a promise is awaited), JSON-converted, in the page
        the tab shows now or in *session* (e.g. a prerendering page of :meth:`pages`).

        :raises CDPError: when it throws."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=session or self.page,
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(f"{expression[:60]!r} threw: {details.get('exception', {}).get('description', details)}")
        return result["result"].get("value")

    def set_cookie(self, url: str, name: str, value: str) -> None:
        """Set a cookie for *url* in the tab's browser context."""
        cookie: Json = {"name": name, "value": value, "url": url}
        params: Json = {"cookies": [cookie]}
        if self.context is not None:
            params["browserContextId"] = self.context
        self.browser.send("Storage.setCookies", params)

    def navigate(self, url: str, *, timeout: float = 30.0) -> None:
        """Load *url* and wait until the tab shows the new document, loaded.

        :raises CDPError: on a network error."""
        deadline = time.monotonic() + timeout
        result = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if result.get("errorText"):
            raise CDPError(f"{url}: {result['errorText']}")
        loader = result.get("loaderId")  # none for a same-document navigation
        while loader is not None and self._loader() != loader:  # the old document may still be shown
            if time.monotonic() > deadline:
                raise CDPError(f"{url}: the new document never came after {timeout} s")
            time.sleep(0.01)
        self.wait_for_load(timeout=max(0.1, deadline - time.monotonic()))

    def _loader(self) -> str | None:
        with contextlib.suppress(CDPError):
            return str(self.send("Page.getFrameTree", timeout=5.0)["frameTree"]["frame"]["loaderId"])
        return None

    def wait_for_load(self, *, timeout: float = 30.0) -> None:
        """Wait until the page the tab shows now has fired its load event."""
        self.wait_until("document.readyState === 'complete'", timeout=timeout)

    def wait_until(self, condition: str, *, timeout: float = 30.0, interval: float = 0.01) -> Any:
        """Poll the JS *condition* in the page the tab shows now until it is truthy
        (errors while a navigation swaps the page count as false); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"{condition!r} still false after {timeout} s")
            with contextlib.suppress(CDPError):
                # Briefly: a page being swapped out may never answer.
                value = self.evaluate(condition, timeout=min(left, 5.0))
                if value:
                    return value
            time.sleep(interval)

    def wait_for_url(self, predicate: Callable[[str], bool], *, timeout: float = 30.0) -> str:
        """Wait until the page the tab shows has an address for which *predicate* holds
        and has loaded; return the address."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(CDPError):
                url = str(self.evaluate("location.href", timeout=5.0))
                if predicate(url):
                    self.wait_for_load(timeout=max(0.1, deadline - time.monotonic()))
                    return url
            if time.monotonic() > deadline:
                raise CDPError(f"no matching address after {timeout} s")
            time.sleep(0.01)

    def center(self, selector: str) -> tuple[float, float]:
        """The centre of the first element matching *selector*, in CSS pixels of the
        viewport; the element is scrolled into view first if it is not in view."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'nearest', inline: 'nearest', behavior: 'instant'});"
            " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        return float(box[0]), float(box[1])

    def mouse_move(self, x: float, y: float) -> None:
        """Move the mouse to (*x*, *y*): hovers what is there."""
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def click(self, x: float, y: float) -> None:
        """Press and release the left button at (*x*, *y*)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def close(self) -> None:
        """Close the tab and dispose of its browser context."""
        with contextlib.suppress(CDPError):
            self.browser.send("Target.closeTarget", {"targetId": self.tab_id})
        if self.context is not None:
            with contextlib.suppress(CDPError):
                self.browser.send("Target.disposeBrowserContext", {"browserContextId": self.context})
