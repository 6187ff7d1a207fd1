"""The package's import graph: every module imports on its own, no cycles, and the web app
stands apart from batch and the command line.

The graph is read from the source (the AST of every module, imports inside functions included),
so a cycle hidden behind a late import counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "formcheck"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _names_type_checking(test: ast.expr) -> bool:
    return getattr(test, "id", getattr(test, "attr", "")) == "TYPE_CHECKING"


def imported_modules(name: str, path: Path) -> set[str]:
    """The formcheck modules `name` imports anywhere in its source but under TYPE_CHECKING (a
    `from pkg import sub` naming a submodule counts as importing that submodule)."""
    base = name if _is_package(name) else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {  # `if TYPE_CHECKING:` imports never run
        id(sub) for node in ast.walk(tree) if isinstance(node, ast.If) and _names_type_checking(node.test)
        for stmt in node.body for sub in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "formcheck")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")[: len(base.split(".")) - node.level + 1]
                target = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "formcheck":
                continue
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_source():
    """The reader itself: it sees relative, absolute and in-function imports, and submodules."""
    assert "formcheck.io.container" in GRAPH["formcheck.io"]
    assert "formcheck.batch.task" in GRAPH["formcheck.batch.run"]
    assert "formcheck.pose" in GRAPH["formcheck.batch.task"]  # imported inside extract()
    assert "formcheck.errors" in GRAPH["formcheck.live.command"]
    assert "formcheck.live.session" not in GRAPH["formcheck.live.report"]  # for type hints only
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_web_app_imports_nothing_from_batch_or_the_command_line():
    for name in MODULES:
        if name.startswith("formcheck.web"):
            bad = {m for m in GRAPH[name] if m == "formcheck.cli" or m.startswith("formcheck.batch")}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_io_internals_stay_inside_io():
    for name, path in MODULES.items():
        if not name.startswith("formcheck.io"):
            assert "_capture" not in path.read_text(encoding="utf-8"), name


@pytest.mark.parametrize("chunk", range(2))
def test_every_module_imports_in_a_fresh_interpreter(chunk):
    """Alone, first thing in a new process: an import order that only works after another module
    was loaded (a hidden cycle, a missing import) fails here."""
    names = sorted(set(MODULES) - {"formcheck.__main__"})[chunk::2]  # __main__ runs the command

    def load(name: str) -> tuple[str, int, str]:
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True,
                              timeout=300)
        return name, proc.returncode, proc.stderr.strip()[-400:]

    with ThreadPoolExecutor(2) as pool:
        failed = [(n, err) for n, code, err in pool.map(load, names) if code != 0]
    assert not failed, failed
