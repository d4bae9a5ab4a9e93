"""The candidate pass ``candidates/rank_changing_relayouts.py``: one test per condition it adds
to Helion's, each flipped alone, and its kernels checked against the float64 ground truth
(where Helion 1.5.1's pass keeps the eager mask and leaks the poisoned padding, the candidate's
deferred kernel does not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from candidates.rank_changing_relayouts import RankChangingRelayouts
from fuzzpass.core.case import Case
from fuzzpass.core.expect import expect_from_spec
from fuzzpass.judge.candidate import parse
from fuzzpass.judge.check import check_case
from fuzzpass.judge.mutants import Mutant
from reference.compile import compile_variant
from reference.spec import KernelSpec
from tests.specs import node, spec

FILE = Path(__file__).resolve().parents[2] / "candidates" / "rank_changing_relayouts.py"
RELAYOUTS = RankChangingRelayouts.relayout_ops


def candidate() -> Mutant:
    return parse(f"{FILE}:RankChangingRelayouts").as_mutant()


def through(op: str, shape: tuple, dims: list[int], axis: int, **fields: object) -> KernelSpec:
    """load -> ``op`` -> permute ``dims`` -> sum over ``axis`` -> store."""
    return spec(
        {"q": shape},
        node("load", "x", src="q"),
        node(op, "r", arg="x", **fields),
        node("permute", "p", arg="r", dims=dims),
        node("sum", "s", arg="p", axis=axis),
        node("store", arg="s", dst="out"),
    )


def decisions(s: KernelSpec) -> tuple[str, str]:
    """The tile's reason under Helion 1.5.1's pass and under the candidate."""
    ours = compile_variant(s).decisions["x"].reasons["t0"]
    theirs = compile_variant(s, deferral=RankChangingRelayouts()).decisions["x"].reasons["t0"]
    return ours, theirs


SQUEEZE = through("squeeze", ("t0", 1, 4, 128), [1, 0, 2], 1, dim=1)
UNSQUEEZE = through("unsqueeze", ("t0", 4, 128), [1, 2, 0, 3], 2, dim=1)


@pytest.mark.parametrize("s", [SQUEEZE, UNSQUEEZE], ids=["squeeze", "unsqueeze"])
def test_the_candidate_defers_through_squeeze_and_unsqueeze_where_helion_keeps_the_mask(s: KernelSpec) -> None:
    assert decisions(s) == ("second-use", "deferred")
    assert expect_from_spec(s)["x"]["t0"] == "second-use"  # the oracle of Helion's rules
    assert expect_from_spec(s, RELAYOUTS)["x"]["t0"] == "deferred"  # the same rules over the candidate's relayouts


@pytest.mark.parametrize("op", ["subscript", "expand"])
def test_subscript_and_expand_keep_the_eager_mask_under_the_candidate_too(op: str) -> None:
    fields = {"dim": 1} if op == "subscript" else {"dim": 1, "size": 2}
    shape = ("t0", 4, 128) if op == "subscript" else ("t0", 1, 4, 128)
    dims = [1, 2, 0, 3]
    assert decisions(through(op, shape, dims, 3, **fields)) == ("second-use", "second-use")


def test_a_dim_added_in_front_is_not_a_move() -> None:
    """unsqueeze(0) shifts the tile's index from 0 to 1; counted from the lane dim it stays
    where it was, so nothing moved it and the gate refuses, as it would without the unsqueeze."""
    s = spec(
        {"q": ("t0", 4, 128)},
        node("load", "x", src="q"),
        node("unsqueeze", "r", arg="x", dim=0),
        node("sum", "s", arg="r", axis=3),
        node("store", arg="s", dst="out"),
    )
    assert decisions(s)[1] == "axis-not-moved"


def test_a_squeeze_or_unsqueeze_that_reaches_the_last_two_dims_keeps_the_mask() -> None:
    """[t0, 1, 128] squeezed to [t0, 128] would carry the tile into the sublane dim, and
    [t0, 4, 128] unsqueezed at 2 adds a sublane dim: both change the vreg tiles' layout, which
    the candidate does not defer through (``keeps_vreg_tiles``)."""
    squeezed = spec(
        {"q": ("t0", 1, 128)},
        node("load", "x", src="q"),
        node("squeeze", "r", arg="x", dim=1),
        node("sum", "s", arg="r", axis=1),
        node("store", arg="s", dst="out"),
    )
    unsqueezed = through("unsqueeze", ("t0", 4, 128), [1, 3, 0, 2], 3, dim=2)
    for s in (squeezed, unsqueezed):
        assert decisions(s) == ("second-use", "second-use")
        assert expect_from_spec(s, RELAYOUTS)["x"]["t0"] == "second-use"


MINOR_SQUEEZE = spec(
    {"q": ("t0", 1, 1)},
    node("load", "x", src="q"),
    node("permute", "p", arg="x", dims=[1, 0, 2]),
    node("squeeze", "r", arg="p", dim=2),
    node("sum", "s", arg="r", axis=1),
    node("store", arg="s", dst="out"),
    block=2,
    lengths=(1, 2),
)
"""The candidate's first version's ``compile`` finding, minimized: the bfloat16 ``[1, t0, 1]``
squeezed to ``[1, t0]`` and re-masked there, rejected deferred on v5e through tpu7x."""


def test_the_minor_squeeze_that_mosaic_rejected_deferred_keeps_its_mask_and_compiles() -> None:
    case = Case(name="minor-squeeze", seed=1, spec=MINOR_SQUEEZE, expect_deferred=None)
    result = check_case(case, backend="tpu-aot", generations=("v5e", "v6e"), mutant=candidate())
    assert result.variants["deferred"].deferred() == {"x": []}
    assert result.findings == []


def test_a_second_use_past_the_squeeze_keeps_the_mask() -> None:
    s = spec(
        {"q": ("t0", 1, 4, 128)},
        node("load", "x", src="q"),
        node("squeeze", "r", arg="x", dim=1),
        node("permute", "p", arg="r", dims=[1, 0, 2]),
        node("sum", "s", arg="p", axis=1),
        node("store", arg="s", dst="out"),
        node("exp", "e", arg="r"),
        node("sum", "s2", arg="e", axis=0),
        node("sum", "s3", arg="s2", axis=0),
        node("store", arg="s3", dst="out2"),
    )
    assert decisions(s) == ("second-use", "second-use")


@pytest.mark.parametrize("s", [SQUEEZE, UNSQUEEZE], ids=["squeeze", "unsqueeze"])
def test_its_deferred_kernel_is_right_where_helions_eager_one_leaks_nan(s: KernelSpec) -> None:
    case = Case(name="candidate", seed=3, spec=s, expect_deferred=None)
    result = check_case(
        case, backend="interpret", generations=(), mutant=parse(f"{FILE}:RankChangingRelayouts").as_mutant()
    )
    assert result.findings == []
    assert result.variants["deferred"].deferred() == {"x": ["t0"]}
    assert result.comparisons["eager"].nonfinite and not result.comparisons["deferred"].nonfinite
