"""The package layout is a picture of the architecture: no import cycle, and layers only import below.

The graph counts every import, lazy ones inside functions and TYPE_CHECKING ones included, so a
cycle cannot hide behind an import moved into a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import clipsafety

PACKAGE = Path(clipsafety.__file__).parent
# Lowest first: a layer may import its own modules and those of the layers before it.
LAYERS = ("util", "models", "stats", "invert", "cache", "probes", "suite", "results", "gate", "report", "run", "options",
          "plugin", "cli")
# Plugged in through entry points, as a third party would: the core never imports them.
WORLDS = ("toyworld", "synthworld", "training")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The clipsafety modules `path` imports (a `from pkg import module` counts as the module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, modules) for p in paths}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_sees_a_cycle_and_its_absence():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_layers_import_only_below():
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    wrong = []
    for module, deps in import_graph().items():
        layer = layer_of(module)
        if layer in WORLDS or layer not in rank:
            continue
        for dep in deps:
            dep_layer = layer_of(dep)
            if dep_layer in WORLDS:
                wrong.append(f"{module} imports the plugged-in world {dep}")
            elif dep_layer in rank and rank[dep_layer] > rank[layer]:
                wrong.append(f"{module} ({layer}) imports {dep} ({dep_layer}), a layer above it")
    assert not wrong, "\n".join(sorted(wrong))


def test_every_module_belongs_to_a_layer():
    loose = [m for m in import_graph() if m.count(".") and layer_of(m) not in (*LAYERS, *WORLDS, "__main__")]
    assert not loose, f"modules outside the layers {LAYERS}: {loose}"
