"""A case's concrete data: inputs drawn from its seed, poison past the end, work items.

Real data is standard normal, rounded to the case's dtype, drawn from ``seed`` alone, so the
same file gives the same bytes under every poison. Past the end of each tiled dim the harness
adds the rows a DMA window may read (``reference.ops.memory.padding``), rounds the rows up to
a power of two (so kernels of one structure share a compile, ``backends.kernel.bucket``) and
fills them with the poison, drawn from a second stream of the same seed:

- ``nan``: NaN, +Inf and -Inf (the default: a multiplicative mask lets these through),
- ``finite``: large finite garbage (+/-1e3..1e4), which no mask may let reach a valid output,
- ``zero``: zeros.

Padding between sequences is never poison: it is the next sequence's real data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from fuzzpass.core.case import Case
from reference.ops import memory
from reference.values import round_to

POISONS = ("nan", "finite", "zero")

ROWS_BUCKET = 8
"""A tiled dim has at least this many blocks of rows, plus what its DMA window reads past a
block: the lengths a generator draws (a few blocks per sequence) then fall in one or two
buckets per structure."""


def bucket(n: int, at_least: int = 1) -> int:
    """``n`` rounded up to a power of two, and to at least ``at_least``.

    Grids and the rows of tiled inputs are padded to buckets, so the kernels of one structure
    compile once per bucket, not once per set of lengths: extents and data are runtime inputs.
    """
    return 1 << (max(n, at_least, 1) - 1).bit_length()


@dataclass(frozen=True)
class CaseData:
    """Inputs as padded float64 arrays (values exact in the case dtype) and the grid."""

    inputs: dict[str, np.ndarray]
    starts: dict[str, np.ndarray]  # per tile, int32, one entry per work item of that tile
    extents: dict[str, np.ndarray]

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self.starts.values())

    def items(self) -> tuple[dict[str, int], ...]:
        """Every grid point (row-major, as the kernel's outputs are laid out) as tile -> index."""
        names = tuple(self.starts)
        return tuple(
            dict(zip(names, point, strict=True)) for point in itertools.product(*(range(n) for n in self.grid))
        )


def padded(rows: int, window: memory.DimWindow) -> int:
    """The rows a dim of ``rows`` real rows is held with: whole when no tile is in it, else
    what its last DMA window may read (``window.size`` past the end) rounded up to a
    power of two, and to at least :data:`ROWS_BUCKET` blocks plus the window's overhang. The
    overhang counts once, not per block: a lane dim's window is a whole 256-lane tile for any
    block, and eight of them per tiled dim made a tile in two dims hold 2048 x 2048 lanes."""
    if window.tile is None:
        return rows
    overhang = window.size - window.block
    return bucket(rows + window.size, ROWS_BUCKET * window.block + overhang)


def _poison(rng: np.random.Generator, shape: tuple[int, ...], poison: str, dtype: str) -> np.ndarray:
    if poison == "nan":
        return rng.choice(np.array([np.nan, np.inf, -np.inf]), size=shape)
    if poison == "finite":
        return round_to(dtype, rng.choice([-1.0, 1.0], size=shape) * rng.uniform(1e3, 1e4, size=shape))
    if poison == "zero":
        return np.zeros(shape)
    raise ValueError(f"--poison: {poison!r} is not one of {', '.join(POISONS)}")


def draw(case: Case, poison: str = "nan") -> CaseData:
    """The data of ``case`` under ``poison``; same case and poison, same bytes."""
    spec = case.spec
    real_rng = np.random.default_rng([case.seed, 0])
    poison_rng = np.random.default_rng([case.seed, 1])
    inputs = {}
    for src, shape in spec.inputs.items():
        real_shape = tuple(spec.tiles[d].total if isinstance(d, str) else d for d in shape)
        full = tuple(padded(r, w) for r, w in zip(real_shape, memory.windows(spec, src), strict=True))
        real = round_to(spec.dtype, real_rng.standard_normal(real_shape))
        array = _poison(poison_rng, full, poison, spec.dtype)
        array[tuple(slice(0, r) for r in real_shape)] = real
        inputs[src] = array
    starts, extents = {}, {}
    for name, tile in spec.tiles.items():
        items = tile.work_items()
        starts[name] = np.array([s for s, _ in items], dtype=np.int32).reshape(-1)
        extents[name] = np.array([e for _, e in items], dtype=np.int32).reshape(-1)
    return CaseData(inputs=inputs, starts=starts, extents=extents)
