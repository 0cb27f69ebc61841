"""The package's shape: no import cycle, `lib/` free of Dagster, each layer importing only what it may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "orchestration"
# What each top-level part of the package may import from the others (see orchestration/README.md).
MAY_IMPORT = {
    "lib": {"lib"},
    "defs": {"lib", "defs"},
    "run": {"lib", "defs", "run", "definitions"},
    "definitions": {"defs"},
}
DAGSTER_MODULES = ("dagster", "dagster_dbt", "dagster_webserver")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file (imports inside functions count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def project_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {imported for imported in imports_of(path) if imported in modules and imported != name}
            for name, path in modules.items()}


def part_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == "open":
                return [*stack[stack.index(successor):], successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = project_graph()
    assert len(graph) > 20, "the package was not found"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_lib_imports_no_dagster_module() -> None:
    offenders = {str(path.relative_to(PACKAGE.parent)): sorted(name for name in imports_of(path)
                                                                if name.split(".")[0] in DAGSTER_MODULES)
                 for path in (PACKAGE / "lib").rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_each_part_imports_only_what_it_may(part: str) -> None:
    graph = project_graph()
    wrong = {module: sorted(part_of(target) for target in targets if part_of(target) not in MAY_IMPORT[part])
             for module, targets in graph.items() if part_of(module) == part}
    assert {module: targets for module, targets in wrong.items() if targets} == {}


def environment_writes(path: Path) -> list[int]:
    """Lines of `path` that assign to `os.environ[...]` or call a mutating method of `os.environ` or `os.putenv`."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AugAssign | ast.AnnAssign) else []
        if any(isinstance(target, ast.Subscript) and ast.unparse(target.value) == "os.environ" for target in targets):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {
                "os.putenv", "os.environ.update", "os.environ.setdefault", "os.environ.pop", "os.environ.clear"}:
            lines.append(node.lineno)
    return lines


def test_no_module_writes_the_environment(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("import os\nos.environ['X'] = '1'\nos.environ.update(Y='2')\n", encoding="utf-8")
    assert environment_writes(planted) == [2, 3]
    writers = {str(path.relative_to(PACKAGE.parent)): lines for path in PACKAGE.rglob("*.py")
               if (lines := environment_writes(path))}
    assert writers == {}
