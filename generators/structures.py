"""Kernel graphs drawn valid by construction, each with the decision the pass must make.

The model is NNSmith's: every op is added by a rule that knows its input shapes, so a drawn
graph is valid without filtering (no ``assume``, no health-check trips). A graph is a load,
a chain of 0-3 permutes, and a consumer (a reduction, a dot with a second operand, an
elementwise op and a reduction, or a store), plus the structures a policy asks for: a reshape
on the path, a second use, a non-zero fill, a second clean path.

Every choice goes through :class:`Choices`: Hypothesis draws them for ``fuzzpass run``
(:func:`structures`), and ``generators/enumeration.py`` walks every one of them for
``fuzzpass exhaust``, so "every structure the generators can draw" is the same set of graphs
for both.

The decision oracle is independent of the pass. While it builds the graph, the builder notes
what became of each load's value: it reached a consumer's mask (with which fill, and where
each tile dim then sat), or a reshape, or any other use. :func:`expected_reason` turns those
notes into the pass's rule by construction, not by walking the fx graph the pass walks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from hypothesis import strategies as st

from fuzzpass.core.expect import FILLS, Outcome, expect_from_spec, expected_reason
from generators.policies import Policy, Weights
from reference.spec import Dim, KernelSpec, NodeSpec, TileSpec

T = TypeVar("T")

MAX_ELEMENTS = 1 << 15
"""Elements per value in one work item: keeps an interpret-mode case in tens of milliseconds."""

UNARY = ("exp", "neg", "abs")
BINARY = ("add", "sub", "mul", "maximum")
SCALARS: tuple[float | str, ...] = (0.5, -1.0, 2.0)
INFINITE: tuple[float | str, ...] = ("inf", "-inf")
"""Infinite scalars (the case file's spelling) for ``add``, ``sub`` and ``mul``: a product's
masked value with an infinite factor is Helion's ``strict_float`` rule, a known infinite one
its partner rule's exception (``reference/neighbours.py``)."""


def weighted(weights: Weights) -> st.SearchStrategy[str]:
    """One of ``weights``' choices, as often as its weight says; shrinks to the first."""
    return st.sampled_from([choice for choice, w in weights for _ in range(w)])


class Choices(Protocol):
    """Every choice a structure is built from. The weights say how often Hypothesis picks
    each option; an enumeration takes every option once."""

    def pick(self, options: Sequence[T]) -> T: ...

    def weighted(self, weights: Weights) -> str: ...

    def integer(self, lo: int, hi: int) -> int: ...

    def boolean(self) -> bool: ...

    def permutation(self, n: int) -> list[int]: ...

    def percent(self, p: int) -> bool:
        """True ``p`` percent of the time."""
        ...


@dataclass
class Drawn:
    """:class:`Choices` drawn by Hypothesis (so they shrink, replay and mutate as it does)."""

    draw: st.DrawFn

    def pick(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def weighted(self, weights: Weights) -> str:
        return self.draw(weighted(weights))

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def boolean(self) -> bool:
        return self.draw(st.booleans())

    def permutation(self, n: int) -> list[int]:
        return list(self.draw(st.permutations(range(n))))

    def percent(self, p: int) -> bool:
        return self.draw(st.integers(0, 99)) < p


@dataclass(frozen=True)
class Structure:
    """A drawn graph without its jagged lengths: everything a compiled kernel depends on."""

    dtype: str
    blocks: dict[str, int]
    inputs: dict[str, tuple[Dim, ...]]
    graph: tuple[NodeSpec, ...]
    expect: dict[str, dict[str, str]]
    """Per load, per tile: the reason the oracle expects (``deferred`` or a refusal)."""

    def spec(self, lengths: dict[str, tuple[int, ...]]) -> KernelSpec:
        tiles = {t: TileSpec(b, lengths[t]) for t, b in self.blocks.items()}
        return KernelSpec(self.dtype, tiles, dict(self.inputs), self.graph)

    @property
    def expect_deferred(self) -> dict[str, tuple[str, ...]]:
        """The oracle's expectation in the case file's ``expect.deferred`` form."""
        return {load: tuple(t for t, r in reasons.items() if r == "deferred") for load, reasons in self.expect.items()}


def structure_of(spec: KernelSpec) -> Structure:
    """A case's structure, as if drawn (a seed of the corpus: a real kernel's structure), its
    expectation from the decision rules."""
    blocks = {t: s.block for t, s in spec.tiles.items()}
    return Structure(spec.dtype, blocks, dict(spec.inputs), spec.graph, expect_from_spec(spec))


class TooLarge(Exception):
    """The structure being built has passed the enumeration's node bound."""


@dataclass
class _Val:
    name: str
    shape: tuple[Dim, ...]
    origin: str | None  # the load this value is that load's value permuted, if it is


class _Builder:
    """Adds nodes through shape-aware rules and notes what each load's value became."""

    def __init__(
        self,
        c: Choices,
        policy: Policy,
        disabled: frozenset[str],
        dtype: str,
        blocks: dict[str, int],
        max_nodes: int | None = None,
    ):
        self.c, self.policy, self.disabled = c, policy, disabled
        self.max_nodes = max_nodes
        self.dtype, self.blocks = dtype, blocks
        self.nodes: list[NodeSpec] = []
        self.inputs: dict[str, tuple[Dim, ...]] = {}
        self.outcomes: dict[str, list[Outcome]] = {}
        self.load_shapes: dict[str, tuple[Dim, ...]] = {}
        self.count = 0
        self.stores = 0
        self.regrouped = False

    # -- bookkeeping ---------------------------------------------------------------------

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def add(self, op: str, out: str | None, **fields: object) -> None:
        if self.max_nodes is not None and len(self.nodes) >= self.max_nodes:
            raise TooLarge  # an enumeration bounded by node count: nodes are only ever added
        self.nodes.append(NodeSpec(op, out, dict(fields)))

    def note(self, v: _Val, kind: str, fill: float = 0.0) -> None:
        """Record what became of ``v``'s load (if ``v`` is still that load's value)."""
        if v.origin is None:
            return
        positions = {d: i for i, d in enumerate(v.shape) if isinstance(d, str)}
        self.outcomes[v.origin].append(Outcome(kind, fill, positions, len(v.shape)))

    def need(self, nodes: int) -> None:
        """A rule about to make choices whose graph needs at least ``nodes`` more nodes:
        :class:`TooLarge` now, before an enumeration walks choices that cannot fit."""
        if self.max_nodes is not None and len(self.nodes) + nodes > self.max_nodes:
            raise TooLarge

    def size(self, d: Dim) -> int:
        return self.blocks[d] if isinstance(d, str) else d

    def elements(self, shape: tuple[Dim, ...]) -> int:
        return math.prod(self.size(d) for d in shape)

    def enabled(self, *kinds: str) -> list[str]:
        return [k for k in kinds if k not in self.disabled]

    # -- ops -----------------------------------------------------------------------------

    def load(self, shape: tuple[Dim, ...]) -> _Val:
        src, out = self.fresh("q"), self.fresh("x")
        self.inputs[src] = shape
        self.add("load", out, src=src)
        self.outcomes[out], self.load_shapes[out] = [], shape
        return _Val(out, shape, out)

    def permute(self, v: _Val, dims: list[int]) -> _Val:
        out = self.fresh("p")
        self.add("permute", out, arg=v.name, dims=dims)
        return _Val(out, tuple(v.shape[d] for d in dims), v.origin)  # a relayout: still the load

    def reshape(self, v: _Val, shape: tuple[Dim, ...]) -> _Val:
        self.note(v, "reshape")
        out = self.fresh("r")
        self.add("reshape", out, arg=v.name, shape=list(shape))
        return _Val(out, shape, None)

    def reduce(self, v: _Val, kind: str, axis: int) -> _Val:
        self.note(v, "remask", FILLS[kind])
        out = self.fresh("s")
        self.add(kind, out, arg=v.name, axis=axis)
        return _Val(out, v.shape[:axis] + v.shape[axis + 1 :], None)

    def elementwise(self, v: _Val) -> _Val:
        """One elementwise op on ``v`` (unary, with a scalar, with an input broadcast onto
        ``v``'s tiles, or a cast), and a second one on its result ``policy.chains`` percent
        of the time (``abs`` then ``* inf`` makes an infinite truth)."""
        self.need(2)  # and the store after it
        self.note(v, "other")
        v = self._elementwise_op(v)
        if self.c.percent(self.policy.chains):
            self.need(2)
            v = self._elementwise_op(v)
        return v

    def _elementwise_op(self, v: _Val) -> _Val:
        kinds = self.enabled("elementwise", "cast") or ["elementwise"]
        out = self.fresh("e")
        if self.c.pick(kinds) == "cast":
            self.add("cast", out, arg=v.name, dtype="float32" if self.dtype != "float32" else "bfloat16")
            return _Val(out, v.shape, None)
        form = self.c.weighted(self.policy.elementwise_forms)
        if form == "unary":
            self.add(self.c.pick(UNARY), out, arg=v.name)
        elif form == "broadcast" and any(isinstance(d, str) for d in v.shape):
            self.need(3)  # the broadcast input's load too
            other = self.broadcast_input(v)
            op = self.c.pick(BINARY)
            lhs, rhs = (v, other) if self.c.boolean() else (other, v)
            self.add(op, out, lhs=lhs.name, rhs=rhs.name)
        else:
            op = self.c.pick(BINARY)
            scalars = SCALARS + INFINITE if op != "maximum" and self.c.percent(self.policy.infinite) else SCALARS
            self.add(op, out, arg=v.name, scalar=self.c.pick(scalars))
        return _Val(out, v.shape, None)

    def broadcast_input(self, v: _Val) -> _Val:
        """An untiled input that broadcasts onto ``v``: ``v``'s shape with every tile dim 1,
        its leading dims dropped some of the time (Helion's ``broadcasts_onto_masked_lanes``:
        its real values land on ``v``'s padded lanes)."""
        shape = tuple(1 if isinstance(d, str) else d for d in v.shape)
        return self.load(shape[self.c.integer(0, len(shape) - 1) :])

    def store(self, v: _Val) -> None:
        v = self.unique_tiles(v)
        if self.policy.helion:
            v = self._tiles_major(v)
        self.note(v, "other")
        self.stores += 1
        self.add("store", None, arg=v.name, dst=f"out{self.stores}")

    def unique_tiles(self, v: _Val) -> _Val:
        """``v`` summed over the first dim of each tile that fills two (a store writes each
        tile dim at its total extent once)."""
        while dup := [i for i, d in enumerate(v.shape) if isinstance(d, str) and v.shape.count(d) > 1]:
            v = self.reduce(v, "sum", dup[0])
        return v

    def _tiles_major(self, v: _Val) -> _Val:
        """``v`` with its tiles moved in front by an explicit permute (a store is another use
        either way), or, at rank 2, summed over them: Helion 1.5.1 stores a jagged tile
        along a major dim only."""
        rank = len(v.shape)
        tiles = [i for i, d in enumerate(v.shape) if isinstance(d, str)]
        if not tiles or max(tiles) < rank - 2:
            return v
        if rank - len(tiles) < 2:
            for axis in reversed(tiles):
                v = self.reduce(v, "sum", axis)
            return v
        return self.permute(v, tiles + [i for i in range(rank) if i not in tiles])

    # -- structures ----------------------------------------------------------------------

    def chain(self, v: _Val, target: str | None) -> _Val:
        """0-3 permutes, ``policy.rank_changes`` percent of the time a rank-changing op among
        them; ``target`` steers where the first tile ends (``last-two``, or ``boundary``: next
        to the major/last-two boundary) and may add a permute to get there."""
        n = self.c.integer(0, 3)
        self.need(max(n, target is not None) + 1)  # the permutes, and the use that ends the path
        tiles = [d for d in v.shape if isinstance(d, str)]
        tile = next((t for t in tiles if tiles.count(t) == 1), tiles[0])  # steer a tile that has one dim
        if target is not None and n == 0:
            n = 1
        # no draw at all where the policy never changes rank: its seeds keep drawing what they drew
        changes = self.policy.rank_changes > 0 and self.c.percent(self.policy.rank_changes)
        change_at = self.c.integer(0, n) if changes else None
        for i in range(n):
            if i == change_at:
                v = self.rank_change(v)
            rank = len(v.shape)
            dims = self.c.permutation(rank)
            if target is not None and i == n - 1:
                dims = self.steer(v.shape.index(tile), dims, rank, target)
            v = self.permute(v, dims)
        return self.rank_change(v) if change_at == n else v

    def rank_change(self, v: _Val) -> _Val:
        """A ``squeeze`` or ``expand`` of a plain dim of size 1, or an ``unsqueeze`` or
        ``x[:, None]`` (rank 4 at most), where one fits. Helion 1.5.1's pass defers through
        none of them: for its oracle the path ends here, a use that is not a remask."""
        ones = [i for i, d in enumerate(v.shape) if d == 1]
        fits = {
            "squeeze": bool(ones) and len(v.shape) > max(2, len(self.blocks) + 1),  # room to store it after
            "expand": bool(ones) and self.elements(v.shape) * 8 <= MAX_ELEMENTS,
            "unsqueeze": len(v.shape) < 4,
            "subscript": len(v.shape) < 4,
        }
        kinds = tuple((k, w) for k, w in self.policy.rank_ops if fits[k])
        if not kinds:
            return v
        self.need(2)  # and the use after it
        kind = self.c.weighted(kinds)
        self.note(v, "other")
        out = self.fresh("r")
        if kind == "squeeze":
            dim = self.c.pick(ones)
            self.add("squeeze", out, arg=v.name, dim=dim)
            return _Val(out, v.shape[:dim] + v.shape[dim + 1 :], None)
        if kind == "expand":
            dim, size = self.c.pick(ones), self.c.pick((2, 8))
            self.add("expand", out, arg=v.name, dim=dim, size=size)
            return _Val(out, (*v.shape[:dim], size, *v.shape[dim + 1 :]), None)
        dim = self.c.integer(0, len(v.shape))
        self.add(kind, out, arg=v.name, dim=dim)
        return _Val(out, (*v.shape[:dim], 1, *v.shape[dim:]), None)

    def steer(self, at: int, dims: list[int], rank: int, target: str) -> list[int]:
        """``dims`` with one swap so that input dim ``at`` lands in the ``target`` region."""
        wanted = {
            "last-two": [rank - 2, rank - 1],
            "boundary": [rank - 3, rank - 2],
        }[target]
        if dims.index(at) in wanted:
            return dims
        dst = self.c.pick(wanted)
        src = dims.index(at)
        dims[src], dims[dst] = dims[dst], dims[src]
        return dims

    def reshaped(self, v: _Val, two_tiles: bool) -> _Val:
        """A reshape that keeps every tile as one dim: regroup the tile with a neighbour,
        merge or split plain dims, or a same-shape reshape. Each must keep the eager mask."""
        self.need(2)  # and the use after it
        shape = list(v.shape)
        options = ["same"]
        tile_at = next(i for i, d in enumerate(shape) if isinstance(d, str))
        neighbours = [j for j in (tile_at - 1, tile_at + 1) if 0 <= j < len(shape) and isinstance(shape[j], int)]
        if neighbours and not two_tiles:
            options.append("regroup")
        pairs = [i for i in range(len(shape) - 1) if isinstance(shape[i], int) and isinstance(shape[i + 1], int)]
        if pairs and not two_tiles and len(shape) > 3:
            options.append("merge")
        evens = [i for i, d in enumerate(shape) if isinstance(d, int) and d % 2 == 0 and d > 2]
        if evens and len(shape) < 4:
            options.append("split")
        kind = self.c.pick(options)
        self.regrouped = kind == "regroup"
        if kind == "regroup":  # same elements, tile rows regrouped with the neighbour's
            j = self.c.pick(neighbours)
            shape[tile_at], shape[j] = shape[j], shape[tile_at]
        elif kind == "merge":
            i = self.c.pick(pairs)
            shape[i : i + 2] = [shape[i] * shape[i + 1]]  # type: ignore[operator]
        elif kind == "split":
            i = self.c.pick(evens)
            shape[i : i + 1] = [2, shape[i] // 2]  # type: ignore[operator]
        return self.reshape(v, tuple(shape))

    def finish(self, v: _Val) -> None:
        """Reduce over tile dims until the value holds every tile or none (CASES.md's store
        rule), then store it; a value of one of two tiles that is already rank 1 stays unstored."""
        while 0 < len({d for d in v.shape if isinstance(d, str)}) < len(self.blocks):
            if len(v.shape) == 1:
                return  # a rank-1 value of one of two tiles has nothing left to reduce into: not stored
            axis = next(i for i, d in enumerate(v.shape) if isinstance(d, str))
            v = self.reduce(v, "sum", axis)
        self.store(v)

    def reduction(self, v: _Val, kinds: tuple[tuple[str, int], ...]) -> None:
        self.need(2)  # the reduction and its store
        kind = self.c.weighted(tuple((k, w) for k, w in kinds if k not in self.disabled) or (("sum", 1),))
        tiles = [i for i, d in enumerate(v.shape) if isinstance(d, str)]
        # Half the time over a tile dim: only there does a padded lane reach a valid result.
        axes = tiles if tiles and self.c.boolean() else list(range(len(v.shape)))
        self.finish(self.reduce(v, kind, self.c.pick(axes)))

    def dot(self, lhs: _Val) -> None:
        """``lhs`` against a second loaded operand: its leading 0-2 dims batched, every other
        dim contracted or free (so the tile may take any role), the rhs tiled too where it
        shares a tile dim, half the time.

        Batch dims lead in both operands, as Mosaic's dot wants them; XLA:CPU, which runs
        interpret mode, also rejects a bfloat16 dot whose batch dims sit elsewhere."""
        self.need(3)  # the second operand, the dot and its store
        rank = len(lhs.shape)
        nb = self.c.integer(0, min(2, rank - 1))
        roles = ["batch"] * nb + [
            self.c.weighted((("contract", 2), ("free", 1)) if isinstance(d, str) else (("contract", 1), ("free", 1)))
            for d in lhs.shape[nb:]
        ]
        if "contract" not in roles:
            roles[self.c.integer(nb, rank - 1)] = "contract"
        batch = list(range(nb))
        contract = [i for i, r in enumerate(roles) if r == "contract"]
        shared = batch + contract
        rhs_dims: list[Dim] = []
        for i in shared:
            d = lhs.shape[i]
            rhs_dims.append(d if isinstance(d, str) and self.c.boolean() else self.size(d))
        kept = [lhs.shape[i] for i in range(rank) if i not in contract]  # batch and free dims
        partial = 0 < len({d for d in kept if isinstance(d, str)}) < len(self.blocks)
        plain = [i for i in contract if isinstance(lhs.shape[i], int)]
        if partial and len(kept) < 2 and len(shared) >= 4 and plain:  # no room for the rhs's own free dim:
            contract.remove(plain[-1])  # keep a plain dim free instead, so the result can be stored
            shared, rhs_dims = batch + contract, rhs_dims[: len(batch)] + [rhs_dims[shared.index(i)] for i in contract]
            kept = [lhs.shape[i] for i in range(rank) if i not in contract]
        if len(rhs_dims) < 4 and (self.c.boolean() or (partial and len(kept) < 2)):
            rhs_dims.append(self.c.pick(self.policy.free_dims))
        order = batch + [nb + j for j in self.c.permutation(len(rhs_dims) - nb)]
        at_dot = tuple(rhs_dims[j] for j in order)
        where = {j: order.index(j) for j in range(len(rhs_dims))}
        rhs = self.operand(at_dot)
        self.note(lhs, "remask", 0.0)
        self.note(rhs, "remask", 0.0)
        out = self.fresh("d")
        self.add(
            "dot_general",
            out,
            lhs=lhs.name,
            rhs=rhs.name,
            contract=[contract, [where[shared.index(i)] for i in contract]],
            batch=[batch, [where[shared.index(i)] for i in batch]],
        )
        free_l = [lhs.shape[i] for i in range(rank) if i not in shared]
        free_r = [at_dot[where[j]] for j in range(len(shared), len(rhs_dims))]
        self.finish(_Val(out, tuple([lhs.shape[i] for i in batch] + free_l + free_r), None))

    def hl_dot(self, lhs: _Val) -> None:
        """``hl.dot(lhs, rhs)``: ``lhs`` of rank 2 or 3 (else a ``dot_general`` or a store), its last
        dim K; a loaded ``rhs`` of ``[batch, K, N]``. Helion masks an operand only where K is
        a tile, and drops a mask whose partner is already 0 past K unless its source was
        deferred (``dots_zeroed_by_partner``): so, ``policy.operand_ops`` percent of the time,
        an elementwise op on an operand first (scaling by a constant, ``exp``), which gives
        it a masked value the partner rule judges."""
        rank = len(lhs.shape)
        if rank not in (2, 3):  # a dot_general where the swarm leaves it in, else a plain store
            if "dot_general" in self.disabled:
                self.store(lhs)
            else:
                self.dot(lhs)
            return
        self.need(3)  # the second operand, the dot and its store
        if self.c.percent(self.policy.operand_ops):
            lhs = self.elementwise(lhs)
        k = lhs.shape[-1]
        rhs_shape = (*lhs.shape[: rank - 2], k, self.c.pick(self.policy.free_dims))
        rhs = self.operand(rhs_shape)
        if self.c.percent(self.policy.operand_ops):
            rhs = self.elementwise(rhs)
        kind = "remask" if isinstance(k, str) else "other"  # hl.dot masks along a tiled K only
        self.note(lhs, kind, 0.0)
        self.note(rhs, kind, 0.0)
        out = self.fresh("d")
        self.add("dot", out, lhs=lhs.name, rhs=rhs.name)
        self.finish(_Val(out, (*lhs.shape[:-1], rhs_shape[-1]), None))

    def operand(self, at_dot: tuple[Dim, ...]) -> _Val:
        """A loaded second operand with shape ``at_dot`` where the dot sees it: loaded in
        another order and permuted back a third of the time (its own deferral question)."""
        if self.c.integer(0, 2) > 0:
            return self.load(at_dot)
        p = self.c.permutation(len(at_dot))
        v = self.load(tuple(at_dot[j] for j in p))
        return self.permute(v, [p.index(i) for i in range(len(at_dot))])


def _load_shape(c: Choices, b: _Builder, rank: int, tiles: list[str], positions: str, repeat: bool) -> tuple[Dim, ...]:
    """The main load's shape: tiles where ``positions`` wants them, plain dims elsewhere; with
    ``repeat``, the last tile fills a second dim too (a square block, as a self-attention
    mask over one sequence has)."""
    first = {
        "any": list(range(rank)),
        "deferrable": list(range(rank - 2)) or [0],
        "gate-boundary": [rank - 3, rank - 2] if rank >= 3 else [0],
    }[positions]
    shape: list[Dim | None] = [None] * rank
    shape[c.pick(first)] = tiles[0]
    for t in tiles[1:] + tiles[-1:] * repeat:
        shape[c.pick([i for i, d in enumerate(shape) if d is None])] = t
    dims = [
        d if d is not None else c.pick(b.policy.plain_dims if i < rank - 1 else b.policy.lane_dims)
        for i, d in enumerate(shape)
    ]
    while b.elements(tuple(dims)) > MAX_ELEMENTS:  # shrink the largest plain dim
        i = max((i for i, d in enumerate(dims) if isinstance(d, int)), key=lambda i: dims[i])  # type: ignore[arg-type]
        dims[i] = max(1, dims[i] // 4)  # type: ignore[operator]
    return tuple(dims)


@st.composite
def structures(draw: st.DrawFn, policy: Policy, disabled: frozenset[str] = frozenset()) -> Structure:
    """A graph drawn under ``policy``, leaving out the op kinds in ``disabled`` (swarm)."""
    return build(Drawn(draw), policy, disabled)


def build(
    c: Choices, policy: Policy, disabled: frozenset[str] = frozenset(), max_nodes: int | None = None
) -> Structure:
    """The graph ``c``'s choices make under ``policy`` without the ``disabled`` op kinds;
    :class:`TooLarge` as soon as it would pass ``max_nodes`` nodes."""
    dtype = c.weighted(policy.dtypes)
    ntiles = int(c.weighted(policy.tile_counts))
    rank = int(c.weighted(policy.ranks))
    if ntiles == 2:
        rank = max(rank, 3)
    tiles = [f"t{i}" for i in range(ntiles)]
    blocks = {t: int(c.weighted(policy.blocks)) for t in tiles}
    b = _Builder(c, policy, disabled, dtype, blocks, max_nodes)
    positions = c.weighted(policy.positions)
    repeat = ntiles in policy.repeat_tile_counts and c.percent(policy.repeats) and rank >= 2 * ntiles
    if repeat and math.prod(blocks.values()) * blocks[tiles[-1]] > MAX_ELEMENTS:
        repeat = False  # the tiles alone would not fit one work item
    x = b.load(_load_shape(c, b, rank, tiles, positions, repeat))

    negative = c.weighted(policy.negatives)
    if negative == "reshape" and "reshape" in disabled:
        negative = "none"
    if negative == "nonzero-fill" and not b.enabled("max", "min"):
        negative = "none"
    target = {"any": None, "deferrable": "last-two", "gate-boundary": "boundary"}[positions]

    v = b.chain(x, target if negative != "reshape" else None)
    if negative == "reshape":
        v = b.chain(b.reshaped(v, ntiles == 2 or repeat), target)
    if negative == "second-use":  # the load, or the end of its chain, is also used elsewhere
        used = c.pick([x, v])
        if c.boolean():
            b.store(used)
        else:
            b.finish(b.elementwise(used))
    if c.percent(policy.extra_path) and "sum" not in disabled:
        b.reduction(b.chain(x, "last-two" if target else None), (("sum", 1),))

    consumers = [k for k in policy.consumers if _consumer_enabled(k[0], b)] or [("store", 1)]
    consumer = "reduce" if negative == "nonzero-fill" else c.weighted(tuple(consumers))
    if b.regrouped:
        # After a regrouping reshape a mask by position clears other elements than the load's
        # padding (the hazard that makes the pass refuse reshapes), and the eager kernel is no
        # exception: only consumers whose zero-fill mask is dropped as redundant are exact.
        consumer = "reduce" if consumer == "elementwise" else consumer
    if consumer == "reduce":
        kinds = (("sum", 1),) if b.regrouped else policy.reductions
        b.reduction(v, (("max", 1), ("min", 1)) if negative == "nonzero-fill" else kinds)
    elif consumer == "dot":
        b.dot(v)
    elif consumer == "hl-dot":
        b.hl_dot(v)
    elif consumer == "elementwise":
        b.reduction(b.elementwise(v), policy.reductions)
    else:
        b.store(v)
    if c.percent(policy.dead_loads):  # a second input loaded and never used: the pass has nothing to defer to
        b.load(x.shape)

    expect = {
        load: {
            t: expected_reason(shape, t, b.outcomes[load])
            for t in dict.fromkeys(d for d in shape if isinstance(d, str))
        }
        for load, shape in b.load_shapes.items()
    }
    return Structure(dtype, blocks, dict(b.inputs), tuple(b.nodes), expect)


def _consumer_enabled(consumer: str, b: _Builder) -> bool:
    return {
        "reduce": bool(b.enabled("sum", "max", "min")),
        "dot": "dot_general" not in b.disabled,
        "hl-dot": "dot" not in b.disabled,
        "elementwise": bool(b.enabled("elementwise", "cast")),
        "store": True,
    }[consumer]
