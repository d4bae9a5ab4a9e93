"""Helion 1.5.1's rules beside the pass (``reference/neighbours.py``): each branch reached by a
case written for it, the decision it makes visible in the compiled variant, and the checks that
read the pass's record (``undischarged``) and infinite truths (the oracle)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from fuzzpass.core.case import CaseError, load_case, parse_case
from fuzzpass.fuzz.coverage import neighbour_counts, neighbour_table, neighbours_missing
from fuzzpass.judge.check import check_case
from fuzzpass.judge.mutants import MUTANTS
from fuzzpass.judge.oracle import compare
from reference.compile import compile_variant
from reference.neighbours import BRANCHES, PALLAS_DEFERRED_MASK_CONSUMERS_META
from reference.ops import T64
from tests.conftest import CONTRACT_CASES


def case(graph: list[dict[str, Any]], inputs: dict[str, Any], **extra: Any) -> Any:
    return parse_case(
        {
            "format": "fuzzpass.case/1",
            "name": "neighbours",
            "seed": 3,
            "dtype": "float32",
            "tiles": {"t0": {"block": 16, "lengths": [13, 16, 7, 11]}},
            "inputs": inputs,
            "graph": graph,
            **extra,
        }
    )


def dot_case(lhs_ops: list[dict[str, Any]], lhs: str = "xt", q_shape: list[Any] | None = None) -> Any:
    """A load of ``q`` (the masked tile major), permuted so the tile is the dot's K, times a
    loaded ``v`` of ``[4, t0, 64]`` (eager: its tile is in the last two dims at the load)."""
    graph = [
        {"out": "x", "op": "load", "src": "q"},
        {"out": "xt", "op": "permute", "arg": "x", "dims": [1, 2, 0]},
        *lhs_ops,
        {"out": "w", "op": "load", "src": "v"},
        {"out": "s", "op": "dot", "lhs": lhs, "rhs": "w"},
        {"op": "store", "arg": "s", "dst": "out"},
    ]
    return case(graph, {"q": {"shape": q_shape or ["t0", 4, 128]}, "v": {"shape": [4, "t0", 64]}})


def taken(c: Any, mode: str = "on") -> frozenset[str]:
    return compile_variant(c.spec, mode).neighbour_branches


def test_a_deferred_dot_operand_keeps_its_mask_though_its_partner_is_zero_past_k() -> None:
    c = dot_case([])
    variant = compile_variant(c.spec, "on")
    assert variant.deferred()["x"] == ["t0"]
    assert "dots_zeroed_by_partner:deferred-source" in variant.neighbour_branches
    assert "xt_masked" not in variant.removed_masks  # it discharges the deferred tile
    assert check_case(c, backend="interpret").verdict.value == "pass"


def test_an_eager_dot_operand_whose_partner_is_zero_loses_its_mask() -> None:
    c = dot_case([{"out": "y", "op": "exp", "arg": "xt"}], lhs="y")  # exp(0) = 1: not zero past K
    variant = compile_variant(c.spec, "off")
    assert "dots_zeroed_by_partner:partner-zero" in variant.neighbour_branches
    assert "y_masked" in variant.removed_masks  # the partner's zeros clear the padded lanes
    assert check_case(c, backend="interpret").verdict.value == "pass"


def test_a_known_infinite_operand_keeps_its_mask() -> None:
    c = dot_case([{"out": "y", "op": "add", "arg": "xt", "scalar": "inf"}], lhs="y")
    variant = compile_variant(c.spec, "off")
    assert "dots_zeroed_by_partner:known-non-finite" in variant.neighbour_branches
    assert "y_masked" not in variant.removed_masks  # inf times 0 is NaN


def test_the_partner_rule_without_its_exception_leaves_the_deferred_tile_undischarged() -> None:
    result = check_case(dot_case([]), backend="interpret", mutant=MUTANTS["partner-without-exception"])
    assert result.verdict.value == "undischarged"
    assert any("xt_masked was removed" in f.message for f in result.findings)


def scaled_sum(scalar: object) -> Any:
    """An eager load times ``scalar``, summed over the masked tile (zero-filled first)."""
    graph = [
        {"out": "x", "op": "load", "src": "q"},
        {"out": "y", "op": "mul", "arg": "x", "scalar": scalar},
        {"out": "r", "op": "sum", "arg": "y", "axis": 0},
        {"op": "store", "arg": "r", "dst": "out"},
    ]
    return case(graph, {"q": {"shape": ["t0", 4, 128]}})


def test_mul_by_a_factor_that_may_not_be_finite_is_unknown_not_zero() -> None:
    infinite = compile_variant(scaled_sum("inf").spec, "off")
    assert "strict_float:may-not-be-finite" in infinite.neighbour_branches
    assert infinite.removed_masks == []  # 0 * inf is NaN: the zero fill before the sum stays
    finite = compile_variant(scaled_sum(2.0).spec, "off")
    assert "strict_float:finite" in finite.neighbour_branches
    assert finite.removed_masks == ["y_masked"]  # 0 * 2 is 0: the eager load's zeros carry


def test_mul_without_strict_float_is_killed_by_its_numbers() -> None:
    c = scaled_sum("inf")
    assert check_case(c, backend="interpret", mutant=MUTANTS["mul-without-strict-float"]).verdict.is_defect
    assert check_case(c, backend="interpret").verdict.value == "pass"


def test_the_partner_rule_takes_an_unknown_operand_as_finite_as_helion_does() -> None:
    """``_dots_zeroed_by_partner`` skips only a *known* non-finite masked value: an operand
    scaled by inf has an unknown one, so its mask goes when the partner is zero past K, and
    the eager kernel computes inf * 0 = NaN on the padded lanes. Modeled as Helion has it: the
    eager variant is wrong here, by Helion's documented bug (``helion-known``: with the rule
    keeping that mask, it is right), counted and never a finding; the pass changes nothing."""
    c = dot_case([{"out": "y", "op": "mul", "arg": "xt", "scalar": "inf"}], lhs="y")
    off = compile_variant(c.spec, "off")
    assert {"strict_float:may-not-be-finite", "dots_zeroed_by_partner:partner-zero"} <= off.neighbour_branches
    assert "y_masked" in off.removed_masks
    result = check_case(c, backend="interpret")
    assert result.verdict.value == "helion-known" and result.verdict.exit_code == 0
    assert result.findings[0].message.startswith("Helion 1.5.1's _dots_zeroed_by_partner takes an unknown")
    assert result.comparisons["eager"].out_of_tolerance > 0  # the eager kernel is wrong, as Helion's would be


def test_a_broadcast_input_does_not_carry_its_masked_value() -> None:
    inputs = {"q": {"shape": ["t0", 4, 128]}, "b": {"shape": [1, 4, 128]}}
    graph = [
        {"out": "x", "op": "load", "src": "q"},
        {"out": "c", "op": "load", "src": "b"},
        {"out": "y", "op": "add", "lhs": "x", "rhs": "c"},
        {"out": "r", "op": "sum", "arg": "y", "axis": 0},
        {"op": "store", "arg": "r", "dst": "out"},
    ]
    c = case(graph, inputs)
    assert "broadcasts_onto_masked_lanes:broadcast" in taken(c, "off")


def test_the_pass_records_every_mask_that_discharges_a_deferred_tile() -> None:
    c = load_case(next(p for p in CONTRACT_CASES if p.stem == "dense-kv-q-transpose-dot"))
    variant = compile_variant(c.spec, "on")
    loads = [n for n in variant.graph.nodes if n.meta.get(PALLAS_DEFERRED_MASK_CONSUMERS_META)]
    assert [n.meta["var"] for n in loads] == [load for load, tiles in variant.deferred().items() if tiles]
    for load in loads:
        assert load.meta[PALLAS_DEFERRED_MASK_CONSUMERS_META] == dict(variant.decisions[load.meta["var"]].consumers)
    assert "deferred_mask_consumers:one" in variant.neighbour_branches


def test_a_record_missing_a_consumer_is_undischarged() -> None:
    from tests.regressions.test_minimized_consumers_missing_one_finding import CASE

    assert "deferred_mask_consumers:several" in taken(CASE)
    result = check_case(CASE, backend="interpret", mutant=MUTANTS["consumers-missing-one"])
    assert result.verdict.value == "undischarged"
    assert any("not recorded as discharging it" in f.message for f in result.findings)


def test_scalars_may_be_infinite_and_nothing_else_that_is_not_a_number() -> None:
    c = dot_case([{"out": "y", "op": "add", "arg": "xt", "scalar": "-inf"}], lhs="y")
    assert c.spec.graph[2]["scalar"] == "-inf"
    with pytest.raises(CaseError, match=r"graph\[2\]\.scalar.*\"inf\" or \"-inf\""):
        dot_case([{"out": "y", "op": "add", "arg": "xt", "scalar": "nan"}], lhs="y")


def test_the_oracle_judges_an_infinite_truth() -> None:
    truth = {"out": T64(np.array([np.inf, 1.0]), np.array([True, True]), np.zeros(2))}

    def beyond(*actual: float) -> int:
        return compare(truth, {"out": np.array(actual, np.float32)}).out_of_tolerance

    assert beyond(np.inf, 1.0) == 0
    assert beyond(np.nan, 1.0) == 1
    assert beyond(-np.inf, 1.0) == 1
    assert beyond(3.0, 1.0) == 1


def test_the_coverage_table_lists_every_branch_zeros_included() -> None:
    given = Counter({"strict_float:finite": 3})
    counts = neighbour_counts(given)
    assert {rule: set(bs) for rule, bs in counts.items()} == {rule: set(bs) for rule, bs in BRANCHES.items()}
    assert counts["strict_float"] == {"finite": 3, "may-not-be-finite": 0}
    table = "\n".join(neighbour_table(given))
    assert "may-not-be-finite 0" in table and "partner-zero 0" in table
    assert "strict_float:finite" not in neighbours_missing(given)
    assert len(neighbours_missing(given)) == sum(len(bs) for bs in BRANCHES.values()) - 1
