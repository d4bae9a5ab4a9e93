"""Each mutant breaks the rule it names, and only that one: on a case where the rule matters
it goes wrong in the way the oracle is meant to see; the real pass stays right."""

from __future__ import annotations

from fuzzpass.core.case import Case
from fuzzpass.judge.check import check_case
from fuzzpass.judge.mutants import MUTANTS
from reference.compile import compile_variant
from reference.spec import KernelSpec
from tests.specs import dense_kv, node, reverse_direction, spec


def case(s: KernelSpec, expect: dict[str, tuple[str, ...]] | None = None) -> Case:
    return Case(name="mutant", seed=3, spec=s, expect_deferred=expect)


def max_after_transpose() -> KernelSpec:
    """load q[t0, 4, 128] -> move the tile to the lane dim -> max over it (a -inf fill)."""
    return spec(
        {"q": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 2, 0]),
        node("max", "r", arg="xt", axis=2),
        node("store", arg="r", dst="out"),
    )


def sum_over_lane_tile() -> KernelSpec:
    """load q[t0, 16, 16] -> move the tile to the lane dim -> sum over it. The dims are all 16,
    so a mask at the wrong dim still broadcasts: a wrong answer, not a shape error."""
    return spec(
        {"q": ("t0", 16, 16)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 2, 0]),
        node("sum", "r", arg="xt", axis=2),
        node("store", arg="r", dst="out"),
        dtype="float32",
    )


def test_nonzero_fill_defers_through_a_max_and_only_the_decision_shows_it() -> None:
    expect = {"x": ()}
    real = check_case(case(max_after_transpose(), expect), backend="interpret", poison="finite")
    assert real.verdict.value == "pass"
    broken = check_case(case(max_after_transpose(), expect), backend="interpret", poison="finite",
                        mutant=MUTANTS["nonzero-fill"])  # fmt: skip
    assert broken.deferred == {"x": ["t0"]}
    assert broken.verdict.value == "decision"
    assert broken.comparisons["deferred"].out_of_tolerance == 0  # -inf still clears the padding


def test_inverted_gate_defers_the_slow_direction_and_refuses_the_fast_one() -> None:
    mutant = MUTANTS["inverted-gate"]
    assert compile_variant(reverse_direction(), "on").deferred() == {"x": []}
    assert mutant.compile(reverse_direction(), "t").deferred() == {"x": ["t0"]}
    assert mutant.compile(dense_kv(), "t").deferred() == {"x": [], "kt": []}
    broken = check_case(case(reverse_direction(), {"x": ()}), backend="interpret", poison="finite", mutant=mutant)
    assert broken.verdict.value == "decision"
    assert broken.comparisons["deferred"].out_of_tolerance == 0  # a performance bug: numbers are right


def test_wrong_axis_masks_the_loads_dim_and_the_numbers_go_wrong() -> None:
    real = compile_variant(sum_over_lane_tile(), "on").source.text
    edited = MUTANTS["wrong-axis"].compile(sum_over_lane_tile(), "t").source.text
    assert "xt_masked = jnp.where(mask_t0[None, None, :] != 0, xt, 0)" in real
    assert "xt_masked = jnp.where(mask_t0[:, None, None] != 0, xt, 0)" in edited
    assert check_case(case(sum_over_lane_tile()), backend="interpret", poison="finite").verdict.value == "pass"
    broken = check_case(case(sum_over_lane_tile()), backend="interpret", poison="finite", mutant=MUTANTS["wrong-axis"])
    assert broken.verdict.value == "mismatch"


def test_off_by_one_keeps_row_extent_and_the_numbers_go_wrong() -> None:
    edited = MUTANTS["off-by-one"].compile(sum_over_lane_tile(), "t").source.text
    assert "mask_t0_le = (lax.broadcasted_iota(jnp.int32, (16,), 0) <= t0_extent).astype(jnp.float32)" in edited
    assert "xt_masked = jnp.where(mask_t0_le[None, None, :] != 0, xt, 0)" in edited
    broken = check_case(case(sum_over_lane_tile()), backend="interpret", poison="finite", mutant=MUTANTS["off-by-one"])
    assert broken.verdict.value == "mismatch"
    assert broken.comparisons["eager"].out_of_tolerance == 0


def test_kernel_edits_leave_an_undeferred_kernel_alone() -> None:
    for name in ("wrong-axis", "off-by-one"):
        edited = MUTANTS[name].compile(reverse_direction(), "t").source.text
        assert edited == compile_variant(reverse_direction(), "on", title="t").source.text
