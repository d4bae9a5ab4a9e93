"""One variant of a kernel, end to end: graph, pass, mask cleanup, Pallas source.

This is the pipeline in Helion's order: build the graph with consumer masks, run
``defer_pallas_load_masks`` in the variant's mode, then ``remove_unnecessary_masking``, then
generate source. The harness runs exactly ``Variant.source.text``. Helion's rules beside the
pass (``reference/neighbours.py``) are in force throughout; the variant keeps the branches
they took.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.fx

from reference.codegen import KernelSource, generate
from reference.defer import LoadDecision, MaskDeferral, Mode
from reference.gates import DEFAULT as DEFAULT_GATE
from reference.graph import build_graph
from reference.masking import recompute_masked_values, remove_unnecessary_masking
from reference.neighbours import Neighbours, using
from reference.spec import KernelSpec

VARIANT_OF_MODE: dict[Mode, str] = {"off": "eager", "on": "deferred", "force": "forced"}


@dataclass
class Variant:
    """A compiled variant: its graph after the passes, decisions, removed masks and source."""

    name: str
    graph: torch.fx.Graph
    decisions: dict[str, LoadDecision]
    removed_masks: list[str]
    source: KernelSource
    neighbour_branches: frozenset[str] = frozenset()
    """The branches of Helion's rules beside the pass this variant took (``rule:branch``)."""
    relayouts: frozenset[object] = frozenset()
    """The fx targets its pass deferred through (``MaskDeferral.relayout_targets``)."""

    def deferred(self) -> dict[str, list[str]]:
        """Per load, the tiles whose mask was deferred (the case file's ``expect`` form)."""
        return {load: list(d.deferred) for load, d in self.decisions.items()}


def compile_variant(
    spec: KernelSpec,
    mode: Mode = "on",
    deferral: MaskDeferral | None = None,
    title: str = "",
    gate: str = DEFAULT_GATE,
    rules: Neighbours | None = None,
    generation: str | None = None,
) -> Variant:
    """Compile ``spec`` in ``mode`` with the profitability ``gate`` for the TPU ``generation``
    (or with ``deferral``, a pass object such as a mutant) and Helion's rules beside the pass
    (or ``rules``, a mutant's)."""
    deferral = deferral or MaskDeferral(mode, gate, generation)
    rules = rules or Neighbours()
    rules.relayouts = deferral.relayout_targets
    with using(rules) as taken:
        graph = build_graph(spec)
        recompute_masked_values(graph)
        decisions = deferral.run(graph)
        removed = remove_unnecessary_masking(graph)
    name = VARIANT_OF_MODE[deferral.mode]
    source = generate(spec, graph, title or f"{name} variant (defer_pallas_load_masks mode={deferral.mode})")
    return Variant(
        name=name,
        graph=graph,
        decisions=decisions,
        removed_masks=removed,
        source=source,
        neighbour_branches=frozenset(taken.taken),
        relayouts=deferral.relayout_targets,
    )
