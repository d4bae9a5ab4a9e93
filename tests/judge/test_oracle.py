"""The oracle sees what deferral protects against: the eager NaN leak, and broken passes."""

from __future__ import annotations

import pytest

from fuzzpass.core.case import Case
from fuzzpass.judge.check import check_case
from fuzzpass.judge.mutants import MUTANTS
from reference.spec import KernelSpec, TileSpec
from tests.specs import dense_kv, node, spec


def case(s: KernelSpec, expect: dict[str, tuple[str, ...]] | None = None, seed: int = 5) -> Case:
    return Case(name="test", seed=seed, spec=s, expect_deferred=expect)


def sum_over_tile() -> KernelSpec:
    """load q[t0, 4, 128] -> permute the tile to the lane dim -> sum over it."""
    return spec(
        {"q": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 2, 0]),
        node("sum", "r", arg="xt", axis=2),
        node("store", arg="r", dst="out"),
        lengths=(13, 40, 7, 11),
    )


def regrouping_reshape(second_use: bool) -> KernelSpec:
    """A reshape that regroups tile rows: [t0, 4, 32] -> [4, t0, 32], summed over t0."""
    path = [node("reshape", "y", arg="x", shape=[4, "t0", 32]), node("sum", "r", arg="y", axis=1)]
    if second_use:  # the reshape is a second use beside a clean permute path
        path += [
            node("permute", "xt", arg="x", dims=[1, 2, 0]),
            node("sum", "u", arg="xt", axis=2),
            node("store", arg="u", dst="out2"),
        ]
    return spec(
        {"q": ("t0", 4, 32)},
        node("load", "x", src="q"),
        *path,
        node("store", arg="r", dst="out"),
        block=8,
        lengths=(5, 11, 3),
        dtype="float32",
    )


def test_eager_mask_leaks_nan_that_deferral_keeps_out() -> None:
    result = check_case(case(sum_over_tile()), backend="interpret", poison="nan")
    assert result.deferred == {"x": ["t0"]}
    assert result.comparisons["eager"].nonfinite  # NaN * 0 is NaN: the baseline's hazard
    assert not result.comparisons["deferred"].nonfinite  # jnp.where clears it
    assert result.verdict.value == "pass"  # the hazard is reported, not failed


def test_a_kernel_the_pass_left_alone_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from fuzzpass.backends import interpret

    runs: list[str] = []
    real = interpret.run
    monkeypatch.setattr(interpret, "run", lambda source, *a, **k: runs.append(source.text) or real(source, *a, **k))
    kept = check_case(case(regrouping_reshape(second_use=False)), backend="interpret")
    assert kept.deferred == {"x": []} and len(runs) == 1 and kept.bitwise_equal
    runs.clear()
    deferred = check_case(case(sum_over_tile()), backend="interpret")
    assert deferred.deferred == {"x": ["t0"]} and len(runs) == 2


@pytest.mark.parametrize("poison", ["finite", "zero"])
def test_no_leak_without_nan_poison(poison: str) -> None:
    result = check_case(case(sum_over_tile()), backend="interpret", poison=poison)
    assert not result.comparisons["eager"].nonfinite
    assert result.verdict.value == "pass"
    assert result.comparisons["deferred"].out_of_tolerance == 0


@pytest.mark.parametrize(
    ("mutant", "make", "kind"),
    [
        ("through-reshape", lambda: regrouping_reshape(second_use=False), "mismatch"),
        ("ignore-second-use", lambda: regrouping_reshape(second_use=True), "mismatch"),
        ("drop-remask", sum_over_tile, "mismatch"),
    ],
)
def test_oracle_kills_mutant(mutant: str, make: object, kind: str) -> None:
    s = make()  # type: ignore[operator]
    real = check_case(case(s), backend="interpret", poison="finite")
    assert real.verdict.value == "pass", real.findings
    assert real.deferred["x"] == ([] if mutant != "drop-remask" else ["t0"])
    broken = check_case(case(s), backend="interpret", poison="finite", mutant=MUTANTS[mutant])
    assert broken.deferred["x"] == ["t0"]
    assert broken.verdict.value == kind, broken.findings
    assert broken.comparisons["eager"].out_of_tolerance == 0  # the baseline stays right


def test_decision_expectation_is_checked() -> None:
    result = check_case(case(dense_kv(), expect={"x": (), "kt": ()}), backend="interpret", poison="zero")
    assert result.verdict.value == "decision"
    assert "x: deferred ['t0'], expected []" in result.findings[0].message


def two_tiles() -> KernelSpec:
    """Two jagged tile dims: a [t0, t1] score tile reduced over both (a 2-D grid)."""
    return KernelSpec(
        "float32",
        {"t0": TileSpec(8, (5, 11)), "t1": TileSpec(16, (20, 3))},
        {"q": ("t0", 2, 64), "k": ("t1", 2, 64)},
        (
            node("load", "x", src="q"),
            node("load", "y", src="k"),
            node("permute", "xt", arg="x", dims=[1, 0, 2]),
            node("permute", "yt", arg="y", dims=[1, 0, 2]),
            node("dot_general", "s", lhs="xt", rhs="yt", contract=[[2], [2]], batch=[[0], [0]]),
            node("sum", "r", arg="s", axis=2),
            node("sum", "total", arg="r", axis=1),
            node("store", arg="total", dst="out"),
        ),
    )


def lane_tile() -> KernelSpec:
    """A tile on the lane dim: read through an aligned window and rotated into place."""
    return spec(
        {"q": (4, 8, "t0")},
        node("load", "x", src="q"),
        node("exp", "e", arg="x"),
        node("max", "r", arg="e", axis=2),
        node("store", arg="r", dst="out"),
        lengths=(130, 5, 17),
    )


@pytest.mark.parametrize("make", [two_tiles, lane_tile], ids=["two-tiles", "lane-tile"])
@pytest.mark.parametrize("poison", ["nan", "finite"])
def test_grid_and_window_shapes_hold(make: object, poison: str) -> None:
    result = check_case(case(make()), backend="interpret", poison=poison)  # type: ignore[operator]
    assert result.verdict.value == "pass", result.findings
    assert result.comparisons["deferred"].out_of_tolerance == 0


def test_two_tiles_defer_both_loads() -> None:
    result = check_case(case(two_tiles()), backend="interpret", poison="zero")
    assert result.deferred == {"x": ["t0"], "y": ["t1"]}


def two_tile_store() -> KernelSpec:
    """A bfloat16 load with two tile dims stored as it is (found by fuzzing: the eager mask's
    product of two float32 masks once promoted the load to float32)."""
    return KernelSpec(
        "bfloat16",
        {"t0": TileSpec(12, (10,)), "t1": TileSpec(5, (0, 9, 6))},
        {"q": ("t0", 8, "t1")},
        (node("load", "x", src="q"), node("store", arg="x", dst="out")),
    )


def scalar_then_reduce() -> KernelSpec:
    """An elementwise op with a scalar before a reduction (found by fuzzing: the float64
    rule of a scalar operand had no work-item axis)."""
    return spec(
        {"q": ("t0", 4, 8)},
        node("load", "x", src="q"),
        node("add", "y", arg="x", scalar=0.5),
        node("max", "r", arg="y", axis=0),
        node("store", arg="r", dst="out"),
    )


@pytest.mark.parametrize("make", [two_tile_store, scalar_then_reduce], ids=["two-tile-store", "scalar-op"])
def test_cases_found_by_fuzzing_hold(make: object) -> None:
    result = check_case(case(make()), backend="interpret", poison="finite")  # type: ignore[operator]
    assert result.verdict.value == "pass", result.findings
