"""A fired kernel's graph as a case (``fuzzpass/kernels/to_case.py``), on fx graphs built here in
the shape Helion's pass-on graph has: a load recording its deferred block id, permutes, a
``_mask_to``, and the op consuming the mask."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.fx

from fuzzpass.kernels.to_case import NotExpressible, lengths, to_case

aten = torch.ops.aten


def _mask_to(x: Any, fill: float) -> Any:  # stands for Helion's: to_case knows it by name
    return x


def _graph(consumer: str) -> tuple[torch.fx.Graph, dict[str, Any]]:
    """load [b0, 8, b1] -> permute (1, 2, 0) -> _mask_to -> ``consumer`` (b0 the deferred tile)."""
    g = torch.fx.Graph()
    load = g.call_function(lambda: None, ())
    load.name = "load"
    load.meta["pallas_deferred_mask_block_ids"] = {0}
    load.meta["val"] = torch.empty(32, 8, 16, device="meta", dtype=torch.bfloat16)
    perm = g.call_function(aten.permute.default, (load, [1, 2, 0]))
    masked = g.call_function(_mask_to, (perm, 0))
    dims = {"load": ("b0", 8, "b1"), perm.name: (8, "b1", "b0"), masked.name: (8, "b1", "b0")}
    if consumer == "sum":
        g.call_function(aten.sum.dim_IntList, (masked, [-1]))
    elif consumer == "bmm":
        w = g.call_function(lambda: None, ())
        dims[w.name] = (8, 4, "b1")  # q @ k^T: the masked tile stays a free dim
        g.call_function(aten.bmm.default, (w, masked))
    elif consumer == "bmm-same-tile":
        w = g.call_function(lambda: None, ())
        dims[w.name] = (8, 4, "b0")
        g.call_function(aten.bmm.default, (w, masked))
    else:
        g.call_function(aten.view.default, (masked, [-1]))
    return g, dims


def test_a_sum_after_the_permute_is_a_case_the_pass_defers() -> None:
    g, dims = _graph("sum")
    case = to_case("k", [(g, dims)], {0: 32, 1: 16})
    ops = [n.op for n in case.spec.graph]
    assert ops[:3] == ["load", "permute", "sum"] and ops[-1] == "store"
    assert case.spec.tiles["t0"].block == 32 and case.spec.tiles["t0"].lengths == tuple(lengths(32))
    assert case.spec.inputs["x"] == ("t0", 8, 16)  # b1 became its block, 16
    assert case.expect_deferred == {"x": ("t0",)}


def test_a_bmm_gets_its_other_operand_as_an_input() -> None:
    g, dims = _graph("bmm")
    case = to_case("k", [(g, dims)], {0: 32, 1: 16})
    dot = next(n for n in case.spec.graph if n.op == "dot_general")
    assert dot["rhs"] != "x" and case.spec.inputs[dot["lhs"]] == (8, 4, 16)
    assert dot["contract"] == [[2], [1]] and dot["batch"] == [[0], [0]]


@pytest.mark.parametrize(
    ("consumer", "blocks", "why"),
    [
        ("view", {0: 32, 1: 16}, "consumer aten.view.default has no op"),
        ("bmm-same-tile", {0: 32, 1: 16}, "holds the same tile"),
        ("sum", {1: 16}, "block size is not in the config"),
    ],
)
def test_what_the_case_language_cannot_state_says_why(consumer: str, blocks: dict[int, int], why: str) -> None:
    g, dims = _graph(consumer)
    with pytest.raises(NotExpressible, match=why):
        to_case("k", [(g, dims)], blocks)
