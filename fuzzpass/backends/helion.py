"""Production Helion as a second implementation: its pass decides, its kernels run.

A case's Helion kernel (:mod:`reference.helion_codegen`) is bound twice, with Helion's own
``defer_pallas_load_masks`` on (what users run) and off (Helion's eager baseline), and both
run in Pallas interpret mode on the case's data, poisoned padding included. The pass's choice
per load is read from its graph: a wrapper around the pass, at the one place Helion calls it
(``helion._compiler.device_ir``), records each load node's ``pallas_deferred_mask_block_ids``
and maps block ids back to the case's tiles through the ``hl.tile`` loop variables, which the
kernel names after them. Needs ``pip install 'fuzzpass[helion]'``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fuzzpass.backends import helions
from fuzzpass.backends.kernel import structural, work_items
from fuzzpass.core.data import CaseData
from reference.helion_codegen import KERNEL, HelionSource
from reference.values import Value

MODES = ("on", "off")
"""``on``: Helion as users run it; ``off``: its pass replaced by a no-op (the eager baseline).
A third mode, ``force``, binds Helion's pass with its profitability gate bypassed
(:mod:`fuzzpass.backends.helion_force`), for the gate audit's other choice."""


def unavailable() -> str | None:
    """Why the helion backend cannot run here, or None."""
    try:
        import helion  # noqa: F401
    except ImportError:
        return "helion is not installed (pip install 'fuzzpass[helion]')"
    return None


def prepare_environment() -> None:
    """Helion's Pallas backend in interpret mode, and no autotuning: every kernel carries
    its one config, so a run never waits on a search. Helion reads these when imported."""
    os.environ["HELION_BACKEND"] = "pallas"
    os.environ["HELION_PALLAS_INTERPRET"] = "1"
    os.environ["HELION_DISALLOW_AUTOTUNING"] = "1"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")  # interpret mode: libtpu need not look for a chip
    helions.use()  # ``--helion`` or ``--helion-patch``: that Helion, not the installed one


prepare_environment()  # this module is imported only to use Helion, and before Helion is


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {name: version(name) for name in ("jax", "jaxlib", "torch")}
    return {"helion": helions.label(), **found}


@dataclass
class LoadDecision:
    """One load node of Helion's graph: what it reads and the tiles whose mask its pass deferred."""

    node: str
    source: str
    deferred: list[str]


@dataclass
class _Probe:
    """The wrapper around Helion's pass: off or on, and what the last binds decided."""

    mode: str = "on"
    loads: list[LoadDecision] = field(default_factory=list)
    graphs: list[Any] = field(default_factory=list)
    """The fx graphs the pass ran on in the last binds, each with its nodes' dims
    (:func:`_dims`): ``fuzzpass corpus`` reads a fired kernel's structure from them."""


_probe = _Probe()


def launcher_module() -> Any:
    """The module of Helion's Pallas launchers: ``helion.runtime.pallas.launcher`` since Helion
    PR #3182, ``helion.runtime`` before it (where a bisection over commits meets it)."""
    try:
        from helion.runtime.pallas import launcher
    except ImportError:
        import helion.runtime as launcher
    return launcher


@functools.cache
def _compile_once_per_shape() -> None:
    """Wrap the function Helion's interpret launcher calls in ``jax.jit``.

    Helion 1.5.1 caches that function per kernel, but it is ``pl.kernel``'s eager wrapper:
    JAX traces, lowers and compiles it again on every call (about 1 s here, 95% of a
    check). Under ``jax.jit`` it compiles once per argument shapes. The computation is the
    same function on the same arrays; only JAX's compile cache is in front of it.
    """
    import jax

    launcher = launcher_module()

    real = launcher._PallasInterpretCallable.__init__

    @functools.wraps(real)
    def cached(self: Any, jit_fn: Any, inplace_output_mapping: Any) -> None:
        real(self, jax.jit(jit_fn), inplace_output_mapping)

    launcher._PallasInterpretCallable.__init__ = cached


@functools.cache
def install_probe() -> None:
    """Wrap ``defer_pallas_load_masks`` where ``device_ir`` calls it (it imported the name,
    so wrapping it in ``node_masking`` would change nothing)."""
    import helion._compiler.device_ir as device_ir
    from helion._compiler.compile_environment import CompileEnvironment
    from helion.language.memory_ops import load

    if pass_absent():
        return
    real = device_ir.defer_pallas_load_masks

    @functools.wraps(real)
    def probed(graph: Any) -> None:
        if _probe.mode == "on":
            real(graph)
        elif _probe.mode == "force":
            from fuzzpass.backends.helion_force import forced_pass

            forced_pass()(graph)
        env = CompileEnvironment.current()
        _probe.graphs.append((graph, {n.name: _dims(env, n) for n in graph.nodes}))
        for node in graph.find_nodes(op="call_function", target=load):
            ids = node.meta.get("pallas_deferred_mask_block_ids") or ()
            tiles = sorted(name for bid in ids for name in env.block_sizes[bid].debug_names)
            _probe.loads.append(LoadDecision(node.name, _source_of(node), tiles))

    device_ir.defer_pallas_load_masks = probed


@functools.cache
def pass_absent() -> bool:
    """Whether this Helion predates ``defer_pallas_load_masks`` (a release or commit before
    PR #2812): it then keeps every load's eager mask, and there is no pass to probe."""
    import helion._compiler.device_ir as device_ir

    return not hasattr(device_ir, "defer_pallas_load_masks")


def _dims(env: Any, node: Any) -> tuple[int | str | None, ...] | None:
    """A node's value's dims as the case language could state them: an integer extent, a
    block id (``"b<id>"``: a tile of that ``hl.tile``), or None (a size known only at run
    time); None for a node with no tensor value."""
    shape = getattr(node.meta.get("val"), "shape", None)
    if shape is None:
        return None
    dims: list[int | str | None] = []
    for size in shape:
        if isinstance(size, int):
            dims.append(size)
        else:
            bid = env.get_block_id(size)
            dims.append(None if bid is None else f"b{bid}")
    return tuple(dims)


def defers(loads: list[LoadDecision]) -> bool:
    """Whether Helion's pass deferred any load's mask. When it deferred none it changed
    nothing, so its pass-off kernel is its pass-on kernel: both halves of a check build (and
    run, or compile) that one kernel once."""
    return any(load.deferred for load in loads)


def graphs() -> list[Any]:
    """The fx graphs (with their nodes' dims) the pass saw in the last :func:`pass_mode` block."""
    return list(_probe.graphs)


def decisions() -> list[LoadDecision]:
    """What the pass decided in the binds of the last :func:`pass_mode` block."""
    return list(_probe.loads)


@contextmanager
def pass_mode(mode: str) -> Iterator[None]:
    """Helion's pass ``on``, ``off`` or ``force`` for the binds inside the block, and the mode
    that was in force again after it (blocks nest); what it decided is in ``_probe.loads``
    after them."""
    before = _probe.mode
    _probe.mode, _probe.loads, _probe.graphs = mode, [], []
    try:
        yield
    finally:
        _probe.mode = before


def first_line(e: BaseException) -> str:
    """Helion's message in one line, without the addresses it prints (they differ per run)."""
    text = re.sub(r" at 0x[0-9a-f]+", "", str(e).strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]


def _source_of(load: Any) -> str:
    """The kernel argument a load node reads (its first argument is a ``_host_tensor`` node)."""
    src = load.args[0]
    if getattr(src, "op", None) == "call_function" and src.args and isinstance(src.args[0], str):
        return src.args[0]
    return getattr(src, "name", str(src))


@functools.cache
def _module_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzzpass-helion-"))


@functools.lru_cache(maxsize=128)
def _kernel(text: str, mode: str, interpret: bool = True) -> Any:
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
    with interpret_mode(interpret):
        spec.loader.exec_module(module)
    return getattr(module, KERNEL)


def copy_kernel(kernel: Any, **settings: Any) -> Any:
    """A new kernel object of ``kernel``'s function, configs and settings (with ``settings``
    changed): nothing bound yet, so its pass runs again at its first bind."""
    import dataclasses

    from helion.runtime.kernel import Kernel

    return Kernel(kernel.fn, configs=kernel.configs, settings=dataclasses.replace(kernel.settings, **settings))


@contextmanager
def interpret_mode(on: bool) -> Iterator[None]:
    """``HELION_PALLAS_INTERPRET`` as ``on`` inside the block (Helion reads it when a kernel
    is defined, bound and launched)."""
    before = os.environ["HELION_PALLAS_INTERPRET"]
    os.environ["HELION_PALLAS_INTERPRET"] = "1" if on else "0"
    try:
        yield
    finally:
        os.environ["HELION_PALLAS_INTERPRET"] = before


@dataclass
class HelionRun:
    """One mode of one case: the pass's choice, the generated Pallas source, the outputs."""

    mode: str
    loads: list[LoadDecision]
    pallas: str
    outputs: dict[str, np.ndarray] | None = None


_bound: OrderedDict[tuple[str, str, tuple[Any, ...]], tuple[list[LoadDecision], str]] = OrderedDict()
"""What the pass decided and the Pallas source Helion generated, per kernel, mode and
argument shapes (the latest 512): Helion binds (and runs the pass) once per shapes, so a
later case of one structure reads them from here."""


def bind(source: HelionSource, data: CaseData, dtype: str, mode: str) -> tuple[Any, list[Any], HelionRun]:
    """Bind ``source`` for ``data``'s shapes with the pass ``mode``: the kernel, its
    arguments, and what the pass decided with the Pallas source Helion generated. Cases of
    one structure share a kernel object (the title line, which names the case, is made
    generic), so instances whose bucketed shapes match reuse its bound kernel."""
    install_probe()
    _compile_once_per_shape()
    text = structural(source.text)
    kernel = _kernel(text, mode)
    args = arguments(source, data, dtype)
    key = (text, mode, tuple((tuple(a.shape), str(a.dtype)) for a in args))
    if key not in _bound:
        with pass_mode(mode):
            bound = kernel.bind(tuple(args))
        _bound[key] = (decisions(), bound.to_code())
        if len(_bound) > 512:
            _bound.popitem(last=False)
    _bound.move_to_end(key)
    loads, pallas = _bound[key]
    return kernel, args, HelionRun(mode, loads, pallas)


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


EAGER_LOAD = re.compile(r"^\s*(?P<var>\w+) = .*\* mask_\d+", re.MULTILINE)


def eager_loads(pallas: str) -> set[str]:
    """Variables whose load line in Helion's generated Pallas source multiplies a mask in."""
    return {m["var"] for m in EAGER_LOAD.finditer(pallas)}


PADDERS = ("_pallas_apply_ds_padding", "_pallas_apply_ds_padding_fast")
"""Functions of ``helion.runtime.pallas.launcher`` that pad an input past its end (with
``torch.nn.functional.pad``, zeros) so that a block read at a data-dependent start stays in
bounds: what a kernel finds past the end of an array is what they write."""


@contextmanager
def poisoned_padding() -> Iterator[list[tuple[int, ...]]]:
    """Helion's launcher pads inputs past their end with NaN instead of zeros inside the block:
    what lies past the end of every floating-point input is poison, as ``--poison nan`` makes
    it for a case (an eager ``x * mask`` turns it into NaN; a deferred ``where`` must not).
    The block gets the shapes of the inputs it poisoned: none means the kernel read nothing
    past an input's end, and poison proved nothing (a compact worklist reads exact rows)."""
    import torch

    launcher = launcher_module()

    pad = torch.nn.functional.pad
    poisoned: list[tuple[int, ...]] = []

    def nan_pad(t: Any, widths: Any, mode: str = "constant", value: Any = None) -> Any:
        poison = mode == "constant" and value in (None, 0) and t.is_floating_point()
        if poison:
            poisoned.append(tuple(t.shape))
        return pad(t, widths, mode, float("nan") if poison else value)

    def poisoning(real: Any) -> Any:
        @functools.wraps(real)
        def padded(*args: Any, **kwargs: Any) -> Any:
            torch.nn.functional.pad = nan_pad
            try:
                return real(*args, **kwargs)
            finally:
                torch.nn.functional.pad = pad

        return padded

    reals = {name: getattr(launcher, name) for name in PADDERS if callable(getattr(launcher, name, None))}
    for name, real in reals.items():
        setattr(launcher, name, poisoning(real))
    try:
        yield poisoned
    finally:
        for name, real in reals.items():
            setattr(launcher, name, real)
