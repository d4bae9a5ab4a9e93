"""The one build path every backend shares: generated source -> module -> pallas_call -> args.

The source is executed as it is printed (``--show-source``), under a filename registered with
``linecache`` so that a traceback from inside a kernel shows the generated line.
"""

from __future__ import annotations

import functools
import hashlib
import linecache
import types
from typing import Any

import numpy as np

from fuzzpass.data import CaseData
from reference.codegen import KernelSource
from reference.ops import memory


@functools.lru_cache(maxsize=256)
def load_module(text: str) -> types.ModuleType:
    """Execute generated source as a module (cached by its text)."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    filename = f"<fuzzpass kernel {digest}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    module = types.ModuleType(f"fuzzpass_kernel_{digest}")
    module.__file__ = filename
    exec(compile(text, filename, "exec"), module.__dict__)
    return module


@functools.lru_cache(maxsize=256)
def jitted(text: str, grid: tuple[int, ...], interpret: bool) -> Any:
    """The jitted ``pallas_call`` of a source over ``grid``: compiled once per structure and
    grid, whatever the data (interpret mode fills uninitialized VMEM with NaN)."""
    import jax
    from jax.experimental.pallas import tpu as pltpu

    mode = pltpu.InterpretParams(uninitialized_memory="nan") if interpret else False
    return jax.jit(load_module(text).build(grid, interpret=mode))


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
