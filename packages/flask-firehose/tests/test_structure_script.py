"""The repository's ``scripts/structure.py``, run as a reader runs it, on a
small package written here: its arrows, levels, cycles, largest modules and
duplicate blocks, read back from its JSON; and once on this package."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "structure.py"

# Seven distinct lines, written twice as they are and once renamed.
_BLOCK = """
def total(items, limit):
    count = 0
    for item in items:
        if item > limit:
            count += item * 2
        else:
            count -= 1
    return count
"""
_RENAMED = _BLOCK.replace("total", "summed").replace("items", "values").replace("item", "value").replace("2", "3")

_FILES = {
    "__init__.py": '"""A tiny package."""\n\nfrom .a import A\n',
    # a <-> b: a runtime cycle (``from . import a`` reads the submodule a).
    "a.py": "from __future__ import annotations\n\nfrom .b import B\n\n\nclass A:\n    pass\n",
    "b.py": "from . import a\n\nB = a\n",
    # c -> d under TYPE_CHECKING only, d -> c at run time: no cycle when running.
    "c.py": (
        '"""Docstrings and imports are not code lines."""\n\n'
        "from typing import TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n    from .d import D\n\n\n"
        "def later():\n    from .sub import x  # deferred\n\n    return x\n" + _BLOCK
    ),
    "d.py": "from .c import later\n\nD = later\n" + _RENAMED,
    "sub/__init__.py": "",
    # An absolute import of a sibling, and the block once more.
    "sub/x.py": "import pkg.a\n\nX = pkg.a\n\n# a comment line\n" + _BLOCK,
    # Not a module: a name that cannot be imported.
    "sub/not-a-module.py": "import pkg.b\n",
}


def _package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    for name, text in _FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def _measure(*args: str) -> dict[str, Any]:
    done = _run(*args, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_arrows_of_each_kind(tmp_path: Path) -> None:
    report = _measure(str(_package(tmp_path)))
    assert report["package"] == "pkg"
    assert report["modules"] == 7
    edges = {(edge["from"], edge["to"]): edge["kind"] for edge in report["edges"]}
    assert edges == {
        ("__init__", "a"): "runtime",
        ("a", "b"): "runtime",
        ("b", "a"): "runtime",
        ("c", "d"): "type-checking",
        ("c", "sub.x"): "deferred",
        ("d", "c"): "runtime",
        ("sub.x", "a"): "runtime",
    }
    assert report["arrows"] == {"runtime": 5, "deferred": 1, "type-checking": 1}


def test_levels_and_cycles(tmp_path: Path) -> None:
    report = _measure(str(_package(tmp_path)))
    assert report["cycles"] == [["a", "b"]]
    assert report["type_checking_cycles"] == [["c", "d"]]
    # A cycle's modules share a level; a deferred import counts, a type-checking one does not.
    assert report["levels"] == {
        "count": 4,
        "by_module": {"__init__": 2, "a": 1, "b": 1, "c": 3, "d": 4, "sub": 1, "sub.x": 2},
    }


def test_largest_modules_by_lines(tmp_path: Path) -> None:
    root = _package(tmp_path)
    report = _measure(str(root), "--top", "2")
    lines = {name: len((root / name).read_text().splitlines()) for name in ("c.py", "d.py", "sub/x.py")}
    assert report["largest"] == [
        {"module": "c", "lines": lines["c.py"]},
        {"module": "sub.x", "lines": lines["sub/x.py"]},
    ]
    assert report["lines"] == sum(len((root / name).read_text().splitlines()) for name in _FILES if "-" not in name)


def test_duplicate_blocks_exact_then_abstracted(tmp_path: Path) -> None:
    root = _package(tmp_path)
    assert "duplicates" not in _measure(str(root))

    exact = _measure(str(root), "--duplicates")["duplicates"]
    start_c = textwrap.dedent(_FILES["c.py"]).splitlines().index("def total(items, limit):") + 1
    start_x = textwrap.dedent(_FILES["sub/x.py"]).splitlines().index("def total(items, limit):") + 1
    assert exact["blocks"] == 1
    assert exact["list"] == [
        {
            "lines": 8,
            "places": [
                {"path": "pkg/c.py", "start": start_c, "end": start_c + 7},
                {"path": "pkg/sub/x.py", "start": start_x, "end": start_x + 7},
            ],
        }
    ]
    assert exact["duplicated_lines"] == 8

    abstract = _measure(str(root), "--duplicates", "--abstract")["duplicates"]
    assert abstract["abstract"] is True
    found = {place["path"] for block in abstract["list"] for place in block["places"]}
    assert found == {"pkg/c.py", "pkg/d.py", "pkg/sub/x.py"}

    assert _measure(str(root), "--duplicates", "--min-lines", "9")["duplicates"]["blocks"] == 0


def test_the_text_report(tmp_path: Path) -> None:
    done = _run(str(_package(tmp_path)), "--duplicates")
    assert done.returncode == 0, done.stderr
    text = done.stdout.splitlines()
    assert text[0].startswith("package pkg: 7 modules, ")
    assert "import arrows: 5 runtime, 1 deferred (inside a function), 1 type-checking only" in text
    assert "cycles: 1" in text
    assert "  a <-> b" in text
    assert "  c <-> d" in text
    assert "  c -> d (type-checking), sub.x (deferred)" in text
    assert any(line.startswith("duplicate blocks (>= 6 lines, exact tokens): 1,") for line in text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/nowhere"], "not a package folder (no __init__.py): '{tmp}/nowhere'"),
        (["{tmp}/pkg", "--duplicates", "--min-lines", "1"], "--min-lines must be 2 or more, not 1"),
    ],
)
def test_bad_input_is_named(tmp_path: Path, args: list[str], message: str) -> None:
    _package(tmp_path)
    done = _run(*(arg.format(tmp=tmp_path) for arg in args))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"structure.py: {message.format(tmp=tmp_path)}\n"


def test_a_file_that_does_not_parse_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path)
    (root / "broken.py").write_text("def (:\n", encoding="utf-8")
    done = _run(str(root))
    assert done.returncode == 2
    assert f"cannot parse {str(root / 'broken.py')!r}" in done.stderr


def test_this_package_has_no_import_cycle() -> None:
    report = _measure()
    assert report["package"] == "flask_firehose"
    assert report["modules"] > 30
    assert report["cycles"] == []
