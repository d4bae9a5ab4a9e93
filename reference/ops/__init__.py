"""The op table: one :class:`~reference.ops.base.Op` per op, each with its five rules.

Importing this package registers every op. Adding an op is adding one entry (in the module of
its family) and its tests; codegen, the float64 ground truth and the graph builder dispatch
through :func:`lookup` and never name an op.
"""

from reference.ops import contraction, elementwise, layout, mask, memory, reduction
from reference.ops.base import REGISTRY, T64, Op, lookup

CASE_OPS = tuple(name for name in REGISTRY if not name.startswith("_"))
"""Ops a case file may name (``_mask_to`` is inserted by the graph builder, never written)."""

__all__ = [
    "CASE_OPS",
    "REGISTRY",
    "Op",
    "T64",
    "contraction",
    "elementwise",
    "layout",
    "lookup",
    "mask",
    "memory",
    "reduction",
]
