"""``dot_general``: ``lax.dot_general`` with float32 accumulation.

Both operands are masked to 0 first (Helion inserts ``_mask_to(x, 0)`` on each), because a
padded lane along a contracted dim would otherwise add garbage into every valid output. The
result's padded lanes are unknown: ``0 * NaN`` is NaN, so a zero operand lane does not make
a zero product when the partner lane may be poison.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch.fx

from reference.errors import SpecError
from reference.ops.base import (
    T64,
    Emitter,
    F64Context,
    HelionWriter,
    Inexpressible,
    MaskedValue,
    Op,
    register,
    rounding,
)
from reference.values import UNIT_ROUNDOFF, Value

if TYPE_CHECKING:
    from reference.spec import KernelSpec, NodeSpec


def dot_general(lhs: object, rhs: object) -> None:
    """fx target of ``lax.dot_general`` (dimension numbers in the node's kwargs)."""


def _dims(node: NodeSpec | torch.fx.Node, key: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    pair = node.kwargs[key] if isinstance(node, torch.fx.Node) else node[key]
    return tuple(pair[0]), tuple(pair[1])


def _free(rank: int, *used: tuple[int, ...]) -> tuple[int, ...]:
    taken = {d for group in used for d in group}
    return tuple(d for d in range(rank) if d not in taken)


def dot_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    return dot_value(args[0], args[1], _dims(node, "contract"), _dims(node, "batch"))


Pair = tuple[tuple[int, ...], tuple[int, ...]]


def dot_value(lhs: Value, rhs: Value, contract: Pair, batch: Pair) -> Value:
    """The value of a dot of ``lhs`` and ``rhs``, or a SpecError naming the bad field."""
    (lc, rc), (lb, rb) = contract, batch
    for key, (ld, rd) in (("contract", (lc, rc)), ("batch", (lb, rb))):
        if len(ld) != len(rd):
            raise SpecError(key, f"lists {list(ld)} and {list(rd)} differ in length")
        for side, dims, value in (("lhs", ld, lhs), ("rhs", rd, rhs)):
            if any(not 0 <= d < value.rank for d in dims) or len(set(dims)) != len(dims):
                raise SpecError(key, f"{list(dims)} are not distinct dims of {side} (rank {value.rank})")
        for a, b in zip(ld, rd, strict=True):
            if lhs.shape[a] != rhs.shape[b]:
                raise SpecError(key, f"lhs dim {a} has {lhs.shape[a]} elements, rhs dim {b} has {rhs.shape[b]}")
            if lhs.tiles[a] and rhs.tiles[b] and lhs.tiles[a] != rhs.tiles[b]:
                raise SpecError(key, f"lhs dim {a} is tile {lhs.tiles[a]!r}, rhs dim {b} is tile {rhs.tiles[b]!r}")
    if set(lc) & set(lb) or set(rc) & set(rb):
        raise SpecError("batch", "a dim cannot be both batch and contracted")
    lf, rf = _free(lhs.rank, lc, lb), _free(rhs.rank, rc, rb)
    shape = [lhs.shape[d] for d in lb] + [lhs.shape[d] for d in lf] + [rhs.shape[d] for d in rf]
    tiles = [lhs.tiles[a] or rhs.tiles[b] for a, b in zip(lb, rb, strict=True)]
    tiles += [lhs.tiles[d] for d in lf] + [rhs.tiles[d] for d in rf]
    return Value(tuple(shape), tuple(tiles), "float32")


def dot_masked_value(node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    return None


def dot_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    return dot_source(node, args, ctx, _dims(node, "contract"), _dims(node, "batch"))


def dot_source(node: torch.fx.Node, args: list[str], ctx: Emitter, contract: Pair, batch: Pair) -> list[str]:
    """``lax.dot_general`` as written where Mosaic's matmul takes it (at most one batch dim,
    one contracted dim, a result of rank 1 or more); any other dot through :func:`mosaic_dot`.

    Operands of two element types are both taken to float32 first, exactly: Mosaic's matmul
    takes one (``Bad lhs type``, ``Bad rhs type: 128, 128``: a bfloat16 operand against a
    cast to float32)."""
    (lc, rc), (lb, rb) = contract, batch
    operands: list[Value] = [a.meta["value"] for a in node.args]  # type: ignore[union-attr]
    if operands[0].dtype != operands[1].dtype:
        args = [a if v.dtype == "float32" else f"{a}.astype(jnp.float32)" for a, v in zip(args, operands, strict=True)]
        operands = [replace(v, dtype="float32") for v in operands]
    # float32 operands: ask for full precision, or a TPU would multiply in bfloat16 passes.
    precision = ", precision=lax.Precision.HIGHEST" if any(v.dtype == "float32" for v in operands) else ""
    out = ctx.var(node)
    if len(lb) <= 1 and len(lc) == 1 and node.meta["value"].rank > 0:
        numbers = f"(({lc}, {rc}), ({lb}, {rb}))"
        return [
            f"{out} = lax.dot_general({args[0]}, {args[1]}, {numbers}, preferred_element_type=jnp.float32{precision})"
        ]
    return mosaic_dot(out, args, operands, (lc, rc), (lb, rb), precision)


def mosaic_dot(
    out: str,
    args: list[str],
    operands: list[Value],
    contract: tuple[tuple[int, ...], tuple[int, ...]],
    batch: tuple[tuple[int, ...], tuple[int, ...]],
    precision: str,
) -> list[str]:
    """Source computing ``out``, a dot Mosaic's matmul does not take as written: it takes one
    batch dim (``Up to 1 batch dim supported``) and one contracted dim (``lhs contracting dims
    must be of size 1``), and a dot without free dims fails an assertion in its lowering.

    The lhs is transposed to (batch, free, contracted) dims and the rhs to (batch, contracted,
    free), the batch dims merged into one and the contracted dims into one; one matmul; its
    result split back into the batch dims. A dot with no free dim on one side (or on either)
    is an elementwise product summed over the contracted dims, in float32. Same value, same
    dims, as the dot written."""
    (lc, rc), (lb, rb) = contract, batch
    lhs, rhs = operands
    lf, rf = _free(lhs.rank, lc, lb), _free(rhs.rank, rc, rb)
    lines = [f"# {out}: {len(lb)} batch and {len(lc)} contracted dims, as one matmul takes them"]

    def arrange(var: str, value: Value, groups: list[tuple[int, ...]], name: str) -> str:
        """``var`` transposed so each group's dims are adjacent, then each group merged."""
        order = tuple(d for g in groups for d in g)
        if order != tuple(range(value.rank)):
            lines.append(f"{out}_{name} = jnp.transpose({var}, {order})")
            var = f"{out}_{name}"
        shape = tuple(math.prod(value.shape[d] for d in g) for g in groups if g)
        if len(shape) != value.rank:
            lines.append(f"{out}_{name} = {var}.reshape{shape}")
            var = f"{out}_{name}"
        return var

    if not lf or not rf:
        # One side has no free dim: a matmul would take it as a vector, which Mosaic cannot
        # make of a merged operand. Instead, the product broadcast over the other side's free
        # dims (leading) and summed over the contracted dims (trailing).
        first, free = (1, rf) if rf else (0, lf)
        orders = [lb + lc, rb + rc]
        orders[first] = free + orders[first]
        a = arrange(args[0], lhs, [(d,) for d in orders[0]], "lhs")
        b = arrange(args[1], rhs, [(d,) for d in orders[1]], "rhs")
        if lhs.dtype != "float32":
            a = f"{a}.astype(jnp.float32)"
        if rhs.dtype != "float32":
            b = f"{b}.astype(jnp.float32)"
        rank = len(free) + len(lb) + len(lc)
        axes = tuple(range(len(free) + len(lb), rank))
        lines.append(f"{out} = jnp.sum({a} * {b}, axis={axes[0] if len(axes) == 1 else axes})")
        if free and lb:  # (free, batch) -> (batch, free)
            order = tuple(range(len(free), len(free) + len(lb))) + tuple(range(len(free)))
            lines.append(f"{out} = jnp.transpose({out}, {order})")
        return lines
    a = arrange(args[0], lhs, [lb, *((d,) for d in lf), lc], "lhs")
    b = arrange(args[1], rhs, [rb, rc, *((d,) for d in rf)], "rhs")
    n = 1 if lb else 0
    numbers = f"((({n + len(lf)},), ({n},)), ({(0,) if lb else ()}, {(0,) if lb else ()}))"
    lines.append(f"{out} = lax.dot_general({a}, {b}, {numbers}, preferred_element_type=jnp.float32{precision})")
    if len(lb) > 1:
        shape = tuple(lhs.shape[d] for d in lb + lf) + tuple(rhs.shape[d] for d in rf)
        lines.append(f"{out} = {out}.reshape{shape}")
    return lines


def dot_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    """``torch.mm``/``torch.bmm``, with ``out_dtype=torch.float32`` for narrower operands
    (float32 accumulation and result, as ``lax.dot_general`` here). They take rank 2 or 3 with the batch dim leading and
    contract an operand's last dim (lhs) or second-to-last (rhs); an operand that contracts
    the other of its last two dims is transposed there. That transpose swaps the last two
    dims only, so a tile stays major or stays in the last two: the pass's decision about it
    cannot change. Anything else is inexpressible."""
    (lc, rc), (lb, rb) = _dims(node, "contract"), _dims(node, "batch")
    lhs, rhs = values
    if lhs.rank != rhs.rank or lhs.rank not in (2, 3):
        raise Inexpressible("lhs", f"a dot of ranks {lhs.rank} and {rhs.rank}: torch.mm/bmm take rank 2 or 3, alike")
    batch = lhs.rank - 2
    if (lb, rb) != (tuple(range(batch)), tuple(range(batch))):
        raise Inexpressible("batch", f"batch dims {[list(lb), list(rb)]}: torch.bmm needs one batch dim, leading")
    if len(lc) != 1:
        raise Inexpressible("contract", f"{len(lc)} contracted dims: torch.mm/bmm contract one")
    if lhs.dtype != rhs.dtype:
        raise Inexpressible("rhs", f"operands of {lhs.dtype} and {rhs.dtype}: torch.mm/bmm take one dtype")
    for key, (ld, rd) in (("contract", (lc, rc)), ("batch", (lb, rb))):
        for a, b in zip(ld, rd, strict=True):
            if lhs.tiles[a] != rhs.tiles[b]:
                tile = lhs.tiles[a] or rhs.tiles[b]
                raise Inexpressible(
                    key,
                    f"tile {tile!r} meets a plain dim: a Helion tile's size is data-dependent, torch cannot match it",
                )
    a = args[0] if lc[0] == batch + 1 else f"{args[0]}.transpose(-2, -1)"
    b = args[1] if rc[0] == batch else f"{args[1]}.transpose(-2, -1)"
    wide = "" if lhs.dtype == "float32" else ", out_dtype=torch.float32"  # torch refuses it for float32 on CPU
    return f"torch.{'bmm' if batch else 'mm'}({a}, {b}{wide})"


def dot_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    return dot_t64(args[0], args[1], _dims(node, "contract"), _dims(node, "batch"))


def dot_t64(lhs: T64, rhs: T64, contract: Pair, batch: Pair) -> T64:
    """A dot's float64 meaning on valid elements, with its error bound."""
    (lc, rc), (lb, rb) = contract, batch
    lrank, rrank = lhs.val.ndim - 1, rhs.val.ndim - 1
    # einsum labels: 0 is the work item; lhs dims 1..; rhs dims reuse lhs labels when paired.
    lsub = [0, *range(1, lrank + 1)]
    rsub = [0, *range(lrank + 1, lrank + rrank + 1)]
    for a, b in (*zip(lc, rc, strict=True), *zip(lb, rb, strict=True)):
        rsub[b + 1] = lsub[a + 1]
    lf, rf = _free(lrank, lc, lb), _free(rrank, rc, rb)
    osub = [0, *(lsub[d + 1] for d in lb), *(lsub[d + 1] for d in lf), *(rsub[d + 1] for d in rf)]

    def ein(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.einsum(a, lsub, b, rsub, osub, optimize=True)  # BLAS where it is a matmul

    # Valid elements only: invalid ones are zeroed, and an output is valid when some pair is.
    lv, rv = lhs.on_valid, rhs.on_valid
    le, re = np.where(lhs.valid, lhs.err, 0.0), np.where(rhs.valid, rhs.err, 0.0)
    val = ein(lv, rv)
    valid = ein(lhs.valid.astype(np.float64), rhs.valid.astype(np.float64)) > 0
    k = math.prod(lhs.val.shape[d + 1] for d in lc)
    err = k * UNIT_ROUNDOFF["float32"] * ein(np.abs(lv), np.abs(rv)) + rounding("float32", val)
    # An exact operand (a load's) carries no error: its terms are zeros, each a product to skip
    lhs_err, rhs_err = bool(le.any()), bool(re.any())
    if lhs_err:
        err += ein(le, np.abs(rv))
    if rhs_err:
        err += ein(np.abs(lv), re)
    if lhs_err and rhs_err:
        err += ein(le, re)
    return T64(np.where(valid, val, np.nan), valid, err)


register(
    Op(
        name="dot_general",
        fields={"lhs": "value", "rhs": "value", "contract": "pairs", "batch": "pairs"},
        optional=frozenset(),
        target=dot_general,
        family="contraction",
        shape=dot_shape,
        masked_value=dot_masked_value,
        pallas=dot_pallas,
        f64=dot_f64,
        helion=dot_helion,
        consumer_fill=0.0,
    )
)


# -- hl.dot ----------------------------------------------------------------------------


def hl_dot(lhs: object, rhs: object) -> None:
    """fx target of Helion's ``hl.dot``: a matmul of rank 2 or 3 (batch leading)."""


def hl_dot_dims(rank: int) -> tuple[Pair, Pair]:
    """``hl.dot``'s dims as ``dot_general``'s: the lhs's last dim against the rhs's second to
    last, a leading batch dim at rank 3."""
    batch = ((0,), (0,)) if rank == 3 else ((), ())
    return ((rank - 1,), (rank - 2,)), batch


def hl_dot_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    lhs, rhs = args
    if lhs.rank != rhs.rank or lhs.rank not in (2, 3):
        raise SpecError("rhs", f"hl.dot takes two operands of rank 2 or 3, alike, not {lhs.rank} and {rhs.rank}")
    if lhs.tiles[-1] != rhs.tiles[-2]:
        raise SpecError("rhs", f"K is tile {lhs.tiles[-1]!r} in lhs and {rhs.tiles[-2]!r} in rhs: hl.dot needs one")
    return dot_value(lhs, rhs, *hl_dot_dims(lhs.rank))


def hl_dot_masks(index: int, values: list[Value]) -> bool:
    """Helion masks an ``hl.dot`` operand only along K, and only where K is a tile."""
    v = values[index]
    return v.tiles[v.rank - 1 if index == 0 else v.rank - 2] is not None


def hl_dot_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    rank = node.meta["value"].rank
    return dot_source(node, args, ctx, *hl_dot_dims(rank))


def hl_dot_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    return dot_t64(args[0], args[1], *hl_dot_dims(args[0].val.ndim - 1))


def hl_dot_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    if values[0].dtype != values[1].dtype:
        raise Inexpressible("rhs", f"operands of {values[0].dtype} and {values[1].dtype}: hl.dot takes one dtype")
    return f"hl.dot({args[0]}, {args[1]}, out_dtype=torch.float32)"


register(
    Op(
        name="dot",
        fields={"lhs": "value", "rhs": "value"},
        optional=frozenset(),
        target=hl_dot,
        family="contraction",
        shape=hl_dot_shape,
        masked_value=dot_masked_value,
        pallas=hl_dot_pallas,
        f64=hl_dot_f64,
        helion=hl_dot_helion,
        consumer_fill=0.0,
        masks_operand=hl_dot_masks,
    )
)
