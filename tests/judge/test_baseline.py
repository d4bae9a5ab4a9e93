"""Whose fault a wrong eager kernel is: a finding only where the baseline itself is wrong.

Two kinds of wrong eager numbers are nobody's bug, and each was a false finding of the real
pass in a default run: after a reshape that regroups a tile's rows (``baseline-unstated``: no
positional mask follows the case's meaning, and Helion cannot state the graph), and under
``nan`` poison where the eager kernel is right with ``finite`` poison (its ``NaN * 0``, the
known hazard, hidden as a finite value by a max that drops NaN)."""

from __future__ import annotations

import numpy as np

from fuzzpass.core.case import Case, parse_case
from fuzzpass.judge.check import check_case
from fuzzpass.judge.signature import signature
from reference.graph import regrouping_reshape
from reference.ops.base import rounding
from tests.specs import node, spec


def regrouped() -> Case:
    """Seed 1's false finding, minimized: ``[t0, 2] -> [2, t0]`` into a dot over ``t0``."""
    s = spec(
        {"q1": ("t0", 2), "q8": ("t0", 2)},
        node("load", "x2", src="q1"),
        node("reshape", "r4", arg="x2", shape=[2, "t0"]),
        node("exp", "e6", arg="r4"),
        node("load", "x9", src="q8"),
        node("exp", "e11", arg="x9"),
        node("dot_general", "d12", lhs="e6", rhs="e11", contract=[[1], [0]], batch=[[], []]),
        node("store", arg="d12", dst="out1"),
        block=16,
        lengths=(9, 4),
        dtype="float32",
    )
    return Case("regrouped", 0, s, None)


def maximum_of_padding() -> Case:
    """The soak's false finding, minimized: the eager mask's ``NaN * 0`` into a max with -1."""
    s = spec(
        {"q1": ("t0", 2, 128)},
        node("load", "x2", src="q1"),
        node("permute", "p3", arg="x2", dims=[1, 0, 2]),
        node("maximum", "e4", arg="p3", scalar=-1.0),
        node("sum", "s5", arg="e4", axis=1),
        node("store", arg="s5", dst="out1"),
        block=16,
        lengths=(1,),
        dtype="float32",
    )
    return Case("maximum-of-padding", 0, s, None)


def test_a_regrouping_reshape_is_named_and_one_that_keeps_rows_is_not() -> None:
    assert regrouping_reshape(regrouped().spec) == "reshape 'r4' regroups tile 't0''s rows"
    keeps = spec({"q": ("t0", 4, 32)}, node("load", "x", src="q"), node("reshape", "y", arg="x", shape=["t0", 128]),
                 node("sum", "r", arg="y", axis=1), node("store", arg="r", dst="out"))  # fmt: skip
    assert regrouping_reshape(keeps) is None


def test_an_eager_kernel_wrong_after_a_regrouping_reshape_is_baseline_unstated_not_a_finding() -> None:
    result = check_case(regrouped(), backend="interpret", poison="nan", generations=())
    assert result.verdict.value == "baseline-unstated", [f.message for f in result.findings]
    assert result.comparisons["eager"].out_of_tolerance > 0  # the eager kernel does miss the truth
    assert result.verdict.exit_code == 0 and signature(result.to_json(), regrouped().spec) is None
    (finding,) = result.findings
    assert finding.message.startswith("reshape 'r4' regroups tile 't0''s rows: ")


def test_the_eager_masks_nan_hazard_hidden_as_a_finite_value_is_no_finding() -> None:
    result = check_case(maximum_of_padding(), backend="interpret", poison="nan", generations=())
    assert result.comparisons["eager"].out_of_tolerance > 0 and not result.comparisons["eager"].nonfinite
    assert result.eager_hazard is not None and "right under finite poison" in result.eager_hazard
    assert result.verdict.value == "pass", [f.message for f in result.findings]
    assert result.to_json()["eager_hazard"] == result.eager_hazard


def test_an_eager_kernel_wrong_under_finite_poison_too_is_still_the_baselines_finding(eager_broken: None) -> None:
    """A real baseline bug under nan poison: judged again under finite poison, it is still
    wrong, so it stays a finding."""
    s = spec({"q": ("t0", 2, 8)}, node("load", "x", src="q"), node("permute", "p", arg="x", dims=[1, 2, 0]),
             node("sum", "r", arg="p", axis=2), node("store", arg="r", dst="out"), block=8, lengths=(5, 3),
             dtype="float32")  # fmt: skip
    result = check_case(Case("broken-eager", 2, s, None), backend="interpret", poison="nan", generations=())
    assert result.verdict.value == "baseline-mismatch" and result.eager_hazard is None


SUBNORMAL_PRODUCT = {
    "format": "fuzzpass.case/1", "name": "subnormal-product", "seed": 510511, "dtype": "float16",
    "tiles": {"t0": {"block": 1, "lengths": [11]}},
    "inputs": {"q1": {"shape": ["t0", 16, 4]}, "q5": {"shape": [1, 16, 4]}},
    "graph": [
        {"out": "x2", "op": "load", "src": "q1"},
        {"out": "x6", "op": "load", "src": "q5"},
        {"out": "e4", "op": "mul", "lhs": "x6", "rhs": "x2"},
        {"op": "store", "arg": "e4", "dst": "out1"},
    ],
}  # fmt: skip
"""The soak's false finding (``--policy helion``, seed 304), minimized: float16 products of
about 1.6e-5, below float16's normal range, rounded on its subnormal grid."""


def test_a_product_rounded_to_a_subnormal_is_within_the_error_bound() -> None:
    assert rounding("float16", np.array([1.6e-5]))[0] == 2.0**-25  # half a subnormal step, not 2**-11 * 1.6e-5
    assert rounding("float32", np.array([1.0]))[0] == 2.0**-24
    result = check_case(parse_case(SUBNORMAL_PRODUCT), backend="interpret", poison="nan", generations=())
    assert result.comparisons["eager"].out_of_tolerance == 0, result.findings
    assert result.verdict.value == "pass"
