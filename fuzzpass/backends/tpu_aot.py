"""The real TPU compiler, run deviceless on the CPU (``../shared/TPU-AOT.md``).

``jax.experimental.topologies`` describes TPU chips without hardware; lowering and compiling
a ``pallas_call`` for them runs Mosaic in full (layout inference, vector layouts, LLO,
scheduling). Nothing runs: this proves that a kernel compiles for a generation and catches
what interpret mode accepts but Mosaic rejects. Needs libtpu (``pip install fuzzpass[tpu]``).
What each compile concluded is kept under the run's compile cache (:mod:`.outcomes`), so a
kernel met again, by another worker or on another night, is not compiled again.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fuzzpass.backends import outcomes, schedule
from fuzzpass.backends.environment import libtpu_noise_filtered
from fuzzpass.backends.kernel import arg_shapes, bucketed_grid, load_module, structural
from fuzzpass.core.data import CaseData
from reference.codegen import KernelSource

TOPOLOGIES = {"v4": "v4:2x2x1", "v5e": "v5e:2x2", "v5p": "v5p:2x2x1", "v6e": "v6e:2x2", "tpu7x": "tpu7x:2x2x1"}
"""Generation -> the smallest topology name its deviceless description accepts."""

DEFAULT_GENERATIONS = ("v5e", "v6e")


@dataclass(frozen=True)
class Compiled:
    """One variant compiled for one generation: ``ok``, the compiler's message, seconds."""

    generation: str
    ok: bool
    seconds: float
    message: str = ""
    bundles: int | None = None  # the static schedule's length, when schedule dumps are on
    kept: bool = False  # read from the outcomes an earlier compile kept, not compiled now


def unavailable() -> str | None:
    """Why deviceless TPU compiles cannot run here, or None when libtpu is installed."""
    try:
        import libtpu  # noqa: F401
    except ImportError:
        return "libtpu is not installed (pip install 'fuzzpass[tpu]')"
    return None


@functools.cache
def _device(generation: str) -> Any:
    from jax.experimental import topologies

    with libtpu_noise_filtered():  # libtpu may start here (JAX_PLATFORMS=cpu) and print its start-up lines
        return topologies.get_topology_desc(platform="tpu", topology_name=TOPOLOGIES[generation]).devices[0]


def compile_for(source: KernelSource, data: CaseData, dtype: str, generation: str) -> Compiled:
    """Compile one variant for ``generation``; a rejection is returned, not raised. Cached by
    source, grid bucket and argument shapes, like interpret-mode kernels."""
    shapes = arg_shapes(source, data, dtype)
    return _compile(structural(source.text), bucketed_grid(data), shapes, generation)


@functools.lru_cache(maxsize=512)
def _compile(
    text: str, grid: tuple[int, ...], shapes: tuple[tuple[tuple[int, ...], str], ...], generation: str
) -> Compiled:
    program = "\0".join((text, repr(grid), repr(shapes)))
    return compile_function(lambda: load_module(text).build(grid, interpret=False), shapes, generation, program)


Shapes = tuple[tuple[tuple[int, ...], str], ...]
"""A function's arguments as (shape, dtype name) pairs."""


def compile_function(build: Callable[[], Any], shapes: Shapes, generation: str, program: str | None = None) -> Compiled:
    """Compile the JAX function ``build()`` returns for ``generation``, deviceless, on
    arguments of ``shapes``; a rejection (building it included) is returned, not raised.
    ``program``: a text that determines the function (a generated kernel's source, grid and
    shapes), so a kept outcome is found without building or lowering it; without one the
    function is lowered and its module is the key."""
    import jax

    start = time.perf_counter()
    needs_schedule = schedule.enabled()
    key = None if program is None else outcomes.key(program, generation)
    if key is not None and (kept := outcomes.read(key, needs_schedule)):
        return _from_kept(generation, kept, start)
    try:
        device = _device(generation)
    except Exception as e:  # no description of the chip here: this machine's state, never kept as the kernel's
        return Compiled(generation, False, time.perf_counter() - start, compiler_message(e))
    before = schedule.snapshot()
    try:
        with jax.default_device(device):
            lowered = lower_for(build, shapes, generation)
            if key is None:
                key = outcomes.key(lowered.as_text(), generation)
                if kept := outcomes.read(key, needs_schedule):
                    return _from_kept(generation, kept, start)
            lowered.compile()
    except Exception as e:  # the compiler's rejection is the finding
        schedule.bundles_since(before)
        message = compiler_message(e)
        if key is not None and not isinstance(e, MemoryError):  # that is this machine's state, not the kernel's
            outcomes.write(key, False, message, None)
        return Compiled(generation, False, time.perf_counter() - start, message)
    bundles = schedule.bundles_since(before)
    outcomes.write(key, True, "", bundles)
    return Compiled(generation, True, time.perf_counter() - start, bundles=bundles)


def lower_for(build: Callable[[], Any], shapes: Shapes, generation: str) -> Any:
    """``build()``'s function traced and lowered for ``generation``, deviceless, with that chip
    as JAX's default device while it is built and lowered: lowering rules that ask for the chip
    (integer ``//``) and a kernel's VMEM query (``pltpu.get_tpu_info``) see it, not the CPU."""
    import jax
    from jax.sharding import SingleDeviceSharding

    device = _device(generation)
    sharding = SingleDeviceSharding(device)
    with jax.default_device(device):
        return jax.jit(build()).trace(*(jax.ShapeDtypeStruct(s, d, sharding=sharding) for s, d in shapes)).lower()


def _from_kept(generation: str, kept: dict[str, Any], start: float) -> Compiled:
    return Compiled(generation, kept["ok"], time.perf_counter() - start, kept["message"], kept["bundles"], kept=True)


PALLAS_PREAMBLE = re.compile(r"^Pallas encountered an internal verification error\..*?Error details: ")
"""What Pallas puts before a Mosaic verification error (a plea to file a bug, with a URL): the
details after it are the compiler's message."""


def compiler_message(error: Exception) -> str:
    """The compiler's reason in one line: its first line that says what failed."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return PALLAS_PREAMBLE.sub("", lines[0]) if lines else type(error).__name__
