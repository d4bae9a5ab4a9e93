"""Where kernels run: ``interpret`` (CPU), ``tpu-aot`` (the TPU compiler, deviceless) and
``tpu`` (a TPU host). All three build kernels through :mod:`fuzzpass.backends.kernel`, so
what cannot run here is still compiled here exactly as a TPU host would compile it.
``helion`` is the other side of the differential: production Helion compiles the case.

May import: the foundation modules (``fuzzpass.case``, ``fuzzpass.data``, ``fuzzpass.profile``)
and ``reference``. JAX, libtpu and Helion are imported inside the functions that need them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

BACKENDS = ("interpret", "tpu-aot", "tpu", "helion")


def prepare_environment() -> None:
    """Settings libtpu reads once, when JAX starts it: call before JAX picks a backend.

    Deviceless, libtpu need not look for TPU hosts, and several processes (pytest-xdist
    workers, ``fuzzpass run --jobs``) may each load it to compile.
    """
    os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
    os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")


def start_jax() -> None:
    """Start JAX's backends now, in this process, so that what libtpu prints as it starts
    meets :func:`libtpu_noise_filtered`. Only in a process that runs or compiles kernels
    itself: on a TPU host the process that starts libtpu takes the chips, so a run's parent,
    which only spawns workers, never calls this."""
    prepare_environment()
    if importlib.util.find_spec("libtpu") is None:
        return
    with libtpu_noise_filtered():
        import jax

        jax.devices()


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


def unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot run on this machine, or None (``interpret`` always can)."""
    if backend == "tpu-aot":
        from fuzzpass.backends import tpu_aot

        return tpu_aot.unavailable()
    if backend == "tpu":
        from fuzzpass.backends import tpu

        return tpu.unavailable()
    if backend == "helion":
        from fuzzpass.backends import helion

        return helion.unavailable()
    return None
