"""Deliberately broken versions of the pass: the harness is only as good as the bugs it kills.

Each mutant overrides exactly one predicate or step of
:class:`~reference.defer.MaskDeferral` and breaks one rule of its safety argument.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.fx

from reference.defer import MaskDeferral
from reference.masking import cached_masked_value
from reference.ops.memory import load


class ThroughReshape(MaskDeferral):
    """Treats ``reshape``/``view`` as a relayout: the regrouping hazard Helion documents."""

    def is_relayout(self, node: torch.fx.Node) -> bool:
        return super().is_relayout(node) or node.target in (torch.ops.aten.reshape.default, torch.ops.aten.view.default)


class IgnoreSecondUse(MaskDeferral):
    """Defers when *some* use reaches a remask, ignoring the others."""

    def all_uses_remask(self, node: torch.fx.Node, tile: str, memo: dict[torch.fx.Node, bool]) -> bool:
        return any(self.use_remasks(user, node, tile, memo) for user in node.users)


class DropRemask(MaskDeferral):
    """Defers, but leaves the load's masked value at 0, so ``remove_unnecessary_masking``
    drops the downstream mask that should have discharged it."""

    def after_deferral(self, graph: torch.fx.Graph) -> None:
        for node in graph.nodes:
            node.meta.pop("masked_value", None)
        for node in graph.find_nodes(op="call_function", target=load):
            node.meta["masked_value"] = 0.0
        for node in graph.nodes:
            cached_masked_value(node)


MUTANTS: dict[str, Callable[[], MaskDeferral]] = {
    "through-reshape": ThroughReshape,
    "ignore-second-use": IgnoreSecondUse,
    "drop-remask": DropRemask,
}
"""Mutant name -> a factory of the broken pass (mode ``on``)."""
