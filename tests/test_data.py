"""A case's data: room for every DMA window, padding that stays small, one grid per structure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzpass.backends.kernel import GRID_BUCKET, bucketed_grid
from fuzzpass.core.case import Case
from fuzzpass.core.data import ROWS_BUCKET, draw, padded
from generators.examples import Example, examples
from generators.policies import POLICIES
from reference.ops import memory
from reference.spec import TileSpec
from tests.specs import node, spec


@given(st.data())
def test_every_window_fits_in_the_padded_rows(data: st.DataObject) -> None:
    """The last work item's window may start at the last row; it must not read past the array."""
    block = data.draw(st.integers(1, 256))
    align = data.draw(st.sampled_from([1, 8, 16, memory.LANES]))
    size = block if align == 1 else -(-block // align) * align + align
    window = memory.DimWindow("t0", block, align, size)
    rows = data.draw(st.integers(0, 50 * block))
    held = padded(rows, window)
    assert held >= rows + size and held & (held - 1) == 0
    assert held >= ROWS_BUCKET * block
    assert padded(rows, memory.DimWindow(None, rows, 1, rows)) == rows  # a dim without a tile is held whole


def test_a_tile_in_the_last_two_dims_holds_its_window_once_not_eight_times() -> None:
    """A lane window is a whole 256-lane memory tile for a block of 16: counting eight of them
    per tiled dim held a (16 x 48)-row tile in 2048 lanes; the overhang now counts once."""
    s = spec(
        {"q": (4, "t0", "t0")},
        node("load", "x", src="q"),
        node("sum", "r", arg="x", axis=2),
        node("store", arg="r", dst="out"),
        lengths=(16, 16, 16),
        dtype="float32",
    )
    q = draw(Case("square", 1, s, None)).inputs["q"]
    assert q.shape == (4, 256, 512)  # sublane: 48 + 24 -> at least 8 x 16 + 8; lane: 48 + 256 -> at least 128 + 240
    assert np.isfinite(q[:, :48, :48]).all() and not np.isfinite(q[:, 48:, :]).any()


@pytest.mark.parametrize("policy", ["mixed", "deferrable"])
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_instance_of_a_drawn_structure_runs_on_one_grid(policy: str, data: st.DataObject) -> None:
    """So a structure compiles once per variant, whatever lengths its instances draw."""
    example: Example = data.draw(examples(POLICIES[policy]))
    grids = {bucketed_grid(draw(case)) for case in example.cases("g")}
    assert len(grids) == 1, grids
    (grid,) = grids
    assert all(n >= GRID_BUCKET[len(grid)] for n in grid)


def test_a_longer_grid_than_the_generators_draw_still_gets_its_own_bucket() -> None:
    s = spec(
        {"q": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("sum", "r", arg="x", axis=1),
        node("store", arg="r", dst="out"),
        block=8,
    )
    long = type(s)(s.dtype, {"t0": TileSpec(8, (8 * 20,))}, s.inputs, s.graph)
    assert bucketed_grid(draw(Case("short", 1, s, None))) == (16,)
    assert bucketed_grid(draw(Case("long", 1, long, None))) == (32,)
