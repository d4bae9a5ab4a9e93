"""Helion's kernels bound and run: a case's Helion kernel (``reference.helion_codegen``) as a
kernel object per pass mode, its arguments from the case's data (poisoned padding included),
its outputs in the harness's layout; and a user's kernel copied, to bind afresh.

Binding runs Helion's pass (``helion_decisions``) once per kernel object and argument shapes:
Helion keeps what it bound inside the kernel object, so what the pass decided is kept beside it
(:class:`KernelObject`), in the one cache of kernel objects (:func:`kernel_object`).
Needs ``pip install 'fuzzpass[helion]'``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fuzzpass.backends import helion, helion_patches
from fuzzpass.backends.helion_decisions import LoadDecision, pass_mode
from fuzzpass.backends.kernel import structural, work_items
from fuzzpass.core.data import CaseData
from reference.helion_codegen import KERNEL, HelionSource
from reference.values import Value

Shapes = tuple[tuple[tuple[int, ...], str], ...]
"""A kernel's arguments as (shape, dtype) pairs: what Helion binds a kernel object once for."""


@dataclass
class Bound:
    """One pass mode of one kernel, bound: what the pass decided per load node, the Pallas
    source Helion generated, the fx graphs the pass ran on (where they were kept), and the
    kernel's launch on its arguments."""

    mode: str
    loads: list[LoadDecision]
    pallas: str
    launch: Callable[[], Any]
    kernel: Any = None
    """Helion's object the launch calls: a case's kernel object, or a call's bound kernel."""
    graphs: list[Any] = field(default_factory=list)


@dataclass(eq=False)
class KernelObject:
    """A kernel object of one source and pass mode, and what was learned of it per argument
    shapes (what its pass decided with the source Helion generated; or, for a TPU, what its
    launcher built): kept as long as the kernel object, whose own binds these mirror."""

    kernel: Any
    per_shapes: dict[Shapes, Any] = field(default_factory=dict)


@functools.cache
def _module_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzzpass-helion-"))


@functools.lru_cache(maxsize=128)
def kernel_object(text: str, mode: str, interpret: bool = True) -> KernelObject:
    """The kernel object of a source, one per mode (Helion caches a bound kernel per
    argument shapes inside it, and the pass runs once per bind), and per launch: Helion reads
    ``HELION_PALLAS_INTERPRET`` into the kernel's settings when it is defined, so a kernel
    for the TPU compiler (``interpret`` False) is another object. Helion reads the kernel's
    source through ``inspect``, so the module lives in a real file."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    folder = mode if interpret else f"{mode}-tpu"
    path = _module_dir() / folder / f"helion_{digest}.py"  # one file name: both modes' sources cite it alike
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with helion.interpret_mode(interpret):
        spec.loader.exec_module(module)
    return KernelObject(getattr(module, KERNEL))


def copy_kernel(kernel: Any, **settings: Any) -> Any:
    """A new kernel object of ``kernel``'s function, configs and settings (with ``settings``
    changed): nothing bound yet, so its pass runs again at its first bind."""
    import dataclasses

    from helion.runtime.kernel import Kernel

    return Kernel(kernel.fn, configs=kernel.configs, settings=dataclasses.replace(kernel.settings, **settings))


def shapes_of(args: list[Any]) -> Shapes:
    return tuple((tuple(a.shape), str(a.dtype)) for a in args)


def bind(source: HelionSource, data: CaseData, dtype: str, mode: str) -> Bound:
    """``source`` bound for ``data``'s shapes with the pass ``mode``: what the pass decided,
    the Pallas source Helion generated, and the launch on the case's arguments. Cases of one
    structure share a kernel object (the title line, which names the case, is made generic),
    so instances whose shapes match reuse its bound kernel and what its pass decided."""
    helion_patches.compile_once_per_shape()
    entry = kernel_object(structural(source.text), mode)
    args = arguments(source, data, dtype)
    shapes = shapes_of(args)
    if shapes not in entry.per_shapes:
        with pass_mode(mode) as decided:
            bound = entry.kernel.bind(tuple(args))
        entry.per_shapes[shapes] = (decided.loads, bound.to_code())
    loads, pallas = entry.per_shapes[shapes]
    return Bound(mode, loads, pallas, functools.partial(run, entry.kernel, args, source, data), entry.kernel)


def arguments(source: HelionSource, data: CaseData, dtype: str) -> list[Any]:
    """The kernel's work items (``kernel.work_items``), then the inputs with their poisoned
    padding, in the case's dtype."""
    import torch

    args: list[Any] = [torch.from_numpy(a) for a in work_items(source.tiles, data)]
    for src in source.inputs:
        args.append(torch.from_numpy(data.inputs[src]).to(getattr(torch, dtype)))
    return args


def run(kernel: Any, args: list[Any], source: HelionSource, data: CaseData) -> dict[str, np.ndarray]:
    """Call the bound kernel; outputs as float64 in the harness's layout (one slot per work item)."""
    import torch

    results = kernel(*args)
    results = results if isinstance(results, tuple) else (results,)
    return {
        dst: _slots(result.to(torch.float64).numpy(), value, source, data)
        for (dst, value), result in zip(source.outputs, results, strict=True)
    }


def _slots(array: np.ndarray, value: Value, source: HelionSource, data: CaseData) -> np.ndarray:
    """``array`` as one row per real work item shaped like ``value``. A per-item output keeps
    its real items; a value stored at its jagged rows is cut back into each item's window
    (rows past the end of the array read as NaN: never valid, never compared)."""
    grid = data.grid
    n = int(np.prod(grid))
    if not value.tile_names:
        return array[tuple(slice(0, k) for k in grid)].reshape((n, *value.shape))
    pad = [(0, value.shape[d]) if t else (0, 0) for d, t in enumerate(value.tiles)]
    padded = np.pad(array, pad, constant_values=np.nan)
    rows = []
    for item in data.items():
        window = padded
        for d, t in enumerate(value.tiles):
            if t is not None:
                start = int(data.starts[t][item[t]])
                window = np.take(window, np.arange(start, start + value.shape[d]), axis=d)
        rows.append(window)
    return np.stack(rows) if rows else np.zeros((0, *value.shape))
