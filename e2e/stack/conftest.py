"""The compose stack (infra/docker-compose.yml), reached from the tests container
by service name (harness/compose.py): ``make dockertest`` runs this folder there
with FIREHOSE_STACK=1.

Without FIREHOSE_STACK nothing here is collected, so the native suite (``make
test``) passes over it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from harness.chromium import launch_chromium
from harness.compose import ComposeStack, reach_compose_stack
from harness.processes import find_binary

collect_ignore_glob = [] if os.environ.get("FIREHOSE_STACK") else ["test_*.py"]


@pytest.fixture(scope="session")
def stack() -> ComposeStack:
    """The running stack, once every service answers."""
    return reach_compose_stack()


@pytest.fixture(scope="session")
def stack_chromium(stack: ComposeStack) -> Iterator[Any]:
    """Debian's Chromium, headless, trusting the stack's certificate by its key."""
    with launch_chromium(find_binary("chromium", "chromium"), stack.spki_sha256) as browser:
        yield browser
