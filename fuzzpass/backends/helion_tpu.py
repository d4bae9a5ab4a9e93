"""Production Helion's kernels through the real TPU compiler, deviceless (``TPU-AOT.md``,
"Production Helion's kernels, deviceless").

Helion 1.5.1 builds each Pallas kernel in its launcher: with interpret mode off, each launcher
path calls one of two builders, ``_pallas_compile_jit_fn`` (a ``pl.kernel`` over a static grid,
for the unroll, fori_loop and emit_pipeline loop types alike, a ``pl.pallas_call`` with scalar
prefetch, or ``lax.dot_general`` for an untiled matmul) or, for a compact-worklist kernel,
``_pallas_compile_compact_jit_fn`` (the worklist built in-jit, then a dynamic grid), and hands
the JAX function of JAX arrays it returns to ``_pallas_build_callable``, which wraps it for
torch_tpu. Here the builder's call is kept and the launch stopped at that hand-over (nothing
runs, torch_tpu is never asked for). For each generation the kept call is repeated with the
target chip as JAX's default device, wrapped as ``_pallas_build_callable`` wraps it (a kernel
with remote copies or barriers runs under ``shard_map`` on a one-device ``rank`` mesh, as the
launcher builds it outside ``torch.distributed``), and compiled as a ``tpu-aot`` kernel is. The
one torch_tpu-only step before it, ``_ensure_torch_tpu_cpu_export_info`` (it asks the attached
chip for its kind), is skipped: the default device answers that instead.

Why the builder runs per generation: it writes the chip's VMEM into the kernel
(``vmem_limit_bytes``) and checks its own estimate against it, and Helion keeps the first
answer for the whole process (``_get_vmem_limit_bytes``), which would be one generation's, or
interpret mode's TPU7x, or a fallback, for every generation. Here the chip being compiled for
answers (:func:`_chip_vmem`). A kernel is bound once for all generations, so what Helion's
codegen asks of the chip (a compact worklist's resident window, sized from the VMEM budget) is
answered by no chip: :data:`NO_CHIP_VMEM`, as Helion answers itself when no chip does.

This module is the one place fuzzpass reaches into Helion's launcher. :data:`HOOKS` names
what it relies on and :func:`unavailable` checks it: on a Helion without them, the TPU half of
``--backend helion`` reports that one reason and the interpret half still runs.
"""

from __future__ import annotations

import functools
import inspect
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

from fuzzpass.backends import helion, tpu, tpu_aot
from fuzzpass.backends.kernel import structural
from fuzzpass.core.data import CaseData
from reference.helion_codegen import HelionSource

BUILDERS = ("_pallas_compile_jit_fn", "_pallas_compile_compact_jit_fn")
"""The launcher's kernel builders, one per launcher path (each takes the launcher's arguments
as ``args``; the result's ``jit_fn`` and ``tensor_arg_indices`` are read)."""

HOOKS = (
    *BUILDERS,
    "_pallas_build_callable",
    "_ensure_torch_tpu_cpu_export_info",
    "_get_vmem_limit_bytes",
    "_pallas_check_vmem_or_raise",
)
"""Functions of ``helion.runtime.pallas.launcher`` this module wraps (the builders, their call
kept), stops at (the torch_tpu hand-over: its ``uses_distributed`` is read), skips (torch_tpu's
chip query), replaces (the VMEM budget: :func:`_chip_vmem`) or leaves to each generation's
build (Helion's VMEM estimate, checked against that budget)."""

NO_CHIP_VMEM = 16 * 1024 * 1024
"""Helion's own VMEM budget when no chip answers (``_get_vmem_limit_bytes``' fallback): what
a kernel's bind sees here, where it is bound once for every generation."""

MESH_AXIS = "rank"
"""The axis of the one-device mesh ``_pallas_build_callable`` runs a distributed kernel on
outside ``torch.distributed`` (``jax.make_mesh((1,), ("rank",))``)."""


def unavailable() -> str | None:
    """Why Helion's kernels cannot meet the TPU compiler here, or None."""
    if reason := tpu_aot.unavailable() or helion.unavailable():
        return reason
    from importlib.metadata import version

    from helion.runtime.pallas import launcher

    missing = [name for name in HOOKS if not callable(getattr(launcher, name, None))]
    if missing:
        return (
            f"helion {version('helion')} has no helion.runtime.pallas.launcher.{', '.join(missing)}: "
            "its kernels cannot be caught for the TPU compiler"
        )
    return None


@dataclass(eq=False)
class Built:
    """What Helion built for one kernel source, pass mode and argument shapes: what its pass
    decided per load node and its launcher's build of the kernel's JAX function (to repeat per
    chip), or why it built none."""

    loads: list[helion.LoadDecision]
    jit_fn_for_chip: Callable[[], Any] | None = None
    """The launcher's builder called again and its result wrapped as the launcher wraps it: the
    kernel's JAX function for the chip that is JAX's default device (inside
    :func:`_tpu_launcher`)."""
    shapes: tpu_aot.Shapes = ()
    failure: str | None = None

    @property
    def defers(self) -> bool:
        """Whether Helion's pass deferred any load's mask in this kernel (``helion.defers``)."""
        return helion.defers(self.loads)


class _Caught(Exception):
    """Raised from inside Helion's launcher when it hands the kernel it built to torch_tpu."""

    def __init__(self, jit_fn_for_chip: Callable[[], Any], shapes: tpu_aot.Shapes) -> None:
        super().__init__("caught")
        self.jit_fn_for_chip, self.shapes = jit_fn_for_chip, shapes


class _Uncaught(Exception):
    """Helion's launcher handed torch_tpu a kernel that none of :data:`BUILDERS` built: a
    launcher path this module does not know, so nothing to repeat per chip."""


def _chip_vmem(pltpu: Any, interpret: bool) -> int:
    """Helion's VMEM budget for a kernel (``_get_vmem_limit_bytes``: the chip's capacity, per
    TensorCore) asked of the chip being compiled for, JAX's default device, each time rather
    than once per process; with no chip as the default device (a kernel being bound),
    :data:`NO_CHIP_VMEM`. ``interpret`` is False here: the launcher is never in interpret mode."""
    import jax

    device = jax.config.jax_default_device
    if getattr(device, "platform", None) == tpu.PLATFORM:
        return int(pltpu.get_tpu_info().vmem_capacity_bytes)
    return NO_CHIP_VMEM


@contextmanager
def _patched(module: Any, **replacements: Any) -> Iterator[None]:
    before = {name: getattr(module, name) for name in replacements}
    for name, value in replacements.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(module, name, value)


@contextmanager
def _tpu_launcher() -> Iterator[None]:
    """Helion's launcher with interpret mode off and no torch_tpu: the chip's kind and VMEM
    come from JAX's default device."""
    from helion.runtime.pallas import launcher

    with (
        helion.interpret_mode(False),
        _patched(launcher, _ensure_torch_tpu_cpu_export_info=lambda: None, _get_vmem_limit_bytes=_chip_vmem),
    ):
        yield


def _on_chip(build: Callable[[], Any], n_inputs: int, distributed: bool) -> Any:
    """The kernel's JAX function for the chip that is JAX's default device: ``build``'s, and a
    distributed one under ``shard_map`` as ``_pallas_build_callable`` puts it, on a mesh of that
    chip alone."""
    jit_fn = build().jit_fn
    if not distributed:
        return jit_fn
    import jax
    import numpy as np
    from jax.sharding import Mesh, PartitionSpec

    mesh = Mesh(np.array([jax.config.jax_default_device]), (MESH_AXIS,))
    replicated = PartitionSpec()
    return jax.shard_map(jit_fn, mesh=mesh, in_specs=(replicated,) * n_inputs, out_specs=replicated, check_vma=False)


@contextmanager
def _catching() -> Iterator[None]:
    """Helion's launcher for a TPU, stopped where it hands the kernel it built to torch_tpu,
    with the builder's call kept for each generation to repeat. Its VMEM estimate is left to
    each generation's build: no chip is known yet."""
    from helion.runtime.pallas import launcher

    built: list[tuple[Callable[[], Any], tpu_aot.Shapes]] = []

    def keeping(build: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(build)

        def kept(*positional: Any, **kwargs: Any) -> Any:
            result = build(*positional, **kwargs)
            args = signature.bind(*positional, **kwargs).arguments["args"]
            inputs = [args[i] for i in result.tensor_arg_indices]
            shapes = tuple((tuple(a.shape), str(a.dtype).removeprefix("torch.")) for a in inputs)
            built.append((functools.partial(build, *positional, **kwargs), shapes))
            return result

        return kept

    hand_over = inspect.signature(launcher._pallas_build_callable)

    def caught(*positional: Any, **kwargs: Any) -> NoReturn:
        if not built:
            raise _Uncaught
        build, shapes = built[-1]
        distributed = bool(hand_over.bind(*positional, **kwargs).arguments.get("uses_distributed", False))
        raise _Caught(functools.partial(_on_chip, build, len(shapes), distributed), shapes)

    builders = {name: keeping(getattr(launcher, name)) for name in BUILDERS}
    with (
        _tpu_launcher(),
        _patched(launcher, _pallas_build_callable=caught, _pallas_check_vmem_or_raise=lambda *a, **k: None, **builders),
    ):
        yield


_built: OrderedDict[tuple[Any, ...], Built] = OrderedDict()
"""What Helion built per source, mode and argument shapes, the latest 256: cases of one
structure compile its kernel once per generation."""


def build(source: HelionSource, data: CaseData, dtype: str, mode: str) -> Built:
    """Helion's kernel of ``source`` for ``data``'s shapes with its pass ``mode`` (``on``,
    ``off``, ``force``), as its launcher builds it for a TPU, not run. Where the pass on
    deferred nothing it changed nothing, so the pass-off kernel is that same kernel, built
    and compiled once (most cases: only a permute-only path to a zero-fill mask defers)."""
    text = structural(source.text)
    args = helion.arguments(source, data, dtype)
    return _build(text, mode, args, tuple((tuple(a.shape), str(a.dtype)) for a in args))


def _build(text: str, mode: str, args: list[Any], shapes: tuple[Any, ...]) -> Built:
    if mode == "off" and not (on := _build(text, "on", args, shapes)).defers:
        return on
    key = (text, mode, shapes)
    if key not in _built:
        _built[key] = _catch(text, mode, args)
        if len(_built) > 256:
            _built.popitem(last=False)
    _built.move_to_end(key)
    return _built[key]


def compile_for(
    source: HelionSource, data: CaseData, dtype: str, mode: str, generations: tuple[str, ...]
) -> dict[str, tpu_aot.Compiled]:
    """Helion's kernel of ``source`` with its pass ``mode``, compiled for each generation; a
    failure to build it counts as a rejection on every generation."""
    return compile_built(build(source, data, dtype, mode), generations)


def _catch(text: str, mode: str, args: list[Any]) -> Built:
    kernel = helion._kernel(text, mode, interpret=False)
    return _caught_from(lambda: kernel(*args), mode)


def build_call(kernel: Any, args: tuple[Any, ...], config: Any, mode: str) -> Built:
    """A user's kernel object (``fuzzpass corpus``) called on ``args`` with ``config``, as
    Helion's launcher builds it for a TPU with its pass ``mode``: a copy of the kernel whose
    settings say interpret mode off (Helion fixes them when a kernel is defined)."""
    tpu_kernel = helion.copy_kernel(kernel, pallas_interpret=False)
    return _caught_from(lambda: tpu_kernel.bind(args).compile_config(config)(*args), mode)


def compile_built(built: Built, generations: tuple[str, ...]) -> dict[str, tpu_aot.Compiled]:
    """``built`` compiled for each generation (a failure to build is a rejection on each)."""
    return {gen: _compile(built, gen) for gen in generations}


def _caught_from(launch: Any, mode: str) -> Built:
    """What Helion's launcher built when ``launch`` ran with its pass ``mode``."""
    helion.install_probe()
    try:
        with _catching(), helion.pass_mode(mode):
            launch()
    except _Caught as caught:
        return Built(helion.decisions(), caught.jit_fn_for_chip, caught.shapes)
    except Exception as e:  # Helion failed before its launcher built the kernel
        return Built(helion.decisions(), failure=_failure(e))
    return Built(helion.decisions(), failure="Helion's launcher ran without building a Pallas kernel")


def _failure(e: Exception) -> str:
    """Why Helion built no kernel. Where its launcher went where this module does not follow
    (a builder not among :data:`BUILDERS`, a torch_tpu-only step), that is a limit of this
    harness, not the kernel's, and said so."""
    if isinstance(e, _Uncaught):
        return (
            "the harness cannot build this kernel without a TPU: Helion's launcher handed torch_tpu "
            f"a kernel that none of {', '.join(BUILDERS)} built, on a launcher path fuzzpass does not know"
        )
    if isinstance(e, ModuleNotFoundError) and (e.name or "").startswith("torch_tpu"):
        frames = [f.name for f in traceback.extract_tb(e.__traceback__) if f.filename.endswith("pallas/launcher.py")]
        where = f"helion.runtime.pallas.launcher.{frames[-1]}" if frames else "Helion"
        return (
            f"the harness cannot build this kernel without a TPU: {where} needs {e.name}, "
            "which is not installed, on a launcher path fuzzpass does not know"
        )
    return f"Helion could not build the kernel: {helion.first_line(e)}"


@functools.lru_cache(maxsize=1024)
def _compile(built: Built, generation: str) -> tpu_aot.Compiled:
    if built.failure is not None:
        return tpu_aot.Compiled(generation, False, 0.0, built.failure)
    assert built.jit_fn_for_chip is not None
    with _tpu_launcher():  # the builder again, with this generation's chip as the default device
        return tpu_aot.compile_function(built.jit_fn_for_chip, built.shapes, generation)
