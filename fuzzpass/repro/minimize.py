"""``fuzzpass minimize``: shrink a failing case while it fails the same way.

Graph-level delta debugging (Zeller's ddmin, applied greedily to a graph): each round tries
smaller variants of the case, structure first (drop or bypass a node, fuse two permutes, drop a
plain dim from an input), then sizes (plain dims, a tile's block, sequences and lengths), then
data (float32, seed 0), and keeps the first that still fails with the same signature (verdict
kind and rule). Rounds repeat until none helps or the time is up. It works on any case file,
hand-written or generated; a generated finding has already been shrunk by Hypothesis.

A smaller graph may need a different expectation: a case whose ``expect`` is what the rules
say (``fuzzpass.core.expect``) gets the rules' expectation for every smaller graph, never one
from the pass under test; a hand-written ``expect`` that differs from the rules is kept, for
the loads that remain.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzpass.core.case import Case, CaseError, load_case, parse_case
from fuzzpass.core.expect import expect_from_spec
from fuzzpass.judge.checked import Checked, Config, check
from reference.graph import values_of

Json = dict[str, Any]

VALUE_FIELDS = ("arg", "lhs", "rhs")
ELEMENTWISE = frozenset({"exp", "neg", "abs", "add", "sub", "mul", "maximum", "cast"})
REDUCTIONS = frozenset({"sum", "max", "min"})


@dataclass
class Step:
    """One accepted reduction and the size it left."""

    what: str
    nodes: int
    rank: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.seconds:6.1f}s  {self.what:<48} -> {self.nodes} nodes, rank {self.rank}"


@dataclass
class Minimized:
    original: Case
    case: Case
    target: tuple[str, str]  # (verdict kind, rule) the reductions keep
    steps: list[Step] = field(default_factory=list)
    checks: int = 0
    seconds: float = 0.0


def size(data: Json) -> tuple[int, int]:
    """(graph nodes, largest input rank): what the minimizer reports and reduces."""
    return len(data["graph"]), max((len(i["shape"]) for i in data["inputs"].values()), default=0)


def _deferred(expect: dict[str, dict[str, str]]) -> dict[str, tuple[str, ...]]:
    return {load: tuple(t for t, r in tiles.items() if r == "deferred") for load, tiles in expect.items()}


class Minimizer:
    def __init__(
        self, case: Case, config: Config, seconds: float, log: Callable[[str], None], kind: str | None = None
    ) -> None:
        self.config, self.deadline, self.log = config, time.monotonic() + seconds, log
        self.start = time.monotonic()
        first = check(case, config)
        self.slowest = time.monotonic() - self.start
        target = next((s for s in first.signatures if kind is None or s.kind == kind), None)
        if target is None:
            raise ValueError(f"{case.name} passes: there is nothing to minimize" if not first.signatures else
                             f"{case.name} fails as {first.signature}, no longer as a {kind} finding")  # fmt: skip
        self.by_rules = case.expect_deferred is not None and _same(case.expect_deferred, expect_from_spec(case.spec))
        self.result = Minimized(case, case, (target.kind, target.rule), checks=1)

    # -- judging a candidate -------------------------------------------------------------

    def parse(self, data: Json) -> Case | None:
        """The candidate as a valid case with the right expectation, or None."""
        try:
            case = parse_case(_without_expect(data))
        except (CaseError, KeyError, TypeError, ValueError):
            return None
        original = self.result.original.expect_deferred
        if original is None:
            return case
        if self.by_rules:
            expect = _deferred(expect_from_spec(case.spec))
        else:
            loads = {n.out for n in case.spec.graph if n.op == "load"}
            expect = {load: tiles for load, tiles in original.items() if load in loads}
        return Case(case.name, case.seed, case.spec, expect)

    def out_of_time(self) -> bool:
        """Whether another check, as long as the slowest so far, would end past the limit."""
        return time.monotonic() + self.slowest > self.deadline

    def holds(self, case: Case) -> bool:
        start = time.monotonic()
        try:
            return self._holds(case)
        finally:
            self.slowest = max(self.slowest, time.monotonic() - start)

    def _holds(self, case: Case) -> bool:
        self.result.checks += 1
        checked: Checked = check(case, self.config)
        return self.result.target in {(s.kind, s.rule) for s in checked.signatures}

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> Minimized:
        kind, rule = self.result.target
        self.log(f"target: {kind} | {rule}; start: {_describe(self.current)}")
        progress = True
        while progress and not self.out_of_time():
            progress = False
            for what, candidate in self.candidates(self.current):
                if self.out_of_time():
                    break
                case = self.parse(candidate)
                if case is None or case.to_json() == self.result.case.to_json() or not self.holds(case):
                    continue
                self.result.case = case
                nodes, rank = size(self.current)
                step = Step(what, nodes, rank, time.monotonic() - self.start)
                self.result.steps.append(step)
                self.log(str(step))
                progress = True
                break  # candidates are generated from the new case
        self.result.seconds = time.monotonic() - self.start
        return self.result

    @property
    def current(self) -> Json:
        return self.result.case.to_json()

    def candidates(self, data: Json) -> Iterator[tuple[str, Json]]:
        """Smaller grids first (every later check runs faster), then structure, then sizes."""
        yield from shrink_lengths(data)
        yield from drop_nodes(data)
        yield from fuse_permutes(data)
        yield from simpler_consumers(data)
        yield from drop_dims(data)
        yield from drop_inputs(data)
        yield from shrink_dims(data)
        yield from shrink_tiles(data)
        yield from simplify_data(data)


def minimize(
    case: Case, config: Config, seconds: float = 60.0, log: Callable[[str], None] = print, kind: str | None = None
) -> Minimized:
    """The smallest case found within ``seconds`` that fails as ``case`` does (as its ``kind``
    finding, where the check finds several)."""
    return Minimizer(case, config, seconds, log, kind).run()


def _same(expect: dict[str, tuple[str, ...]], rules: dict[str, dict[str, str]]) -> bool:
    got = _deferred(rules)
    return {k: sorted(v) for k, v in expect.items()} == {k: sorted(v) for k, v in got.items()}


def _without_expect(data: Json) -> Json:
    return {k: v for k, v in data.items() if k != "expect"}


def _describe(data: Json) -> str:
    nodes, rank = size(data)
    return f"{nodes} nodes, rank {rank}"


# -- reductions: each yields (what it did, the smaller case) ---------------------------------


def _uses(graph: list[Json], name: str) -> list[tuple[int, str]]:
    return [(i, f) for i, n in enumerate(graph) for f in VALUE_FIELDS if n.get(f) == name]


def drop_nodes(data: Json) -> Iterator[tuple[str, Json]]:
    """Remove a store or an unused value; bypass a one-input node (its uses read its input)."""
    graph = data["graph"]
    for i in reversed(range(len(graph))):
        node = graph[i]
        out = node.get("out")
        if out is None or not _uses(graph, out):
            cone = _cone(graph, i)
            if len(cone) > 1:
                smaller = copy.deepcopy(data)
                smaller["graph"] = [n for j, n in enumerate(graph) if j not in cone]
                yield f"drop {node['op']} {out or node.get('dst')} and the {len(cone) - 1} nodes only it used", smaller
            smaller = copy.deepcopy(data)
            del smaller["graph"][i]
            yield f"drop {node['op']} {out or node.get('dst')}", smaller
            continue
        arg = node.get("arg")
        if arg is not None and node["op"] != "load":
            smaller = copy.deepcopy(data)
            for j, f in _uses(graph, out):
                smaller["graph"][j][f] = arg
            del smaller["graph"][i]
            yield f"bypass {node['op']} {out}", smaller


def _cone(graph: list[Json], i: int) -> set[int]:
    """Node ``i`` and, transitively, the nodes whose values only the cone uses."""
    cone = {i}
    changed = True
    while changed:
        changed = False
        for j, node in enumerate(graph):
            out = node.get("out")
            if j in cone or out is None:
                continue
            users = {k for k, _ in _uses(graph, out)}
            if users and users <= cone:
                cone.add(j)
                changed = True
    return cone


def fuse_permutes(data: Json) -> Iterator[tuple[str, Json]]:
    """A permute of a permute (used nowhere else) as one permute."""
    graph = data["graph"]
    for i, second in enumerate(graph):
        if second["op"] != "permute":
            continue
        j = next((k for k, n in enumerate(graph) if n.get("out") == second["arg"]), None)
        if j is None or graph[j]["op"] != "permute" or len(_uses(graph, graph[j]["out"])) != 1:
            continue
        first = graph[j]
        smaller = copy.deepcopy(data)
        smaller["graph"][i] = dict(second, arg=first["arg"], dims=[first["dims"][d] for d in second["dims"]])
        del smaller["graph"][j]
        yield f"fuse permutes {first['out']}, {second['out']}", smaller


def drop_inputs(data: Json) -> Iterator[tuple[str, Json]]:
    loaded = {n["src"] for n in data["graph"] if n["op"] == "load"}
    for src in data["inputs"]:
        if src not in loaded and len(data["inputs"]) > 1:
            smaller = copy.deepcopy(data)
            del smaller["inputs"][src]
            yield f"drop input {src}", smaller


def drop_dims(data: Json) -> Iterator[tuple[str, Json]]:
    """Each plain dim of each input, removed, with every node downstream renumbered."""
    for src, entry in data["inputs"].items():
        for d, dim in enumerate(entry["shape"]):
            if isinstance(dim, int) and len(entry["shape"]) > 1:
                smaller = remove_dim(data, src, d)
                if smaller is not None:
                    yield f"drop dim {d} ({dim}) of {src}", smaller


class _CannotFollow(Exception):
    """A node that :func:`remove_dim` cannot renumber (a reshape, a broadcast, a paired dim)."""


def remove_dim(data: Json, src: str, d: int) -> Json | None:
    """``data`` with dim ``d`` of input ``src`` gone and every node downstream renumbered, or
    None where a node cannot follow."""
    try:
        ranks = {name: v.rank for name, v in values_of(parse_case(_without_expect(data)).spec).items()}
    except CaseError:
        return None
    out = copy.deepcopy(data)
    out["inputs"][src]["shape"].pop(d)
    gone: dict[str, int | None] = {}  # value -> index of the removed dim in it (None: not there)
    bypass: dict[str, str] = {}
    graph = []
    try:
        for node in out["graph"]:
            for f in VALUE_FIELDS:
                if node.get(f) in bypass:
                    node[f] = bypass[node[f]]
            ks = {f: gone.get(node[f]) for f in VALUE_FIELDS if node.get(f) in gone}
            op = node["op"]
            if op == "load":
                if node["src"] == src:
                    gone[node["out"]] = d
            elif all(k is None for k in ks.values()):
                pass
            elif op == "permute":
                k = ks["arg"]
                gone[node["out"]] = node["dims"].index(k)
                node["dims"] = [x - (x > k) for x in node["dims"] if x != k]  # type: ignore[operator]
            elif op in ELEMENTWISE and "arg" in node:
                gone[node["out"]] = ks["arg"]
            elif op in REDUCTIONS:
                k = ks["arg"]
                assert k is not None
                if node["axis"] == k:  # it reduced the removed dim: now it does nothing
                    bypass[node["out"]] = node["arg"]
                    continue
                node["axis"] -= node["axis"] > k
                gone[node["out"]] = k - (k > node["axis"])
            elif op == "dot_general":
                gone[node["out"]] = _dot_without(node, ks.get("lhs"), ks.get("rhs"), ranks[node["lhs"]])
            elif op == "reshape" and 1 in node["shape"] and data["inputs"][src]["shape"][d] == 1:
                j = node["shape"].index(1)  # a size-1 dim in, a size-1 dim out: the order is unchanged
                node["shape"].pop(j)
                gone[node["out"]] = j
            elif op != "store":
                raise _CannotFollow(op)
            graph.append(node)
    except _CannotFollow:
        return None
    out["graph"] = graph
    return out


def _dot_without(node: Json, lk: int | None, rk: int | None, lhs_rank: int) -> int | None:
    """Renumber a dot whose lhs lost dim ``lk`` and/or whose rhs lost dim ``rk``; return the
    removed dim's index in the result (None when it was contracted away)."""
    (lc, rc), (lb, rb) = node["contract"], node["batch"]
    result: int | None
    if (lk in lc + lb) or (rk in rc + rb):  # a paired dim: both sides must lose the same pair
        pairs = list(zip(lc + lb, rc + rb, strict=True))
        if (lk, rk) not in pairs:
            raise _CannotFollow("dot_general")
        if lk in lb:
            i = lb.index(lk)
            del lb[i], rb[i]
            result = i
        else:
            i = lc.index(lk)
            del lc[i], rc[i]
            result = None
    elif lk is not None and rk is not None:
        raise _CannotFollow("dot_general")
    elif lk is not None:
        result = len(lb) + sum(1 for x in range(lk) if x not in lc and x not in lb)
    else:
        assert rk is not None
        lhs_free = lhs_rank - len(lc) - len(lb)
        result = len(lb) + lhs_free + sum(1 for x in range(rk) if x not in rc and x not in rb)
    node["contract"] = [[x - (lk is not None and x > lk) for x in lc], [x - (rk is not None and x > rk) for x in rc]]
    node["batch"] = [[x - (lk is not None and x > lk) for x in lb], [x - (rk is not None and x > rk) for x in rb]]
    return result


def shrink_dims(data: Json) -> Iterator[tuple[str, Json]]:
    """Every plain dim of one size, everywhere, made smaller (so dot pairs stay equal)."""
    sizes = sorted({d for e in data["inputs"].values() for d in e["shape"] if isinstance(d, int)}, reverse=True)
    for n in sizes:
        for smaller_n in sorted({1, 2, n // 2} - {0, n}):
            if smaller_n >= n:
                continue
            smaller = copy.deepcopy(data)
            for e in smaller["inputs"].values():
                e["shape"] = [smaller_n if d == n else d for d in e["shape"]]
            for node in smaller["graph"]:
                if node["op"] == "reshape":
                    node["shape"] = [smaller_n if d == n else d for d in node["shape"]]
            yield f"dims of {n} -> {smaller_n}", smaller


def shrink_tiles(data: Json) -> Iterator[tuple[str, Json]]:
    """A second tile made plain; smaller blocks."""
    tiles = data["tiles"]
    for name, tile in tiles.items():
        if len(tiles) > 1:
            yield f"tile {name} -> plain dim", _plain(data, name, tile["block"])
        for block in sorted({1, 2, 4, 8, tile["block"] // 2} - {0}):
            if block < tile["block"]:
                smaller = copy.deepcopy(data)
                smaller["tiles"][name]["block"] = block
                yield f"block of {name} -> {block}", smaller


def shrink_lengths(data: Json) -> Iterator[tuple[str, Json]]:
    """Fewer sequences, and shorter ones: at most one block and its remainder, half, one less."""
    for name, tile in data["tiles"].items():
        lengths, block = tile["lengths"], tile["block"]
        if len(lengths) > 1:
            for keep in range(len(lengths)):
                smaller = copy.deepcopy(data)
                smaller["tiles"][name]["lengths"] = [lengths[keep]]
                yield f"only sequence {keep} of {name}", smaller
            for i in range(len(lengths)):
                smaller = copy.deepcopy(data)
                del smaller["tiles"][name]["lengths"][i]
                yield f"drop sequence {i} of {name}", smaller
        for i, n in enumerate(lengths):
            for m in sorted({n % block + (block if n > block else 0), n // 2, n - 1} - {n}):
                if 0 <= m < n:
                    smaller = copy.deepcopy(data)
                    smaller["tiles"][name]["lengths"][i] = m
                    yield f"length {i} of {name} -> {m}", smaller


def simpler_consumers(data: Json) -> Iterator[tuple[str, Json]]:
    """A dot as a sum of one operand over its first contracted dim (still a zero-fill
    consumer of that operand, with one input and one node fewer)."""
    for i, node in enumerate(data["graph"]):
        if node["op"] != "dot_general":
            continue
        for side, dims in (("lhs", node["contract"][0]), ("rhs", node["contract"][1])):
            if dims:
                smaller = copy.deepcopy(data)
                smaller["graph"][i] = {"out": node["out"], "op": "sum", "arg": node[side], "axis": dims[0]}
                yield f"dot {node['out']} -> sum of its {side}", smaller


def _plain(data: Json, name: str, block: int) -> Json:
    out = copy.deepcopy(data)
    del out["tiles"][name]
    for e in out["inputs"].values():
        e["shape"] = [block if d == name else d for d in e["shape"]]
    for node in out["graph"]:
        if node["op"] == "reshape":
            node["shape"] = [block if d == name else d for d in node["shape"]]
    return out


def simplify_data(data: Json) -> Iterator[tuple[str, Json]]:
    if data["dtype"] != "float32":
        yield "dtype -> float32", dict(copy.deepcopy(data), dtype="float32")
    if data["seed"] != 0:
        yield "seed -> 0", dict(copy.deepcopy(data), seed=0)


def minimize_beside(path: Path, config: Config, seconds: float) -> dict[str, Any]:
    """Minimize the finding at ``path`` into ``minimized.json`` beside it; its sizes before and
    after, and the time (``fuzzpass mutants --minimize``)."""
    result = minimize(load_case(path), config, seconds, log=lambda line: None)
    (nodes_before, rank_before), (nodes_after, rank_after) = (
        size(result.original.to_json()),
        size(result.case.to_json()),
    )
    minimized = path.with_name("minimized.json")
    minimized.write_text(result.case.dumps() + "\n")
    return {
        "nodes_before": nodes_before,
        "nodes_after": nodes_after,
        "rank_before": rank_before,
        "rank_after": rank_after,
        "minimize_seconds": round(result.seconds, 2),
        "minimized": str(minimized),
    }
