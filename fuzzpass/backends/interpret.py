"""Numerics on the CPU: Pallas' TPU interpret mode, with uninitialized VMEM filled with NaN
so that a kernel reading scratch it never wrote shows it."""

from __future__ import annotations

import numpy as np

from fuzzpass.backends.kernel import bucketed_grid, call_args, empty_outputs, jitted, outputs
from fuzzpass.data import CaseData
from reference.codegen import KernelSource


def run(source: KernelSource, data: CaseData, dtype: str) -> dict[str, np.ndarray]:
    """Run one variant over every work item; outputs as float64, one row per work item."""
    if 0 in data.grid:
        return empty_outputs(source)
    call = jitted(source.text, bucketed_grid(data), interpret=True)
    return outputs(source, data, call(*call_args(source, data, dtype)))
