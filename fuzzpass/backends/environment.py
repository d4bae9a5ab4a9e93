"""The process around the backends: libtpu's settings, JAX's start, and libtpu's start-up lines.

libtpu reads its environment once, when JAX starts it, so :func:`prepare_environment` comes
before anything that may start JAX (``backends.schedule.enable`` before it, where schedules
are wanted). On a machine without TPU chips libtpu prints why it found none: true and
harmless for deviceless compiles, so :func:`libtpu_noise_filtered` keeps it from the user.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fuzzpass.backends import backend as named


def prepare_environment() -> None:
    """Settings libtpu reads once, when JAX starts it: call before JAX picks a backend.

    Deviceless, libtpu need not look for TPU hosts, and several processes (pytest-xdist
    workers, ``fuzzpass run --jobs``) may each load it to compile.
    """
    os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
    os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")


def start_jax(backend: str | None = None) -> None:
    """Start JAX's backends now, in this process, so that what libtpu prints as it starts
    meets :func:`libtpu_noise_filtered`. Only in a process that runs or compiles kernels
    itself: on a TPU host the process that starts libtpu takes the chips, so a run's parent,
    which only spawns workers, never calls this. With the ``helion`` backend, Helion's
    environment comes first (``JAX_PLATFORMS=cpu`` among it): its interpret-mode kernels need
    no libtpu, which then starts only if something compiles for a TPU."""
    if backend is not None and named(backend).helion:
        from fuzzpass.backends import helion

        helion.prepare_environment()
    prepare_environment()
    if importlib.util.find_spec("libtpu") is None:
        return
    with libtpu_noise_filtered():
        import jax

        jax.devices()


def compile_cache_unused(backend: str, reads_schedules: bool) -> str | None:
    """Why a compile cache on disk serves nothing in a process of ``backend`` (that reads
    static schedules for the gate audit, or not), or None."""
    uncached = named(backend).uncached
    return uncached if uncached and not reads_schedules else None


def exit_process(code: int) -> None:
    """End this process with ``code`` once its work is done and written.

    A process that loaded JAX's native runtime (XLA's CPU client, and libtpu's threads once
    anything compiled for a TPU) ends with ``os._exit`` after Python's own exit handlers ran
    (Ray's shutdown, logging's flush, JAX's backend clean-up): libtpu's C++ teardown then
    cannot abort it. It did once in CI, ``terminate called without an active exception``
    after ``fuzzpass check`` had printed its whole verdict, and turned a passing check's exit
    code 0 into -6. Any other process exits as usual."""
    if "jaxlib" not in sys.modules:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def use_compile_cache(directory: Path, backend: str) -> str | None:
    """Keep what ``backend`` compiles under ``directory`` (shared by the workers of a host,
    kept between runs), before anything compiles; why nothing is kept, or None.

    - Every deviceless TPU compile (``tpu-aot``, the gate audit, Helion's TPU half): its
      outcome under ``directory/outcomes`` (:mod:`fuzzpass.backends.outcomes`; JAX's cache
      writes these programs but cannot read them back without a TPU client).
    - ``interpret``: its generic-interpreter kernels as serialized executables under
      ``directory/kernels`` (:mod:`fuzzpass.backends.executables`; JAX's own cache would trace
      and lower each kernel again before a hit).
    - ``tpu``: JAX's persistent compilation cache in ``directory``, where the TPU client loads
      what it compiled; not in a process that reads static schedules (``--check-gate``):
      libtpu's dump flag, part of every key, names that process's directory, and a hit
      writes no schedule to read.

    A corrupt or foreign entry is a miss to each of them, never a result."""
    from fuzzpass.backends import executables, outcomes, schedule

    if reason := compile_cache_unused(backend, schedule.enabled()):
        return reason
    outcomes.keep_in(directory / "outcomes")
    if named(backend).numerics == "generic":
        executables.keep_in(directory / "kernels")
    if named(backend).numerics == "device" and not schedule.enabled():
        import jax

        directory.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(directory))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return None


LIBTPU_NOISE = ("could not determine TPU accelerator type", "TPU_WORKER_HOSTNAMES", "Failed to find host bounds")
"""What libtpu prints when it starts on a machine without TPU chips: true, harmless for
deviceless compiles, and nothing a user of ``fuzzpass check`` should read first."""


@contextmanager
def libtpu_noise_filtered() -> Iterator[None]:
    """Everything written to file descriptor 2 inside the block (libtpu writes there from C++,
    past ``sys.stderr``) is held, then written back without the lines of :data:`LIBTPU_NOISE`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not any(n in line for n in LIBTPU_NOISE)))
            sys.stderr.flush()
