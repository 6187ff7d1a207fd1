"""The package reads as the pipeline: small modules, doors that never import each other, and imports
at the top of a module except for optional heavy dependencies (cycles and web's independence from
batch and cli: tests/test_imports.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "formcheck"
MAX_LINES = 450
# imported where they are used: optional extras (ray, psycopg, playwright), optional system audio,
# POSIX-only modules, and the pose model's runtime (1 s to import; replaying a track never needs it)
LAZY_ALLOWED = {"ray", "psycopg", "playwright", "sounddevice", "fcntl", "ctypes", "mediapipe"}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(module: str, path: Path, top_level_only: bool) -> set[str]:
    """formcheck modules imported by a module (names resolved to modules where they are modules)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    known = modules()
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, path.name == "__init__.py", node)
            subs = {f"{target}.{a.name}" for a in node.names}
            found |= (subs & known.keys()) or {target}
    return {m for m in found if m.split(".")[0] == "formcheck"}


def function_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import not at a module's top level or under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(tree.body)
    for node in tree.body:  # `if TYPE_CHECKING:` blocks are for annotations only
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            top |= set(node.body)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and node not in top:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            out += [
                (node.lineno, ("." if getattr(node, "level", 0) else "") + n.split(".")[0]) for n in names
            ]
    return out


@pytest.mark.parametrize("name", list(modules()))
def test_no_module_is_too_long(name):
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name}: {lines} lines; split it by job"


def test_the_doors_do_not_import_each_other():
    doors = ("formcheck.cli", "formcheck.batch", "formcheck.live", "formcheck.web")
    for name, path in modules().items():
        mine = next((d for d in doors if name == d or name.startswith(d + ".")), None)
        if mine is None or mine == "formcheck.cli":  # the command line registers every door's command
            continue
        others = {
            m
            for m in imports(name, path, top_level_only=False)
            for d in doors
            if d != mine and m.startswith(d)
        }
        assert not others, f"{name} imports {sorted(others)}"


def test_imports_sit_at_the_top_except_optional_heavy_dependencies():
    for name, path in modules().items():
        late = [(line, pkg) for line, pkg in function_level_imports(path) if pkg not in LAZY_ALLOWED]
        assert not late, f"{name}: imports inside functions at lines {[line for line, _ in late]}"


def test_the_layout_checks_can_fail(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import os\n\ndef f():\n    import json\n    from x import y\n", encoding="utf-8")
    assert [pkg for _, pkg in function_level_imports(sample)] == ["json", "x"]
