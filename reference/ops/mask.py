"""``_mask_to(x, fill)``: set every padded lane of ``x`` to ``fill`` (Helion's op).

Not written in case files: the graph builder inserts it before consumers, as Helion does
(both operands of a dot get a zero fill; a reduction's input gets the reduction's identity),
and ``remove_unnecessary_masking`` drops it where its input already holds ``fill``. Its
Pallas form is a select in the value's own layout, ``jnp.where(mask[None, :, None], x, 0)``,
with the mask broadcast as float32 first (Mosaic cannot reshape boolean vectors). A select,
unlike ``x * mask``, also clears NaN and Inf. A narrow (bfloat16) reduction's result is
selected in float32 and rounded back (exact), a layout Mosaic can bring the mask to.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch.fx

from reference.ops.base import T64, Emitter, F64Context, HelionWriter, Inexpressible, MaskedValue, Op, register
from reference.values import JNP_DTYPE, Value

if TYPE_CHECKING:
    from reference.spec import KernelSpec, NodeSpec


def _mask_to(x: object, fill: float) -> None:
    """fx target: ``x`` with its padded lanes set to ``fill``."""


def fill_source(fill: float) -> str:
    """``fill`` as Python source (``-jnp.inf`` for the identity of max)."""
    if math.isinf(fill):
        return "jnp.inf" if fill > 0 else "-jnp.inf"
    return repr(float(fill)) if fill != int(fill) else str(int(fill))


def mask_to_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    return args[0]


def mask_to_masked_value(node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    return float(node.args[1])  # type: ignore[arg-type]


def mask_to_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    value: Value = node.meta["value"]
    mask = ctx.mask(value, value.tile_names)
    if mask is None:
        return [f"{ctx.var(node)} = {args[0]}"]
    fill = fill_source(float(node.args[1]))  # type: ignore[arg-type]
    source = node.args[0]
    producer = source.meta.get("op") if isinstance(source, torch.fx.Node) else None
    if value.dtype != "float32" and producer is not None and producer.family == "reduction":
        # A narrow reduction's result has a layout Mosaic cannot bring a boolean mask to
        # (v5e: "Non-singleton logical dimension is replicated in destination but not in
        # source"; v6e: "Can't change bitwidth during a relayout"): select in float32.
        x = f"{args[0]}.astype(jnp.float32)"
        return [f"{ctx.var(node)} = jnp.where({mask} != 0, {x}, {fill}).astype({JNP_DTYPE[value.dtype]})"]
    return [f"{ctx.var(node)} = jnp.where({mask} != 0, {args[0]}, {fill})"]


def mask_to_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    raise Inexpressible("op", "_mask_to is Helion's own: it inserts one before every consumer")


def mask_to_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    # A case's meaning never depends on fill values (CASES.md): on valid elements, identity.
    return args[0]


register(
    Op(
        name="_mask_to",
        fields={"arg": "value", "fill": "number"},
        optional=frozenset(),
        target=_mask_to,
        family="mask",
        shape=mask_to_shape,
        masked_value=mask_to_masked_value,
        pallas=mask_to_pallas,
        f64=mask_to_f64,
        helion=mask_to_helion,
    )
)
