"""One set of relayouts (``reference/relayouts.py``), read by the pass, Helion's rules beside it
and the decision oracle: a second definition would let one of them drift from the others."""

import inspect

import torch

from fuzzpass.core import expect
from reference.defer import MaskDeferral
from reference.neighbours import Neighbours
from reference.relayouts import RELAYOUT_OPS, relayout_targets


def test_the_pass_its_neighbours_and_the_oracle_walk_the_same_relayouts() -> None:
    assert frozenset({"permute"}) == RELAYOUT_OPS  # Helion 1.5.1's _RELAYOUT_TARGETS
    targets = relayout_targets(RELAYOUT_OPS)
    assert targets == frozenset({torch.ops.aten.permute.default})
    assert MaskDeferral().relayout_targets == targets
    assert Neighbours().relayouts == targets
    for oracle in (expect.expect_forced, expect.expect_from_spec):
        assert inspect.signature(oracle).parameters["relayouts"].default is RELAYOUT_OPS


def test_a_qualified_entry_names_the_op_it_qualifies() -> None:
    assert relayout_targets(frozenset({"permute:major"})) == relayout_targets(RELAYOUT_OPS)
    assert len(relayout_targets(frozenset({"permute", "reshape"}))) == 2
