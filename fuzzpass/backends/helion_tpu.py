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
answers (``helion_patches._chip_vmem``). A kernel is bound once for all generations, so what Helion's
codegen asks of the chip (a compact worklist's resident window, sized from the VMEM budget) is
answered by no chip: ``helion_patches.NO_CHIP_VMEM``, as Helion answers itself when no chip does.

What this relies on of Helion's launcher, and every replacement of it, lives in
``backends.helion_patches`` (:func:`~fuzzpass.backends.helion_patches.catching`, its
:data:`~fuzzpass.backends.helion_patches.HOOKS`); :func:`unavailable` checks the hooks: on a
Helion without them, the TPU half of ``--backend helion`` reports that one reason and the
interpret half still runs.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fuzzpass.backends import helion, helion_bind, helion_patches, tpu_aot
from fuzzpass.backends.helion_decisions import LoadDecision, defers, pass_mode
from fuzzpass.backends.kernel import structural
from fuzzpass.core.data import CaseData
from reference.helion_codegen import HelionSource


def unavailable() -> str | None:
    """Why Helion's kernels cannot meet the TPU compiler here, or None."""
    if reason := tpu_aot.unavailable() or helion.unavailable():
        return reason
    from importlib.metadata import version

    launcher = helion_patches.launcher_module()  # where this Helion keeps them, releases before PR #3182 too
    missing = [name for name in helion_patches.HOOKS if not callable(getattr(launcher, name, None))]
    if missing:
        return (
            f"helion {version('helion')} has no {launcher.__name__}.{', '.join(missing)}: "
            "its kernels cannot be caught for the TPU compiler"
        )
    return None


@dataclass(eq=False)
class Built:
    """What Helion built for one kernel source, pass mode and argument shapes: what its pass
    decided per load node and its launcher's build of the kernel's JAX function (to repeat per
    chip), or why it built none."""

    loads: list[LoadDecision]
    jit_fn_for_chip: Callable[[], Any] | None = None
    """The launcher's builder called again and its result wrapped as the launcher wraps it: the
    kernel's JAX function for the chip that is JAX's default device (inside
    ``helion_patches.tpu_launcher``)."""
    shapes: tpu_aot.Shapes = ()
    failure: str | None = None

    @property
    def defers(self) -> bool:
        """Whether Helion's pass deferred any load's mask in this kernel (``helion_decisions.defers``)."""
        return defers(self.loads)


def build(source: HelionSource, data: CaseData, dtype: str, mode: str) -> Built:
    """Helion's kernel of ``source`` for ``data``'s shapes with its pass ``mode`` (``on``,
    ``off``, ``force``), as its launcher builds it for a TPU, not run. Where the pass on
    deferred nothing it changed nothing, so the pass-off kernel is that same kernel, built
    and compiled once (most cases: only a permute-only path to a zero-fill mask defers)."""
    args = helion_bind.arguments(source, data, dtype)
    return _build(structural(source.text), mode, args)


def _build(text: str, mode: str, args: list[Any]) -> Built:
    if mode == "off" and not (on := _build(text, "on", args)).defers:
        return on
    entry = helion_bind.kernel_object(text, mode, interpret=False)
    shapes = helion_bind.shapes_of(args)
    if shapes not in entry.per_shapes:
        entry.per_shapes[shapes] = _caught_from(lambda: entry.kernel(*args), mode)
    return entry.per_shapes[shapes]


def compile_for(
    source: HelionSource, data: CaseData, dtype: str, mode: str, generations: tuple[str, ...]
) -> dict[str, tpu_aot.Compiled]:
    """Helion's kernel of ``source`` with its pass ``mode``, compiled for each generation; a
    failure to build it counts as a rejection on every generation."""
    return compile_built(build(source, data, dtype, mode), generations)


def build_call(kernel: Any, args: tuple[Any, ...], config: Any, mode: str) -> Built:
    """A user's kernel object (``fuzzpass corpus``) called on ``args`` with ``config``, as
    Helion's launcher builds it for a TPU with its pass ``mode``: a copy of the kernel whose
    settings say interpret mode off (Helion fixes them when a kernel is defined)."""
    tpu_kernel = helion_bind.copy_kernel(kernel, pallas_interpret=False)
    return _caught_from(lambda: tpu_kernel.bind(args).compile_config(config)(*args), mode)


def compile_built(built: Built, generations: tuple[str, ...]) -> dict[str, tpu_aot.Compiled]:
    """``built`` compiled for each generation (a failure to build is a rejection on each)."""
    return {gen: _compile(built, gen) for gen in generations}


def _caught_from(launch: Any, mode: str) -> Built:
    """What Helion's launcher built when ``launch`` ran with its pass ``mode``."""
    try:
        with helion_patches.catching(), pass_mode(mode) as decided:
            launch()
    except helion_patches.Caught as caught:
        return Built(decided.loads, caught.jit_fn_for_chip, caught.shapes)
    except Exception as e:  # Helion failed before its launcher built the kernel
        return Built(decided.loads, failure=_failure(e))
    return Built(decided.loads, failure="Helion's launcher ran without building a Pallas kernel")


def _failure(e: Exception) -> str:
    """Why Helion built no kernel. Where its launcher went where ``helion_patches.catching``
    does not follow (a builder not among its ``BUILDERS``, a torch_tpu-only step), that is a
    limit of this harness, not the kernel's, and said so."""
    if isinstance(e, helion_patches.Uncaught):
        return (
            "the harness cannot build this kernel without a TPU: Helion's launcher handed torch_tpu a kernel "
            f"that none of {', '.join(helion_patches.BUILDERS)} built, on a launcher path fuzzpass does not know"
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
    with helion_patches.tpu_launcher():  # the builder again, with this generation's chip as the default device
        return tpu_aot.compile_function(built.jit_fn_for_chip, built.shapes, generation)
