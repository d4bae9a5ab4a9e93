"""A case as a Helion kernel: the same graph, written in Helion's language for its Pallas backend.

The kernel walks the case's work items as the Pallas kernels do: ``hl.grid`` over them, and
inside, per tile, ``hl.tile(start, start + extent)`` with the case's block size. That tile's
range is data-dependent, so Helion masks its loads (``x * mask``, the eager mask) and its
``defer_pallas_load_masks`` decides, as the reference does, whether to move that mask past
the permutes. Each node becomes one line through its op's Helion rule, named as the case
names it, so Helion's generated source and its graph name loads as the case does.

A case Helion cannot state as written raises :class:`~reference.ops.base.Inexpressible`
(the harness reports it); nothing is rewritten into a neighbouring case.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from reference.graph import values_of
from reference.ops import lookup
from reference.ops.base import Inexpressible
from reference.spec import KernelSpec
from reference.values import Value

KERNEL = "fuzzpass_kernel"


@dataclass(frozen=True)
class HelionSource:
    """A ``@helion.kernel`` module: its text, the tiles (grid order), inputs (argument order
    after each tile's starts and extents), and the stores in the order it returns them."""

    text: str
    tiles: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[tuple[str, Value], ...]
    names: dict[str, str]
    """Case value name -> the kernel's variable (the same, unless Python or the kernel needs it)."""


class _Writer:
    """Collects the kernel's outputs while op rules write its body (``HelionWriter``)."""

    def __init__(self, spec: KernelSpec) -> None:
        self.spec = spec
        self.outputs: dict[str, tuple[str, Value]] = {}

    def tile(self, name: str) -> str:
        return name

    def item(self) -> str:
        return ", ".join(f"i{k}" for k in range(len(self.spec.tiles)))

    def output(self, dst: str, value: Value) -> str:
        if dst in self.outputs:
            raise Inexpressible("dst", f"{dst!r} is stored twice")
        self.outputs[dst] = (f"out_{dst}", value)
        return f"out_{dst}"

    def allocation(self, dst: str) -> str:
        """The ``torch.empty`` of output ``dst``: one slot per work item, or, for a value
        holding every tile, the rows of an input holding that tile (the harness keeps the
        valid ones)."""
        name, value = self.outputs[dst]
        if not value.tile_names:
            dims = [f"starts_{t}.size(0)" for t in self.spec.tiles] + [str(n) for n in value.shape]
        else:
            dims = [self._rows(t) if t else str(n) for n, t in zip(value.shape, value.tiles, strict=True)]
        device = next(iter(self.spec.inputs))
        return f"{name} = torch.empty([{', '.join(dims)}], dtype=torch.{value.dtype}, device={device}.device)"

    def _rows(self, tile: str) -> str:
        src, shape = next((s, shape) for s, shape in self.spec.inputs.items() if tile in shape)
        return f"{src}.size({shape.index(tile)})"


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _variable_names(spec: KernelSpec) -> dict[str, str]:
    """Case names as Python variables, kept as written unless they would shadow a module,
    an argument or a loop variable of the kernel."""
    taken = {"torch", "helion", "hl", KERNEL, *spec.inputs, *spec.tiles}
    taken |= {f"{p}_{t}" for t in spec.tiles for p in ("starts", "extents", "start")}
    taken |= {f"i{k}" for k in range(len(spec.tiles))}
    names = {}
    for node in spec.graph:
        if node.out is not None:
            name = node.out
            while name in taken or keyword.iskeyword(name) or name.startswith("out_"):
                name += "_"
            names[node.out] = name
            taken.add(name)
    return names


def _tile_in_last_two_at_a_load(spec: KernelSpec, values: dict[str, Value], writer: _Writer) -> None:
    """A load holding a tile in its last two dims has no faithful Helion form here. Helion
    starts such a tile's range at the memory tile below ``start`` (Mosaic's alignment), so an
    unaligned work item takes two iterations: a result stored per work item is written by
    both, the second overwriting the first. A value stored by its rows instead is refused by
    Helion 1.5.1 ("only supported when ordered carry can stitch the store")."""
    per_item = any(not value.tile_names for _, value in writer.outputs.values())
    for i, node in enumerate(spec.graph):
        if node.op != "load":
            continue
        value = values[node.out]  # type: ignore[index]
        for tile in value.tile_names:
            at = value.dim_index(tile)
            if at is not None and at >= value.rank - 2:
                consequence = (
                    "Helion may run an unaligned item as two blocks, each overwriting its stored result"
                    if per_item
                    else "Helion 1.5.1 refuses to store such a jagged tile by rows"
                )
                raise Inexpressible(
                    f"graph[{i}]", f"load {node.out!r} holds tile {tile!r} in its last two dims: {consequence}"
                )


def helion_source(spec: KernelSpec, title: str) -> HelionSource:
    """The Helion kernel of ``spec``, or :class:`Inexpressible` with the first reason."""
    for tile, t in spec.tiles.items():
        if not _is_power_of_two(t.block):
            raise Inexpressible(f"tiles.{tile}.block", f"{t.block} is not a power of two, as Helion's block sizes are")
    values = values_of(spec)
    names = _variable_names(spec)
    writer = _Writer(spec)
    body = []
    for i, node in enumerate(spec.graph):
        op = lookup(node.op)
        fields = op.value_fields(node)
        args = [names[node[f]] for f in fields]
        try:
            line = op.helion(node, args, [values[node[f]] for f in fields], writer)
        except Inexpressible as e:
            raise Inexpressible(f"graph[{i}].{e.where}", e.reason) from None
        body.append(line if node.out is None else f"{names[node.out]} = {line}")
    if not writer.outputs:
        raise Inexpressible("graph", "no store: a Helion kernel returns what it stores")
    _tile_in_last_two_at_a_load(spec, values, writer)
    tiles = tuple(spec.tiles)
    params = [f"{p}_{t}: torch.Tensor" for t in tiles for p in ("starts", "extents")]
    params += [f"{src}: torch.Tensor" for src in spec.inputs]
    items = ", ".join(f"i{k}" for k in range(len(tiles)))
    counts = [f"starts_{t}.size(0)" for t in tiles]
    grid = counts[0] if len(counts) == 1 else f"[{', '.join(counts)}]"
    blocks = ", ".join(str(spec.tiles[t].block) for t in tiles)
    lines = [
        f'"""{title}"""',
        "import helion",
        "import helion.language as hl",
        "import torch",
        "",
        "",
        f"@helion.kernel(config=helion.Config(block_sizes=[{blocks}]), static_shapes=True)",
        f"def {KERNEL}({', '.join(params)}) -> tuple[torch.Tensor, ...]:",
        *(f"    {writer.allocation(dst)}" for dst in writer.outputs),
        f"    for {items} in hl.grid({grid}):",
    ]
    indent = "        "
    for k, t in enumerate(tiles):
        lines.append(f"{indent}start_{t} = starts_{t}[i{k}]")
        lines.append(f"{indent}for {t} in hl.tile(start_{t}, start_{t} + extents_{t}[i{k}]):")
        indent += "    "
    lines += [indent + line for line in body]
    returned = ", ".join(name for name, _ in writer.outputs.values())
    lines.append(f"    return {returned}{',' if len(writer.outputs) == 1 else ''}")
    return HelionSource(
        text="\n".join(lines) + "\n",
        tiles=tiles,
        inputs=tuple(spec.inputs),
        outputs=tuple((dst, value) for dst, (_, value) in writer.outputs.items()),
        names=names,
    )
