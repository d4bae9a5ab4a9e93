"""``sum``, ``max``, ``min`` over one axis; sums accumulate in float32.

Each masks its input with its identity first (sum 0, max -inf, min +inf), as Helion does, so
padded lanes along the reduced axis cannot change a valid result. A max's ``-inf`` fill is
why ``defer_pallas_load_masks`` will not defer through it: only a zero fill re-masks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.fx

from reference.errors import SpecError
from reference.ops.base import T64, Emitter, F64Context, HelionWriter, MaskedValue, Op, register, rounding
from reference.values import UNIT_ROUNDOFF, Value

if TYPE_CHECKING:
    from reference.spec import KernelSpec, NodeSpec

REDUCTIONS: dict[str, tuple[float, Callable[..., np.ndarray], str, object]] = {
    # name: (identity, float64 meaning, jnp function, fx target)
    "sum": (0.0, np.sum, "jnp.sum", torch.ops.aten.sum.dim_IntList),
    "max": (-math.inf, np.max, "jnp.max", torch.ops.aten.amax.default),
    "min": (math.inf, np.min, "jnp.min", torch.ops.aten.amin.default),
}


def reduce_shape(name: str, node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    (x,) = args
    axis = node["axis"]
    if not 0 <= axis < x.rank:
        raise SpecError("axis", f"{axis} is not a dim of {node['arg']!r} (rank {x.rank})")
    keep = [d for d in range(x.rank) if d != axis]
    dtype = "float32" if name == "sum" else x.dtype
    return Value(tuple(x.shape[d] for d in keep), tuple(x.tiles[d] for d in keep), dtype)


def reduce_masked_value(name: str, node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    # A padded lane of the result (padded along a kept tile dim) reduces padded lanes only.
    v = inputs[0]
    if name != "sum" or v is None:
        return v
    return v if v == 0 or math.isinf(v) else None


def reduce_pallas(name: str, node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    x = args[0]
    if name == "sum" and node.args[0].meta["value"].dtype != "float32":  # type: ignore[union-attr]
        x = f"{x}.astype(jnp.float32)"
    return [f"{ctx.var(node)} = {REDUCTIONS[name][2]}({x}, axis={node.kwargs['axis']})"]


def reduce_helion(name: str, node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    """``sum`` accumulates in float32 as the Pallas rule does; ``dtype=`` keeps it one op (a
    cast before it would be a second use of the value, and keep its eager mask)."""
    axis = node["axis"]
    if name == "sum":
        wide = ", dtype=torch.float32" if values[0].dtype != "float32" else ""
        return f"torch.sum({args[0]}, {axis}{wide})"
    return f"torch.{'amax' if name == 'max' else 'amin'}({args[0]}, {axis})"


def reduce_f64(name: str, node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    identity, fn = REDUCTIONS[name][:2]
    x, axis = args[0], node["axis"] + 1
    valid = x.valid.any(axis=axis)
    err_in = np.where(x.valid, x.err, 0.0)
    with np.errstate(all="ignore"):
        val = fn(np.where(x.valid, x.val, identity), axis=axis)
        if name == "sum":
            n = x.val.shape[axis]
            err = (
                err_in.sum(axis=axis)
                + n * UNIT_ROUNDOFF["float32"] * np.abs(x.on_valid).sum(axis=axis)
                + rounding("float32", val)
            )
        else:  # a max or min selects one valid element
            err = err_in.max(axis=axis)
    return T64(np.where(valid, val, np.nan), valid, err)


for _name, (_identity, _fn, _src, _target) in REDUCTIONS.items():
    register(
        Op(
            name=_name,
            fields={"arg": "value", "axis": "int"},
            optional=frozenset(),
            target=_target,
            family="reduction",
            shape=functools.partial(reduce_shape, _name),
            masked_value=functools.partial(reduce_masked_value, _name),
            pallas=functools.partial(reduce_pallas, _name),
            f64=functools.partial(reduce_f64, _name),
            helion=functools.partial(reduce_helion, _name),
            consumer_fill=_identity,
        )
    )
