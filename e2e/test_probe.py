"""``firehose probe`` against the real servers of the suite, run as users run
it: the installed console script, its JSON read back, its exit status checked.

nginx 1.22 pushes (first visit) and stops once the session remembers (second
visit, ``--repeat 2``); gunicorn sends its 103 before the view's 0.5 s of work;
Caddy forwards the app's 103. Then what cannot be probed: a closed port, a
plain-HTTP port asked for TLS, a certificate nobody trusts, a peer that sends
garbage, one that never answers, one that does not speak cleartext HTTP/2: each
exits 2 with one line on stderr.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.demo import Front, HintsServer, PushStack, static_file
from harness.processes import REPO, free_port, start
from harness.tls import Tls

pytestmark = pytest.mark.integration

#: Every run of the probe ends within this many seconds, or the test fails.
RUN_LIMIT = 60
#: What /report declares with @early_hints.
REPORT_CSS = "/static/css/report.css"


@dataclass(frozen=True)
class Run:
    """One run of ``firehose probe``: exit status, output, and how long it took."""

    status: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)

    def error_line(self) -> str:
        """The one line a failed probe writes (and nothing on stdout)."""
        lines = self.stderr.splitlines()
        assert self.stdout == "", self.stdout
        assert len(lines) == 1, self.stderr
        return lines[0]


def firehose(*args: str) -> Run:
    """Run the installed ``firehose`` console script."""
    script = Path(sys.executable).parent / "firehose"
    if not script.exists():
        pytest.fail(f"{script} is missing: pip install -e 'packages/flask-firehose[test]' installs it")
    started = time.monotonic()
    done = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=RUN_LIMIT, check=False)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def _path(target: str) -> str:
    return target.split("?", 1)[0]


def _pushable(visit: dict[str, Any]) -> set[str]:
    """Same-origin preloads of the final header without nopush: what nginx pushes."""
    return {
        link["target"]
        for link in visit["links"]
        if link["rel"] == "preload" and "nopush" not in link["params"] and link["target"].startswith("/")
    }


def _codes(visit: dict[str, Any]) -> set[str]:
    return {warning["code"] for warning in visit["warnings"]}


def _expected_status(visits: list[dict[str, Any]]) -> int:
    return 1 if any(visit["warnings"] for visit in visits) else 0


# -- what deployments send ----------------------------------------------------------


def test_nginx_pushes_on_the_first_visit_and_not_on_the_second(push_stack: PushStack, tls: Tls) -> None:
    run = firehose("probe", "--cacert", tls.ca_file, "--repeat", "2", "--json", push_stack.origin + "/")
    first, second = run.json()
    assert run.status == _expected_status([first, second]), run.stderr
    assert first["protocol"] == second["protocol"] == "h2"
    assert first["status"] == second["status"] == 200
    assert first["pushes"], first
    assert {push["path"] for push in first["pushes"]} == _pushable(first)
    for push in first["pushes"]:
        assert push["status"] == 200
        assert push["bytes"] == len(static_file(push["path"])), push
    # The session cookie of the first visit went with the second: nothing pushed again.
    assert second["pushes"] == []
    assert _pushable(second) == set()
    assert [link["target"] for link in second["links"]] == [link["target"] for link in first["links"]]
    # nginx drops no 103 here: the app sends none to an HTTP/1.1 upstream peer.
    assert first["early_hints"] == [] and second["early_hints"] == []
    # The probe says so on both visits, naming the front that answered.
    for visit in (first, second):
        (missing,) = _messages(visit, "hint-missing")
        assert "nginx before 1.29" in missing and missing.endswith("The answer names its server: nginx/1.22.1.")
    assert not {code for code in _codes(first) if code.startswith("push-")}


def test_nginx_never_promises_cross_origin_or_nopush_links(push_stack: PushStack, tls: Tls) -> None:
    visit = firehose("probe", "--cacert", tls.ca_file, "--json", push_stack.origin + "/articles/budgets").json()
    promised = {push["path"] for push in visit["pushes"]}
    cross_origin = [link for link in visit["links"] if link["target"].startswith(push_stack.cdn_origin)]
    assert cross_origin and all("nopush" in link["params"] for link in cross_origin)
    assert promised == _pushable(visit)
    # Marked nopush, so no push-cross-origin warning.
    assert "push-cross-origin" not in _codes(visit)


def test_gunicorn_sends_the_103_before_the_final_headers(hints_server: HintsServer, tls: Tls) -> None:
    run = firehose("probe", "--cacert", tls.ca_file, "--json", hints_server.origin + "/report")
    visit = run.json()
    assert run.status == _expected_status([visit]), run.stderr
    assert visit["protocol"] == "h2" and visit["status"] == 200
    (hint,) = visit["early_hints"]
    assert REPORT_CSS in {_path(link["target"]) for link in hint["links"]}
    # Sent before the view's 0.5 s of work, the final headers after it.
    assert visit["final_at_ms"] >= hints_server.slow_seconds * 1000
    assert visit["final_at_ms"] - hint["at_ms"] >= hints_server.slow_seconds * 600
    assert all(link["rel"] == "preload" and "nopush" not in link["params"] for link in hint["links"])
    assert not {"hint-ignored", "hint-not-early", "hint-protocol-ignored", "hint-missing"} & _codes(visit)


def test_gunicorn_sends_no_103_over_http1_by_default(hints_server: HintsServer, tls: Tls) -> None:
    run = firehose("probe", "--cacert", tls.ca_file, "--http1", "--json", hints_server.origin + "/report")
    visit = run.json()
    assert visit["protocol"] == "http/1.1" and visit["status"] == 200
    assert visit["early_hints"] == [] and visit["pushes"] == []
    assert REPORT_CSS in {_path(link["target"]) for link in visit["links"]}
    # The page declares its stylesheet, yet no 103 came: said, with HTTP/1.1 first among the causes.
    (missing,) = _messages(visit, "hint-missing")
    assert "the page came without HTTP/2 over TLS" in missing and REPORT_CSS in missing


def test_gunicorn_with_early_hints_off_is_said_to_send_none(quiet_server: HintsServer, tls: Tls) -> None:
    """The same app and server as above with ``FIREHOSE_EARLY_HINTS`` off: the
    page answers over HTTP/2 with its Link header and no 103, and the probe says so."""
    run = firehose("probe", "--cacert", tls.ca_file, "--json", quiet_server.origin + "/report")
    visit = run.json()
    assert run.status == 1, run.stderr
    assert visit["protocol"] == "h2" and visit["early_hints"] == []
    (missing,) = _messages(visit, "hint-missing")
    assert missing.startswith("no 103 came, though the final Link header holds")
    assert "a server without wsgi.early_hints" in missing and "without HTTP/2" not in missing
    text = firehose("probe", "--cacert", tls.ca_file, quiet_server.origin + "/report")
    assert "  hint-missing: no 103 came" in text.stdout


def _messages(visit: dict[str, Any], code: str) -> list[str]:
    return [warning["message"] for warning in visit["warnings"] if warning["code"] == code]


@pytest.fixture(scope="module")
def quiet_server(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HintsServer]:
    """gunicorn serving the demo over TLS + HTTP/2 with ``FIREHOSE_EARLY_HINTS`` off."""
    run = tmp_path_factory.mktemp("quiet-server")
    port = free_port()
    env = {
        "FIREHOSE_APP_BIND": f"127.0.0.1:{port}",
        "FIREHOSE_TLS_CERT": tls.cert_file,
        "FIREHOSE_TLS_KEY": tls.key_file,
        "FIREHOSE_WORKERS": "1",
        "FLASK_DEMO_DATA_DIR": str(run / "data"),
        "FLASK_DEMO_SLOW_SECONDS": "0.1",
        "FLASK_FIREHOSE_EARLY_HINTS": "false",
    }
    with start(["sh", str(REPO / "infra/run-app.sh")], port, run / "app.log", env) as app:
        yield HintsServer(port, app, run / "access.log", 0.1)


def test_caddy_forwards_the_app_103(caddy_front: Front, tls: Tls) -> None:
    run = firehose("probe", "--cacert", tls.ca_file, "--json", caddy_front.origin + "/report")
    visit = run.json()
    assert run.status == _expected_status([visit]), run.stderr
    assert visit["protocol"] == "h2" and visit["pushes"] == []
    (hint,) = visit["early_hints"]
    assert {_path(link["target"]) for link in hint["links"]} == {REPORT_CSS}
    assert visit["final_at_ms"] - hint["at_ms"] >= caddy_front.slow_seconds * 600
    # Caddy serves /static itself with a year of caching: the hinted files check out.
    assert not {code for code in _codes(visit) if code.startswith("file-")}


def test_the_text_report_groups_by_channel(caddy_front: Front, tls: Tls) -> None:
    run = firehose("probe", "--cacert", tls.ca_file, caddy_front.origin + "/report")
    lines = run.stdout.splitlines()
    assert lines[0] == f"{caddy_front.origin}/report  HTTP/2 over TLS"
    headings = [line.split(":", 1)[0] for line in lines if line and not line.startswith(" ")][1:]
    assert headings == ["103 Early Hints", "Final response", "HTTP/2 push", "Warnings"]
    assert "103 Early Hints: 1" in lines
    assert "HTTP/2 push: none" in lines
    assert "\x1b[" not in run.stdout  # no colour in a pipe
    assert run.stderr == ""  # no progress in a pipe


def test_a_103_over_http1_is_flagged(caddy_front: Front) -> None:
    """The app behind Caddy sends its 103 to HTTP/1.1 peers; browsers would ignore it there."""
    run = firehose("probe", "--json", f"http://127.0.0.1:{caddy_front.app.port}/report")
    visit = run.json()
    assert run.status == 1
    assert visit["protocol"] == "http/1.1"
    (hint,) = visit["early_hints"]
    assert hint["at_ms"] < visit["final_at_ms"]
    assert "hint-protocol-ignored" in _codes(visit)


# -- what cannot be probed ----------------------------------------------------------


@contextmanager
def tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A listening socket on a free 127.0.0.1 port; each connection goes to
    *handle* in a thread. Yields the port; closed when the block ends."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in accepted:
            conn.close()


def _send_garbage(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n\x00\xff\xfe garbage\r\n\r\n")
    time.sleep(0.5)
    conn.close()


def _never_answer(conn: socket.socket) -> None:
    conn.settimeout(10)
    while True:
        try:
            if not conn.recv(4096):
                return
        except OSError:
            return


def test_a_closed_port_is_refused() -> None:
    port = free_port()
    run = firehose("probe", f"http://127.0.0.1:{port}/")
    assert run.status == 2
    assert run.error_line() == (
        f"firehose probe: http://127.0.0.1:{port}/: connection refused by 127.0.0.1:{port}: nothing listens there"
    )


def test_tls_to_a_plain_http_port_fails(caddy_front: Front, tls: Tls) -> None:
    url = f"https://127.0.0.1:{caddy_front.app.port}/report"
    run = firehose("probe", "--cacert", tls.ca_file, url)
    assert run.status == 2
    line = run.error_line()
    assert line.startswith(f"firehose probe: {url}: TLS handshake with 127.0.0.1:{caddy_front.app.port} failed")
    assert "for plain HTTP use http://" in line


def test_an_untrusted_certificate_fails_unless_insecure(hints_server: HintsServer) -> None:
    run = firehose("probe", hints_server.origin + "/report")
    assert run.status == 2
    assert "is not trusted" in run.error_line() and "--cacert FILE or --insecure" in run.error_line()
    insecure = firehose("probe", "--insecure", "--json", hints_server.origin + "/report")
    assert insecure.json()["status"] == 200


def test_a_peer_that_sends_garbage_is_not_http() -> None:
    with tcp_server(_send_garbage) as port:
        run = firehose("probe", "--timeout", "5", f"http://127.0.0.1:{port}/")
    assert run.status == 2
    assert f"127.0.0.1:{port} does not speak HTTP/1.1" in run.error_line()


def test_a_peer_that_never_answers_times_out() -> None:
    with tcp_server(_never_answer) as port:
        run = firehose("probe", "--timeout", "0.5", f"http://127.0.0.1:{port}/")
    assert run.status == 2
    assert run.error_line() == (
        f"firehose probe: http://127.0.0.1:{port}/: timed out after 0.5 s waiting for an answer"
    )
    assert run.seconds < 10


def test_cleartext_http2_to_an_http1_server_says_so(caddy_front: Front) -> None:
    run = firehose("probe", "--http2", f"http://127.0.0.1:{caddy_front.app.port}/report")
    assert run.status == 2
    assert "answered in HTTP/1, not HTTP/2" in run.error_line()


# -- what a hostile server sends -----------------------------------------------------

#: A screen clear, an OSC 52 clipboard write, a one-byte CSI, and a
#: right-to-left override and an isolate in UTF-8.
HOSTILE = b"\x1b[2J\x1b]52;c;aGVsbG8=\x07\x9b2J" + "\u202e\u2066".encode()
#: Bytes that must never reach the terminal raw: ESC, BEL, the C1 CSI (raw
#: and as UTF-8), the bidi controls in UTF-8.
RAW = [b"\x1b", b"\x07", b"\x9b", "\u202e".encode(), "\u2066".encode()]


def _hostile_answer(conn: socket.socket) -> None:
    request = b""
    while b"\r\n\r\n" not in request:
        data = conn.recv(4096)
        if not data:
            return
        request += data
    conn.sendall(
        b"HTTP/1.1 200 OK" + HOSTILE + b"\r\nServer: evil" + HOSTILE + b"\r\n"
        b"Link: </h" + HOSTILE + b".css>; rel=preload\r\nLink: </a.css>; rel=preload; as=style\r\n"
        b"Content-Type: text/html\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    )
    conn.close()


def test_what_a_hostile_server_sends_is_printed_escaped() -> None:
    """Its reason phrase, Server header (quoted by hint-missing) and a Link
    field reach stdout as escapes, in the text report and in the JSON."""
    script = str(Path(sys.executable).parent / "firehose")
    outputs = []
    with tcp_server(_hostile_answer) as port:
        for extra in ([], ["--json"]):
            done = subprocess.run(
                [script, "probe", "--no-check-files", *extra, f"http://127.0.0.1:{port}/"],
                capture_output=True,
                timeout=RUN_LIMIT,
                check=False,
            )
            assert done.returncode == 1, done.stderr
            for raw in RAW:
                assert raw not in done.stdout and raw not in done.stderr, (raw, done.stdout)
            outputs.append(done.stdout.decode())
    text, as_json = outputs
    assert "The answer names its server: evil\\x1b[2J\\x1b]52;c;aGVsbG8=\\x07\\x9b2J" in text
    (missing,) = _messages(json.loads(as_json), "hint-missing")
    assert "evil" + HOSTILE.decode("latin-1") in missing  # exact, once the JSON is read back
