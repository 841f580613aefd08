"""Hints learned in Redis reach every gunicorn worker.

gunicorn runs e2e/redis_app.py with four gthread workers over TLS + HTTP/2
(``--http-protocols h2,h1``), each with its own :class:`RedisHintStore` on one
real redis-server. A page learned through whichever workers served it is
then hinted, with the same links, by every worker: each fresh HTTP/2
connection may land on any of them, and the ones that never saw the page
answer with the 103 too.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flask_firehose.testing import parse_link_header
from harness.h2client import Exchange, fetch
from harness.processes import REPO, Running, find_binary, free_port, start
from harness.tls import Tls

from .redis_app import PUSHED

pytestmark = pytest.mark.integration

NAVIGATE = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]
WORKERS = 4


@dataclass(frozen=True)
class RedisStack:
    redis: Running
    app: Running

    @property
    def port(self) -> int:
        return self.app.port


@pytest.fixture(scope="module")
def redis_stack(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisStack]:
    redis_bin = find_binary("redis-server", "redis-server")
    run = tmp_path_factory.mktemp("redis-workers")
    redis_port, app_port = free_port(), free_port()
    redis_command = [
        redis_bin,
        "--port", str(redis_port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
    ]  # fmt: skip
    gunicorn_command = [
        sys.executable,
        "-m", "gunicorn",
        "--config", str(REPO / "infra/gunicorn.conf.py"),
        "--workers", str(WORKERS),
        "--worker-class", "gthread",
        "--http-protocols", "h2,h1",
        "--certfile", tls.cert_file,
        "--keyfile", tls.key_file,
        "--bind", f"127.0.0.1:{app_port}",
        "e2e.redis_app:create_app()",
    ]  # fmt: skip
    app_env = {
        "FIREHOSE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FIREHOSE_ACCESS_LOG": str(run / "access.log"),
    }
    with (
        start(redis_command, redis_port, run / "redis.log") as redis,
        start(gunicorn_command, app_port, run / "app.log", app_env) as app,
    ):
        _wait_for_workers(app, run / "app.log")
        yield RedisStack(redis, app)


def _wait_for_workers(app: Running, log: Path) -> None:
    """Until every worker has booted (each logs one line), at most 20 s."""
    deadline = time.monotonic() + 20
    while log.read_text(errors="replace").count("Booting worker") < WORKERS:
        assert app.process.poll() is None, app.log_text()
        assert time.monotonic() < deadline, f"fewer than {WORKERS} workers booted:\n{app.log_text()}"
        time.sleep(0.05)


def _visit(stack: RedisStack, tls: Tls) -> tuple[str, list[list[tuple[str, str, str | None]]]]:
    """One navigation over a fresh connection: the worker's PID, and each
    103's links as (target, rel, as)."""
    exchange: Exchange = fetch(stack.port, "/", ca_file=tls.ca_file, extra_headers=NAVIGATE)
    assert exchange.status == 200, exchange
    (pid,) = exchange.header_values("x-worker-pid")
    hints = [
        [
            (link.target, " ".join(sorted(link.rels)), link.get("as"))
            for name, value in info.headers
            if name == "link"
            for link in parse_link_header(value)
        ]
        for info in exchange.informational
        if info.status == 103
    ]
    return pid, hints


def test_every_worker_hints_what_any_worker_learned(redis_stack: RedisStack, tls: Tls) -> None:
    # Nothing learned yet: no 103 (the page declares none).
    pid, hints = _visit(redis_stack, tls)
    assert hints == []
    learners = {pid}
    # The second response teaches (min_seen=2), through whichever worker serves it.
    pid, hints = _visit(redis_stack, tls)
    learners.add(pid)
    assert hints == []

    seen: dict[str, list[tuple[str, str, str | None]]] = {}
    answers = 0
    deadline = time.monotonic() + 60
    # Fresh connections until every worker has answered, at most 200 of them.
    while len(seen) < WORKERS and answers < 200:
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered in 60 s"
        pid, hints = _visit(redis_stack, tls)
        answers += 1
        assert len(hints) == 1, f"worker {pid} sent {len(hints)} 103s"
        seen.setdefault(pid, hints[0])
        assert hints[0] == seen[pid]

    (links,) = {tuple(links) for links in seen.values()}  # the same links from every worker
    assert {target for target, _, _ in links} == set(PUSHED)
    assert all(rel == "preload" for _, rel, _ in links)
    assert {target: as_ for target, _, as_ in links}["/static/fonts/blocks.woff2"] == "font"
    assert len(seen) >= 2, f"every connection went to worker {sorted(seen)}"
    # At least one worker that never served a learning response hinted all the same.
    assert set(seen) - learners, (sorted(seen), sorted(learners))
