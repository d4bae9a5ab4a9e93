"""The tree keeps its architecture (``fuzzpass/__init__.py``, ``../shared/ARCHITECTURE.md``):
no import cycles, rooms import only the rooms below them, ``reference/`` knows nothing of the
harness, ``generators/`` nothing of it but the case contract and the rules a case's expectation
follows (``fuzzpass/core/expect.py``).

Every import counts, those inside functions too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fuzzpass", "generators", "reference", "candidates")

RANKS = {
    "core": 0,
    "backends": 1,
    "judge": 2,
    "perf": 3,
    "repro": 4,
    "report": 5,
    "fuzz": 6,
    "kernels": 7,
    "commands": 8,
    "cli": 9,
}
"""fuzzpass's rooms, lowest first: a module imports only modules of its own room or lower."""

TOP_LEVEL_MODULES = 6
"""At most this many modules directly in ``fuzzpass/`` (``__init__`` and ``__main__`` included):
the foundation lives in ``core/``, each concern in a room of its own."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """The first-party modules ``path`` imports (``from package import module`` resolved to
    the module, ``from module import name`` to the module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


GRAPH = {name: imports(path) for name, path in MODULES.items()}


def room(module: str) -> str:
    if module == "fuzzpass":
        return "core"
    if module in ("fuzzpass.cli", "fuzzpass.__main__"):
        return "cli"
    if module == "fuzzpass.regression":  # the public import path of exported regression tests
        return "repro"
    return module.split(".")[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once, as the modules along it (Tarjan's strongly connected
    components of more than one module, or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_the_tree() -> None:
    assert {
        "fuzzpass.cli",
        "fuzzpass.commands.flags",
        "fuzzpass.judge.check",
        "fuzzpass.fuzz.run",
        "reference.defer",
    } <= set(MODULES)
    assert "fuzzpass.commands.check" in GRAPH["fuzzpass.cli"]
    assert "fuzzpass.judge.check" in GRAPH["fuzzpass.judge.checked"]
    assert "fuzzpass.backends.tpu_aot" in GRAPH["fuzzpass.judge.check"]  # imported inside a function


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("fuzzpass")))
def test_rooms_import_only_rooms_below(module: str) -> None:
    here = room(module)
    assert here in RANKS, f"{module} is in no room"
    upward = [m for m in GRAPH[module] if m.startswith("fuzzpass") and RANKS[room(m)] > RANKS[here]]
    assert upward == [], f"{module} ({here}) imports a higher room"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_lower_packages_know_nothing_of_the_harness(module: str) -> None:
    targets = GRAPH[module]
    if module.startswith(("reference", "candidates")):  # a candidate pass is the reference's, changed
        assert {m for m in targets if not m.startswith("reference")} == set()
    elif module.startswith("generators"):
        assert {m for m in targets if m.startswith("fuzzpass")} <= {"fuzzpass.core.case", "fuzzpass.core.expect"}
    elif module.startswith(("fuzzpass.judge", "fuzzpass.backends", "fuzzpass.perf")) or room(module) == "core":
        assert {m for m in targets if m.startswith("generators")} == set(), "a case is judged the same whoever drew it"


def test_the_package_top_level_stays_small() -> None:
    top = sorted(p.name for p in (ROOT / "fuzzpass").glob("*.py"))
    assert len(top) <= TOP_LEVEL_MODULES, top


def names_compared(path: Path, names: Iterable[str]) -> list[str]:
    """Where ``path`` compares a value with one of ``names`` (a gate's, a backend's) written as
    a string, or takes one as a default: the name belongs to its record (``reference.gates``,
    ``fuzzpass.backends``), so every such place would silently miss a record renamed, added,
    or given a new property there."""
    names = set(names)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.arguments):
            operands = [*node.defaults, *(d for d in node.kw_defaults if d is not None)]
        else:
            continue
        for operand in operands:
            for leaf in ast.walk(operand):
                if isinstance(leaf, ast.Constant) and leaf.value in names:
                    found.append(f"{path.name}:{leaf.lineno}: {leaf.value!r}")
    return found


@pytest.mark.parametrize(("registry", "records"), [("reference.gates", "GATES"), ("fuzzpass.backends", "BACKENDS")])
def test_no_gate_or_backend_name_is_compared_as_a_string_outside_its_registry(registry: str, records: str) -> None:
    names = getattr(importlib.import_module(registry), records)
    found = [hit for name, path in MODULES.items() if name != registry for hit in names_compared(path, names)]
    assert found == []


def test_the_name_check_finds_one(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('def f(gate: str = "layout") -> bool:\n    return gate != "positional"\n')
    assert sorted(names_compared(probe, ["layout", "positional"])) == [
        "probe.py:1: 'layout'",
        "probe.py:2: 'positional'",
    ]
