"""Compiled numerics on a TPU host (TPU-only: needs ``jax.devices()`` to show TPUs).

It builds exactly what ``tpu-aot`` compiles deviceless here, then runs it.
"""

from __future__ import annotations

import numpy as np

from fuzzpass.backends.kernel import bucketed_grid, call_args, empty_outputs, jitted, outputs
from fuzzpass.core.data import CaseData
from reference.codegen import KernelSource

PLATFORM = "tpu"
"""What JAX calls a TPU device's platform (``Device.platform``)."""


def unavailable() -> str | None:
    """Why this backend cannot run here, or None on a TPU host."""
    import jax

    try:
        platform = jax.devices()[0].platform
    except RuntimeError as e:
        return f"no JAX devices: {e}"
    return None if platform == PLATFORM else f"no TPU on this machine (JAX runs on {platform})"


def run(source: KernelSource, data: CaseData, dtype: str) -> dict[str, np.ndarray]:  # TPU-only
    import jax

    if 0 in data.grid:
        return empty_outputs(source)
    call = jitted(source.text, bucketed_grid(data), None)
    return outputs(source, data, jax.block_until_ready(call(*call_args(source, data, dtype))))
