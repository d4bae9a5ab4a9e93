"""Numerics on the CPU: Pallas' TPU interpret mode, with uninitialized VMEM filled with NaN
so that a kernel reading scratch it never wrote shows it."""

from __future__ import annotations

import numpy as np

from fuzzpass.backends.kernel import call_args, empty_outputs, load_module, outputs
from fuzzpass.data import CaseData
from reference.codegen import KernelSource


def run(source: KernelSource, data: CaseData, dtype: str) -> dict[str, np.ndarray]:
    """Run one variant over every work item; outputs as float64, one row per work item."""
    import jax
    from jax.experimental.pallas import tpu as pltpu

    if 0 in data.grid:
        return empty_outputs(source)
    call = load_module(source).build(data.grid, interpret=pltpu.InterpretParams(uninitialized_memory="nan"))
    return outputs(source, data, jax.jit(call)(*call_args(source, data, dtype)))
