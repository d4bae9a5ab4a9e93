"""What a kernel is, before any pass runs: tiles, inputs and the node list of a case.

These are plain frozen dataclasses. ``fuzzpass.core.case`` parses and validates case files into
them; ``reference`` builds graphs from them; nothing here reads JSON or knows the harness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Dim = int | str
"""A dimension as a case writes it: an integer extent, or a tile name (its block size)."""


@dataclass(frozen=True)
class TileSpec:
    """One tiled dimension: its block size and the jagged sequence lengths along it."""

    block: int
    lengths: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.lengths)

    def work_items(self) -> tuple[tuple[int, int], ...]:
        """``(start, extent)`` of every tile, sequence by sequence (CASES.md, "The grid")."""
        items = []
        offset = 0
        for length in self.lengths:
            for j in range(math.ceil(length / self.block)):
                items.append((offset + j * self.block, min(self.block, length - j * self.block)))
            offset += length
        return tuple(items)


@dataclass(frozen=True)
class NodeSpec:
    """One graph node: ``op``, the value it defines (``out``; None for a store) and its fields."""

    op: str
    out: str | None
    fields: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


@dataclass(frozen=True)
class KernelSpec:
    """A kernel graph made concrete: element type, tiles, input shapes and nodes in order."""

    dtype: str
    tiles: dict[str, TileSpec]
    inputs: dict[str, tuple[Dim, ...]]
    graph: tuple[NodeSpec, ...]

    @property
    def tile_names(self) -> tuple[str, ...]:
        """Tile names in grid order (the order the case lists them)."""
        return tuple(self.tiles)

    def block_shape(self, shape: tuple[Dim, ...]) -> tuple[int, ...]:
        """The shape of one tile of a tensor: a tile name becomes its block size."""
        return tuple(self.tiles[d].block if isinstance(d, str) else d for d in shape)
