"""The float64 ground truth of a case, computed from the case itself (CASES.md, "What a case
means"), never from a generated kernel.

All work items are evaluated at once: every value carries a leading work-item axis, in the
kernel's grid order. Each op's float64 rule (``reference.ops``) computes on valid elements
only and carries an error bound; loads mark elements at and past the extent invalid and set
them to NaN, so a rule that let one through would show as NaN in a valid output.
"""

from __future__ import annotations

import numpy as np

from fuzzpass.core.case import Case
from fuzzpass.core.data import CaseData
from reference.ops import T64, lookup
from reference.values import Value


class _Loads:
    """The :class:`~reference.ops.base.F64Context` of one case: windows of the padded data."""

    def __init__(self, case: Case, data: CaseData) -> None:
        self.case, self.data = case, data
        items = data.items()
        self.start = {t: data.starts[t][[p[t] for p in items]] for t in data.starts}
        self.extent = {t: data.extents[t][[p[t] for p in items]] for t in data.starts}
        self.n = len(items)

    def load(self, src: str) -> T64:
        spec = self.case.spec
        shape = spec.inputs[src]
        rank = len(shape)
        index, valid = [], np.ones((self.n,) + (1,) * rank, dtype=bool)
        for d, dim in enumerate(shape):
            along = [1] * (rank + 1)
            if isinstance(dim, str):
                block = spec.tiles[dim].block
                along[0], along[d + 1] = self.n, block
                rows = np.arange(block)[None, :]
                index.append((self.start[dim][:, None] + rows).reshape(along))
                valid = valid & (rows < self.extent[dim][:, None]).reshape(along)
            else:
                along[d + 1] = dim
                index.append(np.arange(dim).reshape(along))
        full = (self.n, *spec.block_shape(shape))
        window = np.broadcast_to(self.data.inputs[src][tuple(index)], full)
        valid = np.broadcast_to(valid, full)
        return T64(np.where(valid, window, np.nan), valid, np.zeros(window.shape))


def ground_truth(case: Case, data: CaseData) -> dict[str, tuple[Value, T64]]:
    """Every stored value, by ``dst``: its static value and its float64 meaning."""
    spec, ctx = case.spec, _Loads(case, data)
    values: dict[str, Value] = {}
    results: dict[str, T64] = {}
    outputs: dict[str, tuple[Value, T64]] = {}
    for node in spec.graph:
        op = lookup(node.op)
        names = [node[f] for f in op.value_fields(node)]
        out = op.shape(node, [values[n] for n in names], spec)
        result = op.f64(node, out, [results[n] for n in names], ctx)
        if node.out is None:
            outputs[node["dst"]] = (values[names[0]], result)
        else:
            values[node.out], results[node.out] = out, result  # type: ignore[assignment]
    return outputs
