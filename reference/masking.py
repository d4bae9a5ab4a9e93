"""Masked-value analysis and ``remove_unnecessary_masking``.

The masked value of a node is what every one of its padded lanes is known to hold (or None).
A ``_mask_to(x, v)`` whose input already holds ``v`` there does nothing and is dropped. That
is why an eager load (``ref * mask``: padded lanes 0) lets the zero-fill masks in front of a
dot disappear, and why ``defer_pallas_load_masks`` must mark a deferred load unknown: its
downstream zero-fill mask is then the only thing that clears the padding.

An ``hl.dot`` operand's zero-fill mask also goes when the partner operand is already 0 past K,
unless the operand's lanes may be non-finite (``dots_zeroed_by_partner``, one of Helion's rules
beside the pass: ``reference/neighbours.py``).

Helion's version also keeps a mask that feeds a reduction and depends on a reduction output
(for rolled reductions padded to a power of two); reference graphs have no such padding.
"""

from __future__ import annotations

import torch.fx

from reference import neighbours
from reference.ops.base import MaskedValue
from reference.ops.mask import _mask_to

_KEY = "masked_value"


def cached_masked_value(node: torch.fx.Node) -> MaskedValue:
    """The masked value of ``node``, computed through its op's rule and cached in meta."""
    if _KEY in node.meta:
        return node.meta[_KEY]
    op = node.meta.get("op")
    if op is None:
        return None
    inputs = [cached_masked_value(a) for a in node.args if isinstance(a, torch.fx.Node)]
    result = op.masked_value(node, inputs)
    node.meta[_KEY] = result
    return result


def recompute_masked_values(graph: torch.fx.Graph) -> None:
    """Drop every cached masked value and compute them again (after a pass changed one)."""
    for node in graph.nodes:
        node.meta.pop(_KEY, None)
    for node in graph.nodes:
        cached_masked_value(node)


def remove_unnecessary_masking(graph: torch.fx.Graph) -> list[str]:
    """Drop each ``_mask_to(x, v)`` whose input already holds ``v``, and take each ``hl.dot``
    whose partner operand is 0 past K off its operand's zero-fill mask
    (``dots_zeroed_by_partner``, ``reference/neighbours.py``), dropping the mask once no user
    is left; return the names of the masks dropped."""
    rules = neighbours.current()
    removed = []
    for node in list(graph.find_nodes(op="call_function", target=_mask_to)):
        source, fill = node.args
        assert isinstance(source, torch.fx.Node)
        masked_value = cached_masked_value(source)
        if masked_value != fill:
            for dot in rules.dots_zeroed_by_partner(node, masked_value, cached_masked_value):
                dot.replace_input_with(node, source)
            if node.users:
                continue
        node.replace_all_uses_with(source)
        removed.append(node.meta["var"])
        graph.erase_node(node)
    return removed
