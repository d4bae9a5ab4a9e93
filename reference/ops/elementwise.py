"""Elementwise ops: ``exp``, ``neg``, ``abs``; ``add``, ``sub``, ``mul``, ``maximum``; ``cast``.

Masked value: the op applied to its inputs' padded-lane constants, as Helion's value-range
analysis does. Two cautions from Helion carry over, as its rules beside the pass
(``reference/neighbours.py``): ``strict_float`` (a float ``0 * x`` is not 0 when ``x`` may be
NaN or Inf, so a product with an unknown or non-finite factor is unknown) and
``broadcasts_onto_masked_lanes`` (an input broadcast along a dim of the output holds real
values, not its masked value, at that dim's padded lanes, so it makes the result unknown).

Binary ops take ``lhs`` and ``rhs`` (numpy broadcasting) or ``arg`` and a ``scalar``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.fx

from reference import neighbours
from reference.errors import SpecError
from reference.ops.base import T64, Emitter, F64Context, HelionWriter, MaskedValue, Op, register, rounding
from reference.values import DTYPE_NAMES, JNP_DTYPE, Value, promote, round_to

if TYPE_CHECKING:
    from reference.spec import KernelSpec, NodeSpec


def _constant(fn: Callable[..., np.ndarray], *inputs: MaskedValue) -> MaskedValue:
    if any(v is None for v in inputs):
        return None
    with np.errstate(all="ignore"):
        result = float(fn(*(np.float64(v) for v in inputs)))
    return None if np.isnan(result) else result


# -- unary -----------------------------------------------------------------------------

UNARY: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str, object]] = {
    # name: (float64 meaning, Pallas expression, fx target)
    "exp": (np.exp, "jnp.exp({x})", torch.ops.aten.exp.default),
    "neg": (np.negative, "-{x}", torch.ops.aten.neg.default),
    "abs": (np.abs, "jnp.abs({x})", torch.ops.aten.abs.default),
}
UNARY_HELION = {"exp": "torch.exp({x})", "neg": "-{x}", "abs": "torch.abs({x})"}


def unary_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    return args[0]


def unary_masked_value(name: str, node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    return _constant(UNARY[name][0], inputs[0])


def unary_pallas(name: str, node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    return [f"{ctx.var(node)} = {UNARY[name][1].format(x=args[0])}"]


def unary_helion(name: str, node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    return UNARY_HELION[name].format(x=args[0])


def unary_f64(name: str, node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    assert out is not None
    x = args[0]
    with np.errstate(all="ignore"):
        val = UNARY[name][0](x.val)
        # |exp(x + e) - exp(x)| <= exp(x) * expm1(|e|), and exp is an approximation; neg, abs are exact.
        err = np.abs(val) * np.expm1(x.err) + rounding(out.dtype, val, ulps=4) if name == "exp" else x.err
    return T64(val, x.valid, err)


for _name, (_fn, _src, _target) in UNARY.items():
    register(
        Op(
            name=_name,
            fields={"arg": "value"},
            optional=frozenset(),
            target=_target,
            family="elementwise",
            shape=unary_shape,
            masked_value=functools.partial(unary_masked_value, _name),
            pallas=functools.partial(unary_pallas, _name),
            f64=functools.partial(unary_f64, _name),
            helion=functools.partial(unary_helion, _name),
        )
    )


# -- binary ----------------------------------------------------------------------------

BINARY: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str, object]] = {
    "add": (np.add, "{a} + {b}", torch.ops.aten.add.Tensor),
    "sub": (np.subtract, "{a} - {b}", torch.ops.aten.sub.Tensor),
    "mul": (np.multiply, "{a} * {b}", torch.ops.aten.mul.Tensor),
    "maximum": (np.maximum, "jnp.maximum({a}, {b})", torch.ops.aten.maximum.default),
}
BINARY_HELION = {"add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "maximum": "torch.maximum({a}, {b})"}
"""torch spellings; ``maximum`` with a scalar is ``torch.clamp_min`` (torch.maximum takes tensors)."""


def broadcast_values(lhs: Value, rhs: Value) -> Value:
    """numpy broadcasting of two values; a tile dim wins over a plain dim of the same size."""
    rank = max(lhs.rank, rhs.rank)
    shapes = [(1,) * (rank - v.rank) + v.shape for v in (lhs, rhs)]
    tiles = [(None,) * (rank - v.rank) + v.tiles for v in (lhs, rhs)]
    shape, out_tiles = [], []
    for i in range(rank):
        a, b = shapes[0][i], shapes[1][i]
        if a != b and 1 not in (a, b):
            raise SpecError("rhs", f"shapes {list(lhs.shape)} and {list(rhs.shape)} do not broadcast (dim {i})")
        ta, tb = tiles[0][i] if a != 1 or b == 1 else None, tiles[1][i] if b != 1 or a == 1 else None
        if ta and tb and ta != tb:
            raise SpecError("rhs", f"dim {i} is tile {ta!r} in lhs and tile {tb!r} in rhs")
        shape.append(max(a, b))
        out_tiles.append(ta or tb)
    return Value(tuple(shape), tuple(out_tiles), promote(lhs.dtype, rhs.dtype))


def binary_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    if "lhs" in node.fields and "rhs" in node.fields and "arg" not in node.fields and "scalar" not in node.fields:
        return broadcast_values(args[0], args[1])
    if "arg" in node.fields and "scalar" in node.fields and "lhs" not in node.fields and "rhs" not in node.fields:
        return args[0]
    raise SpecError("op", f"{node.op!r} takes either 'lhs' and 'rhs', or 'arg' and 'scalar'")


def binary_masked_value(name: str, node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    """Helion's value-range rule with its two cautions (``reference/neighbours.py``): an input
    that ``broadcasts_onto_masked_lanes`` carries no masked value, and a product is
    ``strict_float``."""
    rules = neighbours.current()
    out: Value = node.meta["value"]
    args = [a for a in node.args if isinstance(a, torch.fx.Node)]
    consts: list[MaskedValue] = [
        None if rules.broadcasts_onto_masked_lanes(a.meta["value"], out) else v
        for a, v in zip(args, inputs, strict=True)
    ]
    if "scalar" in node.kwargs:
        consts.append(float(node.kwargs["scalar"]))
    if name == "mul":
        if rules.strict_float(consts):
            return None
        if 0.0 in consts:  # Inductor's product: 0 times anything is 0 (fast math's assumption)
            return 0.0
    return _constant(BINARY[name][0], *consts)


def scalar_source(x: float) -> str:
    """``x`` as Python source in a kernel (``float('inf')``: ``repr`` gives a bare ``inf``)."""
    return repr(x) if np.isfinite(x) else f"float({str(x)!r})"


def binary_pallas(name: str, node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    b = args[1] if len(args) == 2 else scalar_source(float(node.kwargs["scalar"]))
    return [f"{ctx.var(node)} = {BINARY[name][1].format(a=args[0], b=b)}"]


def binary_helion(name: str, node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    if len(args) == 2:
        return BINARY_HELION[name].format(a=args[0], b=args[1])
    scalar = scalar_source(float(node["scalar"]))
    return (
        f"torch.clamp_min({args[0]}, {scalar})"
        if name == "maximum"
        else BINARY_HELION[name].format(a=args[0], b=scalar)
    )


def _align(t: T64, rank: int) -> T64:
    """Insert unit dims after the work-item axis so numpy broadcasts per item."""
    extra = rank - (t.val.ndim - 1)
    if extra <= 0:
        return t
    shape = (t.val.shape[0],) + (1,) * extra + t.val.shape[1:]
    return T64(t.val.reshape(shape), t.valid.reshape(shape), t.err.reshape(shape))


def binary_f64(name: str, node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    assert out is not None
    if len(args) == 1:
        scalar = round_to(out.dtype, float(node["scalar"]))
        args = [args[0], T64(np.full(1, scalar), np.ones(1, bool), np.zeros(1))]  # one value for every item
    a, b = (_align(t, out.rank) for t in args)
    with np.errstate(all="ignore"):
        val = BINARY[name][0](a.val, b.val)
        if name in ("add", "sub"):
            err = a.err + b.err + rounding(out.dtype, val)
        elif name == "mul":
            err = np.abs(a.val) * b.err + np.abs(b.val) * a.err + a.err * b.err + rounding(out.dtype, val)
        else:  # maximum selects one input, so it keeps the larger of their errors
            err = np.maximum(a.err, b.err)
    return T64(val, a.valid & b.valid, err)


for _name, (_fn, _src, _target) in BINARY.items():
    register(
        Op(
            name=_name,
            fields={"lhs": "value", "rhs": "value", "arg": "value", "scalar": "number"},
            optional=frozenset({"lhs", "rhs", "arg", "scalar"}),
            target=_target,
            family="elementwise",
            shape=binary_shape,
            masked_value=functools.partial(binary_masked_value, _name),
            pallas=functools.partial(binary_pallas, _name),
            f64=functools.partial(binary_f64, _name),
            helion=functools.partial(binary_helion, _name),
        )
    )


# -- cast ------------------------------------------------------------------------------


def cast_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    if node["dtype"] not in DTYPE_NAMES:
        raise SpecError("dtype", f"{node['dtype']!r} is not one of {', '.join(DTYPE_NAMES)}")
    return Value(args[0].shape, args[0].tiles, node["dtype"])


def cast_masked_value(node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    return inputs[0]


def cast_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    return [f"{ctx.var(node)} = {args[0]}.astype({JNP_DTYPE[node.kwargs['dtype']]})"]


def cast_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    return f"{args[0]}.to(torch.{node['dtype']})"


def cast_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    assert out is not None
    x = args[0]
    return T64(x.val, x.valid, x.err + rounding(out.dtype, x.val))


register(
    Op(
        name="cast",
        fields={"arg": "value", "dtype": "dtype"},
        optional=frozenset(),
        target=torch.ops.prims.convert_element_type.default,
        family="elementwise",
        shape=cast_shape,
        masked_value=cast_masked_value,
        pallas=cast_pallas,
        f64=cast_f64,
        helion=cast_helion,
    )
)
