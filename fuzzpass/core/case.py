"""Case files (``fuzzpass.case/1``, CASES.md): parsed and validated into a KernelSpec, written back.

Everything downstream trusts a :class:`Case`, so every rule of CASES.md is checked here, once; a
broken file is a :class:`CaseError` naming the offending field, which ``fuzzpass check`` prints as
its one-line reason (exit 2). Op fields and shape rules come from the op table: a new op needs no
change here.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, assert_never

from reference.errors import SpecError
from reference.graph import build_graph, check_name
from reference.ops import CASE_OPS, lookup
from reference.ops.base import FieldKind
from reference.spec import Dim, KernelSpec, NodeSpec, TileSpec
from reference.values import DTYPE_NAMES

FORMAT = "fuzzpass.case/1"
MAX_TILES = 2  # the grid has one dim per tile name
MAX_RANK = 4
MAX_NODES = 128
"""Graph nodes a case may have: the pass walks a value's uses recursively (as Helion's
``all_uses_remask`` does), a few Python frames per permute, so a chain of a few hundred
permutes would exhaust the interpreter's stack. Generated graphs have about a dozen."""


INFINITIES = ("inf", "-inf")
"""How a case writes an infinite scalar (``float()`` reads both)."""


@dataclass(frozen=True)
class Limits:
    """What one check may ask of this machine, so that a case too big for it is refused in one
    line instead of ending in a MemoryError or a run that never finishes. Adjustable per
    process through ``FUZZPASS_MAX_GIB`` and ``FUZZPASS_MAX_WORK_ITEMS``."""

    gib: float = 4.0
    """Memory for the case's float64 arrays: inputs with their padding, and the ground truth,
    which holds every value of the graph for every work item (value, validity and error)."""
    work_items: int = 65_536
    """Grid points: interpret mode runs them one after another, and the ground truth holds
    every value once per grid point."""

    @classmethod
    def from_environment(cls) -> Limits:
        try:
            return cls(
                float(os.environ.get("FUZZPASS_MAX_GIB", cls.gib)),
                int(os.environ.get("FUZZPASS_MAX_WORK_ITEMS", cls.work_items)),
            )
        except ValueError as e:
            raise CaseError("limits", f"FUZZPASS_MAX_GIB or FUZZPASS_MAX_WORK_ITEMS is not a number: {e}") from None


class CaseError(ValueError):
    """A case that breaks a rule; ``field`` is the dotted path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Case:
    """One validated case: its kernel spec plus the name, seed and expectations around it."""

    name: str
    seed: int
    spec: KernelSpec
    expect_deferred: dict[str, tuple[str, ...]] | None

    def to_json(self) -> dict[str, Any]:
        """The case in its file form (CASES.md key order), so ``parse_case`` gives it back."""
        spec = self.spec
        data: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "seed": self.seed,
            "dtype": spec.dtype,
            "tiles": {t: {"block": s.block, "lengths": list(s.lengths)} for t, s in spec.tiles.items()},
            "inputs": {src: {"shape": list(shape)} for src, shape in spec.inputs.items()},
            "graph": [
                ({} if node.out is None else {"out": node.out}) | {"op": node.op} | copy.deepcopy(node.fields)
                for node in spec.graph
            ],
        }
        if self.expect_deferred is not None:
            data["expect"] = {"deferred": {load: list(tiles) for load, tiles in self.expect_deferred.items()}}
        return data

    def dumps(self) -> str:
        """The file text: same case, same bytes, so the corpus and bug reports diff cleanly."""
        return json.dumps(self.to_json(), indent=2)


def load_case(path: str | os.PathLike[str]) -> Case:
    """The case in file ``path``; an unreadable file or bad JSON is a CaseError at ``file``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as e:
        raise CaseError("file", f"cannot read it: {getattr(e, 'strerror', None) or e}") from None
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as e:
        raise CaseError("file", f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    return parse_case(data)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys; in a hand-written case that hides a mistake.
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise CaseError("file", f"key {key!r} appears twice in one object")
        data[key] = value
    return data


def parse_case(data: object) -> Case:
    """The case that ``data`` (a parsed JSON file) describes, or a CaseError naming what is wrong.

    Structure and types are checked first, then the op table's shape rules (through
    ``build_graph``), then ``expect`` against the graph it talks about.
    """
    if not isinstance(data, dict):
        _fail("case", f"expected an object, got {_show(data)}")
    if data.get("format") != FORMAT:
        _fail("format", f"expected {FORMAT!r}, got {_show(data['format'])}" if "format" in data else "missing")
    _keys(data, "", ("format", "name", "seed", "dtype", "tiles", "inputs", "graph"), ("expect",))
    if not isinstance(data["name"], str):
        _fail("name", f"expected a string, got {_show(data['name'])}")
    seed = _int(data["seed"], "seed", 0)
    dtype = _dtype(data["dtype"], "dtype")
    tiles = _tiles(data["tiles"])
    inputs = {}
    for src, entry in _object(data["inputs"], "inputs", nonempty=True).items():
        _name(src, f"inputs.{src}")
        inputs[src] = _shape(_keys(entry, f"inputs.{src}", ("shape",))["shape"], f"inputs.{src}.shape", tiles)
    graph = _graph(data["graph"], tiles, inputs)
    spec = KernelSpec(dtype, tiles, inputs, graph)
    try:
        built = build_graph(spec)
    except SpecError as e:
        raise CaseError(e.field, e.message) from None
    values = [n.meta["value"].shape for n in built.nodes if n.meta.get("value") is not None]
    _fits(spec, values, Limits.from_environment())
    expect = None if "expect" not in data else _expect(data["expect"], spec)
    return Case(data["name"], seed, spec, expect)


def _tiles(data: object) -> dict[str, TileSpec]:
    tiles = _object(data, "tiles", nonempty=True)
    if len(tiles) > MAX_TILES:
        _fail("tiles", f"{len(tiles)} tiles; a case has at most {MAX_TILES}")
    result = {}
    for name, entry in tiles.items():
        at = f"tiles.{name}"
        _name(name, at)
        _keys(entry, at, ("block", "lengths"))
        lengths = _list(entry["lengths"], f"{at}.lengths", nonempty=True)
        result[name] = TileSpec(
            _int(entry["block"], f"{at}.block", 1),
            tuple(_int(n, f"{at}.lengths[{i}]", 0) for i, n in enumerate(lengths)),
        )
    return result


def _fits(spec: KernelSpec, values: list[tuple[int, ...]], limits: Limits) -> None:
    """Refuse a case this machine cannot hold (:class:`Limits`), naming the tile field that
    makes it so: its block when one work item's values alone are too big, else its lengths
    (too many work items or rows). Counted arithmetically: a billion rows are never listed."""
    items = {t: sum(-(-n // tile.block) for n in tile.lengths) for t, tile in spec.tiles.items()}
    grid = math.prod(items.values())
    most = max(items, key=lambda t: items[t])
    if grid > limits.work_items:
        _fail(
            f"tiles.{most}.lengths",
            f"{grid:,} work items; this machine checks at most {limits.work_items:,} (FUZZPASS_MAX_WORK_ITEMS)",
        )
    inputs = sum(
        math.prod(spec.tiles[d].total + 2 * spec.tiles[d].block if isinstance(d, str) else d for d in shape)
        for shape in spec.inputs.values()
    )
    per_item = 3 * sum(math.prod(shape) for shape in values)
    needed = 8 * (2 * inputs + grid * per_item) / 2**30  # float64; an input is held padded and cast
    if needed > limits.gib:
        big = max(spec.tiles, key=lambda t: spec.tiles[t].block)
        field = f"tiles.{big}.block" if 8 * per_item / 2**30 > limits.gib else f"tiles.{most}.lengths"
        _fail(field, f"the case needs about {needed:,.1f} GiB; the limit is {limits.gib:g} GiB (FUZZPASS_MAX_GIB)")


def _graph(data: object, tiles: dict[str, TileSpec], inputs: dict[str, tuple[Dim, ...]]) -> tuple[NodeSpec, ...]:
    """Each node's op, ``out`` and fields by their kinds; references to earlier values and the
    shapes they make are left to ``build_graph``, which knows them."""
    defined: dict[str, str] = {}  # out -> where it is defined
    dsts: set[str] = set()
    nodes = []
    raw_nodes = _list(data, "graph", nonempty=True)
    if len(raw_nodes) > MAX_NODES:
        _fail("graph", f"{len(raw_nodes)} nodes; a case has at most {MAX_NODES} (the pass walks uses recursively)")
    for index, raw in enumerate(raw_nodes):
        at = f"graph[{index}]"
        node = _object(raw, at)
        if node.get("op") not in CASE_OPS:
            known = ", ".join(sorted(CASE_OPS))
            _fail(f"{at}.op", f"unknown op {_show(node['op'])} (known: {known})" if "op" in node else "missing")
        op = lookup(node["op"])
        sink = "output" in op.fields.values()  # a store writes an output instead of defining a value
        if sink and "out" in node:
            _fail(f"{at}.out", f"a {op.name!r} defines no value, so it takes no 'out'")
        required = tuple(f for f in op.fields if f not in op.optional)
        _keys(node, at, ("op", *(() if sink else ("out",)), *required), tuple(f for f in op.fields if f in op.optional))
        out = None if sink else _name(node["out"], f"{at}.out")
        if out is not None:
            if out in defined:
                _fail(f"{at}.out", f"{out!r} is already defined by {defined[out]}")
            defined[out] = at
        fields = {
            k: _field(op.fields[k], v, f"{at}.{k}", tiles, inputs) for k, v in node.items() if k not in ("op", "out")
        }
        for key, kind in op.fields.items():
            if kind == "output" and key in fields:
                if fields[key] in dsts:
                    _fail(f"{at}.{key}", f"{fields[key]!r} is written by an earlier store")
                dsts.add(fields[key])
        nodes.append(NodeSpec(op.name, out, fields))
    if not dsts:
        _fail("graph", "no store: a case must write at least one output")
    return tuple(nodes)


def _field(kind: FieldKind, value: Any, at: str, tiles: dict[str, TileSpec], inputs: dict[str, tuple[Dim, ...]]) -> Any:
    """``value`` checked as a field of ``kind`` (reference.ops.base.FieldKind), copied so that
    the case owns it."""
    if kind == "value":
        if not isinstance(value, str):
            _fail(at, f"expected the name of an earlier 'out', got {_show(value)}")
        return value
    if kind == "input":
        if not isinstance(value, str) or value not in inputs:
            _fail(at, f"{_show(value)} is not an input (inputs: {', '.join(inputs)})")
        return value
    if kind == "output":
        name = _name(value, at)  # it names a kernel parameter, ``<dst>_ref``
        if name in inputs:
            _fail(at, f"{name!r} is already an input's name")
        return name
    if kind == "ints":
        return [_int(d, f"{at}[{i}]") for i, d in enumerate(_list(value, at))]
    if kind == "int":
        return _int(value, at)
    if kind == "shape":
        return list(_shape(value, at, tiles))
    if kind == "number":
        if value in INFINITIES:  # JSON has no infinity: the strings stand for it, and stay strings
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            _fail(at, f'expected a finite number, "inf" or "-inf", got {_show(value)}')
        return value
    if kind == "dtype":
        return _dtype(value, at)
    if kind == "pairs":
        pair = _list(value, at)
        if len(pair) != 2:
            _fail(at, f"expected two lists of integers (lhs, rhs), got {_show(value)}")
        return [
            [_int(d, f"{at}[{side}][{i}]") for i, d in enumerate(_list(dims, f"{at}[{side}]"))]
            for side, dims in enumerate(pair)
        ]
    assert_never(kind)


def _expect(data: object, spec: KernelSpec) -> dict[str, tuple[str, ...]]:
    """``expect.deferred``: per load, tiles its input holds (a decision the pass could make)."""
    deferred = _keys(data, "expect", ("deferred",))["deferred"]
    loads = {node.out: node["src"] for node in spec.graph if node.op == "load"}
    result = {}
    for out, names in _object(deferred, "expect.deferred").items():
        at = f"expect.deferred.{out}"
        if out not in loads:
            _fail(at, f"{out!r} is not the 'out' of a load (loads: {', '.join(map(str, loads))})")
        held = [d for d in spec.inputs[loads[out]] if isinstance(d, str)]
        for i, name in enumerate(_list(names, at)):
            if name not in held:
                _fail(f"{at}[{i}]", f"{_show(name)} is not a tile of input {loads[out]!r} (its tiles: {held})")
            if name in names[:i]:
                _fail(f"{at}[{i}]", f"{name!r} is listed twice")
        result[out] = tuple(names)
    return result


# -- field checks: each returns the checked value or raises naming ``at`` ---------------------


def _fail(at: str, message: str) -> NoReturn:
    raise CaseError(at, message)


def _show(value: object) -> str:
    """``value`` as JSON, cut short: error messages stay one readable line."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def _object(value: object, at: str, *, nonempty: bool = False) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(at, f"expected an object, got {_show(value)}")
    if nonempty and not value:
        _fail(at, "expected at least one entry")
    return value


def _keys(value: object, at: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """``value`` as an object with exactly the ``required`` keys and some of ``optional``."""
    data = _object(value, at)
    prefix = f"{at}." if at else ""
    for key in data:
        if key not in required and key not in optional:
            _fail(f"{prefix}{key}", f"unknown field {key!r} (fields: {', '.join((*required, *optional))})")
    for key in required:
        if key not in data:
            _fail(f"{prefix}{key}", "missing")
    return data


def _list(value: object, at: str, *, nonempty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        _fail(at, f"expected a list, got {_show(value)}")
    if nonempty and not value:
        _fail(at, "expected at least one entry")
    return value


def _int(value: object, at: str, minimum: int | None = None) -> int:
    # bool is an int to Python, but ``true`` is no integer to a person writing JSON.
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(at, f"expected an integer, got {_show(value)}")
    if minimum is not None and value < minimum:
        _fail(at, f"expected an integer >= {minimum}, got {value}")
    return value


def _name(value: object, at: str) -> str:
    """A name that becomes an identifier in generated kernels."""
    if not isinstance(value, str):
        _fail(at, f"expected a name, got {_show(value)}")
    if reason := check_name(value):
        _fail(at, reason)
    return value


def _dtype(value: object, at: str) -> str:
    if not isinstance(value, str) or value not in DTYPE_NAMES:
        _fail(at, f"{_show(value)} is not one of {', '.join(DTYPE_NAMES)}")
    return value


def _shape(value: object, at: str, tiles: dict[str, TileSpec]) -> tuple[Dim, ...]:
    dims = _list(value, at, nonempty=True)
    if len(dims) > MAX_RANK:
        _fail(at, f"rank {len(dims)}; at most {MAX_RANK} dims")
    for i, d in enumerate(dims):
        if isinstance(d, str):
            if d not in tiles:
                _fail(f"{at}[{i}]", f"{d!r} is not a declared tile (tiles: {', '.join(tiles)})")
        elif isinstance(d, bool) or not isinstance(d, int) or d < 1:
            _fail(f"{at}[{i}]", f"expected an integer >= 1 or a tile name, got {_show(d)}")
    return tuple(dims)
