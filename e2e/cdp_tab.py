"""A minimal Chrome DevTools Protocol client that leaves prerendering on.

Playwright attaches DevTools to the page target, and Chromium refuses to
prerender while DevTools is attached that way (the prerender is cancelled with
``PrerenderingDisabledByDevTools``). Attached to the *tab* target instead, with
``Target.setAutoAttach`` on the tab's session, the pages of the tab (a
prerendered one included) are reachable and prerendering works as for a user.

Transport: ``--remote-debugging-pipe``. Chromium reads commands from its fd 3
and writes replies and events to its fd 4, each message a JSON object ended by
a NUL byte; commands to a target attached with ``flatten`` carry its
``sessionId``. A reader thread collects replies and events; calls block until
their reply comes or time out. Only the standard library is used.

Usage::

    with Chromium("/usr/bin/chromium", ["--ignore-certificate-errors-spki-list=..."]) as browser:
        tab = browser.open_tab()
        tab.navigate("https://127.0.0.1:8443/")
        tab.hover("a.next")
        tab.wait_for("...")
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["CDPError", "Chromium", "Event", "Tab"]

Json = dict[str, Any]

#: Flags for a quiet headless Chromium that runs as root here.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
)


class CDPError(RuntimeError):
    """A command failed or timed out, or the browser went away."""


@dataclass(frozen=True)
class Event:
    """One protocol event, with the session it came on (``None``: the browser's)."""

    method: str
    params: Json
    session: str | None


class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe``; a context manager
    that always stops the browser's process group and removes its profile."""

    def __init__(self, executable: str, args: Sequence[str] = (), *, timeout: float = 20.0) -> None:
        self.executable = executable
        self.args = list(args)
        self.timeout = timeout
        self.events: list[Event] = []
        self._changed = threading.Condition()
        self._replies: dict[int, Json] = {}
        self._next_id = 0
        self._write_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._profile = ""
        self._out = -1
        self._in = -1
        self._closed = False
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Chromium:
        self._profile = tempfile.mkdtemp(prefix="cdp-tab-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # The child's ends go above 9 first, so that neither is 3 or 4 itself.
        for fd in (to_browser_r, from_browser_w):
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
            os.close(fd)
            if fd == to_browser_r:
                to_browser_r = moved
            else:
                from_browser_w = moved
        # Chromium wants its ends on fds 3 and 4. bash (unlike dash) redirects
        # descriptors above 9, so it moves them there and execs the browser.
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        command = [*FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe", *self.args, "about:blank"]
        try:
            self._process = subprocess.Popen(
                ["/bin/bash", "-c", script, self.executable, *command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(to_browser_r, from_browser_w),
                start_new_session=True,
            )
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        self._out, self._in = to_browser_w, from_browser_r
        self._reader = threading.Thread(target=self._read, name="cdp-tab-reader", daemon=True)
        self._reader.start()
        try:
            self.send("Target.setDiscoverTargets", {"discover": True})
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Ask the browser to quit, then stop its whole process group."""
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(CDPError):
                self.send("Browser.close", timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._closed = True
        for fd in (self._out, self._in):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._out = self._in = -1
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def send(
        self, method: str, params: Json | None = None, *, session: str | None = None, timeout: float | None = None
    ) -> Json:
        """Run *method* and return its result.

        :raises CDPError: on an error reply, a timeout or a closed browser."""
        with self._write_lock:
            if self._closed or self._out < 0:
                raise CDPError(f"{method}: the browser is closed")
            self._next_id += 1
            ident = self._next_id
            message: Json = {"id": ident, "method": method, "params": params or {}}
            if session is not None:
                message["sessionId"] = session
            data = json.dumps(message).encode() + b"\0"
            try:
                while data:
                    data = data[os.write(self._out, data) :]
            except OSError as exc:
                raise CDPError(f"{method}: cannot write to the browser: {exc}") from exc
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._changed:
            while ident not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CDPError(f"{method}: no reply" + (" (the browser closed)" if self._closed else ""))
                self._changed.wait(left)
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')} {reply['error'].get('data', '')}".strip())
        result: Json = reply.get("result", {})
        return result

    def wait_event(
        self, method: str, predicate: Callable[[Event], bool] = lambda _: True, *, since: int = 0, timeout: float = 20.0
    ) -> Event:
        """The first event of *method* from position *since* on for which *predicate* holds."""
        deadline = time.monotonic() + timeout
        position = since
        with self._changed:
            while True:
                for event in self.events[position:]:
                    if event.method == method and predicate(event):
                        return event
                position = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CDPError(f"no {method} event within {timeout} s")
                self._changed.wait(left)

    def open_tab(self) -> Tab:
        """A tab on ``about:blank`` in a fresh browser context (empty cache and
        cookies), attached through its tab target."""
        context = str(self.send("Target.createBrowserContext")["browserContextId"])
        self.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})
        tabs = [
            info
            # Tab targets are listed only when a filter asks for them.
            for info in self.send("Target.getTargets", {"filter": [{"type": "tab"}]})["targetInfos"]
            if info.get("browserContextId") == context
        ]
        if len(tabs) != 1:
            raise CDPError(f"expected one tab in context {context}, found {tabs}")
        tab_session = str(
            self.send("Target.attachToTarget", {"targetId": tabs[0]["targetId"], "flatten": True})["sessionId"]
        )
        mark = len(self.events)
        self.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session=tab_session,
        )
        self.wait_event("Target.attachedToTarget", lambda e: e.session == tab_session, since=mark)
        return Tab(self, tabs[0]["targetId"], tab_session, context)

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                try:
                    chunk = os.read(self._in, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    self._dispatch(json.loads(raw))
        finally:
            with self._changed:
                self._closed = True
                self._changed.notify_all()

    def _dispatch(self, message: Json) -> None:
        if "id" in message:
            with self._changed:
                self._replies[int(message["id"])] = message
                self._changed.notify_all()
            return
        event = Event(str(message["method"]), message.get("params", {}), message.get("sessionId"))
        if event.method == "Target.attachedToTarget" and event.params.get("waitingForDebugger"):
            # Let the page (a prerendered one too) go on; the reply is not awaited.
            threading.Thread(
                target=self._resume, args=(str(event.params["sessionId"]),), name="cdp-tab-resume", daemon=True
            ).start()
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def _resume(self, session: str) -> None:
        with contextlib.suppress(CDPError):
            self.send("Runtime.runIfWaitingForDebugger", session=session, timeout=5)


class Tab:
    """A tab attached through its tab target, and the pages it attached."""

    def __init__(self, browser: Chromium, tab_id: str, session: str, context: str) -> None:
        self.browser = browser
        self.tab_id = tab_id
        self.session = session
        self.context = context

    def pages(self) -> list[tuple[str, Json]]:
        """``(sessionId, targetInfo)`` of each page the tab attached, oldest first,
        with the target's latest info (its ``subtype`` is ``prerender`` while it is one)."""
        latest: dict[str, Json] = {}
        for event in self.browser.events:
            if event.method in ("Target.targetCreated", "Target.targetInfoChanged"):
                latest[event.params["targetInfo"]["targetId"]] = event.params["targetInfo"]
        found: list[tuple[str, Json]] = []
        detached = {e.params["sessionId"] for e in self.browser.events if e.method == "Target.detachedFromTarget"}
        for event in self.browser.events:
            if event.method == "Target.attachedToTarget" and event.session == self.session:
                info = event.params["targetInfo"]
                if event.params["sessionId"] not in detached:
                    found.append((str(event.params["sessionId"]), latest.get(info["targetId"]) or info))
        return found

    def prerendered_urls(self) -> list[str]:
        """Addresses of the prerendered pages the tab holds now."""
        return [info.get("url", "") for _, info in self.pages() if info.get("subtype") == "prerender"]

    @property
    def page(self) -> str:
        """The session of the page the tab shows (the newest one that is no prerender)."""
        shown = [session for session, info in self.pages() if info.get("subtype") != "prerender"]
        if not shown:
            raise CDPError("the tab shows no page")
        return shown[-1]

    def evaluate(self, expression: str, *, session: str | None = None, timeout: float | None = None) -> Any:
        """The JSON value of *expression* (a promise is awaited) in the shown page, or in *session*."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=session or self.page,
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise CDPError(f"{expression[:80]!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 15.0) -> Any:
        """Poll *expression* in the shown page until it is truthy (a page being
        swapped counts as false); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(CDPError):
                # Briefly: a page being swapped out may never answer.
                value = self.evaluate(expression, timeout=2.0)
                if value:
                    return value
            if time.monotonic() > deadline:
                raise CDPError(f"{expression!r} still false after {timeout} s")
            time.sleep(0.02)

    def navigate(self, url: str) -> None:
        """Load *url* and wait for its load event."""
        result = self.browser.send("Page.navigate", {"url": url}, session=self.page)
        if result.get("errorText"):
            raise CDPError(f"{url}: {result['errorText']}")
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def center_of(self, selector: str) -> tuple[float, float]:
        """The viewport coordinates of the centre of the first element matching *selector*,
        scrolled into view."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center', behavior: 'instant'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        return float(box[0]), float(box[1])

    def mouse(self, kind: str, x: float, y: float) -> None:
        """One mouse event (``mouseMoved``, ``mousePressed``, ``mouseReleased``) at (*x*, *y*)."""
        params: Json = {"type": kind, "x": x, "y": y}
        if kind != "mouseMoved":
            params.update(button="left", clickCount=1)
        self.browser.send("Input.dispatchMouseEvent", params, session=self.page)

    def hover(self, selector: str) -> tuple[float, float]:
        """Move the pointer over the element matching *selector*; return where."""
        x, y = self.center_of(selector)
        self.mouse("mouseMoved", x, y)
        return x, y

    def click(self, x: float, y: float) -> None:
        """Press and release the left button at (*x*, *y*)."""
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)

    def close(self) -> None:
        """Close the tab and drop its browser context."""
        with contextlib.suppress(CDPError):
            self.browser.send("Target.closeTarget", {"targetId": self.tab_id})
        with contextlib.suppress(CDPError):
            self.browser.send("Target.disposeBrowserContext", {"browserContextId": self.context})
