"""Numerics on the CPU: Pallas' TPU interpret mode, with uninitialized VMEM filled with NaN
so that a kernel reading scratch it never wrote shows it."""

from __future__ import annotations

import numpy as np

from fuzzpass.backends.kernel import bucketed_grid, call_args, empty_outputs, jitted, outputs, structural
from fuzzpass.data import CaseData
from fuzzpass.profile import stage
from reference.codegen import KernelSource


def run(source: KernelSource, data: CaseData, dtype: str) -> dict[str, np.ndarray]:
    """Run one variant over every work item; outputs as float64, one row per work item."""
    import jax

    if 0 in data.grid:
        return empty_outputs(source)
    grid = bucketed_grid(data)
    call = jitted(source.text, grid, interpret=True)
    args = call_args(source, data, dtype)
    key = (structural(source.text), grid, tuple((a.shape, str(a.dtype)) for a in args))
    with stage("interpret" if key in _compiled else "interpret-compile"):
        results = jax.block_until_ready(call(*args))
    _compiled.add(key)
    return outputs(source, data, results)


_compiled: set[tuple[object, ...]] = set()
"""Kernels jax.jit has already traced and compiled: their calls only run (for the profile)."""
