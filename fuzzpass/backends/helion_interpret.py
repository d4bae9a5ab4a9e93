"""Helion's kernels in JAX's TPU interpret mode: numbers for the kernels plain interpret mode
cannot run.

Helion's interpret launcher builds its kernel with ``pl.kernel(..., interpret=True)`` (or
``pl.pallas_call``), JAX's generic interpreter. That interpreter cannot slice a block whose
size is data-dependent (``pl.BoundedSlice``), so Helion's compact-worklist kernels, its
``unroll`` loops over jagged tiles and the pass's own deferral tests fail there (``Shapes must
be 1D sequences of concrete values``) and Helion's CI skips them off a TPU. JAX's TPU
interpret mode (``pltpu.InterpretParams``) simulates a TPU core's memories, DMAs and
semaphores on the CPU and runs them. :func:`tpu_interpret` hands every Pallas kernel Helion
builds inside the block to it, through JAX's own override (``force_tpu_interpret_mode``, read
when a kernel is built, so ``pl.kernel``'s signature, which Helion inspects for its scratch
keyword, is untouched). Uninitialized memory reads as NaN there: memory a kernel reads
without writing is a poison of its own.

Helion caches a built kernel on the generated module (``launcher._PALLAS_CACHE_ATTR``); a
build made under one interpreter must not serve the other, so inside the block the cache
lives under another attribute.

:func:`as_on_a_tpu` is the other half: a Helion test file that skips itself at import when
interpret mode is on ("compact worklist is TPU-only") is imported as on a TPU, its kernels
still defined for interpret mode, so TPU interpret mode can run its tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TPU_CACHE_ATTR = "_fuzzpass_tpu_interpret_cache"
"""Where Helion's launcher caches kernels built inside :func:`tpu_interpret`."""


def params() -> Any:
    """TPU interpret mode as fuzzpass runs it: uninitialized memory NaN (JAX's default,
    stated), reads past a buffer's end raise (a kernel reading out of bounds is wrong
    whatever the data)."""
    from jax.experimental.pallas import tpu as pltpu

    return pltpu.InterpretParams(uninitialized_memory="nan", out_of_bounds_reads="raise")


@contextmanager
def tpu_interpret() -> Iterator[None]:
    """Helion's Pallas kernels built and run in the block go through TPU interpret mode. After
    a kernel raised inside the interpreter its simulated memory is reset: the next kernel
    starts clean."""
    from helion.runtime.pallas import launcher
    from jax.experimental.pallas import tpu as pltpu

    cache = launcher._PALLAS_CACHE_ATTR
    launcher._PALLAS_CACHE_ATTR = TPU_CACHE_ATTR
    try:
        with pltpu.force_tpu_interpret_mode(params()):
            yield
    except BaseException:
        pltpu.reset_tpu_interpret_mode_state()
        raise
    finally:
        launcher._PALLAS_CACHE_ATTR = cache


def skipped_itself(e: BaseException) -> bool:
    """Whether an import failed because the module skipped itself (``unittest.SkipTest``, or
    pytest's ``Skipped`` from ``pytest.skip(allow_module_level=True)``)."""
    import unittest

    return isinstance(e, unittest.SkipTest) or type(e).__name__ == "Skipped"


@contextmanager
def as_on_a_tpu() -> Iterator[None]:
    """``helion.runtime.settings.is_pallas_interpret`` answers False inside the block: a
    module imported here binds that answer for its import-time gates. The caller gives the
    module the real function back afterwards (:func:`restore_gates`), so its tests
    and Helion itself still see interpret mode."""
    import helion.runtime.settings as settings

    real = settings.is_pallas_interpret
    settings.is_pallas_interpret = _on_a_tpu
    try:
        yield
    finally:
        settings.is_pallas_interpret = real


def _on_a_tpu() -> bool:
    return False


def restore_gates(module: Any) -> None:
    """A module imported :func:`as_on_a_tpu` bound the stand-in under Helion's name: give it
    the real function again."""
    import helion.runtime.settings as settings

    for name, value in vars(module).items():
        if value is _on_a_tpu:
            setattr(module, name, settings.is_pallas_interpret)
