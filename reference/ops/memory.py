"""``load`` and ``store``: how a work item's tile gets into VMEM and its result out again.

A tiled input stays in HBM (``pl.ANY``) and each work item DMAs its window. The window
starts at the tile's jagged start along a major dim; along a sublane or lane dim Mosaic only
accepts tile-aligned offsets, so the kernel DMAs an aligned window one memory tile longer,
rotates it by the misalignment (``pltpu.roll``, in float32) and slices the block out
(TPU-AOT.md). An input without tile dims is one whole VMEM block. The load's eager mask
(``x * mask``, in the load's own layout) is what ``defer_pallas_load_masks`` removes.

A store writes one slot per work item (``out[i0, i1, ...]``); the harness places slots of a
value that still holds every tile at their jagged offsets. Slots keep the kernel free of
jagged, unaligned writes and of races between work items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch.fx

from reference.errors import SpecError
from reference.ops.base import T64, Emitter, F64Context, HelionWriter, Inexpressible, MaskedValue, Op, register
from reference.values import JNP_DTYPE, Value, sublane_tile

if TYPE_CHECKING:
    from reference.spec import KernelSpec, NodeSpec

LANES = 128


def load(src: str) -> None:
    """fx target of a load: the current tile of input ``src``."""


def store(value: object, dst: str) -> None:
    """fx target of a store: write ``value`` to output ``dst``."""


@dataclass(frozen=True)
class DimWindow:
    """How one dim of a tiled input is read: whole, at the jagged start (a major dim), or
    through an aligned window of ``size`` rows rotated by the misalignment (sublane/lane)."""

    tile: str | None
    block: int
    align: int  # 1 for a major dim (any offset is fine), else the memory tile along it
    size: int  # rows DMA'd per work item

    @property
    def rotated(self) -> bool:
        return self.align > 1


def windows(spec: KernelSpec, src: str) -> tuple[DimWindow, ...]:
    """The DMA window of every dim of input ``src``."""
    shape = spec.inputs[src]
    rank = len(shape)
    result = []
    for i, d in enumerate(shape):
        if not isinstance(d, str):
            result.append(DimWindow(None, d, 1, d))
            continue
        block = spec.tiles[d].block
        align = 1 if i < rank - 2 else (LANES if i == rank - 1 else sublane_tile(spec.dtype))
        size = block if align == 1 else -(-block // align) * align + align
        result.append(DimWindow(d, block, align, size))
    return tuple(result)


def is_tiled(spec: KernelSpec, src: str) -> bool:
    """Whether input ``src`` is DMA'd per work item (it has a tile dim)."""
    return any(isinstance(d, str) for d in spec.inputs[src])


def padding(spec: KernelSpec, src: str) -> tuple[int, ...]:
    """Rows the harness adds past the end of each dim of ``src`` so no DMA reads out of
    bounds; what lies there is the poison (CASES.md, ``--poison``)."""
    return tuple(w.size if w.tile else 0 for w in windows(spec, src))


def slot_shape(value: Value) -> tuple[int, ...]:
    """Shape of one work item's output slot: the value, with leading 1s up to rank 2 so the
    block's last two dims equal the array's (a Mosaic block rule)."""
    return (1,) * max(0, 2 - value.rank) + value.shape


# -- load ------------------------------------------------------------------------------


def load_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> Value:
    shape = spec.inputs[node["src"]]
    return Value(spec.block_shape(shape), tuple(d if isinstance(d, str) else None for d in shape), spec.dtype)


def load_masked_value(node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    # ``ref * mask`` zeroes padded lanes (taking 0 * NaN to be 0, as Helion does: that is the
    # baseline's hazard, which poisoned padding exposes). A deferred load is not pre-masked.
    return None if node.meta.get("deferred_tiles") else 0.0


def load_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    spec, src, out = ctx.spec, node.kwargs["src"], ctx.var(node)
    value: Value = node.meta["value"]
    deferred: frozenset[str] = node.meta.get("deferred_tiles", frozenset())
    lines: list[str] = []
    if not is_tiled(spec, src):
        expr = f"{ctx.ref(src)}[...]"
    else:
        wins = windows(spec, src)
        buf, sem = ctx.scratch(node, tuple(w.size for w in wins), spec.dtype)
        index = []
        for i, w in enumerate(wins):
            if w.tile is None:
                index.append(":")
            elif not w.rotated:
                index.append(f"pl.ds({ctx.tile_start(w.tile)}, {w.block})")
            else:
                base = f"win_{out}_{i}"
                lines.append(f"{base} = pl.multiple_of({ctx.tile_start(w.tile)} & ~{w.align - 1}, {w.align})")
                index.append(f"pl.ds({base}, {w.size})")
        while index and index[-1] == ":":
            index.pop()
        window = f"{ctx.ref(src)}.at[{', '.join(index)}]" if index else ctx.ref(src)
        lines += [
            f"copy_{out} = pltpu.make_async_copy({window}, {buf}, {sem})",
            f"copy_{out}.start()",
            f"copy_{out}.wait()",
        ]
        rotated = [(i, w) for i, w in enumerate(wins) if w.rotated]
        if not rotated:
            expr = f"{buf}[...]"
        else:
            # Rotate in float32: Mosaic rotates 32-bit sublanes; the round trip is exact. A
            # rank-1 window is rotated as one row: a 1-D roll feeding a broadcast fails to
            # lower (``Unsupported 1D shape``).
            flat = len(wins) == 1
            lines.append(f"{out} = {buf}[...].astype(jnp.float32){f'.reshape(1, {wins[0].size})' if flat else ''}")
            for i, w in rotated:
                shift = f"({w.size} - ({ctx.tile_start(w.tile)} - win_{out}_{i})) % {w.size}"
                lines.append(f"{out} = pltpu.roll({out}, {shift}, {i + flat})")
            sl = ", ".join(["0"] * flat + [f":{w.block}" if w.rotated else ":" for w in wins])
            expr = f"{out}[{sl}].astype({JNP_DTYPE[spec.dtype]})"
    eager = [t for t in value.tile_names if t not in deferred]
    mask = ctx.mask(value, eager)
    if mask is not None:
        mask = f"({mask})" if " * " in mask else mask  # the cast covers every tile's factor
        expr = f"{expr} * {mask}.astype({JNP_DTYPE[value.dtype]})"
    lines.append(f"{out} = {expr}")
    if deferred:
        lines[-1] += f"  # mask of {', '.join(sorted(deferred))} deferred past the relayout{discharged_by(node)}"
    return lines


def discharged_by(node: torch.fx.Node) -> str:
    """The pass's record of which masks discharge each deferred tile of ``node``
    (``PALLAS_DEFERRED_MASK_CONSUMERS_META``), as the load line's comment says it: a reader of
    the kernel, and a repro of an ``undischarged`` finding, see what the pass claimed."""
    from reference.neighbours import PALLAS_DEFERRED_MASK_CONSUMERS_META

    record: dict[str, tuple[str, ...]] = node.meta.get(PALLAS_DEFERRED_MASK_CONSUMERS_META, {})
    return "".join(f"; {tile} discharged by {', '.join(names)}" for tile, names in sorted(record.items()))


def load_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    index = [w.tile(d) if isinstance(d, str) else ":" for d in w.spec.inputs[node["src"]]]
    return f"{node['src']}[{', '.join(index)}]"


def load_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    return ctx.load(node["src"])


register(
    Op(
        name="load",
        fields={"src": "input"},
        optional=frozenset(),
        target=load,
        family="memory",
        shape=load_shape,
        masked_value=load_masked_value,
        pallas=load_pallas,
        f64=load_f64,
        helion=load_helion,
    )
)


# -- store -----------------------------------------------------------------------------


def store_shape(node: NodeSpec, args: list[Value], spec: KernelSpec) -> None:
    (value,) = args
    held = set(value.tile_names)
    if held and held != set(spec.tiles):
        raise SpecError(
            "arg",
            f"a store must hold every tile dim of the grid or none; {node['arg']!r} holds "
            f"{sorted(held)} of {sorted(spec.tiles)}",
        )
    for name in held:
        if value.dim_index(name) is None:
            raise SpecError("arg", f"a stored value must hold tile {name!r} once")
    return None


def store_masked_value(node: torch.fx.Node, inputs: list[MaskedValue]) -> MaskedValue:
    return None


def store_pallas(node: torch.fx.Node, args: list[str], ctx: Emitter) -> list[str]:
    value: Value = node.args[0].meta["value"]  # type: ignore[union-attr]
    expr = args[0]
    if slot_shape(value) != value.shape:
        expr = f"{expr}.reshape{slot_shape(value)}"
    return [f"{ctx.out_ref(node)}[...] = {expr}"]


def store_helion(node: NodeSpec, args: list[str], values: list[Value], w: HelionWriter) -> str:
    """A value holding every tile is stored at its jagged rows (``out[t0, :]``); Helion 1.5.1
    refuses such a ragged store along the last two dims. Any other value goes to its work
    item's slot (``out[i0, ...]``), as the Pallas rule does."""
    (value,) = values
    out = w.output(node["dst"], value)
    if not value.tile_names:
        return f"{out}[{', '.join([w.item()] + [':'] * value.rank)}] = {args[0]}"
    for name in value.tile_names:
        if value.dim_index(name) >= value.rank - 2:  # type: ignore[operator]
            raise Inexpressible(
                "arg", f"a store with tile {name!r} in its last two dims: Helion 1.5.1 refuses ragged stores there"
            )
    index = [w.tile(t) if t else ":" for t in value.tiles]
    return f"{out}[{', '.join(index)}] = {args[0]}"


def store_f64(node: NodeSpec, out: Value | None, args: list[T64], ctx: F64Context) -> T64:
    return args[0]


register(
    Op(
        name="store",
        fields={"arg": "value", "dst": "output"},
        optional=frozenset(),
        target=store,
        family="memory",
        shape=store_shape,
        masked_value=store_masked_value,
        pallas=store_pallas,
        f64=store_f64,
        helion=store_helion,
    )
)
