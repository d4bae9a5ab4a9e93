"""The pass's next version: defer a load's mask through ``squeeze`` and ``unsqueeze`` too.

Helion 1.5.1 defers through ``aten.permute.default`` only and leaves ``squeeze``/``unsqueeze``
out "until they have their own deferral tests" (its comment on ``_RELAYOUT_TARGETS``). Both
drop or add a dim of size 1: no element changes its place among the others, so the lanes a
per-axis mask clears after them are the lanes the eager mask cleared, and the zero fill gives
them the value the eager mask gave them. That is the safety argument of ``permute`` again.

Only where they drop or add a *major* dim, though (``reference.ops.layout.keeps_vreg_tiles``):
the first version admitted every squeeze and unsqueeze, and a five-minute ``--backend tpu-aot
--tpu v4,v5e,v5p,v6e,tpu7x`` run of it found three ``compile`` findings: a bfloat16 ``[1, t0, 1]``
squeezed to ``[1, t0]`` and re-masked there compiles eager and not deferred on v5e, v5p, v6e
and tpu7x (``Invalid relayout: Non-singleton logical dimension is replicated ... vector<1x2xi1>``),
and Helion with this change applied fails the same way on v6e. A squeeze or unsqueeze that
leaves the last two dims as they are is a layout no-op on TPU.

What changes is the gate. With rank-preserving relayouts, "major at the load, last-two at the
consumer" implied that a relayout moved the axis; once rank can change it does not (a dim of
size 1 added in front shifts every index), so the gate needs its own check that the axis moved.
:meth:`~reference.defer.MaskDeferral.moved` states it: the tile sits at another distance from
the lane dim at every consumer than at the load. The positional gate calls it; for permutes
alone it is the index comparison it always was.

``x[:, None]`` (Helion's ``hl.subscript``, the case op ``subscript``) is not here: Helion gives it
its own masked-value rule, not ``passthrough_masked_value``, so its pass could not admit it by
adding a target. ``expand`` replicates rows and stays out.

Check it: ``fuzzpass run --pass candidates/rank_changing_relayouts.py:RankChangingRelayouts``,
``fuzzpass exhaust --max-nodes 4 --pass ...``, ``--backend tpu-aot --tpu v4,v5e,v5p,v6e,tpu7x``;
``fuzzpass propose`` writes it as a patch against the installed Helion.
"""

from __future__ import annotations

from reference.defer import MaskDeferral
from reference.relayouts import RELAYOUT_OPS


class RankChangingRelayouts(MaskDeferral):
    """Helion's pass with ``squeeze`` and ``unsqueeze`` of a major dim among its relayouts."""

    relayout_ops = RELAYOUT_OPS | {"squeeze:major", "unsqueeze:major"}

    helion_edits: tuple[tuple[str, str], ...] = (
        (
            "#   * ``squeeze``/``unsqueeze``/``alias``: safe in principle (no regrouping) but\n"
            "#     left out until they have their own deferral tests.\n",
            "#   * ``alias``: safe in principle (no regrouping) but left out until it has\n"
            "#     its own deferral tests.  (``squeeze``/``unsqueeze`` are in: fuzzpass's\n"
            "#     candidates/rank_changing_relayouts.py is their tests.)\n",
        ),
        (
            "# IMPORTANT: every op here must be RANK-PRESERVING.",
            "# ``squeeze``/``unsqueeze`` change rank, so the loop below checks explicitly\n"
            "# that a relayout moved the axis (``moved``), as the old note asked:\n"
            "# IMPORTANT (before squeeze/unsqueeze): every op here was RANK-PRESERVING.",
        ),
        (
            "_RELAYOUT_TARGETS = frozenset({torch.ops.aten.permute.default})",
            "_RELAYOUT_TARGETS = frozenset(\n"
            "    {\n"
            "        torch.ops.aten.permute.default,\n"
            "        torch.ops.aten.squeeze.dim,\n"
            "        torch.ops.aten.unsqueeze.default,\n"
            "    }\n"
            ")",
        ),
        (
            "    def is_relayout(node: torch.fx.Node) -> bool:\n",
            "    def from_end(node: torch.fx.Node, block_id: int) -> int | None:\n"
            "        # Where the axis sits in the TPU layout whatever the rank: dims after it\n"
            "        # (0: the lane dim, 1: the sublane dim).\n"
            "        idx = dim_index(node, block_id)\n"
            '        return None if idx is None else node.meta["val"].ndim - 1 - idx\n'
            "\n"
            "    def moved(load: torch.fx.Node, consumer: torch.fx.Node, block_id: int) -> bool:\n"
            "        # Once rank can change an index no longer says where the axis is:\n"
            "        # unsqueeze(0) shifts it without moving it, squeeze of a later dim\n"
            "        # moves it without shifting it.  Count from the lane dim.\n"
            "        return from_end(consumer, block_id) != from_end(load, block_id)\n"
            "\n"
            "    def keeps_vreg_tiles(node: torch.fx.Node) -> bool:\n"
            "        # squeeze/unsqueeze of a major dim only: one that reaches the last\n"
            "        # two (sublane, lane) dims changes the layout Mosaic gives the value,\n"
            "        # and a bool mask broadcast onto a squeezed 16-bit value then fails\n"
            '        # to compile ("Invalid relayout: Non-singleton logical dimension").\n'
            "        dim = node.args[1]\n"
            '        ndim = node.args[0].meta["val"].ndim\n'
            "        if node.target is torch.ops.aten.squeeze.dim:\n"
            "            return dim % ndim < ndim - 2\n"
            "        return dim % (ndim + 1) < ndim - 1\n"
            "\n"
            "    def is_relayout(node: torch.fx.Node) -> bool:\n",
        ),
        (
            '        if node.op != "call_function" or node.target not in _RELAYOUT_TARGETS:\n'
            "            return False\n",
            '        if node.op != "call_function" or node.target not in _RELAYOUT_TARGETS:\n'
            "            return False\n"
            "        if node.target is not torch.ops.aten.permute.default and not keeps_vreg_tiles(node):\n"
            "            return False\n",
        ),
        (
            "            if all_uses_remask(node, block_id, {}):\n"
            "                deferred.add(block_id)\n"
            "                deferred_consumers[block_id] = tuple(\n"
            "                    sorted(\n"
            "                        consumer.name\n"
            "                        for consumer in collect_remask_consumers(node, block_id, set())\n"
            "                    )\n"
            "                )\n",
            "            if all_uses_remask(node, block_id, {}):\n"
            "                consumers = collect_remask_consumers(node, block_id, set())\n"
            "                if not all(moved(node, c, block_id) for c in consumers):\n"
            "                    continue\n"
            "                deferred.add(block_id)\n"
            "                deferred_consumers[block_id] = tuple(\n"
            "                    sorted(consumer.name for consumer in consumers)\n"
            "                )\n",
        ),
    )
    """The same change to Helion 1.5.1's ``helion/_compiler/node_masking.py``, as (old, new)
    text: ``fuzzpass propose`` applies them to the installed file and writes the diff."""
