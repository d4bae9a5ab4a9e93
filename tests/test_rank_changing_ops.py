"""``squeeze``, ``unsqueeze``, ``subscript`` (``x[:, None]``) and ``expand``: each op's five rules
agree with each other (the kernel it generates matches the float64 ground truth on poisoned
padding, eager and under Helion 1.5.1's pass, which keeps the eager mask through all four), and
its Helion rule writes the spelling Helion traces to the op's target."""

from __future__ import annotations

import numpy as np
import pytest

from fuzzpass.core.case import Case
from fuzzpass.core.data import draw
from fuzzpass.judge.check import check_case
from fuzzpass.judge.ground_truth import ground_truth
from reference.helion_codegen import helion_source
from reference.spec import KernelSpec
from tests.specs import node, spec

OPS = {
    "squeeze": (("t0", 2, 1, 128), {"dim": 2}, ".squeeze(2)"),
    "unsqueeze": (("t0", 2, 128), {"dim": 1}, ".unsqueeze(1)"),
    "subscript": (("t0", 2, 128), {"dim": 1}, "[:, None, :, :]"),
    "expand": (("t0", 1, 128), {"dim": 1, "size": 8}, ".expand(-1, 8, -1)"),
}


def over_the_tile(op: str) -> KernelSpec:
    """load -> ``op`` -> sum over the tile (where a padded lane would reach a valid result)."""
    shape, fields, _ = OPS[op]
    return spec(
        {"q": shape},
        node("load", "x", src="q"),
        node(op, "r", arg="x", **fields),
        node("sum", "s", arg="r", axis=0),
        node("store", arg="s", dst="out"),
        dtype="float32",
    )


@pytest.mark.parametrize("op", OPS)
def test_the_op_is_exact_and_keeps_the_eager_mask(op: str) -> None:
    result = check_case(Case(name=op, seed=2, spec=over_the_tile(op), expect_deferred=None), backend="interpret")
    assert result.findings == []
    assert result.variants["deferred"].decisions["x"].reasons == {"t0": "second-use"}
    assert result.comparisons["eager"].out_of_tolerance == 0


@pytest.mark.parametrize("op", OPS)
def test_the_helion_rule_writes_helions_spelling(op: str) -> None:
    source = helion_source(over_the_tile(op), op)
    assert OPS[op][2] in source.text


def truth(s: KernelSpec) -> np.ndarray:
    case = Case(name="truth", seed=4, spec=s, expect_deferred=None)
    _, t = ground_truth(case, draw(case, "nan"))["out"]
    return t.val


def test_expand_repeats_the_row_in_the_ground_truth() -> None:
    """``[t0, 1, 128]`` expanded to ``[t0, 8, 128]`` and summed over the tile: each of the eight
    rows is the sum without the expand."""
    plain = spec(
        {"q": ("t0", 1, 128)},
        node("load", "x", src="q"),
        node("sum", "s", arg="x", axis=0),
        node("store", arg="s", dst="out"),
        dtype="float32",
    )
    expanded, once = truth(over_the_tile("expand")), truth(plain)
    assert expanded.shape[-2:] == (8, 128) and once.shape[-2:] == (1, 128)
    assert np.array_equal(expanded, np.broadcast_to(once, expanded.shape), equal_nan=True)
