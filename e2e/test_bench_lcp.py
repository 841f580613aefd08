"""The image-LCP page-load benchmark's own parts (bench/pageload/lcp_*.py, gate.py):
the gate over real loopback sockets (the source address the server sees, closing
every connection), the page's 103 per mode through the app, and the access-log
counting. The benchmark itself runs as CI's smoke run (``--page lcp --quick``)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.pageload.gate import Gate
from bench.pageload.lcp_app import create_app, write_files
from bench.pageload.lcp_stack import count_downloads, log_lines
from flask_firehose.testing import links_of

pytestmark = pytest.mark.integration


class _Peer(socketserver.BaseRequestHandler):
    """Answer with the address the connection came from, then echo until EOF."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.sendall(self.client_address[0].encode() + b"\n")
        while data := sock.recv(65536):
            sock.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False


@pytest.fixture
def peer() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _Peer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(100)
        if not chunk:
            break
        data += chunk
    return data


def test_the_gate_connects_from_its_source_address_on_the_port_it_was_given(peer: int) -> None:
    with socket.socket() as probe:  # a port free on 127.0.0.7, as the relay's is on 127.0.0.1
        probe.bind(("127.0.0.7", 0))
        port = probe.getsockname()[1]
    with Gate(("127.0.0.1", peer), listen=("127.0.0.7", port), source="127.0.0.7") as gate:
        assert gate.port == port
        with socket.create_connection(("127.0.0.7", port), timeout=5) as sock:
            assert _read_line(sock) == b"127.0.0.7\n"
            sock.sendall(b"ping")
            assert sock.recv(4) == b"ping"
        assert gate.accepted == 1


def test_drop_closes_every_connection_and_new_ones_still_pass(peer: int) -> None:
    with Gate(("127.0.0.1", peer)) as gate:
        first = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
        second = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
        try:
            assert _read_line(first) == b"127.0.0.1\n" and _read_line(second) == b"127.0.0.1\n"
            gate.drop()
            assert first.recv(10) == b"" and second.recv(10) == b""  # closed, not merely idle
        finally:
            first.close()
            second.close()
        with socket.create_connection(("127.0.0.1", gate.port), timeout=5) as third:
            assert _read_line(third) == b"127.0.0.1\n"
        assert gate.accepted == 3


def test_the_gate_refuses_an_address_off_loopback() -> None:
    with pytest.raises(ValueError, match=r"192\.0\.2\.1"):
        Gate(("192.0.2.1", 80))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lcp") / "static"
    sizes = write_files(folder)
    assert 55_000 < sizes["css"] < 65_000 and 145_000 < sizes["js"] < 155_000 and 170_000 < sizes["img"] < 230_000
    return folder


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("none", []),
        ("today", [("style", None), ("script", None)]),
        ("lcp", [("style", None), ("image", "high"), ("script", "low")]),
        ("lcp-nojs", [("style", None), ("image", "high")]),
    ],
)
def test_each_mode_declares_its_hints_in_the_order_the_bench_compares(
    files: Path, monkeypatch: pytest.MonkeyPatch, mode: str, expected: list[tuple[str, str | None]]
) -> None:
    monkeypatch.setenv("BENCH_LCP_MODE", mode)
    monkeypatch.setenv("BENCH_LCP_STATIC", str(files))
    monkeypatch.setenv("BENCH_LCP_THINK", "0")
    client = create_app().test_client()
    for form in ("img", "bg"):
        response = client.get(f"/{form}?n=nav1&i=key1", headers={"Sec-Fetch-Mode": "navigate", "Accept": "text/html"})
        assert response.status_code == 200
        links = links_of(response)
        assert [(link.get("as"), link.get("fetchpriority")) for link in links] == expected
        by_as = {link.get("as"): link.target for link in links}
        if "image" in by_as:
            assert by_as["image"] == "/static/hero.jpg?n=key1"  # the image key, not the nonce
        if "style" in by_as:
            assert by_as["style"] == "/lcp.css?n=nav1&i=key1"
    css = client.get("/lcp.css?n=nav1&i=key1")
    assert css.headers["Cache-Control"] == "public, max-age=3600"
    assert css.get_data(as_text=True).endswith(".hero-bg{background-image:url(/static/hero.jpg?n=key1)}\n")


def test_downloads_are_counted_per_navigation_from_either_log(tmp_path: Path) -> None:
    gunicorn = tmp_path / "access.log"
    gunicorn.write_text(
        '127.0.0.1 "GET /img?n=a HTTP/2.0" 200 20000\n'
        '127.0.0.1 "GET /lcp.css?n=a&i=k HTTP/2.0" 200 60000\n'
        '127.0.0.1 "GET /static/hero.jpg?n=k HTTP/2.0" 200 197000\n'
        '127.0.0.1 "GET /static/hero.jpg?n=k HTTP/2.0" 304 0\n'
        '127.0.0.1 "GET /static/lcp.js?n=b HTTP/2.0" 200 150000\n'
        '127.0.0.1 "POST /_firehose/lcp HTTP/2.0" 204 0\n'
    )
    lines = log_lines(gunicorn)
    assert ("POST", "/_firehose/lcp", 204) in lines
    assert count_downloads(lines, "a", "k") == {"css": 1, "js": 0, "img": 1}
    assert count_downloads(lines, "b", "b") == {"css": 0, "js": 1, "img": 0}
    caddy = tmp_path / "caddy.log"
    caddy.write_text(
        '{"level":"info","msg":"handled request","request":{"method":"GET","uri":"/static/lcp.css"},"status":200}\n'
        '{"level":"info","msg":"server running"}\n'
        '{"level":"info","msg":"handled request","request":{"method":"GET","uri":"/static/hero.jpg"},"status":200}\n'
        '{"level":"info","msg":"handled request","request":{"method":"GET","uri":"/static/hero.jpg"},"status":200}\n'
    )
    assert count_downloads(log_lines(caddy), None, None) == {"css": 1, "js": 0, "img": 2}
