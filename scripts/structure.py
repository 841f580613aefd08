#!/usr/bin/env python3
"""Measure the shape of a Python package from its source alone.

For one package folder (by default the extension's ``flask_firehose``) this
prints the number of modules; the import arrows between them; each module's
import level (1 for a module importing none of its siblings, else one more
than the highest level it imports); every import cycle; the largest modules
by lines; and, with ``--duplicates``, the blocks of consecutive lines written
in two places or more.

An arrow is one importing module and one imported module, however many names
it takes. Three kinds are told apart: ``runtime`` (an import run when the
module loads), ``deferred`` (inside a function: run at the first call) and
``type-checking`` (under ``if TYPE_CHECKING:``, never run). Levels and cycles
follow runtime and deferred arrows; a cycle that only a type-checking arrow
closes is listed apart. The modules of a cycle share one level.

Duplicate blocks compare lines as tokens (whitespace normalised), leaving out
comments, blank lines, docstrings and import statements (they repeat by
nature); a run of at least ``--min-lines`` (6) such lines found in two places
is one block, unless it is a table (fewer than half its lines distinct).
``--abstract`` replaces names, strings and numbers by placeholders, so a
block copied then renamed is found too.

Nothing is imported from the measured package: the source is parsed (``ast``
and ``tokenize``), so a broken or half-edited tree can still be measured.

    python scripts/structure.py [PACKAGE_DIR] [--duplicates] [--abstract]
                                [--min-lines N] [--top N] [--json]
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import keyword
import sys
import tokenize
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DEFAULT_PACKAGE = Path(__file__).resolve().parent.parent / "packages" / "flask-firehose" / "src" / "flask_firehose"

Kind = Literal["runtime", "deferred", "type-checking"]
# When one module imports another in several ways, the arrow is of the
# strongest: a runtime import anywhere makes it a runtime arrow.
_STRENGTH: dict[Kind, int] = {"runtime": 2, "deferred": 1, "type-checking": 0}


@dataclass(frozen=True)
class Module:
    """One source file of the package."""

    name: str  # dotted, relative to the package: "_links", "_probe.h2"; "__init__" for the package itself
    path: Path
    is_package: bool  # an __init__.py
    lines: int
    tree: ast.Module = field(compare=False, repr=False)


@dataclass(frozen=True)
class Arrow:
    """*source* imports *target* (both module names)."""

    source: str
    target: str
    kind: Kind


@dataclass(frozen=True, order=True)
class Place:
    path: str
    start: int
    end: int


@dataclass(frozen=True)
class Block:
    """Consecutive lines (*lines* of them, as compared) found at each of *places*."""

    lines: int
    places: tuple[Place, ...]


class StructureError(Exception):
    """The folder given is not a package this script can read."""


# -- modules -----------------------------------------------------------------


def find_modules(root: Path) -> dict[str, Module]:
    """Every ``.py`` file under *root* (a package folder), parsed."""
    if not (root / "__init__.py").is_file():
        raise StructureError(f"not a package folder (no __init__.py): {str(root)!r}")
    modules: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if any(not part.isidentifier() for part in parts):
            continue  # not importable under this name (a script, a data folder)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package and len(parts) > 1 else parts)
        text = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise StructureError(f"cannot parse {str(path)!r}: {exc.msg} (line {exc.lineno})") from exc
        modules[name] = Module(name, path, is_package, len(text.splitlines()), tree)
    return modules


# -- arrows ------------------------------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING`` (any module's attribute)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(node: ast.AST, kind: Kind) -> Iterator[tuple[ast.Import | ast.ImportFrom, Kind]]:
    """Each import statement below *node*, with the kind it has there."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, kind
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield from _imports_in(statement, "type-checking")
            for statement in child.orelse:
                yield from _imports_in(statement, kind)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(child, "type-checking" if kind == "type-checking" else "deferred")
        else:
            yield from _imports(child, kind)


def _imports_in(statement: ast.stmt, kind: Kind) -> Iterator[tuple[ast.Import | ast.ImportFrom, Kind]]:
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        yield statement, kind
    else:
        yield from _imports(statement, kind)


def _absolute(module: Module, node: ast.ImportFrom, package: str) -> str | None:
    """The dotted module an ``from ... import`` statement reads from,
    relative to the package (``""`` for the package itself), or None when it
    is outside the package."""
    if node.level == 0:
        dotted = node.module or ""
        if dotted == package:
            return ""
        if dotted.startswith(package + "."):
            return dotted[len(package) + 1 :]
        return None
    here = module.name.split(".") if module.name != "__init__" else []
    if not module.is_package:
        here = here[:-1]
    up = node.level - 1
    if up > len(here):
        return None  # above the measured package
    base = here[: len(here) - up]
    if node.module:
        base = [*base, *node.module.split(".")]
    return ".".join(base)


def _resolve(dotted: str, modules: dict[str, Module]) -> str | None:
    """The module of *dotted* (relative to the package), or of its nearest
    enclosing package that exists."""
    parts = dotted.split(".") if dotted else []
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return "__init__" if "__init__" in modules else None


def find_arrows(modules: dict[str, Module], package: str) -> list[Arrow]:
    """One arrow per (importer, imported) pair inside the package, of the
    strongest kind among the imports making it."""
    strongest: dict[tuple[str, str], Kind] = {}
    for module in modules.values():
        for node, kind in _imports(module.tree, "runtime"):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == package:
                        targets.append("__init__")
                    elif alias.name.startswith(package + "."):
                        targets.append(_resolve(alias.name[len(package) + 1 :], modules))
            else:
                source = _absolute(module, node, package)
                if source is None:
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}" if source else alias.name
                    targets.append(submodule if submodule in modules else _resolve(source, modules))
            for target in targets:
                if target is None or target == module.name:
                    continue
                key = (module.name, target)
                if key not in strongest or _STRENGTH[kind] > _STRENGTH[strongest[key]]:
                    strongest[key] = kind
    return [Arrow(source, target, kind) for (source, target), kind in sorted(strongest.items())]


# -- cycles and levels -------------------------------------------------------


def strongly_connected(nodes: Sequence[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def levels(nodes: Sequence[str], edges: dict[str, set[str]]) -> tuple[dict[str, int], list[list[str]]]:
    """Each module's level, and the cycles (components of more than one module)."""
    components = strongly_connected(nodes, edges)  # Tarjan emits a component after all it reaches
    component_of = {member: number for number, component in enumerate(components) for member in component}
    level_of_component: list[int] = []
    for number, component in enumerate(components):
        below = [
            level_of_component[component_of[target]]
            for member in component
            for target in edges.get(member, ())
            if component_of[target] != number
        ]
        level_of_component.append(1 + max(below, default=0))
    by_module = {member: level_of_component[component_of[member]] for member in nodes}
    cycles = sorted((component for component in components if len(component) > 1), key=lambda c: (-len(c), c))
    return by_module, cycles


# -- duplicates --------------------------------------------------------------

_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
_FSTRING_PARTS = {
    getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, name)
}


def compared_lines(text: str, *, abstract: bool) -> list[tuple[str, int]]:
    """``(line as compared, line number)`` for each line of *text* on which a
    token starts, whitespace normalised. Left out: comments, blank lines,
    import statements and docstrings (a statement made of strings alone).
    With *abstract*, names, strings and numbers become ``N``, ``S`` and ``0``
    (keywords stay)."""
    by_line: dict[int, list[str]] = defaultdict(list)
    statement: list[tokenize.TokenInfo] = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if token.type not in _SKIPPED:
                statement.append(token)
            continue
        words = [(token, _compared(token, abstract=abstract)) for token in statement]
        is_import = bool(statement) and statement[0].type == tokenize.NAME and statement[0].string in ("import", "from")
        is_docstring = all(token.type == tokenize.STRING or token.type in _FSTRING_PARTS for token in statement)
        if not (is_import or is_docstring):
            for each, word in words:
                by_line[each.start[0]].append(word)
        statement = []
    return [(" ".join(words), number) for number, words in sorted(by_line.items())]


def _compared(token: tokenize.TokenInfo, *, abstract: bool) -> str:
    if abstract:
        if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
            return "N"
        if token.type == tokenize.STRING or token.type in _FSTRING_PARTS:
            return "S"
        if token.type == tokenize.NUMBER:
            return "0"
    return token.string


def duplicate_blocks(modules: dict[str, Module], *, min_lines: int, abstract: bool, relative_to: Path) -> list[Block]:
    """Runs of at least *min_lines* compared lines found in two places or
    more (in two files, or twice in one without overlapping)."""
    files: list[tuple[str, list[tuple[str, int]]]] = []
    for module in modules.values():
        shown = module.path.relative_to(relative_to).as_posix()
        files.append((shown, compared_lines(module.path.read_text(encoding="utf-8"), abstract=abstract)))
    windows: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
    varied = (min_lines + 1) // 2  # a window of fewer distinct lines is a table, not a block
    for file_number, (_, lines) in enumerate(files):
        for start in range(len(lines) - min_lines + 1):
            window = tuple(line for line, _ in lines[start : start + min_lines])
            if len(set(window)) >= varied:
                windows[window].append((file_number, start))
    pairs: set[tuple[int, int, int, int]] = set()
    for found in windows.values():
        for first, (file_a, start_a) in enumerate(found):
            for file_b, start_b in found[first + 1 :]:
                if file_a == file_b and abs(start_a - start_b) < min_lines:
                    continue
                pairs.add((file_a, start_a, file_b, start_b))
    # A pair of windows extends the run of the pair before it; keep maximal runs only.
    runs: dict[tuple[str, ...], set[tuple[int, int, int]]] = defaultdict(set)
    for file_a, start_a, file_b, start_b in pairs:
        if (file_a, start_a - 1, file_b, start_b - 1) in pairs:
            continue
        length = 1
        while (file_a, start_a + length, file_b, start_b + length) in pairs:
            length += 1
        if file_a == file_b:  # two places in one file: the first ends where the second starts
            length = min(length, start_b - start_a - min_lines + 1)
        count = length + min_lines - 1
        content = tuple(line for line, _ in files[file_a][1][start_a : start_a + count])
        runs[content].update({(file_a, start_a, count), (file_b, start_b, count)})
    blocks: list[Block] = []
    for content, occurrences in runs.items():
        places = tuple(
            sorted(
                Place(files[number][0], files[number][1][start][1], files[number][1][start + count - 1][1])
                for number, start, count in occurrences
            )
        )
        blocks.append(Block(len(content), places))
    blocks.sort(key=lambda block: (-block.lines, block.places))
    return [block for number, block in enumerate(blocks) if not _within_another(block, blocks[:number])]


def _within_another(block: Block, longer: Sequence[Block]) -> bool:
    """Whether each place of *block* lies inside a place of one of *longer*."""

    def inside(place: Place, outer: Place) -> bool:
        return place.path == outer.path and outer.start <= place.start and place.end <= outer.end

    return any(all(any(inside(place, outer) for outer in other.places) for place in block.places) for other in longer)


# -- report ------------------------------------------------------------------


def measure(
    root: Path, *, duplicates: bool = False, abstract: bool = False, min_lines: int = 6, top: int = 10
) -> dict[str, object]:
    """Everything this script reports, as JSON-ready data."""
    if min_lines < 2:
        raise StructureError(f"--min-lines must be 2 or more, not {min_lines!r}")
    root = root.resolve()
    package = root.name
    modules = find_modules(root)
    arrows = find_arrows(modules, package)
    followed: dict[str, set[str]] = defaultdict(set)
    every: dict[str, set[str]] = defaultdict(set)
    for arrow in arrows:
        every[arrow.source].add(arrow.target)
        if arrow.kind != "type-checking":
            followed[arrow.source].add(arrow.target)
    by_module, cycles = levels(sorted(modules), followed)
    # Cycles closed only by a type-checking arrow: harmless at run time, shown apart.
    _, with_annotations = levels(sorted(modules), every)
    typing_cycles = [cycle for cycle in with_annotations if cycle not in cycles]
    largest = sorted(modules.values(), key=lambda module: (-module.lines, module.name))[:top]
    report: dict[str, object] = {
        "package": package,
        "modules": len(modules),
        "lines": sum(module.lines for module in modules.values()),
        "arrows": {
            "runtime": sum(arrow.kind == "runtime" for arrow in arrows),
            "deferred": sum(arrow.kind == "deferred" for arrow in arrows),
            "type-checking": sum(arrow.kind == "type-checking" for arrow in arrows),
        },
        "edges": [{"from": arrow.source, "to": arrow.target, "kind": arrow.kind} for arrow in arrows],
        "levels": {"count": max(by_module.values(), default=0), "by_module": dict(sorted(by_module.items()))},
        "cycles": cycles,
        "type_checking_cycles": typing_cycles,
        "largest": [{"module": module.name, "lines": module.lines} for module in largest],
    }
    if duplicates:
        blocks = duplicate_blocks(modules, min_lines=min_lines, abstract=abstract, relative_to=root.parent)
        report["duplicates"] = {
            "min_lines": min_lines,
            "abstract": abstract,
            "blocks": len(blocks),
            "duplicated_lines": sum(block.lines * (len(block.places) - 1) for block in blocks),
            "list": [
                {
                    "lines": block.lines,
                    "places": [{"path": place.path, "start": place.start, "end": place.end} for place in block.places],
                }
                for block in blocks
            ],
        }
    return report


def render(report: dict[str, object]) -> str:
    """The report as text for a reader."""
    arrows = report["arrows"]
    edges = report["edges"]
    levels_ = report["levels"]
    cycles = report["cycles"]
    largest = report["largest"]
    assert isinstance(arrows, dict) and isinstance(edges, list) and isinstance(levels_, dict)
    assert isinstance(cycles, list) and isinstance(largest, list)
    out = [
        f"package {report['package']}: {report['modules']} modules, {report['lines']} lines",
        f"import arrows: {arrows['runtime']} runtime, {arrows['deferred']} deferred (inside a function), "
        f"{arrows['type-checking']} type-checking only",
    ]
    by_source: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        mark = {"runtime": "", "deferred": " (deferred)", "type-checking": " (type-checking)"}[edge["kind"]]
        by_source[edge["from"]].append(f"{edge['to']}{mark}")
    by_module = levels_["by_module"]
    out.append(f"import levels: {levels_['count']}")
    for level in range(1, levels_["count"] + 1):
        members = [name for name, value in by_module.items() if value == level]
        out.append(f"  level {level} ({len(members)}): {', '.join(members)}")
    typing_cycles = report["type_checking_cycles"]
    assert isinstance(typing_cycles, list)
    out.append(f"cycles: {len(cycles)}")
    out.extend(f"  {' <-> '.join(cycle)}" for cycle in cycles)
    out.append(f"cycles closed by a type-checking arrow only: {len(typing_cycles)}")
    out.extend(f"  {' <-> '.join(cycle)}" for cycle in typing_cycles)
    out.append("arrows:")
    out.extend(f"  {source} -> {', '.join(targets)}" for source, targets in sorted(by_source.items()))
    out.append(f"largest modules (lines): top {len(largest)}")
    out.extend(f"  {entry['lines']:>6}  {entry['module']}" for entry in largest)
    duplicates = report.get("duplicates")
    if isinstance(duplicates, dict):
        how = "names, strings and numbers abstracted" if duplicates["abstract"] else "exact tokens"
        out.append(
            f"duplicate blocks (>= {duplicates['min_lines']} lines, {how}): {duplicates['blocks']}, "
            f"{duplicates['duplicated_lines']} duplicated lines"
        )
        for block in duplicates["list"]:
            places = "; ".join(f"{place['path']}:{place['start']}-{place['end']}" for place in block["places"])
            out.append(f"  {block['lines']:>4} lines: {places}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("package", nargs="?", type=Path, default=DEFAULT_PACKAGE, help="a package folder")
    parser.add_argument("--duplicates", action="store_true", help="also list duplicate blocks")
    parser.add_argument("--abstract", action="store_true", help="compare with names, strings, numbers as placeholders")
    parser.add_argument("--min-lines", type=int, default=6, help="shortest duplicate block (default 6)")
    parser.add_argument("--top", type=int, default=10, help="how many of the largest modules (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    try:
        report = measure(
            args.package, duplicates=args.duplicates, abstract=args.abstract, min_lines=args.min_lines, top=args.top
        )
    except StructureError as exc:
        print(f"structure.py: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
