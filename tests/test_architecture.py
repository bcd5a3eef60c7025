"""The layout keeps its shape: backend/'s top level is a package per role (the layers contract in
pyproject.toml, checked by `make lint`, says which may import which), and no two modules anywhere
in the project import each other, however indirectly. An import inside a function counts (a lazy
import does not cut a circle); one made only for type checking does not."""

from __future__ import annotations

from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "shared", "tui", "tests", "bench")
BACKEND_FLOORS = {"cli", "pages", "api", "live", "gate", "store", "rules", "runtime"}
"""backend/'s packages, one per role, as docs/ARCHITECTURE.md's Layout names them."""


def circles(imports: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that reach each other through imports (Tarjan's strongly
    connected components of more than one module, or of one that imports itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in imports.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in imports.get(module, ()):
                found.append(sorted(group))

    for module in sorted(imports):
        if module not in index:
            visit(module)
    return found


def test_circles_are_found_however_long_they_are() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_modules_import_each_other() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert len(imports) > 200, "the whole project was read"
    assert circles(imports) == []


def test_backends_top_level_is_a_package_per_role() -> None:
    entries = {
        path.name
        for path in (ROOT / "backend").iterdir()
        if path.name not in {"__init__.py", "__pycache__"}
    }
    assert entries == BACKEND_FLOORS | {"__main__.py", "app.py"}
    assert len(entries) <= 10
