"""Pallas TPU source for one compiled variant: a module a person can read and the harness runs.

The module defines ``kernel`` (one grid step = one work item; a grid dim per tile name) and
``build(grid, *, interpret=False)``, which returns the ``pallas_call``. Work items arrive by
scalar prefetch: per tile, ``<tile>_start`` and ``<tile>_extent`` arrays indexed by the grid
position. Masks are ``iota < extent`` per tile, made float32 before any broadcast (Mosaic
cannot reshape boolean vectors). Call order: every tile's starts and extents, then inputs in
case order, then outputs in store order; each output holds one slot per work item.

The source depends only on the structure of the case (ops, block sizes, plain dims, dtype),
never on lengths or data, so one compiled kernel serves every case of the same structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch.fx

from reference.errors import CodegenError
from reference.ops import memory
from reference.ops.base import expand_at
from reference.spec import KernelSpec
from reference.values import JNP_DTYPE, Value


@dataclass(frozen=True)
class KernelSource:
    """Generated source and how to call what it builds."""

    text: str
    tiles: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[tuple[str, Value], ...]  # (dst, stored value) in store order


class _Emitter:
    """The :class:`~reference.ops.base.Emitter` the op rules write through."""

    def __init__(self, spec: KernelSpec) -> None:
        self.spec = spec
        self.scratch_buffers: list[tuple[str, str]] = []  # (name, pltpu.VMEM(...) source)
        self.stores: list[torch.fx.Node] = []

    def var(self, node: torch.fx.Node) -> str:
        return node.meta["var"]

    def mask(self, value: Value, tiles: Sequence[str]) -> str | None:
        terms = [expand_at(f"mask_{t}", value.rank, d) for d, t in enumerate(value.tiles) if t in tiles]
        return " * ".join(terms) if terms else None

    def ref(self, src: str) -> str:
        return f"{src}_hbm" if memory.is_tiled(self.spec, src) else f"{src}_ref"

    def scratch(self, node: torch.fx.Node, shape: tuple[int, ...], dtype: str) -> tuple[str, str]:
        name = f"{node.meta['var']}_vmem"
        self.scratch_buffers.append((name, f"pltpu.VMEM({shape}, {JNP_DTYPE[dtype]})"))
        return name, f"dma_sem.at[{len(self.scratch_buffers) - 1}]"

    def tile_start(self, tile: str) -> str:
        return f"{tile}_start"

    def out_ref(self, node: torch.fx.Node) -> str:
        self.stores.append(node)
        return f"{node.kwargs['dst']}_ref"


def generate(spec: KernelSpec, graph: torch.fx.Graph, title: str) -> KernelSource:
    """Source of the kernel that ``graph`` (after the passes) describes."""
    ctx = _Emitter(spec)
    body: list[str] = []
    for node in graph.nodes:
        op = node.meta.get("op")
        if op is None:
            continue
        args = [a.meta["var"] for a in node.args if isinstance(a, torch.fx.Node)]
        try:
            body += op.pallas(node, args, ctx)
        except Exception as e:  # a rule's failure is reported with the node it failed on
            raise CodegenError(f"Pallas rule of {op.name!r} failed on node {node.name}: {e}") from e

    tiles = spec.tile_names
    grid_vars = [f"i{g}" for g in range(len(tiles))]
    index_args = ", ".join(grid_vars) + ", *_"
    prologue = []
    for g, t in enumerate(tiles):
        block = spec.tiles[t].block
        prologue += [
            f"{grid_vars[g]} = pl.program_id({g})",
            f"{t}_start = {t}_start_ref[{grid_vars[g]}]",
            f"{t}_extent = {t}_extent_ref[{grid_vars[g]}]",
            f"mask_{t} = (lax.broadcasted_iota(jnp.int32, ({block},), 0) < {t}_extent).astype(jnp.float32)",
        ]

    inputs = tuple(spec.inputs)
    in_specs = []
    for src in inputs:
        if memory.is_tiled(spec, src):
            in_specs.append(f"pl.BlockSpec(memory_space=pl.ANY),  # {src}: DMA'd per work item")
        else:
            shape = spec.block_shape(spec.inputs[src])
            zeros = _tuple_source(["0"] * len(shape))
            in_specs.append(f"pl.BlockSpec({shape}, lambda {index_args}: {zeros}),  # {src}: whole, in VMEM")
    outputs = tuple((n.kwargs["dst"], n.args[0].meta["value"]) for n in ctx.stores)
    out_specs, out_shapes = [], []
    for dst, value in outputs:
        slot = memory.slot_shape(value)
        block = (None,) * len(tiles) + slot
        index = _tuple_source(grid_vars + ["0"] * len(slot))
        out_specs.append(f"pl.BlockSpec({block}, lambda {index_args}: {index}),  # {dst}: one slot per work item")
        dims = ", ".join(map(str, slot))
        out_shapes.append(f"jax.ShapeDtypeStruct((*grid, {dims}), {JNP_DTYPE[value.dtype]}),")
    scratch = [f"{shape}," for _, shape in ctx.scratch_buffers]
    if ctx.scratch_buffers:
        scratch.append(f"pltpu.SemaphoreType.DMA(({len(ctx.scratch_buffers)},)),")

    params = [f"{t}_{k}_ref" for t in tiles for k in ("start", "extent")]
    params += [ctx.ref(src) for src in inputs]
    params += [f"{dst}_ref" for dst, _ in outputs]
    params += [name for name, _ in ctx.scratch_buffers]
    if ctx.scratch_buffers:
        params.append("dma_sem")

    def block(lines: list[str], indent: int) -> str:
        return "\n".join(" " * indent + line for line in lines)

    text = f'''"""{title}"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu


def kernel(
{block([p + "," for p in params], 4)}
):
{block(prologue + body, 4)}


def build(grid, *, interpret=False):
    """The pallas_call over ``grid`` (work items per tile: {", ".join(tiles)}); compiled, it
    may use the chip's whole VMEM, as Helion's launcher lets its kernels."""
    vmem = None if interpret else pltpu.CompilerParams(vmem_limit_bytes=pltpu.get_tpu_info().vmem_capacity_bytes)
    return pl.pallas_call(
        kernel,
        grid_spec=pltpu.PrefetchScalarGridSpec(
            num_scalar_prefetch={2 * len(tiles)},
            grid=grid,
            in_specs=[
{block(in_specs, 16)}
            ],
            out_specs=[
{block(out_specs, 16)}
            ],
            scratch_shapes=[
{block(scratch, 16)}
            ],
        ),
        out_shape=[
{block(out_shapes, 12)}
        ],
        compiler_params=vmem,
        interpret=interpret,
    )
'''
    return KernelSource(text=text, tiles=tiles, inputs=inputs, outputs=outputs)


def _tuple_source(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
