"""The code's shape, as a new engineer reads it: no module over 500 lines, no function
over 80, no import circle among the application's modules (imports inside functions
count), and question types named only by the registry."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("survey_app", "analysis")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts:
                continue
            yield rel, path.read_text(encoding="utf-8")


SOURCES = dict(_sources())


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_no_module_over_500_lines():
    long = {str(rel): src.count("\n") for rel, src in SOURCES.items()
            if src.count("\n") > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_over_80_lines():
    long = []
    for rel, src in SOURCES.items():
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name} ({length})")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def _imports(rel: Path, src: str, modules: set[str]) -> set[str]:
    """The application modules `rel` imports, at any depth of its code."""
    name = _module_name(rel)
    package = name if rel.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(src)):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            continue
        for target in targets:
            # The deepest application module the import names.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    modules = {_module_name(rel) for rel in SOURCES}
    graph = defaultdict(set)
    for rel, src in SOURCES.items():
        name = _module_name(rel)
        # A package's own __init__ is reached by importing any of its modules; counting
        # that edge would make every package with re-exports a "circle".
        graph[name] = {m for m in _imports(rel, src, modules)
                       if not name.startswith(m + ".")}
    assert _cycles(graph) == []


def test_the_circle_check_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_analysis_stays_free_of_flask():
    users = [str(rel) for rel, src in SOURCES.items() if rel.parts[0] == "analysis"
             and any(isinstance(n, (ast.Import, ast.ImportFrom))
                     and any((getattr(n, "module", None) or a.name).split(".")[0]
                             in ("flask", "flask_babel", "survey_app") for a in n.names)
                     for n in ast.walk(ast.parse(src)))]
    assert users == []
