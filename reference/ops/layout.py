"""Ops that move elements without computing on them: ``permute``, ``reshape``, ``squeeze``,
``unsqueeze``, ``subscript`` (``x[:, None]``) and ``expand``.

All pass the masked value through (a padded lane moves, it does not change), as Helion's
lowerings do (``passthrough_masked_value``), but an ``expand`` that broadcasts onto lanes that
may be masked (Helion 1.5.1's ``expand_masked_value``, ``reference/neighbours.py``). Only
``permute`` is a *relayout* Helion 1.5.1's pass defers a mask through: it moves whole axes, so the set of
padded lanes along the masked axis is the same set after it. ``reshape`` can regroup elements
so that a per-axis mask afterwards selects other elements than the eager mask did (Helion's
counterexample: a ``[B, 2]`` tile with 3 valid rows reshaped to ``[2, B]``). ``squeeze``,
``unsqueeze`` and ``subscript`` add or drop a dim of size 1 and regroup nothing: Helion leaves
them out "until they have their own deferral tests", and the candidate pass
``candidates/rank_changing_relayouts.py`` is those tests' subject. ``expand`` replicates rows,
so Helion's comment keeps it out even in principle.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.fx

from reference import neighbours
from reference.errors import SpecError
from reference.ops.base import T64, Emitter, F64Context, HelionWriter, Inexpressible, MaskedValue, Op, register
from reference.values import Value

if TYPE_CHECKING:
    from reference.spec import KernelSpec, NodeSpec


def passthrough_masked_value(node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    """Padded lanes move with the data: they hold what they held before."""
    return inputs[0]


# -- permute ---------------------------------------------------------------------------


def permute_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    (x,) = args
    dims = node["dims"]
    if sorted(dims) != list(range(x.rank)):
        raise SpecError("dims", f"{dims} is not a permutation of the {x.rank} dims of {node['arg']!r}")
    return Value(tuple(x.shape[d] for d in dims), tuple(x.tiles[d] for d in dims), x.dtype)


def permute_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    return [f"{ctx.var(node)} = jnp.transpose({args[0]}, {tuple(node.kwargs['dims'])})"]


def permute_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    axes = (0, *(d + 1 for d in node["dims"]))
    x = args[0]
    return T64(x.val.transpose(axes), x.valid.transpose(axes), x.err.transpose(axes))


def permute_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    return f"{args[0]}.permute({', '.join(map(str, node['dims']))})"


register(
    Op(
        name="permute",
        fields={"arg": "value", "dims": "ints"},
        optional=frozenset(),
        target=torch.ops.aten.permute.default,
        family="layout",
        shape=permute_shape,
        masked_value=passthrough_masked_value,
        pallas=permute_pallas,
        f64=permute_f64,
        helion=permute_helion,
    )
)


# -- reshape ---------------------------------------------------------------------------


def reshape_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    (x,) = args
    target = node["shape"]
    for i, d in enumerate(target):
        if isinstance(d, str) and d not in x.tile_names:
            raise SpecError(f"shape[{i}]", f"tile {d!r} is not a dim of {node['arg']!r}")
    shape = spec.block_shape(tuple(target))
    if math.prod(shape) != math.prod(x.shape):
        raise SpecError(
            "shape", f"{list(shape)} has {math.prod(shape)} elements, {node['arg']!r} has {math.prod(x.shape)}"
        )
    return Value(shape, tuple(d if isinstance(d, str) else None for d in target), x.dtype)


def reshape_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    """``x.reshape(shape)``, or, for a reshape that regroups the last two dims (lane and
    sublane) among themselves, which Mosaic rejects as one shape cast
    (``infer-vector-layout: unsupported shape cast``), three it takes: the last two dims
    merged into the lane dim, then split into the new ones, with a leading 1 while the value
    has rank 2. ``+ 0`` between them keeps MLIR from folding them back into one cast."""
    src: Value = node.args[0].meta["value"]  # type: ignore[union-attr]
    value: Value = node.meta["value"]
    out = ctx.var(node)
    old, new = src.shape, value.shape
    if not regroups_minor_dims(old, new):
        return [f"{out} = {args[0]}.reshape{new}"]
    lead = old[:-2] or (1,)
    steps = [(*lead, old[-2] * old[-1]), (*lead, *new[-2:])]
    if src.rank == 2:
        steps.insert(0, (1, *old))
    if new != steps[-1]:
        steps.append(new)
    lines = [f"# {out}: {old} -> {new} regroups the lane and sublane dims, through the lane dim"]
    x = args[0]
    for i, shape in enumerate(steps):
        barrier = " + 0" if i < len(steps) - 1 else ""
        lines.append(f"{out} = {x}.reshape{shape}{barrier}")
        x = out
    return lines


def regroups_minor_dims(old: tuple[int, ...], new: tuple[int, ...]) -> bool:
    """Whether a reshape from ``old`` to ``new`` changes the last two dims but keeps the
    leading ones (so it regroups the elements of the last two among themselves)."""
    return (
        len(old) >= 2
        and len(new) >= 2
        and old[-1] != new[-1]
        and old[:-2] == new[:-2]
        and old[-2] * old[-1] == new[-2] * new[-1]
    )


def reshape_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    assert out is not None
    x = args[0]
    shape = (x.val.shape[0], *out.shape)
    return T64(x.val.reshape(shape), x.valid.reshape(shape), x.err.reshape(shape))


def regrouped_tile(src: Value, out: Value) -> str | None:
    """The first tile whose rows a reshape from ``src`` to ``out`` regroups, or None.

    A reshape keeps a tile's rows where as many elements stand in front of the tile's dim
    after it as before: each position along the dim then holds the same row. One that puts
    another number in front (``[t0, 2] -> [2, t0]``) moves real rows onto the positions past
    the extent, which is where Helion's masks and masked values look (a tile dim is masked by
    position). A tile merged into a plain dim has no positions left to mask.

    After such a reshape a case's meaning (validity moves with the elements, CASES.md) is one
    no positional mask can follow: the padded elements, which hold the masked value, are no
    longer the positions a ``_mask_to`` clears or ``dots_zeroed_by_partner`` trusts. Helion
    cannot state it (:func:`reshape_helion`), and the check names an eager kernel that misses
    it ``baseline-unstated``, never a finding."""
    for tile in src.tile_names:
        if tile not in out.tiles:
            continue
        before, after = src.tiles.index(tile), out.tiles.index(tile)
        if math.prod(src.shape[:before]) != math.prod(out.shape[:after]):
            return tile
    return None


def reshape_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    """``reshape`` with each tile dim as its block size. A reshape that regroups a tile's
    rows (:func:`regrouped_tile`) has no Helion form: Helion masks a tile dim by position,
    while the case's validity moves with the elements."""
    if tile := regrouped_tile(values[0], reshape_shape(node, values, w.spec)):
        raise Inexpressible("shape", f"it regroups tile {tile!r}'s rows; Helion masks a tile dim by position")
    dims = [f"{w.tile(d)}.block_size" if isinstance(d, str) else str(d) for d in node["shape"]]
    return f"{args[0]}.reshape([{', '.join(dims)}])"


register(
    Op(
        name="reshape",
        fields={"arg": "value", "shape": "shape"},
        optional=frozenset(),
        target=torch.ops.aten.reshape.default,
        family="layout",
        shape=reshape_shape,
        masked_value=passthrough_masked_value,
        pallas=reshape_pallas,
        f64=reshape_f64,
        helion=reshape_helion,
    )
)


# -- squeeze, unsqueeze, subscript: a dim of size 1 dropped or added ----------------------


def keeps_vreg_tiles(op: str, dim: int, rank: int) -> bool:
    """Whether ``op`` (``squeeze`` or ``unsqueeze``) at ``dim`` of a rank-``rank`` input drops or
    adds a major dim only, leaving the last two (the (sublane, lane) tiles) as they were. One
    that reaches them changes the layout Mosaic gives the value: a squeeze of the minor dims of a
    16-bit value leaves a layout with an implicit dim, and a boolean mask broadcast onto it
    fails to compile on v5e through tpu7x (``Invalid relayout: Non-singleton logical dimension is
    replicated``), in our kernels and in Helion's alike."""
    if op == "squeeze":
        return dim < rank - 2
    if op == "unsqueeze":
        return dim < rank - 1  # the new dim's index in the rank + 1 result is outside its last two
    return True


def _dim(node: NodeSpec, rank: int) -> int:
    """The node's ``dim``, checked against the rank it indexes (``rank`` dims to choose from)."""
    dim = node["dim"]
    if not 0 <= dim < rank:
        raise SpecError("dim", f"{dim} is not a dim of {node['arg']!r} here (0..{rank - 1})")
    return dim


def squeeze_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    (x,) = args
    dim = _dim(node, x.rank)
    if x.tiles[dim] is not None or x.shape[dim] != 1:
        raise SpecError("dim", f"dim {dim} of {node['arg']!r} is not a plain dim of size 1")
    if x.rank == 1:
        raise SpecError("dim", f"{node['arg']!r} has rank 1: squeezing it leaves a scalar")
    keep = [d for d in range(x.rank) if d != dim]
    return Value(tuple(x.shape[d] for d in keep), tuple(x.tiles[d] for d in keep), x.dtype)


def squeeze_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    return [f"{ctx.var(node)} = jnp.squeeze({args[0]}, axis={node.kwargs['dim']})"]


def squeeze_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    x, axis = args[0], node["dim"] + 1  # past the work-item axis
    return T64(x.val.squeeze(axis), x.valid.squeeze(axis), x.err.squeeze(axis))


def squeeze_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    return f"{args[0]}.squeeze({node['dim']})"


register(
    Op(
        name="squeeze",
        fields={"arg": "value", "dim": "int"},
        optional=frozenset(),
        target=torch.ops.aten.squeeze.dim,
        family="layout",
        shape=squeeze_shape,
        masked_value=passthrough_masked_value,
        pallas=squeeze_pallas,
        f64=squeeze_f64,
        helion=squeeze_helion,
    )
)


def unsqueeze_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    (x,) = args
    dim = _dim(node, x.rank + 1)
    return Value((*x.shape[:dim], 1, *x.shape[dim:]), (*x.tiles[:dim], None, *x.tiles[dim:]), x.dtype)


def unsqueeze_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    return [f"{ctx.var(node)} = jnp.expand_dims({args[0]}, {node.kwargs['dim']})"]


def unsqueeze_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    x, axis = args[0], node["dim"] + 1
    return T64(np.expand_dims(x.val, axis), np.expand_dims(x.valid, axis), np.expand_dims(x.err, axis))


def unsqueeze_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    return f"{args[0]}.unsqueeze({node['dim']})"


def subscript_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    """``x[:, None]``: Helion traces it to its own ``hl.subscript``, not ``aten.unsqueeze``,
    so a pass that knows one does not know the other."""
    index = [":"] * values[0].rank
    index.insert(node["dim"], "None")
    return f"{args[0]}[{', '.join(index)}]"


def subscript(x: object, dim: int) -> None:
    """fx target of ``x[..., None, ...]`` (Helion's ``hl.subscript``): a new dim of size 1 at ``dim``."""


register(
    Op(
        name="unsqueeze",
        fields={"arg": "value", "dim": "int"},
        optional=frozenset(),
        target=torch.ops.aten.unsqueeze.default,
        family="layout",
        shape=unsqueeze_shape,
        masked_value=passthrough_masked_value,
        pallas=unsqueeze_pallas,
        f64=unsqueeze_f64,
        helion=unsqueeze_helion,
    )
)
register(
    Op(
        name="subscript",
        fields={"arg": "value", "dim": "int"},
        optional=frozenset(),
        target=subscript,
        family="layout",
        shape=unsqueeze_shape,
        masked_value=passthrough_masked_value,
        pallas=unsqueeze_pallas,
        f64=unsqueeze_f64,
        helion=subscript_helion,
    )
)


# -- expand: a dim of size 1 repeated -----------------------------------------------------


def expand_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    (x,) = args
    dim, size = _dim(node, x.rank), node["size"]
    if x.tiles[dim] is not None or x.shape[dim] != 1:
        raise SpecError("dim", f"dim {dim} of {node['arg']!r} is not a plain dim of size 1")
    if size < 1:
        raise SpecError("size", f"{size} is not a positive size")
    return Value((*x.shape[:dim], size, *x.shape[dim + 1 :]), x.tiles, x.dtype)


def expand_masked_value(node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    """Helion's rule (``reference/neighbours.py``): unknown where the expand broadcasts its
    input onto lanes that may be masked, else the input's."""
    (x,) = (a for a in node.args if isinstance(a, torch.fx.Node))
    return neighbours.current().expand_masked_value(x.meta["value"], node.meta["value"], inputs[0])


def expand_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    return [f"{ctx.var(node)} = jnp.broadcast_to({args[0]}, {node.meta['value'].shape})"]


def expand_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    assert out is not None
    x = args[0]
    shape = (x.val.shape[0], *out.shape)
    return T64(np.broadcast_to(x.val, shape), np.broadcast_to(x.valid, shape), np.broadcast_to(x.err, shape))


def expand_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    (x,) = values
    sizes = ["-1"] * x.rank
    sizes[node["dim"]] = str(node["size"])
    return f"{args[0]}.expand({', '.join(sizes)})"


register(
    Op(
        name="expand",
        fields={"arg": "value", "dim": "int", "size": "int"},
        optional=frozenset(),
        target=torch.ops.aten.expand.default,
        family="layout",
        shape=expand_shape,
        masked_value=expand_masked_value,
        pallas=expand_pallas,
        f64=expand_f64,
        helion=expand_helion,
    )
)
