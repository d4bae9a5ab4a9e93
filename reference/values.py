"""Static facts about one graph value: block shape, which dims are tiles, element type.

Every fx node of a reference graph carries one of these as ``node.meta["value"]``: it is what
the pass asks when it looks for the masked tile dim (``Value.dim_index``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Unit roundoff (half an ulp at 1.0) of each element type: the error model's unit.
UNIT_ROUNDOFF = {"bfloat16": 2.0**-8, "float16": 2.0**-11, "float32": 2.0**-24}

SUBNORMAL_HALF_STEP = {"bfloat16": 2.0**-134, "float16": 2.0**-25, "float32": 2.0**-150}
"""Half the spacing of each type's subnormals: the most a result that rounds to a subnormal
moves, where ``UNIT_ROUNDOFF * |value|`` is smaller (float16's subnormals start below 6.1e-5,
where a product's rounding is up to 3e-8, not a relative 2**-11)."""

JNP_DTYPE = {"bfloat16": "jnp.bfloat16", "float32": "jnp.float32", "float16": "jnp.float16"}


def promote(a: str, b: str) -> str:
    """Element type of a binary op: equal types stay, any other pair widens to float32."""
    return a if a == b else "float32"


def sublane_tile(dtype: str) -> int:
    """Rows per (sublane, lane) memory tile on TPU: 8 for 32-bit types, 16 for 16-bit ones."""
    return 8 * (4 // np.dtype(np_dtype(dtype)).itemsize)


def np_dtype(dtype: str) -> np.dtype:
    """The numpy dtype of an element type (bfloat16 through ml_dtypes, which jax ships)."""
    if dtype == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(dtype)


@dataclass(frozen=True)
class Value:
    """A tensor value inside one work item: ``shape`` in elements, ``tiles[i]`` the tile name
    of dim ``i`` (None for a plain dim), ``dtype`` its element type."""

    shape: tuple[int, ...]
    tiles: tuple[str | None, ...]
    dtype: str

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def tile_names(self) -> tuple[str, ...]:
        """Tile names present, in dim order, each once."""
        return tuple(dict.fromkeys(t for t in self.tiles if t is not None))

    def dim_index(self, tile: str) -> int | None:
        """Index of ``tile``'s dim, or None unless it appears as exactly one dim.

        This doubles as the pass's "the masked dim survives uniquely" check.
        """
        hits = [i for i, t in enumerate(self.tiles) if t == tile]
        return hits[0] if len(hits) == 1 else None


def round_to(dtype: str, x: np.ndarray | float) -> np.ndarray:
    """``x`` rounded to ``dtype`` and back to float64: what a kernel holds for that value."""
    return np.asarray(x, dtype=np.float64).astype(np_dtype(dtype)).astype(np.float64)


DTYPE_NAMES = tuple(UNIT_ROUNDOFF)
"""The element types a case may use."""
