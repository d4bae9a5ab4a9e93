"""One test per condition of defer_pallas_load_masks: flip the condition alone and the
decision changes. Every shape has a partial tile, so the mask matters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reference.compile import compile_variant
from reference.spec import KernelSpec, TileSpec
from tests.specs import dense_kv, node, spec


def decision(s: KernelSpec, load: str = "x", mode: str = "on") -> str:
    return compile_variant(s, mode).decisions[load].reasons["t0"]  # type: ignore[arg-type]


def test_major_at_load_to_last_two_at_consumer_defers() -> None:
    variant = compile_variant(dense_kv())
    assert variant.deferred() == {"x": ["t0"], "kt": []}
    assert variant.decisions["x"].consumers == {"t0": ("xt_masked",)}
    assert "xt_masked" not in variant.removed_masks  # the downstream mask now discharges t0


def test_eager_variant_drops_the_redundant_consumer_mask() -> None:
    variant = compile_variant(dense_kv(), "off")
    assert variant.deferred() == {"x": [], "kt": []}
    assert variant.removed_masks == ["xt_masked"]  # the load already zeroed its padded lanes


def test_last_two_at_load_keeps_eager_mask() -> None:
    assert decision(dense_kv(q_shape=(4, "t0", 128), batch=1)) == "last-two-at-load"


def test_reverse_direction_keeps_eager_mask_unless_forced() -> None:
    s = dense_kv(q_shape=(4, "t0", 128), batch=1)
    assert decision(s) == "last-two-at-load"
    assert decision(s, mode="force") == "deferred"


def test_permute_keeping_tile_major_keeps_eager_mask() -> None:
    s = spec(
        {"q": ("t0", 2, 4, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 0, 2, 3]),
        node("sum", "r", arg="xt", axis=3),
        node("store", arg="r", dst="out"),
    )
    assert decision(s) == "not-last-two-at-consumer"
    four_d_to_sublane = spec(
        {"q": ("t0", 2, 4, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 2, 0, 3]),
        node("sum", "r", arg="xt", axis=3),
        node("store", arg="r", dst="out"),
    )
    assert decision(four_d_to_sublane) == "deferred"


def test_no_permute_keeps_eager_mask() -> None:
    s = spec(
        {"q": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("sum", "r", arg="x", axis=2),
        node("store", arg="r", dst="out"),
    )
    assert decision(s) == "axis-not-moved"
    assert decision(s, mode="force") == "axis-not-moved"


def test_a_tile_filling_two_dims_keeps_its_mask_and_leaves_the_other_tile_free() -> None:
    s = spec(
        {"q": ("t1", "t0", "t0")},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 2, 0]),
        node("sum", "r", arg="xt", axis=0),
        node("store", arg="r", dst="out"),
    )
    s = replace(s, tiles={**s.tiles, "t1": TileSpec(8, (11,))})
    variant = compile_variant(s)
    assert variant.decisions["x"].reasons == {"t1": "deferred", "t0": "tile-not-unique"}
    assert decision(s, mode="force") == "tile-not-unique"  # never deferred, whatever the gate


def test_a_dead_load_is_refused_as_unused() -> None:
    s = spec(
        {"q": ("t0", 4, 128), "w": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("load", "y", src="w"),
        node("permute", "yt", arg="y", dims=[1, 2, 0]),
        node("sum", "r", arg="yt", axis=2),
        node("store", arg="r", dst="out"),
    )
    assert decision(s) == "no-uses"
    assert decision(s, "y") == "deferred"


def _chain(*middle: object, reduce: str = "sum", q: tuple[int | str, ...] = ("t0", 4, 128)) -> KernelSpec:
    return spec(
        {"q": q},
        node("load", "x", src="q"),
        *middle,  # type: ignore[arg-type]
        node(reduce, "r", arg="xt", axis=2),
        node("store", arg="r", dst="out"),
    )


def test_zero_fill_sum_defers() -> None:
    assert decision(_chain(node("permute", "xt", arg="x", dims=[1, 2, 0]))) == "deferred"


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_nonzero_fill_keeps_eager_mask(reduce: str) -> None:
    assert decision(_chain(node("permute", "xt", arg="x", dims=[1, 2, 0]), reduce=reduce)) == "nonzero-fill"


def test_reshape_on_path_keeps_eager_mask() -> None:
    s = _chain(
        node("reshape", "y", arg="x", shape=["t0", 4, 128]),
        node("permute", "xt", arg="y", dims=[1, 2, 0]),
    )
    assert decision(s) == "reshape"


def test_second_use_store_keeps_eager_mask() -> None:
    s = _chain(node("permute", "xt", arg="x", dims=[1, 2, 0]), node("store", arg="x", dst="raw"))
    assert decision(s) == "second-use"


def test_second_use_elementwise_keeps_eager_mask() -> None:
    s = _chain(
        node("permute", "xt", arg="x", dims=[1, 2, 0]),
        node("exp", "e", arg="x"),
        node("store", arg="e", dst="raw"),
    )
    assert decision(s) == "second-use"


def test_two_permuted_uses_both_remasked_defers() -> None:
    s = spec(
        {"q": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 2, 0]),
        node("permute", "xu", arg="x", dims=[2, 1, 0]),
        node("sum", "r", arg="xt", axis=2),
        node("sum", "u", arg="xu", axis=2),
        node("store", arg="r", dst="out"),
        node("store", arg="u", dst="out2"),
    )
    variant = compile_variant(s)
    assert variant.decisions["x"].consumers == {"t0": ("xt_masked", "xu_masked")}


def test_one_consumer_still_major_keeps_eager_mask() -> None:
    s = spec(
        {"q": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 2, 0]),
        node("sum", "r", arg="xt", axis=2),
        node("sum", "u", arg="x", axis=2),
        node("store", arg="r", dst="out"),
        node("store", arg="u", dst="out2"),
    )
    assert decision(s) == "axis-not-moved"  # ``u`` masks t0 where the load had it


def test_rank_two_load_keeps_eager_mask() -> None:
    s = spec(
        {"q": ("t0", 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 0]),
        node("sum", "r", arg="xt", axis=1),
        node("store", arg="r", dst="out"),
    )
    assert decision(s) == "rank-2"


def test_mode_off_never_defers() -> None:
    assert decision(dense_kv(), mode="off") == "mode-off"


def test_chain_of_permutes_through_major_positions_defers() -> None:
    s = _chain(
        node("permute", "x1", arg="x", dims=[1, 0, 2]),
        node("permute", "x2", arg="x1", dims=[1, 0, 2]),
        node("permute", "xt", arg="x2", dims=[1, 2, 0]),
    )
    assert decision(s) == "deferred"
