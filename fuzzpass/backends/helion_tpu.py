"""Production Helion's kernels through the real TPU compiler, deviceless (``TPU-AOT.md``,
"Production Helion's kernels, deviceless").

Helion 1.5.1 builds each Pallas kernel in its launcher: with interpret mode off,
``_pallas_install_launcher_cache`` calls ``_pallas_compile_jit_fn``, whose result holds the
JAX function of JAX arrays that torch_tpu would then wrap and run. Here that function is
caught as it is built, the launch stopped there (nothing runs), and it is compiled as a
``tpu-aot`` kernel is, for each generation, with the target chip as JAX's default device. The
one torch_tpu-only step before it, ``_ensure_torch_tpu_cpu_export_info`` (it asks the
attached chip for its kind), is skipped: the default device answers that instead.

This module is the one place fuzzpass reaches into Helion's launcher. :data:`HOOKS` names
what it relies on and :func:`unavailable` checks it: on a Helion without them, the TPU half of
``--backend helion`` reports that one reason and the interpret half still runs.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fuzzpass.backends import helion, tpu_aot
from fuzzpass.backends.kernel import structural
from fuzzpass.core.data import CaseData
from reference.helion_codegen import HelionSource

HOOKS = ("_pallas_compile_jit_fn", "_ensure_torch_tpu_cpu_export_info")
"""Functions of ``helion.runtime.pallas.launcher`` this module wraps (the first: the result's
``jit_fn`` and ``tensor_arg_indices`` are read) or skips (the second)."""


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
    decided per load node and the kernel's JAX function, or why it built none."""

    loads: list[helion.LoadDecision]
    jit_fn: Any = None
    shapes: tpu_aot.Shapes = ()
    failure: str | None = None

    @property
    def defers(self) -> bool:
        """Whether Helion's pass deferred any load's mask in this kernel (``helion.defers``)."""
        return helion.defers(self.loads)


class _Caught(Exception):
    """Raised from inside Helion's launcher once the kernel's JAX function is built."""

    def __init__(self, jit_fn: Any, shapes: tpu_aot.Shapes) -> None:
        super().__init__("caught")
        self.jit_fn, self.shapes = jit_fn, shapes


@contextmanager
def _catching() -> Iterator[None]:
    """Helion's launcher with interpret mode off, stopped when it has built the kernel."""
    from helion.runtime.pallas import launcher

    build, chip_info = launcher._pallas_compile_jit_fn, launcher._ensure_torch_tpu_cpu_export_info

    def caught(pallas_kernel: Any, grid: Any, args: Any, **kwargs: Any) -> Any:
        result = build(pallas_kernel, grid, args, **kwargs)
        inputs = [args[i] for i in result.tensor_arg_indices]
        shapes = tuple((tuple(a.shape), str(a.dtype).removeprefix("torch.")) for a in inputs)
        raise _Caught(result.jit_fn, shapes)

    launcher._pallas_compile_jit_fn = caught
    launcher._ensure_torch_tpu_cpu_export_info = lambda: None
    try:
        with helion.interpret_mode(False):
            yield
    finally:
        launcher._pallas_compile_jit_fn, launcher._ensure_torch_tpu_cpu_export_info = build, chip_info


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
        return Built(helion.decisions(), caught.jit_fn, caught.shapes)
    except Exception as e:  # Helion failed before its launcher built the kernel
        return Built(helion.decisions(), failure=f"Helion could not build the kernel: {helion.first_line(e)}")
    return Built(helion.decisions(), failure="Helion's launcher ran without building a Pallas kernel")


@functools.lru_cache(maxsize=1024)
def _compile(built: Built, generation: str) -> tpu_aot.Compiled:
    if built.failure is not None:
        return tpu_aot.Compiled(generation, False, 0.0, built.failure)
    return tpu_aot.compile_function(lambda: built.jit_fn, built.shapes, generation)
