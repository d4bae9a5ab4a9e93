"""The process around the backends: libtpu's settings, JAX's start, and libtpu's start-up lines.

libtpu reads its environment once, when JAX starts it, so :func:`prepare_environment` comes
before anything that may start JAX (``backends.schedule.enable`` before it, where schedules
are wanted). On a machine without TPU chips libtpu prints why it found none: true and
harmless for deviceless compiles, so :func:`libtpu_noise_filtered` keeps it from the user.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


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
