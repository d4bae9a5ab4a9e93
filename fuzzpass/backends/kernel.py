"""The one build path every backend shares: generated source -> module -> pallas_call -> args.

The source is executed as it is printed (``--show-source``), under a filename registered with
``linecache`` so that a traceback from inside a kernel shows the generated line.
"""

from __future__ import annotations

import hashlib
import linecache
import types
from typing import Any

import numpy as np

from fuzzpass.data import CaseData
from reference.codegen import KernelSource
from reference.ops import memory


def load_module(source: KernelSource) -> types.ModuleType:
    """Execute generated source as a module (cached by its text)."""
    digest = hashlib.sha1(source.text.encode()).hexdigest()[:12]
    filename = f"<fuzzpass kernel {digest}>"
    linecache.cache[filename] = (len(source.text), None, source.text.splitlines(True), filename)
    module = types.ModuleType(f"fuzzpass_kernel_{digest}")
    module.__file__ = filename
    exec(compile(source.text, filename, "exec"), module.__dict__)
    return module


def call_args(source: KernelSource, data: CaseData, dtype: str) -> list[Any]:
    """The kernel's arguments: per tile starts and extents, then inputs in case order."""
    import jax.numpy as jnp

    from reference.values import np_dtype

    args: list[Any] = []
    for tile in source.tiles:
        args += [jnp.asarray(data.starts[tile]), jnp.asarray(data.extents[tile])]
    args += [jnp.asarray(data.inputs[src].astype(np_dtype(dtype))) for src in source.inputs]
    return args


def abstract_args(source: KernelSource, data: CaseData, dtype: str, sharding: Any) -> list[Any]:
    """Shapes and dtypes of :func:`call_args`, placed by ``sharding`` (for deviceless compiles)."""
    import jax

    return [jax.ShapeDtypeStruct(np.shape(a), a.dtype, sharding=sharding) for a in call_args(source, data, dtype)]


def outputs(source: KernelSource, data: CaseData, results: list[Any]) -> dict[str, np.ndarray]:
    """Kernel results as float64, one row per work item, shaped like the stored value."""
    n = int(np.prod(data.grid))
    out = {}
    for (dst, value), array in zip(source.outputs, results, strict=True):
        assert np.shape(array) == (*data.grid, *memory.slot_shape(value))
        out[dst] = np.asarray(array, dtype=np.float64).reshape((n, *value.shape))
    return out


def empty_outputs(source: KernelSource) -> dict[str, np.ndarray]:
    """What a grid with no work item produces: nothing, per output."""
    return {dst: np.zeros((0, *value.shape)) for dst, value in source.outputs}
