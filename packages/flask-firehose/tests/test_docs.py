"""The documentation quotes what the repository's tools print."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_the_performance_page_shows_the_lines_the_bench_prints() -> None:
    """docs/performance.rst quotes the labels bench/bench_overhead.py prints."""
    bench_path, page_path = ROOT / "bench" / "bench_overhead.py", ROOT / "docs" / "performance.rst"
    if not bench_path.exists() or not page_path.exists():  # an sdist of the package alone has neither
        if os.environ.get("CI"):
            pytest.fail(f"missing in CI: {bench_path} or {page_path}")
        pytest.skip("the bench and the docs are not here")
    printed = set(re.findall(r'ratio\(\s*"([^"]+)"', bench_path.read_text()))
    quoted = set(re.findall(r"^ {6}(\S.*?)\s+\d+\.\d us ->", page_path.read_text(), re.MULTILINE))
    assert quoted == printed
