"""Numerics on the CPU, in either of Pallas' interpreters (``kernel.INTERPRETERS``): both fill
uninitialized scratch and outputs with NaN, so that a kernel reading memory it never wrote
shows it."""

from __future__ import annotations

import time

import numpy as np

from fuzzpass.backends import executables
from fuzzpass.backends.kernel import bucketed_grid, call_args, empty_outputs, outputs
from fuzzpass.core import profile
from fuzzpass.core.data import CaseData
from reference.codegen import KernelSource

STAGES = {"generic": "interpret", "tpu": "interpret-tpu"}
"""The profile's name for running under each interpreter; ``-compile`` and ``-load`` are
added for the first case of a kernel (traced, lowered and compiled; or read from the compile
cache)."""


def run(source: KernelSource, data: CaseData, dtype: str, interpreter: str = "generic") -> dict[str, np.ndarray]:
    """Run one variant over every work item under ``interpreter``; outputs as float64, one row
    per work item."""
    import jax

    if 0 in data.grid:
        return empty_outputs(source)
    grid = bucketed_grid(data)
    args = call_args(source, data, dtype)
    name = STAGES[interpreter]
    start = time.perf_counter()
    compiled, origin = executables.executable(source.text, grid, interpreter, args)
    spent = {"memory": name, "disk": f"{name}-load", "compiled": f"{name}-compile"}[origin]
    profile.add(spent, time.perf_counter() - start)
    with profile.stage(name):
        results = jax.block_until_ready(compiled(*args))
    return outputs(source, data, results)
