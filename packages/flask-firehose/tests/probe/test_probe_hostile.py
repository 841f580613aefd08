"""``firehose probe`` shows what a hostile server sent and never lets the
terminal obey it: a server on 127.0.0.1, written for the purpose in HTTP/1.1
(raw bytes) and in cleartext HTTP/2 (``h2`` with its own checks off), puts
screen clears (``ESC[2J``), OSC 52 clipboard writes, one-byte CSIs (``\\x9b``)
and bidi overrides in header values, Link targets and parameters, the reason
phrase, a pushed path, a header name and the ``Server`` the missing-103
warning quotes. Whatever the probe prints, text or JSON, report or error
line, holds none of them raw, and shows them escaped."""

from __future__ import annotations

import json
import socket

import h2.config
import h2.connection
import h2.events
import pytest
from click.testing import CliRunner

from flask_firehose._cli import main
from flask_firehose._terminal import UNSAFE, json_text, printable

from .test_probe import serving

ESC_CLEAR = "\x1b[2J"
OSC52 = "\x1b]52;c;aGVsbG8=\x07"  # write "hello" to the clipboard
CSI = "\x9b2J"  # the C1 form of ESC[
RLO = "\u202e"  # right-to-left override
LRI = "\u2066"  # left-to-right isolate
HOSTILE = ESC_CLEAR + OSC52 + CSI + RLO + LRI
#: What the server writes: the escapes, a raw one-byte CSI, and the bidi
#: controls in UTF-8 (three bytes each, which the probe reads as Latin-1,
#: C1 characters among them).
HOSTILE_BYTES = (ESC_CLEAR + OSC52).encode() + b"\x9b2J" + (RLO + LRI).encode()
#: How the probe shows those bytes.
SHOWN = printable(HOSTILE_BYTES.decode("latin-1"))


# -- the escaping itself ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain /static/a.css?v=1 é ü 漢", "plain /static/a.css?v=1 é ü 漢"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\tb\nc\rd\x00\x07\x08", "a\\x09b\\x0ac\\x0dd\\x00\\x07\\x08"),
        ("\x7f", "\\x7f"),
        ("\x80\x85\x9b\x9f", "\\x80\\x85\\x9b\\x9f"),
        ("\xa0\xff", "\xa0\xff"),
        ("\u202a\u202b\u202c\u202d\u202e", "\\u202a\\u202b\\u202c\\u202d\\u202e"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
        ("\u200e\u200f\u061c\u2028\u2029", "\\u200e\\u200f\\u061c\\u2028\\u2029"),
        ("\ud800", "\\ud800"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert UNSAFE.search(printable(text)) is None


def test_every_code_point_a_terminal_acts_on_is_escaped() -> None:
    unsafe = [chr(code) for code in [*range(0x20), *range(0x7F, 0xA0), 0x202A, 0x202E, 0x2066, 0x2069]]
    assert UNSAFE.search(printable("".join(unsafe))) is None
    assert printable("".join(unsafe)).isascii()


def test_json_text_escapes_what_json_dumps_leaves_raw() -> None:
    text = json_text({"k\x7f": ["\x7f", HOSTILE]})
    assert UNSAFE.search(text.replace("\n", "")) is None
    assert json.loads(text) == {"k\x7f": ["\x7f", HOSTILE]}


# -- hostile servers -------------------------------------------------------------------


def raw_http1(sock: socket.socket) -> None:
    """Answers every request on the connection with hostile bytes; which answer by the path."""
    pending = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        pending += data
        while b"\r\n\r\n" in pending:
            head, pending = pending.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1]
            sock.sendall(_http1_answer(path))


def _http1_answer(path: bytes) -> bytes:
    evil = HOSTILE_BYTES
    if path == b"/":
        hint = b'Link: </hinted.css>; rel=preload; as=style; title="x"\r\nLink: </t' + evil + b".css>; rel=preload"
        return (
            b"HTTP/1.1 103 Early" + evil + b"\r\n" + hint + b"\r\n\r\n"
            b"HTTP/1.1 200 OK" + evil + b"\r\n"
            b"Link: </s" + evil + b".css>; rel=preload; as=style\r\n"
            b'Link: </ok.css>; rel=preload; as=style; x="' + evil.replace(b"\x1b", b"").replace(b"\x07", b"") + b'"\r\n'
            b"Link: </b.css>; rel=preload; as=style" + evil.replace(b"\x1b", b"").replace(b"\x07", b"") + b"\r\n"
            b"Set-Cookie: " + evil + b"=1\r\nX-Evil: " + evil + b"\r\nContent-Type: text/html\r\n"
            b"Content-Length: 2\r\n\r\nok"
        )
    if path == b"/quiet":
        return (
            b"HTTP/1.1 200 OK\r\nServer: evil/" + evil + b"\r\nLink: </q.css>; rel=preload; as=style\r\n"
            b"Content-Type: text/html\r\nContent-Length: 2\r\n\r\nok"
        )
    if path == b"/broken":  # a line no HTTP/1.1 peer may send
        return b"HTTP/1.1 200 OK\r\n" + evil + b"\r\n\r\n"
    # the hinted files: a Cache-Control and a status line of the same kind
    return b"HTTP/1.1 200 " + evil + b"\r\nCache-Control: " + evil + b"\r\nContent-Length: 0\r\n\r\n"


def hostile_h2c(sock: socket.socket) -> None:
    """Cleartext HTTP/2 whose headers, pushes and links carry hostile bytes."""
    config = h2.config.H2Configuration(client_side=False, header_encoding=None, validate_outbound_headers=False)
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    evil = HOSTILE_BYTES
    while data := sock.recv(65536):
        for event in conn.receive_data(data):
            if not isinstance(event, h2.events.RequestReceived) or event.stream_id is None:
                continue
            stream, path = event.stream_id, dict(event.headers or [])[b":path"]
            if path == b"/badname":
                conn.send_headers(stream, [(b":status", b"200"), (b"x-" + evil, b"1")], end_stream=True)
                continue
            if path == b"/":
                conn.send_headers(
                    stream, [(b":status", b"103"), (b"link", b"</h" + evil + b".css>; rel=preload; as=style")]
                )
                conn.send_headers(
                    stream, [(b":status", b"103"), (b"link", b'</h.css>; rel=preload; title="' + evil + b'"')]
                )
                promised = conn.get_next_available_stream_id()
                request = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x"), (b":path", b"/p" + evil)]
                conn.push_stream(stream, promised, request)
                conn.send_headers(promised, [(b":status", b"200"), (b"x-evil", evil)])
                conn.send_data(promised, b"pushed", end_stream=True)
                headers = [(b":status", b"200"), (b"link", b"</f" + evil + b".css>; rel=preload; as=style")]
            else:
                headers = [(b":status", b"200"), (b"server", evil), (b"link", b"</q.css>; rel=preload; as=style")]
            conn.send_headers(stream, [*headers, (b"content-type", b"text/html"), (b"x-evil", evil)], end_stream=True)
        sock.sendall(conn.data_to_send())


def run_probe(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["probe", "--timeout", "5", *args])
    return result.exit_code, result.stdout, result.stderr


def assert_inert(*outputs: str) -> None:
    """Nothing printed that a terminal would act on (newlines between lines apart)."""
    for output in outputs:
        found = UNSAFE.search(output.replace("\n", ""))
        assert found is None, f"raw {found.group()!r} in {output!r}"
        for raw in ("\x1b", "\x07", "\x9b", RLO, LRI):
            assert raw not in output


def test_http1_report_shows_every_hostile_field_escaped() -> None:
    with serving(raw_http1) as port:
        status, out, err = run_probe(f"http://127.0.0.1:{port}/")
        quiet_status, quiet, quiet_err = run_probe(f"http://127.0.0.1:{port}/quiet")
        as_json = run_probe("--json", f"http://127.0.0.1:{port}/")[1]
    assert (status, quiet_status) == (1, 1), (err, quiet_err)
    assert_inert(out, err, quiet, quiet_err, as_json)
    # Shown, not dropped: the malformed link's value, the 103 link's title,
    # the hinted file's Cache-Control, the Server the missing-103 warning names.
    assert "\\x1b[2J" in out and "\\x1b]52;c;aGVsbG8=\\x07" in out
    assert "\\x9b2J" in out
    assert f"The answer names its server: evil/{SHOWN[:40]}" in quiet
    assert "hint-ignored: 103 link </hinted.css> is ignored by browsers (title is not taken in a 103)" in out
    visit = json.loads(as_json)
    assert visit["status"] == 200
    assert [link["target"] for link in visit["early_hints"][0]["links"]] == ["/hinted.css"]


def test_http1_error_line_is_escaped() -> None:
    with serving(raw_http1) as port:
        status, out, err = run_probe(f"http://127.0.0.1:{port}/broken")
    assert status == 2 and out == ""
    assert_inert(err)
    assert len(err.splitlines()) == 1


def test_h2c_report_shows_every_hostile_field_escaped() -> None:
    with serving(hostile_h2c) as port:
        status, out, err = run_probe("--http2", f"http://127.0.0.1:{port}/")
        quiet_status, quiet, quiet_err = run_probe("--http2", f"http://127.0.0.1:{port}/quiet")
        as_json = run_probe("--http2", "--json", f"http://127.0.0.1:{port}/")[1]
    assert (status, quiet_status) == (1, 1), (err, quiet_err)
    assert_inert(out, err, quiet, quiet_err, as_json)
    # The pushed path, straight from a PUSH_PROMISE, is shown escaped.
    assert f"    /p{SHOWN}  200  6 bytes" in out.splitlines()
    assert "malformed-link" in out and "hint-after-first" in out
    assert f"The answer names its server: {SHOWN[:40]}" in quiet
    pushed = json.loads(as_json)["pushes"]
    assert [push["path"] for push in pushed] == ["/p" + HOSTILE_BYTES.decode("latin-1")]


def test_h2_error_quoting_a_header_name_is_escaped() -> None:
    # h2's own message quotes the illegal character raw: the CLI escapes it.
    with serving(hostile_h2c) as port:
        status, out, err = run_probe("--http2", f"http://127.0.0.1:{port}/badname")
    assert status == 2 and out == ""
    assert_inert(err)
    assert "does not speak HTTP/2" in err and "\\x1b" in err
