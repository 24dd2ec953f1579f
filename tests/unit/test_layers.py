"""The package layer contract (docs/architecture.md §Layers), checked on the source itself.

Every import counts: module level, inside functions and under ``TYPE_CHECKING`` alike, because an
import hidden in a function is still a dependency and one hidden from the type checker is still a
loop in the design. A package may import only its own layer or lower ones, and the graph of
packages must have no cycle (not even between packages of one layer).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import pytest

import rolecall

PACKAGE_ROOT: Final = Path(rolecall.__file__).parent

# low → high; each entry is one layer
LAYERS: Final = (
    ("errors", "settings", "checks", "files"),
    ("protocol",),
    ("routing", "profiles"),
    ("inventory",),
    ("execution", "observe", "benchmark", "learned", "operator", "limits", "planning", "judging"),
    ("providers", "storage", "cluster", "telemetry"),
    ("services",),
    ("gateway",),
    ("console",),
    ("bootstrap",),
    ("cli", "__main__", "__init__"),
)
RANK: Final = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}

Edge = tuple[str, str, str]  # (importing package, imported package, "file:line")


def _package_of(path: Path, root: Path = PACKAGE_ROOT) -> str:
    parts = path.relative_to(root).parts
    return parts[0].removesuffix(".py")


def _imported(node: ast.AST, root: Path) -> Iterator[str]:
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == "rolecall":  # `from rolecall import x`: a package only if x is one
            names = (alias.name for alias in node.names)
            yield from (n for n in names if (root / n).is_dir() or (root / f"{n}.py").is_file())
        elif node.module.startswith("rolecall."):
            yield node.module.split(".")[1]
    elif isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.startswith("rolecall."):
                yield alias.name.split(".")[1]


def package_edges(root: Path = PACKAGE_ROOT) -> list[Edge]:
    """Every import of one rolecall package by another, with where it is."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        source = _package_of(path, root)
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            for target in _imported(node, root):
                if target != source:
                    where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
                    edges.append((source, target, where))
    return edges


def upward_imports(edges: list[Edge], rank: Mapping[str, int] = RANK) -> list[str]:
    return [
        f"{where}: {source} (layer {rank[source]}) imports {target} (layer {rank[target]})"
        for source, target, where in edges
        if rank[target] > rank[source]
    ]


def find_cycle(edges: list[Edge]) -> list[str] | None:
    """One cycle of the package graph as [a, b, ..., a], or None."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target, _ in edges:
        graph[source].add(target)
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_every_package_has_a_layer() -> None:
    packages = {_package_of(p) for p in PACKAGE_ROOT.rglob("*.py")}
    assert packages - RANK.keys() == set(), "add new packages to LAYERS and docs/architecture.md"


def test_no_package_imports_a_higher_layer() -> None:
    assert upward_imports(package_edges()) == []


def test_the_package_graph_has_no_cycle() -> None:
    assert find_cycle(package_edges()) is None


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checks_catch_a_loop_hidden_in_a_function_or_type_checking(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "storage/a.py": "from rolecall.observe.sink import Sink\n",
            "observe/sink.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from rolecall.storage.a import X\n"
                "def f():\n    import rolecall.gateway.app\n"
            ),
        },
    )
    edges = package_edges(root)
    assert find_cycle(edges) == ["observe", "storage", "observe"]
    problems = upward_imports(edges)
    assert [p.split(":")[0] for p in problems] == ["observe/sink.py", "observe/sink.py"]
    assert "observe (layer 4) imports gateway (layer 7)" in problems[1]


@pytest.mark.parametrize(
    ("edges", "cycle"),
    [
        ([("a", "b", ""), ("b", "c", "")], None),
        ([("a", "b", ""), ("b", "c", ""), ("c", "a", "")], ["a", "b", "c", "a"]),
    ],
)
def test_find_cycle(edges: list[Edge], cycle: list[str] | None) -> None:
    assert find_cycle(edges) == cycle
