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

from fuzzpass.core.data import CaseData, bucket
from reference.codegen import KernelSource
from reference.ops import memory


def structural(text: str) -> str:
    """``text`` with its title line (which names the case) made generic: everything that
    compiles is kept, so cases of one structure share their compiled kernels."""
    _, newline, rest = text.partition("\n")
    return '"""A fuzzpass kernel."""' + newline + rest


@functools.lru_cache(maxsize=256)
def load_module(text: str, on_cpu: bool = False) -> types.ModuleType:
    """Execute generated source as a module (cached by its text); ``on_cpu``: for Pallas'
    interpreters, its ``lax`` is :class:`CpuLax` (the TPU compiler builds from JAX's own)."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    filename = f"<fuzzpass kernel {digest}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    module = types.ModuleType(f"fuzzpass_kernel_{digest}")
    module.__file__ = filename
    exec(compile(text, filename, "exec"), module.__dict__)
    if on_cpu:
        module.lax = CpuLax()  # type: ignore[attr-defined]
    return module


GRID_BUCKET = {1: 16, 2: 4}
"""The fewest work items per grid dim, by the grid's rank. A structure's instances then share
one kernel: the generators draw at most 16 work items along one tile and 4 per tile along two
(``generators.examples.MAX_GRID``), so every instance of a structure lands in the same grid
bucket. When a 1-D grid was bucketed from 4, 40% of a run's compiles were a structure it had
compiled already, for another grid; an empty work item (extent 0) costs microseconds."""


def bucketed_grid(data: CaseData) -> tuple[int, ...]:
    """The grid a kernel runs over: each dim rounded up to a power of two, and to at least
    :data:`GRID_BUCKET`; the extra work items have extent 0."""
    at_least = GRID_BUCKET.get(len(data.grid), 1)
    return tuple(bucket(n, at_least) for n in data.grid)


INTERPRETERS = ("generic", "tpu")
"""Pallas' two interpreters on the CPU. ``generic`` discharges the kernel into one XLA program
(no host callbacks, so its executable can be serialized and kept): scratch and outputs
start as NaN, DMAs are copies. ``tpu`` is Pallas' TPU interpret mode: every memory access is a
callback into a simulated TPU (VMEM and HBM buffers, DMA engines and semaphores, out-of-bounds
reads raise), with uninitialized memory filled with NaN; several times slower to run, and
never cached."""


def jitted(text: str, grid: tuple[int, ...], interpreter: str | None) -> Any:
    """The jitted ``pallas_call`` of a source over ``grid``, under one of :data:`INTERPRETERS`
    or (None) for the TPU compiler: compiled once per structure, grid bucket and input shapes."""
    return _jitted(structural(text), grid, interpreter)


@functools.lru_cache(maxsize=256)
def _jitted(text: str, grid: tuple[int, ...], interpreter: str | None) -> Any:
    import jax
    from jax.experimental.pallas import tpu as pltpu

    if interpreter is None:
        return jax.jit(load_module(text).build(grid, interpret=False))
    modes = {"generic": True, "tpu": pltpu.InterpretParams(uninitialized_memory="nan")}
    return jax.jit(load_module(text, on_cpu=True).build(grid, interpret=modes[interpreter]))


class CpuLax:
    """``jax.lax`` as a kernel sees it on the CPU (both interpreters): the same, but for
    ``dot_general`` of 16-bit float operands into float32, given float32 operands.

    XLA:CPU has no bfloat16 x bfloat16 = float32 dot where a select is fused into a
    transposed operand (jax 0.10.2: ``UNIMPLEMENTED: Unsupported element type for
    DotThunk::Execute``), exactly what a deferred mask before a dot makes. Widening is exact
    (a 16-bit float is a float32, the product of two is exact in float32, the sum is float32
    as the TPU's is), so the kernel computes what it did; elsewhere XLA:CPU widens them itself.
    """

    def __getattr__(self, name: str) -> Any:
        import jax

        return getattr(jax.lax, name)

    @staticmethod
    def dot_general(lhs: Any, rhs: Any, *args: Any, preferred_element_type: Any = None, **kwargs: Any) -> Any:
        import jax.numpy as jnp
        from jax import lax

        if preferred_element_type == jnp.float32:
            lhs, rhs = (x.astype(jnp.float32) if x.dtype in (jnp.bfloat16, jnp.float16) else x for x in (lhs, rhs))
        return lax.dot_general(lhs, rhs, *args, preferred_element_type=preferred_element_type, **kwargs)


def work_items(tiles: tuple[str, ...], data: CaseData) -> list[np.ndarray]:
    """Per tile, its starts then its extents as int32, padded to the grid bucket with empty
    work items (row 0, extent 0): the leading arguments of every kernel, Pallas or Helion."""
    items = []
    for tile, n in zip(tiles, bucketed_grid(data), strict=True):
        for per_item in (data.starts[tile], data.extents[tile]):
            items.append(np.pad(per_item, (0, n - len(per_item))).astype(np.int32))
    return items


def call_args(source: KernelSource, data: CaseData, dtype: str) -> list[Any]:
    """The kernel's arguments: :func:`work_items`, then inputs in case order."""
    import jax.numpy as jnp

    from reference.values import np_dtype

    args: list[Any] = [jnp.asarray(a) for a in work_items(source.tiles, data)]
    args += [jnp.asarray(data.inputs[src].astype(np_dtype(dtype))) for src in source.inputs]
    return args


def arg_shapes(source: KernelSource, data: CaseData, dtype: str) -> tuple[tuple[tuple[int, ...], str], ...]:
    """What :func:`call_args` would be, as (shape, dtype name) pairs, without building the
    arrays: a compiler needs no values, and converting a realistic case's inputs (tens of MiB)
    once per variant and generation cost more than reading a kept compile outcome."""
    from reference.values import np_dtype

    items = [(a.shape, str(a.dtype)) for a in work_items(source.tiles, data)]
    name = str(np.dtype(np_dtype(dtype)))
    return tuple(items + [(data.inputs[src].shape, name) for src in source.inputs])


def outputs(source: KernelSource, data: CaseData, results: list[Any]) -> dict[str, np.ndarray]:
    """Kernel results as float64, one row per real work item, shaped like the stored value."""
    n = int(np.prod(data.grid))
    real = tuple(slice(0, k) for k in data.grid)
    out = {}
    for (dst, value), array in zip(source.outputs, results, strict=True):
        assert np.shape(array) == (*bucketed_grid(data), *memory.slot_shape(value))
        out[dst] = np.asarray(array, dtype=np.float64)[real].reshape((n, *value.shape))
    return out


def empty_outputs(source: KernelSource) -> dict[str, np.ndarray]:
    """What a grid with no work item produces: nothing, per output."""
    return {dst: np.zeros((0, *value.shape)) for dst, value in source.outputs}
